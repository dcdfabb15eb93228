#include "harness/model/exported.h"

#include "harness/checkpoint/format.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

namespace locbench {

namespace {

constexpr const char* kMetadata = "locbench.json";

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::invalid_argument("exported model " + path + ": " + what);
}

// The metadata locbench.export stores as an extra file of the archive.
nlohmann::json read_metadata(const std::string& path) {
  std::string text;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    const std::string record = std::string("extra/") + kMetadata;
    if (!reader.hasRecord(record)) fail(path, "no locbench.json inside; write it with locbench.export(model, name)");
    auto [data, size] = reader.getRecord(record);
    text.assign(static_cast<const char*>(data.get()), size);
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    fail(path, "cannot read the archive (" + msg + ")");
  }
  try {
    auto meta = nlohmann::json::parse(text);
    if (!meta.is_object()) fail(path, "locbench.json is not an object");
    return meta;
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("locbench.json: ") + e.what());
  }
}

// An AOTInductor package keeps locbench.json as its metadata entry "locbench" (inductor config
// aot_inductor.metadata at compile time).
nlohmann::json read_package_metadata(const std::string& path) {
  std::unordered_map<std::string, std::string> meta;
  try {
    meta = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(path, "model");
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    fail(path, "cannot read the AOTInductor package (" + msg + ")");
  }
  auto it = meta.find("locbench");
  if (it == meta.end()) fail(path, "no locbench metadata inside; write it with locbench.export(model, name, format=\"aoti\")");
  try {
    auto out = nlohmann::json::parse(it->second);
    if (!out.is_object()) fail(path, "locbench metadata is not an object");
    return out;
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("locbench metadata: ") + e.what());
  }
}

template <typename T, size_t N>
std::array<T, N> array_field(const nlohmann::json& meta, const char* key, std::array<T, N> fallback,
                             const std::string& path) {
  if (!meta.contains(key)) return fallback;
  const auto& v = meta.at(key);
  if (!v.is_array() || v.size() != N) fail(path, std::string(kMetadata) + ": '" + key + "' must be a list of " +
                                                     std::to_string(N) + " numbers");
  std::array<T, N> out{};
  for (size_t i = 0; i < N; ++i) {
    if (!v[i].is_number()) fail(path, std::string(kMetadata) + ": '" + key + "' must hold numbers");
    out[i] = v[i].get<T>();
  }
  return out;
}

VariantConfig config_from(const nlohmann::json& meta, const std::string& path) {
  VariantConfig c;
  try {
    c.input_size = array_field<int64_t, 3>(meta, "input_size", c.input_size, path);
    c.mean = array_field<double, 3>(meta, "mean", c.mean, path);
    c.std = array_field<double, 3>(meta, "std", c.std, path);
    c.crop_pct = meta.value("crop_pct", c.crop_pct);
    c.interpolation = meta.value("interpolation", c.interpolation);
    c.patch_size = meta.value("feature_stride", c.patch_size);
    c.num_classes = meta.value("num_classes", c.num_classes);
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string(kMetadata) + ": " + e.what());
  }
  if (c.input_size[0] <= 0 || c.input_size[1] <= 0 || c.input_size[2] <= 0) fail(path, "input_size must be positive");
  return c;
}

// A TorchScript module behind the Model interface. Its parameters and buffers are registered with this module
// (the same tensors), so counting, moving and dtype changes reach the scripted module.
class ScriptedModel : public Model {
 public:
  ScriptedModel(const std::string& path, const nlohmann::json& meta) : path_(path) {
    try {
      module_ = torch::jit::load(path, torch::kCPU);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
      fail(path, "cannot load TorchScript (" + msg + ")");
    }
    module_.eval();
    for (const auto& p : module_.named_parameters(true))
      register_parameter(flat(p.name), p.value, p.value.requires_grad());
    for (const auto& b : module_.named_buffers(true)) register_buffer(flat(b.name), b.value);
    has_dense_ = module_.find_method("forward_dense").has_value();
    has_intermediates_ = module_.find_method("forward_intermediates").has_value();
    num_blocks_ = meta.value("num_blocks", int64_t{0});
    num_features_ = meta.value("num_features", int64_t{0});
    feature_stride_ = meta.value("feature_stride", int64_t{0});
  }

  torch::Tensor forward(const torch::Tensor& images) override { return tensor(module_.forward({images}), "forward"); }
  torch::Tensor forward_dense(const torch::Tensor& images) override {
    if (!has_dense_)
      throw std::runtime_error("exported model " + path_ + " has no forward_dense (export it with dense features: "
                               "locbench.export(model, name, dense=...))");
    return tensor(module_.get_method("forward_dense")({images}), "forward_dense");
  }
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images,
                                                   const std::vector<int64_t>& indices) override {
    if (!has_intermediates_) throw std::runtime_error("exported model " + path_ + " has no forward_intermediates");
    auto out = module_.get_method("forward_intermediates")({images, c10::IValue(indices)});
    std::vector<torch::Tensor> tensors;
    for (const auto& v : out.toListRef()) tensors.push_back(v.toTensor());
    return tensors;
  }
  int64_t num_blocks() const override { return num_blocks_; }
  int64_t num_features() const override { return num_features_; }
  int64_t feature_stride() const override { return feature_stride_; }

  void train(bool on = true) override {
    torch::nn::Module::train(on);
    module_.train(on);
  }

 private:
  static std::string flat(std::string name) {
    for (auto& ch : name)
      if (ch == '.') ch = '/';  // nn::Module names may not hold dots; '/' keeps them readable and unique
    return name;
  }
  torch::Tensor tensor(const c10::IValue& v, const char* method) const {
    if (!v.isTensor())
      throw std::runtime_error("exported model " + path_ + ": " + method + " returned a " + v.tagKind() +
                               ", not a tensor");
    return v.toTensor();
  }

  std::string path_;
  torch::jit::Module module_;
  bool has_dense_ = false, has_intermediates_ = false;
  int64_t num_blocks_ = 0, num_features_ = 0, feature_stride_ = 0;
};

