// c10d behind dist.h: the TCPStore rendezvous, Gloo (and NCCL) collectives, the heartbeat watchdog and the
// one-line end of a failed job.
#include "harness/dist/dist.h"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#ifdef LOCBENCH_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

namespace locbench::dist {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

double seconds(milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

std::string format_seconds(milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", seconds(ms));
  return buf;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// One rank's heartbeat as the store holds it: "<beat> <collectives started> <run|finished>".
struct State {
  int64_t beat = -1, collectives = 0;
  bool finished = false;
};

State parse_state(const std::string& s) {
  State st;
  char phase[16] = {0};
  long long beat = -1, coll = 0;
  if (std::sscanf(s.c_str(), "%lld %lld %15s", &beat, &coll, phase) == 3) {
    st.beat = beat, st.collectives = coll, st.finished = std::string(phase) == "finished";
  }
  return st;
}

}  // namespace

struct Group::Impl {
  GroupOptions options;
  c10::intrusive_ptr<c10d::TCPStore> store;  // the main thread's connection
  c10::intrusive_ptr<c10d::Store> watch;     // the watchdog's own connection
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef LOCBENCH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  std::atomic<int64_t> collectives{0};
  std::atomic<bool> finished{false}, stop{false};
  std::thread watchdog;
  milliseconds interval{1000};
  std::string where;   // "host:port" of the store, for messages
  std::string prefix;  // of this job's keys (torchrun's agent store outlives an attempt)
  std::string key(const std::string& name) const { return prefix + name; }
  std::string state_key(int rank) const { return key("state/" + std::to_string(rank)); }
};

namespace {

std::mutex g_exit_mutex;

// Prints the job's one line and leaves. Rank 0 serves the store: it stays a moment so that the other ranks can
// read the cause it posted before the store goes away with it.
[[noreturn]] void leave(Group::Impl& impl, int rank, int world, const std::string& line, bool posted) {
  std::lock_guard<std::mutex> lock(g_exit_mutex);
  std::fprintf(stderr, "bench: %s\n", line.c_str());
  std::fflush(stderr);
  if (rank != 0 && posted) {
    try {
      impl.watch->add(impl.key("abort_seen"), 1);
    } catch (const std::exception&) {
    }
  }
  if (rank == 0 && posted) {
    const auto until = Clock::now() + milliseconds(3000);
    try {
      while (Clock::now() < until && impl.watch->add(impl.key("abort_seen"), 0) < world - 1)
        std::this_thread::sleep_for(milliseconds(50));
    } catch (const std::exception&) {
    }
  }
  std::_Exit(1);
}

// Posts `line` as the job's cause unless one is posted already; returns the cause that stands.
std::string post_cause(const Group::Impl& impl, c10d::Store& store, const std::string& line) {
  return text(store.compareSet(impl.key("abort"), {}, bytes(line)));
}

// Reads a posted cause, acknowledging it (rank 0 waits for the acknowledgements before it leaves).
std::optional<std::string> posted_cause(const Group::Impl& impl, c10d::Store& store) {
  if (!store.check({impl.key("abort")})) return std::nullopt;
  const std::string line = text(store.get(impl.key("abort")));
  store.add(impl.key("abort_seen"), 1);
  return line;
}

void watchdog_loop(Group::Impl* impl, int rank, int world) {
  const milliseconds timeout = impl->options.timeout;
  std::vector<std::string> keys;
  for (int r = 0; r < world; ++r) keys.push_back(impl->state_key(r));
  std::vector<State> last(world);
  std::vector<Clock::time_point> changed(world, Clock::now());
  int64_t beat = 0;
  while (!impl->stop) {
    try {
      impl->watch->set(impl->state_key(rank), bytes(std::to_string(beat++) + " " + std::to_string(impl->collectives) +
                                              (impl->finished ? " finished" : " run")));
      if (auto line = posted_cause(*impl, *impl->watch)) leave(*impl, rank, world, *line, false);
      const auto values = impl->watch->multiGet(keys);
      const auto now = Clock::now();
      for (int r = 0; r < world; ++r) {
        if (r == rank) continue;
        const State s = parse_state(text(values[r]));
        if (s.beat != last[r].beat) last[r] = s, changed[r] = now;
        if (s.finished || now - changed[r] < timeout) continue;
        const std::string line = "rank " + std::to_string(r) + ": no heartbeat for " + format_seconds(timeout) +
                                 " (the process died, stopped or lost the network)";
        leave(*impl, rank, world, post_cause(*impl, *impl->watch, line), true);
      }
    } catch (const std::exception& e) {
      if (impl->stop) return;
      std::string msg = e.what();
      if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
      leave(*impl, rank, world, "rank 0: its store at " + impl->where + " stopped answering (" + msg + ")", false);
    }
    const auto until = Clock::now() + impl->interval;
    while (!impl->stop && Clock::now() < until) std::this_thread::sleep_for(milliseconds(20));
  }
}

std::string first_line(const std::exception& e) {
  std::string msg = e.what();
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
  return msg;
}

}  // namespace

std::chrono::milliseconds timeout_from_environment() {
  const char* v = std::getenv("LOCBENCH_DIST_TIMEOUT");
  if (!v || !*v) return std::chrono::minutes(5);
  char* end = nullptr;
  const long s = std::strtol(v, &end, 10);
  if (*end || s <= 0) throw std::invalid_argument(std::string("LOCBENCH_DIST_TIMEOUT='") + v + "' is not a positive "
                                                  "number of seconds");
  return std::chrono::seconds(s);
}

Group::Group() = default;

Group::Group(const Launch& launch, const GroupOptions& options) : launch_(launch) {
  if (!launch.distributed()) return;
  impl_ = std::make_unique<Impl>();
  Impl& im = *impl_;
  im.options = options;
  im.interval = std::clamp(milliseconds(options.timeout.count() / 10), milliseconds(100), milliseconds(1000));
  im.where = launch.master_addr + ":" + std::to_string(launch.master_port);
  im.prefix = "locbench/" + std::to_string(launch.restart) + "/";
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(launch.master_port);
  so.isServer = launch.rank == 0 && !launch.agent_store;
  so.numWorkers = launch.world_size;
  so.waitWorkers = true;
  so.timeout = options.timeout;
  try {
    im.store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, so);
    im.watch = im.store->clone();
  } catch (const std::exception& e) {
    throw std::runtime_error("rank " + std::to_string(launch.rank) + ": no rendezvous with " +
                             std::to_string(launch.world_size) + " ranks at " + im.where + " within " +
                             format_seconds(options.timeout) + " (" + first_line(e) + ")");
  }
  // Every rank's state exists before any watchdog reads them all.
  im.store->set(im.state_key(launch.rank), bytes("0 0 run"));
  std::vector<std::string> keys;
  for (int r = 0; r < launch.world_size; ++r) keys.push_back(im.state_key(r));
  try {
    im.store->wait(keys, options.timeout);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(launch.master_addr))
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    im.gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>(im.key("gloo"), im.store),
                                                          launch.rank, launch.world_size, gloo_options);
#ifdef LOCBENCH_NCCL
    if (options.nccl) {
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(launch.local_rank));
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = options.timeout;
      im.nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>(im.key("nccl"), im.store),
                                                            launch.rank, launch.world_size, nccl_options);
    }
