#include "harness/checkpoint/checkpoint.h"

#include "harness/checkpoint/format.h"
#include "harness/checkpoint/safetensors.h"

#include <cstring>
#include <sstream>

namespace locbench {

namespace st = safetensors;

namespace {

torch::ScalarType to_torch(st::Dtype dtype) {
  switch (dtype) {
    case st::Dtype::F64: return torch::kFloat64;
    case st::Dtype::F32: return torch::kFloat32;
    case st::Dtype::F16: return torch::kFloat16;
    case st::Dtype::BF16: return torch::kBFloat16;
    case st::Dtype::I64: return torch::kInt64;
    case st::Dtype::I32: return torch::kInt32;
    case st::Dtype::I16: return torch::kInt16;
    case st::Dtype::I8: return torch::kInt8;
    case st::Dtype::U8: return torch::kUInt8;
    case st::Dtype::BOOL: return torch::kBool;
  }
  throw std::logic_error("unknown dtype");
}

st::Dtype from_torch(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat64: return st::Dtype::F64;
    case torch::kFloat32: return st::Dtype::F32;
    case torch::kFloat16: return st::Dtype::F16;
    case torch::kBFloat16: return st::Dtype::BF16;
    case torch::kInt64: return st::Dtype::I64;
    case torch::kInt32: return st::Dtype::I32;
    case torch::kInt16: return st::Dtype::I16;
    case torch::kInt8: return st::Dtype::I8;
    case torch::kUInt8: return st::Dtype::U8;
    case torch::kBool: return st::Dtype::BOOL;
    default: throw std::invalid_argument(std::string("cannot store dtype ") + c10::toString(type));
  }
}

torch::Tensor to_tensor(const st::TensorView& view) {
  auto t = torch::empty(view.shape, torch::TensorOptions().dtype(to_torch(view.dtype)));
  if (view.nbytes) std::memcpy(t.data_ptr(), view.data, view.nbytes);  // the file need not be aligned
  return t;
}

std::string shape_str(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

std::string join(const std::vector<std::string>& items, size_t max = 12) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

}  // namespace

std::map<std::string, torch::Tensor> read_safetensors(const std::string& path) {
  st::File file(path);
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, view] : file.tensors()) out.emplace(name, to_tensor(view));
  return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::map<std::string, st::TensorBytes> bytes;
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    st::TensorBytes b{from_torch(t.scalar_type()), t.sizes().vec(), {}};
    b.bytes.resize(t.nbytes());
    if (t.nbytes()) std::memcpy(b.bytes.data(), t.data_ptr(), t.nbytes());
    bytes.emplace(name, std::move(b));
  }
  st::write(path, bytes, metadata);
}

void load_checkpoint(Model& model, const std::string& path, const std::string& model_name) {
  require_safetensors(path, model_name);
  st::File file(path);
  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : model.named_parameters(true)) targets.emplace(item.key(), item.value());
  for (const auto& item : model.named_buffers(true)) targets.emplace(item.key(), item.value());

  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, target] : targets)
    if (!file.contains(name)) missing.push_back(name);
  for (const auto& [name, view] : file.tensors()) {
    auto it = targets.find(name);
    if (it == targets.end()) {
      if (!model.ignores_checkpoint_key(name)) unexpected.push_back(name);
    } else if (c10::IntArrayRef(view.shape) != it->second.sizes()) {
      mismatched.push_back(name + " " + shape_str(view.shape) + " vs model " + shape_str(it->second.sizes()));
    } else if (!(view.dtype == st::Dtype::F64 || view.dtype == st::Dtype::F32 || view.dtype == st::Dtype::F16 ||
                 view.dtype == st::Dtype::BF16) &&
               c10::isFloatingType(it->second.scalar_type())) {
      mismatched.push_back(name + " has dtype " + st::dtype_name(view.dtype) + " for a floating-point tensor");
    }
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = path + ": checkpoint does not match the model:";
    if (!missing.empty()) msg += " missing keys [" + join(missing) + "];";
    if (!unexpected.empty()) msg += " unexpected keys [" + join(unexpected) + "];";
    if (!mismatched.empty()) msg += " wrong shapes [" + join(mismatched) + "];";
    msg.pop_back();
    throw std::runtime_error(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(to_tensor(file.at(name)).to(target.scalar_type()));
}

}  // namespace locbench
