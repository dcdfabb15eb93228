// Google Benchmark of the Gaussian-bias attention on the CPU, fp32, at ViT shapes (batch 1, head dim 64; ViT-Ti and
// ViT-B heads; N 197, 577, 1025, 1601 = class token + 14^2, 24^2, 32^2, 40^2). Names gaussian_attention_cpu/<variant>/
// B1_H3_N197_D64, wall time, so that `bench check --reference sdpa_unbiased` gates the fused path by its ratio to
// unbiased SDPA in the same run:
//   fused                        GAug through gaussian::gaussian_attention (the fused CPU kernel)
//   sdpa_materialised            GAug's bias materialised (B, H, N, N), then SDPA with it as the mask (the reference)
//   fused_gab_relpos             GAB (per-layer A, sigma) plus a RelPosMlp-like (1, H, N, N) bias, fused
//   sdpa_materialised_gab_relpos the same, materialised
//   sdpa_unbiased                SDPA without a bias: the floor
// Options before Google Benchmark's own: --threads N (LibTorch intra-op threads, default 1).
#include "kernels/cpu_bench_main.h"
#include "kernels/gaussian_attention/bench_common.h"
#include "kernels/gaussian_attention/cpu_gaussian_attention.h"
#include "kernels/gaussian_attention/gaussian_attention_op.h"
#include "kernels/gaussian_attention/gaussian_attention_args.h"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace locbench::kernels::bench {

namespace {

enum class Variant { kFused, kMaterialised, kFusedGabRelpos, kMaterialisedGabRelpos, kUnbiased };

// Inputs of one shape, made once: q, k, v as a model slices them from one qkv projection (strided views), GAug's
// per-query var and amplitude at their initial-weight scale, GAB's per-layer scalars and a RelPosMlp-like bias.
struct Inputs {
  torch::Tensor qkv, q, k, v, var, amplitude, sigma, gab_amplitude, relpos;
  gaussian::PatchGrid grid;

  explicit Inputs(const Shape& s) : grid{s.rows, s.cols, s.num_prefix} {
    torch::manual_seed(0);
    const int64_t n = s.seq_len(), np = int64_t(s.rows) * s.cols;
    qkv = torch::randn({s.batch, n, 3, s.heads, s.head_dim});
    auto heads = qkv.permute({2, 0, 3, 1, 4});
    q = heads[0], k = heads[1], v = heads[2];
    var = torch::rand({s.batch, s.heads, np, 2}) * 4 + 0.5;
    amplitude = torch::rand({s.batch, s.heads, np, 1});
    sigma = torch::full({1}, 5.0), gab_amplitude = torch::full({1}, 1.0);
    relpos = torch::randn({1, s.heads, n, n}) * 0.1;
  }
};

void bm_cpu(benchmark::State& state, Shape shape, Variant variant) {
  try {
    torch::InferenceMode inference;
    const Inputs in(shape);
    const double scale = 1.0 / std::sqrt(double(shape.head_dim));
    const gaussian::GaussianBiasParams gaug{in.var, in.amplitude, locatvit_eps(14), locatvit_clamp(14)};
    const auto gab = gaussian::isotropic(in.sigma, in.gab_amplitude);
    // Every call builds its bias again: GAug predicts it from q, so a model pays for it in every layer.
    auto call = [&] {
      switch (variant) {
        case Variant::kFused: return gaussian::gaussian_attention(in.q, in.k, in.v, scale, gaug, in.grid, true);
        case Variant::kMaterialised:
          return gaussian::reference_gaussian_attention(in.q, in.k, in.v, scale, gaug, in.grid, true);
        case Variant::kFusedGabRelpos:
          return gaussian::gaussian_attention(in.q, in.k, in.v, scale, gab, in.grid, true, in.relpos);
        case Variant::kMaterialisedGabRelpos:
          return gaussian::reference_gaussian_attention(in.q, in.k, in.v, scale, gab, in.grid, true, in.relpos);
        case Variant::kUnbiased: break;
      }
      return at::scaled_dot_product_attention(in.q, in.k, in.v, std::nullopt, 0.0, false, scale);
    };
    if ((variant == Variant::kFused || variant == Variant::kFusedGabRelpos) &&
        !gaussian::fused_kernel_rejection(in.q, in.k, in.v, variant == Variant::kFused ? gaug : gab, in.grid,
                                          variant == Variant::kFused ? torch::Tensor() : in.relpos)
             .empty())
      return state.SkipWithError("the fused CPU kernel rejects these arguments");
    call();  // warm-up: the kernel's per-thread buffers, the allocator
    for (auto _ : state) benchmark::DoNotOptimize(call());
    state.counters["GFLOP/s"] = benchmark::Counter(shape.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void register_cpu(const std::vector<Shape>& shapes) {
  const std::pair<const char*, Variant> variants[] = {{"fused", Variant::kFused},
                                                      {"sdpa_materialised", Variant::kMaterialised},
                                                      {"fused_gab_relpos", Variant::kFusedGabRelpos},
                                                      {"sdpa_materialised_gab_relpos", Variant::kMaterialisedGabRelpos},
                                                      {"sdpa_unbiased", Variant::kUnbiased}};
  for (const Shape& s : shapes)
    for (const auto& [name, variant] : variants)
      benchmark::RegisterBenchmark(benchmark_name("gaussian_attention_cpu", name, s).c_str(), bm_cpu, s, variant)
          ->UseRealTime()
          ->MeasureProcessCPUTime()
          ->Unit(benchmark::kMicrosecond);
}

}  // namespace

}  // namespace locbench::kernels::bench

int main(int argc, char** argv) {
  using namespace locbench::kernels::bench;
  if (!locbench::kernels::init_cpu_benchmarks(argc, argv, locbench::kernels::cpu_kernel_capability())) return 1;
  std::vector<Shape> shapes;
  for (int heads : {3, 12})
    for (int side : {14, 24, 32, 40}) shapes.push_back({1, heads, 1, side, side, 64});
  register_cpu(shapes);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