#else
    if (options.nccl)
      throw std::runtime_error("CUDA tensors across processes need NCCL, and this build of locbench has none (a "
                               "CUDA LibTorch with nccl.h)");
#endif
  } catch (const std::exception& e) {
    throw std::runtime_error("rank " + std::to_string(launch.rank) + ": setting up the process group failed (" +
                             first_line(e) + ")");
  }
  im.watchdog = std::thread(watchdog_loop, &im, launch.rank, launch.world_size);
}

Group::~Group() {
  if (!impl_) return;
  impl_->stop = true;
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
}

std::chrono::milliseconds Group::timeout() const {
  return impl_ ? impl_->options.timeout : GroupOptions{}.timeout;
}

std::string Group::backend() const {
  if (!impl_) return "";
#ifdef LOCBENCH_NCCL
  if (impl_->nccl) return "nccl";
#endif
  return "gloo";
}

namespace {

c10d::Backend& backend_for(Group::Impl& im, const at::Tensor& t) {
#ifdef LOCBENCH_NCCL
  if (t.is_cuda() && im.nccl) return *im.nccl;
#endif
  (void)t;
  return *im.gloo;
}

// Gloo and NCCL work on dense contiguous memory: a strided tensor travels as a contiguous copy.
std::vector<at::Tensor> contiguous(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> out;
  for (const auto& t : tensors) out.push_back(t.is_contiguous() ? t : t.contiguous());
  return out;
}

void copy_back(const std::vector<at::Tensor>& buffers, std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!buffers[i].is_same(tensors[i])) tensors[i].copy_(buffers[i]);
}

