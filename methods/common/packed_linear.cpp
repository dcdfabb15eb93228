// Packed oneDNN linear for inference (packed_linear.h).
#include "methods/common/packed_linear.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace locbench::layers {

namespace F = torch::nn::functional;

namespace {

std::atomic<bool> g_enabled{true};

using Reorder = at::Tensor(const at::Tensor&, std::optional<int64_t>);
using Pointwise = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, c10::string_view,
                             c10::List<std::optional<at::Scalar>>, std::optional<c10::string_view>);

// LibTorch's oneDNN ops, looked up once; empty when this LibTorch has none.
struct OneDnn {
  std::optional<c10::TypedOperatorHandle<Reorder>> reorder;
  std::optional<c10::TypedOperatorHandle<Pointwise>> pointwise;
};

const OneDnn& onednn() {
  static const OneDnn ops = [] {
    OneDnn o;
    if (!at::hasMKLDNN()) return o;
    auto& dispatcher = c10::Dispatcher::singleton();
    const auto reorder = dispatcher.findSchema({"mkldnn::_reorder_linear_weight", ""});
    const auto pointwise = dispatcher.findSchema({"mkldnn::_linear_pointwise", ""});
    if (reorder && pointwise) o.reorder = reorder->typed<Reorder>(), o.pointwise = pointwise->typed<Pointwise>();
    return o;
  }();
  return ops;
}

// A layer's packed weight, valid while the layer lives and its weight is the same tensor at the same version.
struct Packed {
  std::weak_ptr<torch::nn::LinearImpl> layer;
  const c10::TensorImpl* weight = nullptr;
  int64_t version = 0;
  at::Tensor packed;
};

std::mutex g_mutex;
std::unordered_map<const torch::nn::LinearImpl*, Packed> g_packed;

at::Tensor packed_weight(const torch::nn::Linear& layer) {
  const at::Tensor& weight = layer->weight;
  const torch::nn::LinearImpl* key = layer.get();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_packed.find(key);
  if (it != g_packed.end() && it->second.layer.lock().get() == key &&
      it->second.weight == weight.unsafeGetTensorImpl() && it->second.version == weight._version())
    return it->second.packed;
  for (auto e = g_packed.begin(); e != g_packed.end();)  // layers that died since: their copies go too
    e = e->second.layer.expired() ? g_packed.erase(e) : std::next(e);
  Packed p{layer.ptr(), weight.unsafeGetTensorImpl(), weight._version(),
           onednn().reorder->call(weight.detach(), std::nullopt)};
  g_packed[key] = p;
  return p.packed;
}

bool needs_grad(const at::Tensor& t) { return t.defined() && t.requires_grad(); }

bool takes_packed(const torch::nn::Linear& layer, const torch::Tensor& x) {
  if (!g_enabled.load() || !onednn().pointwise) return false;
  const auto& w = layer->weight;
  if (!x.is_cpu() || x.scalar_type() != torch::kFloat32 || x.dim() < 2 || x.numel() == 0) return false;
  if (!w.is_cpu() || w.scalar_type() != torch::kFloat32 || w.dim() != 2 || x.size(-1) != w.size(1)) return false;
  if (layer->bias.defined() && layer->bias.scalar_type() != torch::kFloat32) return false;
  return !(torch::GradMode::is_enabled() && (needs_grad(x) || needs_grad(w) || needs_grad(layer->bias)));
}

}  // namespace

void set_packed_linear_enabled(bool enabled) { g_enabled.store(enabled); }
bool packed_linear_enabled() { return g_enabled.load(); }

torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x, bool gelu) {
  if (!takes_packed(layer, x)) {
    auto y = F::linear(x, layer->weight, layer->bias);  // LinearImpl::forward
    return gelu ? F::gelu(y) : y;
  }
  const std::optional<at::Tensor> bias =
      layer->bias.defined() ? std::optional<at::Tensor>(layer->bias.detach()) : std::nullopt;
  return onednn().pointwise->call(x.contiguous(), packed_weight(layer), bias, gelu ? "gelu" : "none",
                                  c10::List<std::optional<at::Scalar>>(), gelu ? std::optional<c10::string_view>("none")
                                                                               : std::optional<c10::string_view>(""));
}

}  // namespace locbench::layers
