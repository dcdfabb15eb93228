// Op-level profile through LibTorch's RecordFunction callbacks (the layer its profiler is built on, without
// Kineto): a thread-local start/end callback times every ATen op, and a stack splits inclusive from self time.
#include "harness/profile/profile.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace locbench::profile {

namespace {

using Clock = std::chrono::steady_clock;

struct OpTotals {
  int64_t calls = 0;
  double total_us = 0, self_us = 0;
};

// One open op on the calling thread: when it started and how much of it nested ops took.
struct Frame {
  Clock::time_point start;
  double children_us = 0;
};

// Callbacks are plain functions; the collector they fill is thread-local, like the callback registration.
struct Collector {
  bool active = false;
  std::vector<Frame> stack;
  std::map<std::string, OpTotals> ops;
};
thread_local Collector collector;

std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction&) {
  if (collector.active) collector.stack.push_back({Clock::now(), 0.0});
  return nullptr;
}

void on_exit(const at::RecordFunction& fn, at::ObserverContext*) {
  if (!collector.active || collector.stack.empty()) return;
  const Frame frame = collector.stack.back();
  collector.stack.pop_back();
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - frame.start).count();
  auto& totals = collector.ops[fn.name()];
  totals.calls += 1;
  totals.total_us += us;
  totals.self_us += us - frame.children_us;
  if (!collector.stack.empty()) collector.stack.back().children_us += us;
}

}  // namespace

ProfileRows profile_ops(const std::function<void()>& fn, const ProfileOptions& options) {
  for (int i = 0; i < options.warmup; ++i) fn();
  collector = Collector{};
  // FUNCTION scope: ATen ops only (not backward nodes, TorchScript functions or user scopes).
  const auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(on_enter, on_exit).needsInputs(false).scopes({at::RecordScope::FUNCTION}));
  collector.active = true;
  try {
    for (int i = 0; i < options.iterations; ++i) fn();
  } catch (...) {
    collector.active = false;
    at::removeCallback(handle);
    throw;
  }
  collector.active = false;
  at::removeCallback(handle);

  ProfileRows out;
  out.tracer = "libtorch-record-function";
  out.iterations = options.iterations;
  for (const auto& [name, t] : collector.ops) {
    ProfileRow row;
    row.kind = "op";
    row.name = name;
    row.calls = t.calls;
    row.total_us = t.total_us;
    row.self_us = t.self_us;
    row.mean_us = t.total_us / t.calls;
    out.rows.push_back(std::move(row));
  }
  std::sort(out.rows.begin(), out.rows.end(), [](const auto& a, const auto& b) { return a.total_us > b.total_us; });
  collector = Collector{};
  return out;
}

}  // namespace locbench::profile
