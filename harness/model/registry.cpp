#include "harness/model/registry.h"

#include "harness/common/text.h"
#include "harness/model/exported.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <tuple>

namespace locbench {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The closest candidates to `name`: (distance, -length of the common prefix, name), so that among equally distant
// names the one that starts like the query wins ("vitt_tiny" -> vit_tiny_patch16_224 rather than pvt_tiny).
std::vector<std::string> closest(const std::string& name, const std::vector<std::string>& candidates, size_t max) {
  if (name.size() > 256) return {};  // edit distances cost |name| x |candidate| each: no name is this long
  std::vector<std::tuple<size_t, long, std::string>> scored;
  for (const auto& candidate : candidates) {
    const size_t d = edit_distance(name, candidate);
    // A typo in a prefix ("vitt_tiny") should still find the full name.
    const size_t prefix = edit_distance(name, candidate.substr(0, std::min(candidate.size(), name.size() + 1)));
    const auto common =
        std::mismatch(name.begin(), name.end(), candidate.begin(), candidate.end()).first - name.begin();
    scored.emplace_back(std::min(d, prefix), -static_cast<long>(common), candidate);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [d, common, n] : scored) {
    if (out.size() >= max || d > std::max<size_t>(3, name.size() / 3)) break;
    out.push_back(n);
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// "hf-hub:ORG/NAME[@REV]" -> "ORG/NAME".
std::string hub_repo(const std::string& name) {
  std::string repo = name.substr(7);
  if (auto at = repo.find('@'); at != std::string::npos) repo = repo.substr(0, at);
  return repo;
}

}  // namespace

const PretrainedTag* VariantInfo::default_tag() const {
  if (tag) return &*tag;
  return pretrained.empty() ? nullptr : &pretrained.front();
}

const PretrainedTag* VariantInfo::find_tag(const std::string& name) const {
  for (const auto& t : pretrained)
    if (t.tag == name) return &t;
  return nullptr;
}

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

void Registry::add(VariantInfo info) {
  if (variants_.count(info.name) || aliases_.count(info.name))
    throw std::logic_error("model '" + info.name + "' is registered twice");
  if (info.name.find('.') != std::string::npos || info.name.find(':') != std::string::npos)
    throw std::logic_error("model name '" + info.name + "' has a '.' or ':' (they separate tags and sources)");
  for (const auto& alias : info.aliases) aliases_[alias] = info.name;
  std::string name = info.name;
  variants_.emplace(std::move(name), std::move(info));
}

std::string Registry::model_dir() {
  if (const char* dir = std::getenv("LOCBENCH_MODEL_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/locbench/models";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/locbench/models";
}

const VariantInfo* Registry::find(const std::string& name) const {
  auto it = variants_.find(name);
  if (it != variants_.end()) return &it->second;
  auto alias = aliases_.find(name);
  if (alias != aliases_.end()) return &variants_.at(alias->second);
  std::lock_guard<std::mutex> lock(derived_mutex_);
  if (auto d = derived_.find(name); d != derived_.end()) return d->second.get();
  try {
    return derive(name);
  } catch (const std::exception&) {
    return nullptr;  // unknown_message() says why
  }
}

const VariantInfo* Registry::derive_tagged(const VariantInfo& arch, const PretrainedTag& tag) const {
  if (tag.tag.empty()) return &arch;  // the architecture's one release is the architecture itself
  const std::string name = arch.name + "." + tag.tag;
  if (auto d = derived_.find(name); d != derived_.end()) return d->second.get();
  auto info = std::make_unique<VariantInfo>(arch);
  info->name = name;
  info->aliases.clear();
  info->architecture = arch.name;
  info->tag = tag;
  info->config = tag.config;
  // timm's create_model takes num_classes and (for fixed-size models) the input size from the pretrained config.
  info->factory = [factory = arch.factory, base = arch.config, cfg = tag.config](const ModelArgs& given) {
    ModelArgs args = given;
    if (!args.num_classes && cfg.num_classes != base.num_classes) args.num_classes = cfg.num_classes;
    if (!args.img_size && (cfg.input_size[1] != base.input_size[1] || cfg.input_size[2] != base.input_size[2]))
      args.img_size = std::array<int64_t, 2>{cfg.input_size[1], cfg.input_size[2]};
    return factory(args);
  };
  const VariantInfo* out = info.get();
  derived_.emplace(name, std::move(info));
  return out;
}

// Called with derived_mutex_ held; throws when a file exists but is not an exported model.
const VariantInfo* Registry::derive(const std::string& name) const {
  namespace fs = std::filesystem;
  std::unique_ptr<VariantInfo> info;
  if (starts_with(name, "file:")) {
    info = std::make_unique<VariantInfo>(exported_variant(name.substr(5), name));
  } else if (starts_with(name, "hf-hub:")) {
    const std::string repo = hub_repo(name);
    for (const auto& [n, arch] : variants_)
      for (const auto& t : arch.pretrained)
        if (t.hf_hub_id == repo) return derive_tagged(arch, t);
    return nullptr;
  } else if (auto dot = name.find('.'); dot != std::string::npos) {
    const VariantInfo* arch = nullptr;
    const std::string arch_name = name.substr(0, dot);
    if (auto it = variants_.find(arch_name); it != variants_.end()) arch = &it->second;
    if (auto a = aliases_.find(arch_name); !arch && a != aliases_.end()) arch = &variants_.at(a->second);
    const PretrainedTag* tag = arch ? arch->find_tag(name.substr(dot + 1)) : nullptr;
    if (!tag) return nullptr;
    const VariantInfo* out = derive_tagged(*arch, *tag);
    // Keep the spelling the caller used too (an alias before the dot) so later look-ups are one map find.
    if (out->name != name && out != arch) derived_.emplace(name, std::make_unique<VariantInfo>(*out));
    return out;
  } else {
    for (const char* ext : {".pt", ".pt2"}) {
      const fs::path file = fs::path(model_dir()) / (name + ext);
      std::error_code ec;
      if (fs::is_regular_file(file, ec)) {
        info = std::make_unique<VariantInfo>(exported_variant(file.string(), name));
        break;
      }
    }
  }
  if (!info) return nullptr;
  const VariantInfo* out = info.get();
  derived_.emplace(name, std::move(info));
  return out;
}

void Registry::add_head(HeadInfo info) {
  if (heads_.count(info.name)) throw std::logic_error("head '" + info.name + "' is registered twice");
  std::string name = info.name;
  heads_.emplace(std::move(name), std::move(info));
}

const HeadInfo* Registry::find_head(const std::string& name) const {
  auto it = heads_.find(name);
  return it == heads_.end() ? nullptr : &it->second;
}

std::vector<const HeadInfo*> Registry::heads() const {
  std::vector<const HeadInfo*> out;
  for (const auto& [name, info] : heads_) out.push_back(&info);
  return out;
}

std::vector<const VariantInfo*> Registry::list() const {
  std::vector<const VariantInfo*> out;
  for (const auto& [name, info] : variants_) out.push_back(&info);
  return out;
}

std::vector<std::string> Registry::suggest(const std::string& name, size_t max) const {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates;
  for (const auto& [n, info] : variants_) candidates.push_back(n);
  for (const auto& [alias, target] : aliases_) candidates.push_back(alias);
  std::error_code ec;  // exported models, by the name of their file in the model folder
  for (const auto& entry : fs::directory_iterator(model_dir(), ec))
    if (entry.path().extension() == ".pt" || entry.path().extension() == ".pt2")
      candidates.push_back(entry.path().stem().string());
  return closest(name, candidates, max);
}

std::string Registry::unknown_message(const std::string& name) const {
  // A name from a file or a command line: shown as one bounded line, and a name no model could have is not searched.
  if (name.size() > 256 || one_line(name, 256) != name) return "unknown model '" + one_line(name, 80) + "'";
  if (starts_with(name, "file:")) {
    try {
      exported_variant(name.substr(5), name);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "cannot read exported model '" + name.substr(5) + "'";
  }
  if (starts_with(name, "hf-hub:")) {
    return "locbench does not know the release '" + name +
           "' (bench list models --pretrained lists those it knows); to load its weights into a registered "
           "architecture, name the architecture and give the release as its weights (--weights " + name + ")";
  }
  if (auto dot = name.find('.'); dot != std::string::npos) {
    const std::string arch_name = name.substr(0, dot), tag = name.substr(dot + 1);
    const VariantInfo* arch = nullptr;
    if (auto it = variants_.find(arch_name); it != variants_.end()) arch = &it->second;
    if (auto a = aliases_.find(arch_name); !arch && a != aliases_.end()) arch = &variants_.at(a->second);
    if (!arch) {
      std::string msg = "unknown model '" + arch_name + "' in '" + name + "'";
      auto close = suggest(arch_name);
      if (!close.empty()) msg += " (did you mean " + close.front() + "." + tag + "?)";
      return msg;
    }
    std::vector<std::string> tags;
    for (const auto& t : arch->pretrained)
      if (!t.tag.empty()) tags.push_back(t.tag);
    if (tags.empty()) return "locbench knows no pretrained tags of " + arch->name + " ('" + name + "')";
    std::string msg = "locbench does not know the pretrained tag '" + tag + "' of " + arch->name;
    auto close = closest(tag, tags, 1);
    if (!close.empty()) msg += " (did you mean " + arch->name + "." + close.front() + "?)";
    return msg + "; its tags: " + join(tags);
  }
  std::string msg = "unknown model '" + name + "'";
  auto close = suggest(name);
  if (!close.empty()) msg += " (did you mean " + close.front() + "?)";
  return msg;
}

ModelPtr create_model(const std::string& name, const ModelArgs& args) {
  const VariantInfo* info = Registry::instance().find(name);
  if (!info) throw std::invalid_argument(Registry::instance().unknown_message(name));
  ModelPtr model = info->factory(args);
  VariantConfig config = info->config;
  if (args.num_classes) config.num_classes = *args.num_classes;
  if (args.img_size) {
    config.input_size[1] = (*args.img_size)[0];
    config.input_size[2] = (*args.img_size)[1];
  }
  model->set_variant_config(std::move(config));
  return model;
}

DecodeHeadPtr create_head(const std::string& name, const HeadArgs& args) {
  const HeadInfo* info = Registry::instance().find_head(name);
  if (!info) {
    std::string known;
    for (const HeadInfo* h : Registry::instance().heads()) known += (known.empty() ? "" : ", ") + h->name;
    throw std::invalid_argument("unknown decode head '" + name + "' (registered: " + known + ")");
  }
  if (args.in_channels < 1 || args.num_classes < 1)
    throw std::invalid_argument("decode head '" + name + "': in_channels and num_classes must be positive");
  return info->factory(args);
}

}  // namespace locbench
