// Google Benchmark of the fused Gaussian-bias attention kernels (GAug / GAB) at ViT shapes, bf16, timed with CUDA
// events (manual time). Names: gaussian_attention/<variant>/B64_H3_N197_D64, the backward as
// gaussian_attention_bwd/<variant>/B64_H3_N197_D64. Without a GPU it exits cleanly.
#include "kernels/gaussian_attention/bench_cuda.h"
#include "kernels/gaussian_attention/gaussian_attention.h"

#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

namespace locbench::kernels::bench {

namespace {

// Device buffers of one shape. Values are a constant byte pattern: the kernel has no data-dependent control flow,
// and a bf16 0x3c3c (about 0.0115) and an fp32 0x3f3f3f3f (about 0.75) keep every exp finite.
struct DeviceProblem {
  GaussianAttentionArgs args;
  void* buffers[6] = {};
  bool ok = true;

  DeviceProblem(const Shape& s, BiasMode mode) {
    const size_t elems = size_t(s.batch) * s.heads * s.seq_len() * s.head_dim;
    const size_t np = size_t(s.rows) * s.cols;
    const size_t bytes[6] = {elems * 2, elems * 2, elems * 2, elems * 2, size_t(s.batch) * s.heads * np * 2 * 4,
                             size_t(s.batch) * s.heads * np * 4};
    for (int i = 0; i < 6; ++i) {
      ok = ok && cudaMalloc(&buffers[i], bytes[i]) == cudaSuccess;
      ok = ok && cudaMemset(buffers[i], i < 4 ? 0x3c : 0x3f, bytes[i]) == cudaSuccess;
    }
    GaussianAttentionArgs& a = args;
    a.dtype = DType::kBFloat16;
    a.batch = s.batch, a.heads = s.heads, a.seq_len = s.seq_len(), a.head_dim = s.head_dim;
    a.num_prefix = s.num_prefix, a.rows = s.rows, a.cols = s.cols;
    a.scale = 0.125f;
    const int64_t sn = s.head_dim, sh = sn * s.seq_len(), sb = sh * s.heads;
    AttentionTensor* tensors[4] = {&a.q, &a.k, &a.v, &a.out};
    for (int i = 0; i < 4; ++i) *tensors[i] = AttentionTensor{buffers[i], sb, sh, sn};
    a.bias.mode = mode;
    a.bias.var = static_cast<const float*>(buffers[4]);
    a.bias.var_stride_b = int64_t(s.heads) * np * 2, a.bias.var_stride_h = int64_t(np) * 2, a.bias.var_stride_p = 2;
    a.bias.amplitude = static_cast<const float*>(buffers[5]);
    a.bias.amp_stride_b = int64_t(s.heads) * np, a.bias.amp_stride_h = int64_t(np), a.bias.amp_stride_p = 1;
    a.bias.eps = locatvit_eps(14);
    a.bias.has_clamp = true;
    a.bias.clamp = locatvit_clamp(14);
    // GAB: one (A, sigma) per layer, read from the same fp32 buffers.
    a.bias.gab_amplitude = a.bias.amplitude, a.bias.gab_sigma = a.bias.var, a.bias.gab_head_stride = 0;
  }
  ~DeviceProblem() {
    for (void* b : buffers) cudaFree(b);
  }
};

void bm_fused(benchmark::State& state, Shape shape, BiasMode mode, Algorithm algorithm) {
  DeviceProblem problem(shape, mode);
  if (!problem.ok) return state.SkipWithError("cudaMalloc failed (out of device memory?)");
  problem.args.algorithm = algorithm;
  cudaStream_t stream = nullptr;
  cudaStreamCreate(&stream);
  EventTimer timer;
  cudaError_t err = gaussian_attention_forward(problem.args, stream);  // warm-up: module load, smem attribute
  if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
  double total = 0;
  for (auto _ : state) {
    if (err != cudaSuccess) break;
    timer.start(stream);
    err = gaussian_attention_forward(problem.args, stream);
    const double seconds = timer.stop(stream);
    state.SetIterationTime(seconds);
    total += seconds;
  }
  cudaStreamDestroy(stream);
  if (err != cudaSuccess) return state.SkipWithError((std::string("kernel failed: ") + cudaGetErrorString(err)).c_str());
  report_tflops(state, shape.flops(), total);
}

// The backward's buffers beside a DeviceProblem: logsumexp (set in its args), dO, the gradients. Constant bytes again:
// dO like the inputs; the gradient buffers are only written.
struct DeviceGradients {
  GaussianAttentionGrads grads;
  void* buffers[9] = {};
  bool ok = true;

