#include "harness/model/registry.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace locbench {

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

void Registry::add(VariantInfo info) {
  if (variants_.count(info.name) || aliases_.count(info.name))
    throw std::logic_error("model '" + info.name + "' is registered twice");
  for (const auto& alias : info.aliases) aliases_[alias] = info.name;
  std::string name = info.name;
  variants_.emplace(std::move(name), std::move(info));
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

const VariantInfo* Registry::find(const std::string& name) const {
  auto it = variants_.find(name);
  if (it != variants_.end()) return &it->second;
  auto alias = aliases_.find(name);
  if (alias != aliases_.end()) return &variants_.at(alias->second);
  return nullptr;
}

std::vector<const VariantInfo*> Registry::list() const {
  std::vector<const VariantInfo*> out;
  for (const auto& [name, info] : variants_) out.push_back(&info);
  return out;
}

namespace {
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
}  // namespace

std::vector<std::string> Registry::suggest(const std::string& name, size_t max) const {
  // (distance, -length of the common prefix, name): among equally distant names, the one that starts like the
  // query wins ("vitt_tiny" -> vit_tiny_patch16_224 rather than pvt_tiny).
  std::vector<std::tuple<size_t, long, std::string>> scored;
  auto score = [&](const std::string& candidate) {
    size_t d = edit_distance(name, candidate);
    // A typo in a prefix ("vitt_tiny") should still find the full name.
    size_t prefix = edit_distance(name, candidate.substr(0, std::min(candidate.size(), name.size() + 1)));
    const auto common = std::mismatch(name.begin(), name.end(), candidate.begin(), candidate.end()).first - name.begin();
    scored.emplace_back(std::min(d, prefix), -static_cast<long>(common), candidate);
  };
  for (const auto& [n, info] : variants_) score(n);
  for (const auto& [alias, target] : aliases_) score(alias);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [d, common, n] : scored) {
    if (out.size() >= max || d > std::max<size_t>(3, name.size() / 3)) break;
    out.push_back(n);
  }
  return out;
}

ModelPtr create_model(const std::string& name, const ModelArgs& args) {
  const VariantInfo* info = Registry::instance().find(name);
  if (!info) {
    std::string msg = "unknown model '" + name + "'";
    auto close = Registry::instance().suggest(name);
    if (!close.empty()) msg += " (did you mean " + close.front() + "?)";
    throw std::invalid_argument(msg);
  }
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
