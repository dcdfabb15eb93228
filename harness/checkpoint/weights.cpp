#include "harness/checkpoint/weights.h"

#include "harness/checkpoint/hub.h"
#include "harness/model/registry.h"

#include <filesystem>
#include <stdexcept>

namespace locbench {

namespace {

const VariantInfo& architecture_of(const VariantInfo& info) {
  if (info.architecture.empty()) return info;
  return *Registry::instance().find(info.architecture);
}

std::string tagged_name(const VariantInfo& arch, const PretrainedTag& tag) {
  return tag.tag.empty() ? arch.name : arch.name + "." + tag.tag;
}

std::string hub_file(const PretrainedTag& tag) {
  return hub::resolve_file(hub::parse("hf-hub:" + tag.hf_hub_id), tag.hf_filename);
}

bool looks_like_path(const std::string& spec) {
  if (spec.find('/') != std::string::npos) return true;
  for (const char* ext : {".safetensors", ".pth", ".pt", ".bin", ".tar", ".ckpt", ".npz"})
    if (spec.size() > std::string(ext).size() && spec.compare(spec.size() - std::string(ext).size(), std::string::npos, ext) == 0)
      return true;
  return false;
}

}  // namespace

ResolvedWeights resolve_weights(const std::string& model, const std::string& spec) {
  const VariantInfo* info = Registry::instance().find(model);
  if (!info) throw std::invalid_argument(Registry::instance().unknown_message(model));
  ResolvedWeights out{model, "", ""};
  if (spec.empty()) return out;
  if (!info->file.empty())
    throw std::invalid_argument("'" + model + "' is an exported model and carries its own weights; give no weights");
  const VariantInfo& arch = architecture_of(*info);

  if (hub::is_hub_spec(spec)) {
    const hub::Reference ref = hub::parse(spec);
    std::string filename = "model.safetensors";
    for (const auto& t : arch.pretrained)
      if (t.hf_hub_id == ref.repo_id) {
        filename = t.hf_filename;
        if (!info->tag) out.model = tagged_name(arch, t);  // the release's config comes with its weights
      }
    out.path = hub::resolve_file(ref, filename);
    out.origin = spec;
    return out;
  }
  if (spec == "pretrained") {
    const PretrainedTag* tag = info->default_tag();
    if (!tag)
      throw std::invalid_argument("locbench knows no pretrained weights of " + model +
                                  " (bench list models --pretrained lists those it knows)");
    out.path = hub_file(*tag);
    out.origin = "hf-hub:" + tag->hf_hub_id;
    return out;
  }
  // A tag, bare or as arch.tag.
  std::string tag_name = spec;
  if (auto dot = spec.find('.'); dot != std::string::npos && !looks_like_path(spec)) {
    const VariantInfo* named = Registry::instance().find(spec);
    if (named && named->tag && named->architecture == arch.name) tag_name = named->tag->tag;
  }
  if (const PretrainedTag* tag = tag_name.empty() ? nullptr : arch.find_tag(tag_name)) {
    if (info->tag && info->tag->tag != tag->tag)
      throw std::invalid_argument("model '" + model + "' names the tag '" + info->tag->tag + "' but its weights name '" +
                                  tag->tag + "'");
    out.model = tagged_name(arch, *tag);
    out.path = hub_file(*tag);
    out.origin = "hf-hub:" + tag->hf_hub_id;
    return out;
  }
  std::error_code ec;
  if (std::filesystem::is_regular_file(spec, ec)) {
    out.path = spec;
    out.origin = "file";
    return out;
  }
  if (!looks_like_path(spec)) {
    if (arch.pretrained.empty())
      throw std::invalid_argument("weights '" + spec + "': no such file, and locbench knows no pretrained tags of " +
                                  arch.name);
    throw std::invalid_argument("weights '" + spec + "': no such file, and " +
                                Registry::instance().unknown_message(arch.name + "." + spec) +
                                " (or 'pretrained', 'hf-hub:ORG/NAME')");
  }
  // Say where such a file comes from: a release locbench reads itself, or the converter for an official .pth.
  std::string hint;
  if (const PretrainedTag* tag = arch.default_tag())
    hint = " (or \"pretrained\": hf-hub:" + tag->hf_hub_id + ", bench list models --pretrained)";
  else
    hint = " (convert an official release with python3 scripts/convert_checkpoint.py RELEASE.pth " + spec +
           " --model " + arch.name + ")";
  throw std::invalid_argument("no such file '" + spec + "'" + hint);
}

}  // namespace locbench
