// Google Benchmark of a bare LibTorch forward of a registered model: the reference `bench run`'s latency
// measurement is compared with, to show the harness's own overhead.
//   build/bench_forward --benchmark_filter=vit_tiny --benchmark_repetitions=5
#include "harness/model/registry.h"

#include <benchmark/benchmark.h>

namespace {

void forward(benchmark::State& state, const std::string& name, int64_t batch) {
  torch::manual_seed(0);
  auto model = locbench::create_model(name);
  model->eval();
  const auto& cfg = model->variant_config();
  auto input = torch::randn({batch, cfg.input_size[0], cfg.input_size[1], cfg.input_size[2]});
  torch::InferenceMode guard;
  for (int i = 0; i < 3; ++i) model->forward(input);
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(input));
  state.counters["img/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK_CAPTURE(forward, vit_tiny_bs1, std::string("vit_tiny_patch16_224"), 1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(forward, vit_small_bs1, std::string("vit_small_patch16_224"), 1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
