// Google Benchmark of head training's loss, forward and backward: the fused resized cross-entropy against ATen's
// resize + cross-entropy (what BaseDecodeHead.losses runs), ADE20K's 150 classes at stride 16, output 512 x 512.
// Options before Google Benchmark's own: --threads N (LibTorch intra-op threads; default 1).
#include "kernels/cpu_bench_main.h"
#include "kernels/resized_cross_entropy/resized_cross_entropy.h"
#include "kernels/resized_cross_entropy/resized_cross_entropy_op.h"

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>


namespace {

template <bool Fused>
void BM_ResizedCrossEntropy(benchmark::State& state) {
  const int64_t batch = state.range(0), classes = state.range(1), in = state.range(2), out = state.range(3);
  torch::manual_seed(0);
  const torch::Tensor logits = torch::randn({batch, classes, in, in});
  torch::Tensor target = torch::randint(0, classes, {batch, out, out}, torch::kLong);
  target.masked_fill_(torch::rand({batch, out, out}) < 0.1, 255);
  const double divisor = static_cast<double>(target.numel());
  for (auto _ : state) {
    const torch::Tensor x = logits.detach().requires_grad_(true);
    const torch::Tensor loss = Fused ? locbench::kernels::resized_cross_entropy(x, target, 255, divisor)
                                     : locbench::kernels::reference_resized_cross_entropy(x, target, 255, divisor);
    loss.backward();
    benchmark::DoNotOptimize(x.grad().data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * batch * out * out);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "classes", "in", "out"});
  b->Args({2, 150, 32, 512})->Args({8, 150, 32, 512})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_ResizedCrossEntropy<true>)->Name("resized_ce/fused")->Apply(shapes);
BENCHMARK(BM_ResizedCrossEntropy<false>)->Name("resized_ce/aten")->Apply(shapes);

}  // namespace

int main(int argc, char** argv) {
  if (!locbench::kernels::init_cpu_benchmarks(argc, argv, locbench::kernels::resized_cross_entropy_capability()))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