// An AOTInductor package (compiled ahead of time for one device) behind the Model interface. Its weights are the
// package's constants; those the exporter listed as parameters are registered here (copies, for counting).
class AotiModel : public Model {
 public:
  AotiModel(const std::string& path, const nlohmann::json& meta) : path_(path) {
    try {
      loader_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(path, "model");
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
      fail(path, "cannot load the AOTInductor package (" + msg + ")");
    }
    // The module's parameters as the exporter listed them (name -> shape). The package keeps most as constants;
    // those the compiler folded into its code (a small bias, say) are not among them and are counted from their
    // recorded shape.
    auto* runner = loader_->get_runner();
    const auto fqns = runner->getConstantNamesToOriginalFQNs();
    std::map<std::string, torch::Tensor> constants;
    for (const auto& [name, tensor] : runner->extract_constants_map(false))
      constants.emplace(fqns.count(name) ? fqns.at(name) : name, tensor);
    const auto listed = meta.value("parameters", nlohmann::json::object());
    if (!listed.is_object()) fail(path, "locbench metadata: 'parameters' must map names to shapes");
    for (const auto& [name, shape] : listed.items()) {
      auto it = constants.find(name);
      const torch::Tensor value =
          it != constants.end() ? it->second.detach() : torch::zeros(shape.get<std::vector<int64_t>>());
      register_parameter(flat(name), value, false);
    }
    device_ = meta.value("device", std::string("cpu"));
  }
  torch::Tensor forward(const torch::Tensor& images) override {
    auto out = loader_->run({images});
    if (out.empty()) throw std::runtime_error("exported model " + path_ + " returned nothing");
    return out.front();
  }
  torch::Tensor forward_dense(const torch::Tensor&) override {
    throw std::runtime_error("exported model " + path_ + ": an AOTInductor package holds forward only; export "
                             "TorchScript for dense features");
  }
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor&, const std::vector<int64_t>&) override {
    throw std::runtime_error("exported model " + path_ + ": an AOTInductor package holds forward only");
  }
  int64_t num_blocks() const override { return 0; }
  int64_t num_features() const override { return 0; }
  int64_t feature_stride() const override { return 0; }
  std::string compute_not_observable() const override {
    return "an AOTInductor package runs compiled kernels that call ATen below the dispatcher, so RecordFunction "
           "observes no ops; export TorchScript (locbench.export) to count MACs";
  }
  void to(torch::Device device, bool non_blocking = false) override {
    if (device.type() != (device_ == "cuda" ? torch::kCUDA : torch::kCPU))
      throw std::runtime_error("exported model " + path_ + " was compiled for " + device_ + ", not " + device.str());
    torch::nn::Module::to(device, non_blocking);
  }
  using torch::nn::Module::to;

 private:
  static std::string flat(std::string name) {
    for (auto& ch : name)
      if (ch == '.') ch = '/';
    return name;
  }
  std::string path_, device_;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
};

void require_fixed(const ModelArgs& args, const VariantConfig& config, const std::string& path) {
  auto refuse = [&](const std::string& what) {
    throw std::invalid_argument("exported model " + path + " is fixed at export: " + what +
                                " cannot be changed (export it again with the setting you need)");
  };
  if (args.num_classes && *args.num_classes != config.num_classes) refuse("num_classes");
  if (args.img_size && ((*args.img_size)[0] != config.input_size[1] || (*args.img_size)[1] != config.input_size[2]))
    refuse("img_size");
  if (args.drop_rate || args.drop_path_rate) refuse("drop_rate/drop_path_rate");
  if (args.fused_attn) refuse("fused_attn");
}

}  // namespace

VariantInfo exported_variant(const std::string& path, const std::string& name) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(path, "no such file");
  const SniffedFile sniffed = sniff_file(path);
  const bool aoti = sniffed.format == FileFormat::aoti_package;
  if (sniffed.format != FileFormat::torchscript && !aoti)
    fail(path, "this is " + describe(sniffed.format) +
                   "; locbench runs TorchScript or AOTInductor packages written by locbench.export");
  const nlohmann::json meta = aoti ? read_package_metadata(path) : read_metadata(path);
  VariantInfo info;
  info.name = name;
  info.method = "exported";
  info.task = meta.value("task", std::string("classification"));
  if (info.task != "classification" && info.task != "segmentation")
    fail(path, "locbench.json: task must be classification or segmentation, got '" + info.task + "'");
  info.paper = meta.value("source", std::string("exported from Python"));
  info.config = config_from(meta, path);
  info.file = path;
  info.factory = [path, meta, aoti, config = info.config](const ModelArgs& args) -> ModelPtr {
    require_fixed(args, config, path);
    if (aoti) return std::make_shared<AotiModel>(path, meta);
    return std::make_shared<ScriptedModel>(path, meta);
  };
  return info;
}

}  // namespace locbench
