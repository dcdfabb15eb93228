// SDPA peers of the fused Gaussian-attention kernel (built only with a CUDA LibTorch): the bias materialised as a
// dense (B, H, N, N) bf16 tensor, as the ATen reference (methods/common/gaussian_bias.cpp) does, then
// scaled_dot_product_attention forced onto one backend (efficient, cuDNN, math); and unbiased flash as the floor.
#include "kernels/gaussian_attention/bench_cuda.h"
#include "kernels/gaussian_attention/gaussian_attention.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

namespace locbench::kernels::bench {

namespace {

enum class Backend { kFlash, kEfficient, kCudnn, kMath };

// Allows exactly one SDPA backend while alive; restores the user's choice afterwards.
class OnlyBackend {
 public:
  explicit OnlyBackend(Backend b) {
    auto& ctx = at::globalContext();
    ctx.setSDPUseFlash(b == Backend::kFlash);
    ctx.setSDPUseMemEfficient(b == Backend::kEfficient);
    ctx.setSDPUseCuDNN(b == Backend::kCudnn);
    ctx.setSDPUseMath(b == Backend::kMath);
  }
  ~OnlyBackend() {
    auto& ctx = at::globalContext();
    ctx.setSDPUseFlash(flash_);
    ctx.setSDPUseMemEfficient(efficient_);
    ctx.setSDPUseCuDNN(cudnn_);
    ctx.setSDPUseMath(math_);
  }
  OnlyBackend(const OnlyBackend&) = delete;
  OnlyBackend& operator=(const OnlyBackend&) = delete;

 private:
  bool flash_ = at::globalContext().userEnabledFlashSDP();
  bool efficient_ = at::globalContext().userEnabledMemEfficientSDP();
  bool cudnn_ = at::globalContext().userEnabledCuDNNSDP();
  bool math_ = at::globalContext().userEnabledMathSDP();
};

// GAug's bias from per-query var (B, H, Np, 2) and amplitude (B, H, Np, 1), built like the ATen reference: fp32
// Gaussian over clamped per-axis numerators, zero-padded for the prefix tokens, cast to the attention dtype.
torch::Tensor materialise_bias(const Shape& s, const torch::Tensor& num_row, const torch::Tensor& num_col,
                               const torch::Tensor& var, const torch::Tensor& amplitude, float eps) {
  auto exponent = num_row / (var.select(-1, 0).unsqueeze(-1) + eps) + num_col / (var.select(-1, 1).unsqueeze(-1) + eps);
  auto bias = amplitude * exponent.exp();
  if (s.num_prefix > 0)
    bias = torch::nn::functional::pad(bias, torch::nn::functional::PadFuncOptions({s.num_prefix, 0, s.num_prefix, 0}));
  return bias.to(torch::kBFloat16);
}

// Per-axis numerators -dx^2/2 clamped at LocAtViT's value, (Np, Np) each, computed once as the reference caches them.
std::pair<torch::Tensor, torch::Tensor> numerators(const Shape& s, float clamp, const torch::TensorOptions& opt) {
  auto r = torch::arange(s.rows, opt).repeat_interleave(s.cols);
  auto c = torch::arange(s.cols, opt).repeat(s.rows);
  auto table = [&](const torch::Tensor& x) { return (-0.5 * (x.unsqueeze(1) - x.unsqueeze(0)).pow(2)).clamp_min(clamp); };
  return {table(r), table(c)};
}

void bm_sdpa(benchmark::State& state, Shape s, Backend backend, bool biased) {
  try {
    torch::NoGradGuard no_grad;
    const auto bf16 = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    const auto f32 = bf16.dtype(torch::kFloat32);
    auto q = torch::randn({s.batch, s.heads, s.seq_len(), s.head_dim}, bf16);
    auto k = torch::randn_like(q), v = torch::randn_like(q);
    const int64_t np = int64_t(s.rows) * s.cols;
    auto var = torch::rand({s.batch, s.heads, np, 2}, f32) * 4 + 0.5;
    auto amplitude = torch::rand({s.batch, s.heads, np, 1}, f32);
    auto [num_row, num_col] = numerators(s, locatvit_clamp(14), f32);
    const float eps = locatvit_eps(14);
    const double scale = 1.0 / std::sqrt(double(s.head_dim));

    OnlyBackend only(backend);
    // The bias is rebuilt every call: GAug predicts it from q, so a model pays for it in every layer.
    auto call = [&] {
      std::optional<torch::Tensor> mask;
      if (biased) mask = materialise_bias(s, num_row, num_col, var, amplitude, eps);
      return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale);
    };
    call();  // warm-up; throws when the backend rejects these inputs
    torch::cuda::synchronize();
    EventTimer timer;
    double total = 0;
    for (auto _ : state) {
      timer.start(nullptr);  // LibTorch's current stream is the default stream here
      call();
      const double seconds = timer.stop(nullptr);
      state.SetIterationTime(seconds);
      total += seconds;
    }
    report_tflops(state, s.flops(), total);
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("SDPA: ") + e.what()).c_str());
  }
}

}  // namespace

void register_sdpa_peers(const std::vector<Shape>& shapes) {
  struct Peer {
    const char* variant;
    Backend backend;
    bool biased;
  };
  const Peer peers[] = {{"sdpa_efficient", Backend::kEfficient, true},
                        {"sdpa_cudnn", Backend::kCudnn, true},
                        {"sdpa_math", Backend::kMath, true},
                        {"sdpa_flash_unbiased", Backend::kFlash, false}};
  for (const Shape& s : shapes)
    for (const Peer& p : peers)
      benchmark::RegisterBenchmark(benchmark_name(p.variant, s).c_str(), bm_sdpa, s, p.backend, p.biased)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
}

}  // namespace locbench::kernels::bench