void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>>& works, const std::string& what, int64_t number) {
  try {
    for (auto& w : works) w->wait();
  } catch (const std::exception& e) {
    throw CommError(what + " (collective #" + std::to_string(number) + ") failed: " + first_line(e));
  }
}

}  // namespace

void Group::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  if (!impl_) return;
  const int64_t n = ++collectives_;
  impl_->collectives = n;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<at::Tensor> buffers = contiguous(tensors);
  try {
    for (auto& t : buffers) {
      std::vector<at::Tensor> one{t};
      works.push_back(backend_for(*impl_, t).allreduce(one));
    }
  } catch (const std::exception& e) {
    throw CommError("all-reduce (collective #" + std::to_string(n) + ") failed: " + first_line(e));
  }
  wait_all(works, "all-reduce", n);
  copy_back(buffers, tensors);
}

void Group::broadcast(std::vector<at::Tensor>& tensors, int root) {
  if (!impl_) return;
  const int64_t n = ++collectives_;
  impl_->collectives = n;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  c10d::BroadcastOptions options;
  options.rootRank = root;
  std::vector<at::Tensor> buffers = contiguous(tensors);
  try {
    for (auto& t : buffers) {
      std::vector<at::Tensor> one{t};
      works.push_back(backend_for(*impl_, t).broadcast(one, options));
    }
  } catch (const std::exception& e) {
    throw CommError("broadcast (collective #" + std::to_string(n) + ") failed: " + first_line(e));
  }
  wait_all(works, "broadcast", n);
  copy_back(buffers, tensors);
}

void Group::barrier() {
  if (!impl_) return;
  const int64_t n = ++collectives_;
  impl_->collectives = n;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  try {
    works.push_back(impl_->gloo->barrier());
  } catch (const std::exception& e) {
    throw CommError("barrier (collective #" + std::to_string(n) + ") failed: " + first_line(e));
  }
  wait_all(works, "barrier", n);
}

double Group::sum(double value) {
  if (!impl_) return value;
  std::vector<at::Tensor> t{at::full({1}, value, at::kDouble)};
  all_reduce_sum(t);
  return t[0].item<double>();
}

std::vector<int64_t> Group::sum(std::vector<int64_t> values) {
  if (!impl_ || values.empty()) return values;
  std::vector<at::Tensor> t{at::tensor(values, at::kLong)};
  all_reduce_sum(t);
  std::copy(t[0].data_ptr<int64_t>(), t[0].data_ptr<int64_t>() + values.size(), values.begin());
  return values;
}