  DeviceGradients(const Shape& s, GaussianAttentionArgs& args) {
    const size_t elems = size_t(s.batch) * s.heads * s.seq_len() * s.head_dim;
    const size_t rows = size_t(s.batch) * s.heads * s.rows * s.cols;
    const size_t bytes[9] = {size_t(s.batch) * s.heads * s.seq_len() * 4, elems * 2, elems * 2, elems * 2, elems * 2,
                             rows * 2 * 4, rows * 4, size_t(s.heads) * 4, size_t(s.heads) * 4};
    for (int i = 0; i < 9; ++i) {
      ok = ok && cudaMalloc(&buffers[i], bytes[i]) == cudaSuccess;
      ok = ok && cudaMemset(buffers[i], 0x3c, bytes[i]) == cudaSuccess;
    }
    args.lse = static_cast<float*>(buffers[0]);
    AttentionTensor* tensors[4] = {&grads.dout, &grads.dq, &grads.dk, &grads.dv};
    for (int i = 0; i < 4; ++i) *tensors[i] = AttentionTensor{buffers[1 + i], args.q.stride_b, args.q.stride_h,
                                                              args.q.stride_n};
    grads.dvar = static_cast<float*>(buffers[5]), grads.damp = static_cast<float*>(buffers[6]);
    grads.dgab_amplitude = static_cast<float*>(buffers[7]), grads.dgab_sigma = static_cast<float*>(buffers[8]);
  }
  ~DeviceGradients() {
    for (void* b : buffers) cudaFree(b);
  }
};

// The backward alone: one forward writes O and the logsumexp first, outside the timed loop.
void bm_fused_backward(benchmark::State& state, Shape shape, BiasMode mode) {
  DeviceProblem problem(shape, mode);
  DeviceGradients gradients(shape, problem.args);
  if (!problem.ok || !gradients.ok) return state.SkipWithError("cudaMalloc failed (out of device memory?)");
  cudaStream_t stream = nullptr;
  cudaStreamCreate(&stream);
  EventTimer timer;
  cudaError_t err = gaussian_attention_forward(problem.args, stream);
  if (err == cudaSuccess) err = gaussian_attention_backward(problem.args, gradients.grads, stream);  // warm-up
  if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
  double total = 0;
  for (auto _ : state) {
    if (err != cudaSuccess) break;
    timer.start(stream);
    err = gaussian_attention_backward(problem.args, gradients.grads, stream);
    const double seconds = timer.stop(stream);
    state.SetIterationTime(seconds);
    total += seconds;
  }
  cudaStreamDestroy(stream);
  if (err != cudaSuccess) return state.SkipWithError((std::string("kernel failed: ") + cudaGetErrorString(err)).c_str());
  report_tflops(state, 2.5 * shape.flops(), total);  // gaussian_attention_backward_flops: 5 GEMMs
}

}  // namespace

void register_fused(const std::vector<Shape>& shapes) {
  struct Variant {
    const char* name;
    BiasMode mode;
    Algorithm algorithm;
  };
  // fused: GAug on tensor cores (what a LocAtViT model calls); fused_simt: the CUDA-core kernel; fused_gab: GAB.
  const Variant variants[] = {{"fused", BiasMode::kGAug, Algorithm::kAuto},
                              {"fused_simt", BiasMode::kGAug, Algorithm::kSimt},
                              {"fused_gab", BiasMode::kGAB, Algorithm::kAuto}};
  for (const Shape& s : shapes)
    for (const Variant& v : variants)
      benchmark::RegisterBenchmark(benchmark_name(v.name, s).c_str(), bm_fused, s, v.mode, v.algorithm)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
  // The backward (SIMT kernels for every dtype): gaussian_attention_bwd/fused (GAug), .../fused_gab.
  for (const Shape& s : shapes)
    for (auto [name, mode] : {std::pair{"fused", BiasMode::kGAug}, {"fused_gab", BiasMode::kGAB}})
      benchmark::RegisterBenchmark(benchmark_name("gaussian_attention_bwd", name, s).c_str(), bm_fused_backward, s,
                                   mode)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
}

}  // namespace locbench::kernels::bench

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("bench_gaussian_attention: no CUDA device; nothing to benchmark\n");
    return 0;
  }
  using namespace locbench::kernels::bench;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  benchmark::AddCustomContext("gpu", prop.name);
  const auto shapes = vit_shapes();
  register_fused(shapes);
#ifdef LOCBENCH_TORCH_CUDA
  register_sdpa_peers(shapes);
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
