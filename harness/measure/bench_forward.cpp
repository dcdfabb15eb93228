// Google Benchmark of bare LibTorch forwards of registered models, in eval mode under inference mode.
//   forward/...   the reference `bench run`'s latency measurement is compared with (the harness's own overhead)
//   locality/<model>/bs1_<size>: what locality costs at batch 1: LocAtViT-T/B next to ViT-T/B at 224, 384 and 512 px,
//                 GAB next to the relpos ViT-S at 224; after the runs, the ratios of each pair (CPU time and wall
//                 time; median and the quartile range over repetitions).
//   build/bench_forward --benchmark_filter=locality --benchmark_repetitions=9 --benchmark_enable_random_interleaving
// Options before Google Benchmark's own: --threads N (LibTorch intra-op threads; default: LibTorch's),
// --with-reference (also the Gaussian models with their fused CPU kernel switched off, variant "<model>+reference"),
// --no-packed-linear (every Linear through at::linear instead of the packed oneDNN path of inference).
#include "harness/allocator/allocator.h"
#include "harness/model/registry.h"
#include "kernels/gaussian_attention/gaussian_attention_op.h"
#include "methods/common/packed_linear.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

// One forward per iteration; with `reference`, the fused Gaussian-attention CPU kernel is off while it runs.
void forward(benchmark::State& state, const std::string& name, int64_t batch, int64_t size, bool reference) {
  torch::manual_seed(0);
  auto model = locbench::create_model(name);
  model->eval();
  const auto& cfg = model->variant_config();
  auto input = torch::randn({batch, cfg.input_size[0], size > 0 ? size : cfg.input_size[1],
                             size > 0 ? size : cfg.input_size[2]});
  torch::InferenceMode guard;
  locbench::gaussian::set_cpu_kernel_enabled(!reference);
  for (int i = 0; i < 3; ++i) model->forward(input);
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(input));
  locbench::gaussian::set_cpu_kernel_enabled(true);
  state.counters["img/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double at = q * double(v.size() - 1);
  const size_t lo = size_t(at);
  return lo + 1 < v.size() ? v[lo] + (at - double(lo)) * (v[lo + 1] - v[lo]) : v[lo];
}

// A model at a size and the model its cost is measured against.
struct Pair {
  std::string label, model, baseline;
  std::vector<int64_t> sizes;
};

const std::vector<Pair>& locality_pairs() {
  static const std::vector<Pair> pairs = {
      {"LocAtViT-T / ViT-T", "locatvit_tiny", "vit_tiny_patch16_224", {224, 384, 512}},
      {"LocAtViT-B / ViT-B", "locatvit_base", "vit_base_patch16_224", {224, 512}},
      {"GAB relpos-S / relpos-S", "vit_relpos_small_patch16_224_gab", "vit_relpos_small_patch16_224", {224}},
  };
  return pairs;
}

std::string locality_name(const std::string& model, int64_t size) {
  return "locality/" + model + "/bs1_" + std::to_string(size);
}

// The console output, plus every repetition's times per benchmark, for the ratio table printed at the end.
class LocalityReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      auto& t = times_[r.run_name.function_name];
      t.cpu.push_back(r.GetAdjustedCPUTime());
      t.wall.push_back(r.GetAdjustedRealTime());
    }
  }

  void print_ratios(int threads) const {
    std::printf("\nLocality cost at batch 1, %d thread(s): ratio of medians over repetitions [ratio of quartiles: "
                "low/high, high/low]\n",
                threads);
    std::printf("%-34s %5s %30s %30s\n", "pair", "size", "CPU time ratio", "wall time ratio");
    for (const Pair& p : locality_pairs())
      for (const std::string suffix : {"", "+reference"})
        for (int64_t size : p.sizes) {
          const auto a = times_.find(locality_name(p.model + suffix, size));
          const auto b = times_.find(locality_name(p.baseline, size));
          if (a == times_.end() || b == times_.end()) continue;
          auto ratio = [](const std::vector<double>& x, const std::vector<double>& y, char* out, size_t n) {
            std::snprintf(out, n, "%.3f [%.3f, %.3f] n=%zu", quantile(x, 0.5) / quantile(y, 0.5),
                          quantile(x, 0.25) / quantile(y, 0.75), quantile(x, 0.75) / quantile(y, 0.25), x.size());
          };
          char cpu[64], wall[64];
          ratio(a->second.cpu, b->second.cpu, cpu, sizeof cpu);
          ratio(a->second.wall, b->second.wall, wall, sizeof wall);
          std::printf("%-34s %5lld %30s %30s\n", (p.label + (suffix[0] ? " (reference)" : "")).c_str(),
                      static_cast<long long>(size), cpu, wall);
        }
  }

 private:
  struct Times {
    std::vector<double> cpu, wall;
  };
  std::map<std::string, Times> times_;
};

void register_benchmarks(bool with_reference) {
  for (const auto& [label, name] : {std::pair{"forward/vit_tiny_bs1", "vit_tiny_patch16_224"},
                                    std::pair{"forward/vit_small_bs1", "vit_small_patch16_224"},
                                    std::pair{"forward/vit_base_bs1", "vit_base_patch16_224"}})
    benchmark::RegisterBenchmark(label, forward, std::string(name), 1, 0, false)
        ->MeasureProcessCPUTime()
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  std::vector<std::pair<std::string, int64_t>> seen;
  for (const Pair& p : locality_pairs())
    for (int64_t size : p.sizes)
      for (const auto& [model, reference] : {std::pair{p.model, false}, {p.model, true}, {p.baseline, false}}) {
        if (reference && !with_reference) continue;
        const std::string variant = model + (reference ? "+reference" : "");
        if (std::find(seen.begin(), seen.end(), std::pair{variant, size}) != seen.end()) continue;
        seen.emplace_back(variant, size);
        benchmark::RegisterBenchmark(locality_name(variant, size).c_str(), forward, model, 1, size, reference)
            ->MeasureProcessCPUTime()
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  bool with_reference = false;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--with-reference") == 0)
      with_reference = true;
    else if (std::strcmp(argv[i], "--no-packed-linear") == 0)
      locbench::layers::set_packed_linear_enabled(false);
    else
      rest.push_back(argv[i]);
  }
  const std::string allocator = locbench::allocator::configure();
  if (threads > 0) at::set_num_threads(threads);
  int rest_argc = int(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
  benchmark::AddCustomContext("torch_threads", std::to_string(at::get_num_threads()));
  benchmark::AddCustomContext("allocator", allocator);
  benchmark::AddCustomContext("packed_linear", locbench::layers::packed_linear_enabled() ? "on" : "off");
  register_benchmarks(with_reference);
  LocalityReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios(at::get_num_threads());
  benchmark::Shutdown();
  return 0;
}