void Group::all_reduce_gradients(const std::vector<at::Tensor>& params, bool average, size_t bucket_bytes) {
  if (!impl_) return;
  at::NoGradGuard no_grad;
  // Which parameters have a gradient on some rank: those get one everywhere (zeros where a rank had none), the
  // others keep none, so the optimiser skips exactly what one process over the whole batch would skip.
  std::vector<int64_t> has(params.size());
  for (size_t i = 0; i < params.size(); ++i) has[i] = params[i].grad().defined();
  has = sum(std::move(has));
  std::vector<at::Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!has[i]) continue;
    auto p = params[i];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  // Buckets of one dtype and device, in parameter order.
  std::vector<std::vector<at::Tensor>> buckets;
  std::map<std::pair<int, std::string>, size_t> open;  // (dtype, device) -> bucket being filled
  std::vector<size_t> bucket_bytes_used;
  for (const auto& g : grads) {
    const auto key = std::make_pair(static_cast<int>(g.scalar_type()), g.device().str());
    auto it = open.find(key);
    const size_t size = g.numel() * g.element_size();
    if (it == open.end() || bucket_bytes_used[it->second] + size > bucket_bytes) {
      buckets.emplace_back();
      bucket_bytes_used.push_back(0);
      it = open.insert_or_assign(key, buckets.size() - 1).first;
    }
    buckets[it->second].push_back(g);
    bucket_bytes_used[it->second] += size;
  }
  std::vector<at::Tensor> flat;
  for (const auto& b : buckets) {
    std::vector<at::Tensor> views;
    for (const auto& g : b) views.push_back(g.reshape({-1}));
    flat.push_back(at::cat(views));
  }
  all_reduce_sum(flat);
  for (size_t k = 0; k < buckets.size(); ++k) {
    if (average) flat[k].div_(size());
    int64_t offset = 0;
    for (auto& g : buckets[k]) {
      g.copy_(flat[k].narrow(0, offset, g.numel()).view_as(g));
      offset += g.numel();
    }
  }
}

std::optional<std::vector<std::string>> Group::exchange(const std::string& key, const std::string& value,
                                                        std::optional<milliseconds> limit) {
  if (!impl_) return std::vector<std::string>{value};
  Impl& im = *impl_;
  std::vector<std::string> keys;
  for (int r = 0; r < size(); ++r) keys.push_back(im.key("x/" + key + "/" + std::to_string(r)));
  const auto start = Clock::now();
  try {
    im.store->set(keys[rank()], bytes(value));
    auto pause = milliseconds(5);
    while (!im.store->check(keys)) {
      if (auto line = posted_cause(im, *im.store)) leave(im, rank(), size(), *line, false);
      if (limit && Clock::now() - start > *limit) return std::nullopt;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, milliseconds(200));
    }
    std::vector<std::string> out;
    for (const auto& v : im.store->multiGet(keys)) out.push_back(text(v));
    return out;
  } catch (const std::exception& e) {
    leave(im, rank(), size(), "rank 0: its store at " + im.where + " stopped answering (" + first_line(e) + ")", false);
  }
}

void Group::agree(const std::string& key, const std::vector<std::pair<std::string, std::string>>& facts) {
  if (!impl_) return;
  std::string mine;
  for (const auto& [name, value] : facts) mine += name + '\t' + value + '\n';
  const auto all = *exchange(key, mine);
  auto parse = [](const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t start = 0;
    while (start < text.size()) {
      const size_t tab = text.find('\t', start), nl = text.find('\n', start);
      if (tab == std::string::npos || nl == std::string::npos || tab > nl) break;
      out.emplace_back(text.substr(start, tab - start), text.substr(tab + 1, nl - tab - 1));
      start = nl + 1;
    }
    return out;
  };
  const auto root = parse(all[0]);
  for (int r = 1; r < size(); ++r) {
    const auto theirs = parse(all[r]);
    for (size_t i = 0; i < root.size(); ++i) {
      const std::string value = i < theirs.size() ? theirs[i].second : "(none)";
      if (value != root[i].second)
        end_job("rank " + std::to_string(r) + ": " + root[i].first + " '" + value + "' differs from rank 0's '" +
                root[i].second + "'");
    }
  }
}

void Group::note_failure(const std::string& cause) {
  if (!impl_) return;
  const std::string key = impl_->key("failed/" + std::to_string(rank()));
  try {
    if (cause.empty()) impl_->store->deleteKey(key);
    else impl_->store->set(key, bytes("rank " + std::to_string(rank()) + ": " + cause));
  } catch (const std::exception&) {
  }
}

void Group::end_job(const std::string& line) {
  if (!impl_) {
    std::fprintf(stderr, "bench: %s\n", line.c_str());
    std::_Exit(1);
  }
  try {
    leave(*impl_, rank(), size(), post_cause(*impl_, *impl_->store, line), true);
  } catch (const std::exception&) {
    leave(*impl_, rank(), size(), line, false);
  }
}

