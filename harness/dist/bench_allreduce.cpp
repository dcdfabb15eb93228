// The time of one gradient all-reduce across the ranks of a job, as training does it (dist::Group::
// all_reduce_gradients: 25 MiB buckets of the model's parameter shapes), and of one flat buffer of the same size.
// Run it under a launcher; rank 0 prints the figures (median and range over the repetitions, in ms):
//   torchrun --standalone --nproc-per-node 2 --no-python build/bench_allreduce [--model vit_base_patch16_224]
//       [--repeats 10]
#include "harness/dist/dist.h"
#include "harness/model/registry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Figures {
  double median = 0, min = 0, max = 0;
};

Figures time_ms(locbench::dist::Group& group, int repeats, const std::function<void()>& fn) {
  fn();  // warm-up: connections and buffers
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    group.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back()};
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = "vit_base_patch16_224";
  int repeats = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) name = argv[i + 1];
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::max(1, std::atoi(argv[i + 1]));
  }
  auto& group = locbench::dist::init({locbench::dist::timeout_from_environment(), false});
  auto model = locbench::create_model(name);
  std::vector<torch::Tensor> params;
  int64_t numel = 0;
  for (auto& p : model->parameters()) {
    p.mutable_grad() = torch::ones_like(p);
    params.push_back(p);
    numel += p.numel();
  }
  const Figures bucketed = time_ms(group, repeats, [&] { group.all_reduce_gradients(params, /*average=*/true); });
  std::vector<at::Tensor> flat{torch::ones({numel})};
  const Figures one = time_ms(group, repeats, [&] { group.all_reduce_sum(flat); });
  if (group.is_main())
    std::printf("%s gradient: %lld floats (%.1f MB), %d ranks, backend %s, %d threads per rank\n"
                "  bucketed all-reduce (25 MiB buckets, averaged): median %.1f ms (min %.1f, max %.1f) over %d\n"
                "  one flat all-reduce:                            median %.1f ms (min %.1f, max %.1f) over %d\n",
                name.c_str(), static_cast<long long>(numel), numel * 4 / 1e6, group.size(), group.backend().c_str(),
                at::get_num_threads(), bucketed.median, bucketed.min, bucketed.max, repeats, one.median, one.min,
                one.max, repeats);
  group.finish();
  return 0;
}