void Group::fail_job(const std::string& cause, bool comm_error) {
  if (!impl_) {
    std::fprintf(stderr, "bench: %s\n", cause.c_str());
    std::_Exit(1);
  }
  Impl& im = *impl_;
  const std::string mine = "rank " + std::to_string(rank()) + ": " + cause;
  try {
    if (!comm_error) leave(im, rank(), size(), post_cause(im, *im.store, mine), true);
    // A collective failed: another rank posted its cause, died (its heartbeat stops), or hung (it is behind in
    // collectives). Look for a while before blaming this rank's own error.
    std::vector<std::string> keys;
    for (int r = 0; r < size(); ++r) keys.push_back(im.state_key(r));
    std::vector<State> first(size());
    const auto start = Clock::now();
    const milliseconds stale = std::max(milliseconds(3000), im.interval * 3);
    const milliseconds look = std::min(im.options.timeout, std::max(milliseconds(10000), stale * 2));
    bool sampled = false;
    std::vector<std::string> noted;
    for (int r = 0; r < size(); ++r) noted.push_back(im.key("failed/" + std::to_string(r)));
    while (Clock::now() - start < look) {
      if (auto line = posted_cause(im, *im.store)) leave(im, rank(), size(), *line, false);
      for (int r = 0; r < size(); ++r)
        if (r != rank() && im.store->check({noted[r]}))
          leave(im, rank(), size(), post_cause(im, *im.store, text(im.store->get(noted[r]))), true);
      const auto values = im.store->multiGet(keys);
      for (int r = 0; r < size(); ++r) {
        const State s = parse_state(text(values[r]));
        if (!sampled) first[r] = s;
        if (r != rank() && !s.finished && s.beat == first[r].beat && Clock::now() - start >= stale) {
          const std::string line = "rank " + std::to_string(r) + ": died or stopped (no heartbeat for " +
                                   format_seconds(stale) + " after " + cause + ")";
          leave(im, rank(), size(), post_cause(im, *im.store, line), true);
        }
      }
      sampled = true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    const auto values = im.store->multiGet(keys);
    for (int r = 0; r < size(); ++r) {
      const State s = parse_state(text(values[r]));
      if (r != rank() && s.collectives < collectives_) {
        const std::string line = "rank " + std::to_string(r) + ": hung (it did not reach collective #" +
                                 std::to_string(collectives_) + " within " + format_seconds(im.options.timeout) + ")";
        leave(im, rank(), size(), post_cause(im, *im.store, line), true);
      }
    }
    leave(im, rank(), size(), post_cause(im, *im.store, mine), true);
  } catch (const std::exception& e) {
    leave(im, rank(), size(), rank() == 0 ? mine : "rank 0: its store at " + im.where + " stopped answering (" +
                                                       first_line(e) + "; here: " + cause + ")",
          false);
  }
}

void Group::finish() {
  if (!impl_) return;
  Impl& im = *impl_;
  im.finished = true;
  im.stop = true;
  if (im.watchdog.joinable()) im.watchdog.join();
  try {
    im.store->set(im.state_key(rank()), bytes("-1 " + std::to_string(collectives_) + " finished"));
  } catch (const std::exception&) {
  }
  if (!exchange("finish", "", im.options.timeout))
    leave(im, rank(), size(), "rank " + std::to_string(rank()) + ": the other ranks did not finish within " +
                                  format_seconds(im.options.timeout), false);
  try {
    if (rank() != 0) {
      im.store->add(im.key("left"), 1);
    } else {
      const auto until = Clock::now() + im.options.timeout;
      while (im.store->add(im.key("left"), 0) < size() - 1 && Clock::now() < until)
        std::this_thread::sleep_for(milliseconds(20));
    }
  } catch (const std::exception&) {
  }
}

namespace {
std::unique_ptr<Group> g_world;
std::mutex g_world_mutex;
}  // namespace

Group& world() {
  std::lock_guard<std::mutex> lock(g_world_mutex);
  if (!g_world) g_world = std::make_unique<Group>();
  return *g_world;
}

Group& init(const GroupOptions& options) {
  std::lock_guard<std::mutex> lock(g_world_mutex);
  if (!g_world) g_world = std::make_unique<Group>(launch_from_environment(), options);
  return *g_world;
}

}  // namespace locbench::dist
