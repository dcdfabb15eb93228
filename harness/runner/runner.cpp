#include "harness/runner/runner.h"

#include "harness/allocator/allocator.h"
#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/sha256.h"
#include "harness/data/imagefolder.h"
#include "harness/dist/dist.h"
#include "harness/measure/measure.h"
#include "harness/runner/build_info.h"
#include "harness/store/store.h"
#include "harness/suite/suite.h"

#include <torch/headeronly/version.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <tuple>

#ifdef LOCBENCH_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <cuda_runtime_api.h>
#endif

#ifndef LOCBENCH_VERSION
#define LOCBENCH_VERSION "unknown"
#endif

namespace locbench::runner {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string format_duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", s / 3600, s % 3600 / 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ds", s);
  return buf;
}

std::string describe(const suite::Cell& cell) {
  std::string s = cell.model->label + " " + cell.measurement->name;
  if (cell.dataset) s += " on " + cell.dataset->name;
  if (cell.settings.contains("batch_size")) s += " bs" + std::to_string(cell.settings["batch_size"].get<int64_t>());
  if (cell.settings.contains("precision") && cell.settings["precision"] != "fp32")
    s += " " + cell.settings["precision"].get<std::string>();
  if (cell.seed) s += " seed " + std::to_string(*cell.seed);
  return s;
}

// A progress bar with ETA on a terminal, plain log lines otherwise.
class Progress {
 public:
  Progress(size_t total) : total_(total), tty_(::isatty(STDERR_FILENO)), start_(clock::now()) {}
  void begin(size_t index, const std::string& what) {
    index_ = index;
    what_ = what;
    if (tty_) draw(0);
    else std::cerr << "[" << index + 1 << "/" << total_ << "] " << what << " ..." << std::endl;
  }
  void update(double fraction) {
    if (tty_) draw(fraction);
  }
  void end(bool passed, const std::string& error, double seconds) {
    ++done_;
    if (tty_) std::cerr << "\r\033[K";
    if (!passed || !tty_)
      std::cerr << "[" << index_ + 1 << "/" << total_ << "] " << what_ << ": " << (passed ? "passed" : "FAILED")
                << " (" << format_duration(seconds) << ")" << (passed ? "" : ": " + error) << std::endl;
  }
  void finish() {
    if (tty_) std::cerr << "\r\033[K";
  }

 private:
  using clock = std::chrono::steady_clock;
  void draw(double fraction) {
    const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
    const double progress = (done_ + fraction) / std::max<size_t>(total_, 1);
    const std::string eta = progress > 0.01 ? format_duration(elapsed / progress - elapsed) : "?";
    const int width = 24, filled = static_cast<int>(progress * width);
    std::cerr << "\r\033[K[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done_ << "/"
              << total_ << "  ETA " << eta << "  " << what_ << std::flush;
  }
  size_t total_, index_ = 0, done_ = 0;
  bool tty_;
  clock::time_point start_;
  std::string what_;
};

// Builds each model entry once per precision/device; cells of one model reuse it.
class ModelCache {
 public:
  ModelPtr get(const suite::Cell& cell, torch::Device device) {
    const std::string key = cell.model->label + "|" + device.str() + "|" + (cell.seed ? std::to_string(*cell.seed) : "");
    if (key == key_) return model_;
    model_.reset();
    torch::manual_seed(cell.seed.value_or(0));
    ModelPtr model = create_model(cell.model->name, cell.model->args);
    if (!cell.model->checkpoint.empty()) load_checkpoint(*model, cell.model->checkpoint, cell.model->name);
    model->to(device);
    model->eval();
    key_ = key;
    model_ = model;
    return model_;
  }

  // The file the cell's weights came from (a checkpoint, or an exported model's own file) and its SHA-256,
  // hashed once per file.
  std::pair<std::string, std::string> checkpoint(const suite::Cell& cell, const VariantInfo& variant) {
    const std::string path = !cell.model->checkpoint.empty() ? cell.model->checkpoint : variant.file;
    if (path.empty()) return {};
    auto it = sha256_.find(path);
    if (it == sha256_.end()) it = sha256_.emplace(path, sha256_file(path)).first;
    return {path, it->second};
  }

 private:
  std::string key_;
  ModelPtr model_;
  std::map<std::string, std::string> sha256_;
};

// A process of a launched job takes the GPU of its LOCAL_RANK.
torch::Device cell_device(const suite::Cell& cell, int local_rank) {
  const std::string dev = cell.settings.value("device", "cpu");
  if (dev == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("device cuda requested but no CUDA device is available to this LibTorch build");
    if (local_rank >= static_cast<int>(torch::cuda::device_count()))
      throw std::runtime_error("local rank " + std::to_string(local_rank) + " has no GPU (" +
                               std::to_string(torch::cuda::device_count()) + " visible)");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
  }
  return torch::Device(torch::kCPU);
}

// Generated data is made once and checked against its manifest every time after (data/generated.h). Segmentation
// data is generated by its measurement (miou.cpp), except under a launcher: there rank 0 writes every dataset
// before any rank reads one (the ranks share the file system).
void prepare_datasets(const suite::Suite& s, bool launched = false) {
  for (const auto& d : s.datasets) {
    if (d.generate.is_null()) continue;
    if (d.kind == "synthetic_ade20k") {
      if (launched) measure::prepare_synthetic_ade20k(d);
      continue;
    }
    data::SynthOptions o;
    o.classes = d.generate.value("classes", o.classes);
    o.per_class = d.generate.value("per_class", o.per_class);
    o.size = d.generate.value("size", o.size);
    o.seed = d.generate.value("seed", uint64_t{0});
    if (!fs::exists(d.root)) std::cerr << "generating dataset '" << d.name << "' in " << d.root << std::endl;
    data::write_synthetic_image_folder(d.root, o);
  }
}

// SIGINT and SIGTERM stop the run after the current cell (recorded, the run 'interrupted'); restored on exit.
class SignalScope {
 public:
  SignalScope() : int_(std::signal(SIGINT, on_signal)), term_(std::signal(SIGTERM, on_signal)) {}
  ~SignalScope() {
    std::signal(SIGINT, int_);
    std::signal(SIGTERM, term_);
  }

 private:
  void (*int_)(int);
  void (*term_)(int);
};

// Ends the run with a status; destroyed before that (an exception), it ends it 'failed' if the store lets it.
class RunEnding {
 public:
  RunEnding(store::Store& store, int64_t run_id) : store_(store), run_id_(run_id) {}
  ~RunEnding() {
    if (ended_) return;
    try {
      store_.end_run(run_id_, "failed");
    } catch (const std::exception&) {
      // The store itself is what failed; the next run marks this one interrupted (Store::mark_stale_runs).
    }
  }
  void end(const std::string& status) {
    store_.end_run(run_id_, status);
    ended_ = true;
  }

 private:
  store::Store& store_;
  int64_t run_id_;
  bool ended_ = false;
};

// Records a cell; when that fails, records the cell as failed with the reason (if it can), then rethrows.
void record_or_record_failure(store::Store& store, int64_t run_id, const store::Cell& record) {
  try {
    store.record_cell(run_id, record);
  } catch (const std::exception& e) {
    store::Cell failed = record;
    failed.passed = false;
    failed.results.clear();
    failed.curves.clear();
    failed.profile.reset();
    failed.error = std::string("could not record the cell: ") + e.what();
    try {
      store.record_cell(run_id, failed);
    } catch (const std::exception&) {
    }
    throw;
  }
}

// What a cell ran with, beyond its settings: stored with it (store::Cell::provenance_json).
nlohmann::json cell_provenance(const suite::Suite& s, const suite::Cell& cell, torch::Device device,
                               const Model& model, const Environment& env) {
  const auto& cfg = model.variant_config();
  const VariantInfo* info = Registry::instance().find(cell.model->name);
  const bool pinned = measure::data_driven(cell.measurement->kind);  // one intra-op thread
  return {{"device", device.str()},
          {"device_name", device.is_cuda() ? env.gpu_name : env.cpu_name},
          {"threads", pinned ? 1 : at::get_num_threads()},
          {"precision", cell.settings.value("precision", "fp32")},
          {"variables", s.variables},
          {"img_size", {cfg.input_size[1], cfg.input_size[2]}},
          {"num_classes", cfg.num_classes},
          {"task", info ? info->task : ""}};
}

// The input size of a cell: its resolution setting (a sweep), else the model's own.
std::array<int64_t, 2> cell_img_size(const suite::Cell& cell, const Model& model) {
  if (cell.settings.contains("resolution"))
    if (auto size = suite::parse_resolution(cell.settings["resolution"])) return *size;
  const auto& cfg = model.variant_config();
  return {cfg.input_size[1], cfg.input_size[2]};
}

// Measures one cell in this process, filling the record's results, curves, profile, samples and provenance.
void measure_here(const suite::Suite& s, const suite::Cell& cell, ModelCache& models, const Environment& env,
                  const std::function<void(double)>& progress, store::Cell& record, bool isolated = false) {
  const torch::Device device = cell_device(cell, dist::world().local_rank());
  ModelPtr model = models.get(cell, device);
  const VariantInfo& variant = *Registry::instance().find(cell.model->name);
  record.provenance_json = cell_provenance(s, cell, device, *model, env).dump();
  measure::Context ctx{*model, variant, cell, device};
  ctx.precision = cell.settings.value("precision", "fp32");
  ctx.batch_size = cell.settings.value("batch_size", int64_t{1});
  ctx.img_size = cell_img_size(cell, *model);
  ctx.warmup = s.settings.warmup;
  ctx.repeats = s.settings.repeats;
  ctx.progress = progress;
  ctx.isolated = isolated;
  // Every random stream of the cell starts from the cell itself, whatever ran before it.
  torch::manual_seed(cell.seed.value_or(0));
  record.results = measure::run(ctx);
  record.curves = std::move(ctx.curves);
  record.profile = std::move(ctx.profile);
  record.samples = std::move(ctx.samples);
}

// Measures one cell in a child process (`bench measure-cell`), so that nothing an earlier cell left in this
// process (allocator caches, other models) counts towards it.
void measure_in_child(const RunOptions& o, const suite::Cell& cell, store::Cell& record) {
  static int counter = 0;
  const fs::path out = fs::temp_directory_path() /
                       ("locbench-cell-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".json");
  std::vector<std::string> args{o.executable, "measure-cell", o.suite, "--key", cell.key, "--out", out.string()};
  if (!o.device.empty()) args.insert(args.end(), {"--device", o.device});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("cannot start a child process for the cell");
  if (pid == 0) {
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  nlohmann::json doc;
  {
    std::ifstream in(out);
    doc = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
  }
  fs::remove(out);
  if (!doc.is_object()) {
    const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                : "exited with status " + std::to_string(WEXITSTATUS(status));
    throw std::runtime_error("the cell's child process (" + o.executable + " measure-cell) " + how +
                             " without writing its results");
  }
  if (doc.contains("error")) throw std::runtime_error(doc["error"].get<std::string>());
  for (const auto& r : doc["results"])
    record.results.push_back({r["metric"], r["value"].is_null() ? std::nan("") : r["value"].get<double>(), r["unit"],
                              r["convention"]});
  for (const auto& smp : doc["samples"]) record.samples.push_back({smp["metric"], smp["values"]});
  record.provenance_json = doc["provenance"].dump();
}

nlohmann::json results_json(const store::Cell& record) {
  nlohmann::json results = nlohmann::json::array(), samples = nlohmann::json::array();
  for (const auto& r : record.results)
    results.push_back({{"metric", r.metric},
                       {"value", std::isnan(r.value) ? nlohmann::json(nullptr) : nlohmann::json(r.value)},
                       {"unit", r.unit},
                       {"convention", r.convention}});
  for (const auto& smp : record.samples) samples.push_back({{"metric", smp.metric}, {"values", smp.values}});
  return {{"results", results}, {"samples", samples},
          {"provenance", nlohmann::json::parse(record.provenance_json, nullptr, false)}};
}

bool runs_in_child(const RunOptions& o, const suite::Cell& cell) {
  return !o.executable.empty() && cell.measurement->kind == "memory";
}

// How the environment of an earlier run differs from this one, one "what: then -> now" item each.
std::vector<std::string> environment_changes(const store::Run& previous, const Environment& env,
                                             const std::string& device) {
  const auto before = nlohmann::json::parse(previous.info.environment_json, nullptr, false);
  const std::string before_device =
      before.is_object() && before.contains("device") && before["device"].is_string() ? before["device"].get<std::string>()
                                                                                      : "unknown";
  std::vector<std::string> changes;
  auto compare = [&](const std::string& what, const std::string& then, const std::string& now) {
    if (then != now) changes.push_back(what + " " + (then.empty() ? "unknown" : then) + " -> " + now);
  };
  compare("commit", previous.info.git_commit, env.git_commit + (env.git_dirty ? "-dirty" : ""));
  compare("host", previous.info.host, env.host);
  compare("device", before_device, device);
  compare("threads", std::to_string(previous.info.threads), std::to_string(env.threads));
  return changes;
}

}  // namespace

Environment describe_environment() {
  Environment env;
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  env.host = host;
  env.cpu_name = cpu_name();
  env.libtorch_version = TORCH_VERSION;
  env.threads = at::get_num_threads();
  env.git_commit = build_info().commit;
  env.git_dirty = build_info().dirty;
  env.allocator = allocator::configure();
#ifdef LOCBENCH_TORCH_CUDA
  if (torch::cuda::is_available()) {
    env.gpu_name = at::cuda::getDeviceProperties(0)->name;
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    env.driver_version = std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10);
    env.cuda_version = std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10);
    if (at::detail::getCUDAHooks().hasCuDNN()) {
      const long v = at::detail::getCUDAHooks().versionCuDNN();  // cuDNN 9: major * 10000 + minor * 100 + patch
      const long major = v >= 10000 ? v / 10000 : v / 1000, rest = v >= 10000 ? v % 10000 : v % 1000;
      env.cudnn_version = std::to_string(major) + "." + std::to_string(rest / 100) + "." + std::to_string(rest % 100);
    }
  }
#endif
  return env;
}

std::string version_text() {
  const Environment env = describe_environment();
  std::string cuda;
#ifdef LOCBENCH_TORCH_CUDA
  cuda = "built with CUDA; " + (env.gpu_name.empty() ? std::string("no CUDA device visible")
                                                     : "runtime " + env.cuda_version + ", driver " +
                                                           env.driver_version + ", " + env.gpu_name);
#else
  cuda = "none (CPU-only LibTorch build)";
#endif
  return std::string("locbench ") + LOCBENCH_VERSION + "\ncommit " + env.git_commit + "\nLibTorch " +
         env.libtorch_version + "\nCUDA " + cuda;
}

int measure_cell(const std::string& suite_path, const std::string& key, const std::string& device,
                 const std::string& out_path) {
  store::Cell record;
  int code = 0;
  nlohmann::json doc;
  try {
    const suite::Suite s = suite::load_suite(suite_path);
    if (s.settings.threads > 0) at::set_num_threads(s.settings.threads);
    const std::vector<suite::Cell> cells = suite::plan(s, device, "");
    const auto it = std::find_if(cells.begin(), cells.end(), [&](const suite::Cell& c) { return c.key == key; });
    if (it == cells.end()) throw std::invalid_argument(suite_path + ": no cell with key '" + key + "'");
    if (it->dataset) prepare_datasets(s);
    ModelCache models;
    measure_here(s, *it, models, describe_environment(), {}, record, /*isolated=*/true);
    doc = results_json(record);
  } catch (const std::exception& e) {
    doc = {{"error", std::string(e.what())}};
    code = 1;
  }
  std::ofstream out(out_path, std::ios::trunc);
  out << doc.dump();
  return out ? code : 1;
}

bool data_parallel(const std::string& kind) { return measure::data_driven(kind); }

std::pair<int, int> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  try {
    size_t a = 0, b = 0;
    if (slash != std::string::npos) {
      const int i = std::stoi(text.substr(0, slash), &a), n = std::stoi(text.substr(slash + 1), &b);
      if (a == slash && b == text.size() - slash - 1 && n >= 1 && i >= 0 && i < n) return {i, n};
    }
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("--shard '" + text + "': expected I/N with 0 <= I < N (e.g. 0/4 ... 3/4)");
}

namespace {

// Cell by cell, rank 0 leads and the others follow: whether to go on, and (for data-parallel cells) whether every
// rank finished the cell, so that a failure recorded on rank 0 is the job's, not one rank's.
struct Outcome {
  bool passed = true;
  std::string error;
};

std::string encode_outcome(bool passed, const std::string& error, int64_t collectives) {
  return nlohmann::json{{"passed", passed}, {"error", error}, {"collectives", collectives}}.dump();
}

Outcome agree_on_outcome(dist::Group& group, size_t index, bool passed, const std::string& error) {
  if (!passed) group.note_failure(error);
  // A rank that failed waits a while: the others may be inside a collective it will never join; then it ends the
  // job, which fails their collective at once.
  const auto grace = std::min(group.timeout(), std::chrono::milliseconds(std::chrono::seconds(60)));
  const auto all = group.exchange("cell/" + std::to_string(index) + "/end",
                                  encode_outcome(passed, error, group.collectives()),
                                  passed ? std::nullopt : std::optional<std::chrono::milliseconds>(grace / 2));
  if (!all) group.fail_job(error);
  if (!passed) group.note_failure("");
  Outcome out;
  int64_t collectives = -1;
  for (int r = 0; r < group.size(); ++r) {
    const auto j = nlohmann::json::parse((*all)[r]);
    if (collectives >= 0 && j["collectives"].get<int64_t>() != collectives)
      group.end_job("rank " + std::to_string(r) + ": out of step after a failed cell (" +
                    std::to_string(j["collectives"].get<int64_t>()) + " collectives, rank 0 " +
                    std::to_string(collectives) + ")");
    collectives = j["collectives"].get<int64_t>();
    if (!j["passed"].get<bool>() && out.passed) {
      out.passed = false;
      out.error = "rank " + std::to_string(r) + ": " + j["error"].get<std::string>();
    }
  }
  return out;
}

}  // namespace

int run_suite(const RunOptions& o) {
  suite::Suite s = suite::load_suite(o.suite);
  if (o.max_pixels > 0)
    for (auto& d : s.datasets) d.max_pixels = o.max_pixels;
  std::vector<suite::Cell> cells = suite::plan(s, o.device, o.only);
  if (cells.empty()) throw std::invalid_argument(o.suite + ": no cells to run" + (o.only.empty() ? "" : " match --only " + o.only));
  if (o.shard_count > 1) {
    std::vector<suite::Cell> mine;
    for (size_t i = o.shard_index; i < cells.size(); i += o.shard_count) mine.push_back(cells[i]);
    if (mine.empty())
      throw std::invalid_argument(o.suite + ": shard " + std::to_string(o.shard_index) + "/" +
                                  std::to_string(o.shard_count) + " has no cells (the plan has " +
                                  std::to_string(cells.size()) + ")");
    cells = std::move(mine);
  }
  if (o.dry_run) {
    for (size_t i = 0; i < cells.size(); ++i)
      std::cout << "[" << i + 1 << "/" << cells.size() << "] " << describe(cells[i]) << "  " << cells[i].settings.dump()
                << "\n";
    return 0;
  }
  const std::string shard = o.shard_count > 1 ? std::to_string(o.shard_index) + "/" + std::to_string(o.shard_count) : "";
  bool cuda = false;
  for (const auto& c : cells) cuda |= c.settings.value("device", "cpu") == "cuda";
  dist::Group& group = dist::init({dist::timeout_from_environment(), cuda});
  if (s.settings.threads > 0) at::set_num_threads(s.settings.threads);
  const Environment env = describe_environment();
  // Every rank runs the same plan of the same code, or none runs.
  group.agree("suite", {{"suite hash", s.hash}, {"commit", env.git_commit}, {"locbench", LOCBENCH_VERSION},
                        {"cells", std::to_string(cells.size())}, {"shard", shard}});

  // Rank 0 owns the database (SQLite on a network file system is not safe; one writer per file).
  std::unique_ptr<store::Store> store;
  std::unique_ptr<RunEnding> ending;
  int64_t run_id = 0;
  std::set<std::string> passed;
  if (group.is_main()) {
    const fs::path db(o.db);
    if (db.has_parent_path()) fs::create_directories(db.parent_path());
    store = std::make_unique<store::Store>(o.db);
    // Runs whose process died (kill -9, a crash, a power cut) would read 'running' forever.
    for (int64_t stale : store->mark_stale_runs(env.host))
      std::cerr << "run " << stale << " was left running by a process that no longer exists: marked interrupted\n";
    const std::string device = o.device.empty() ? s.settings.device : o.device;
    if (o.resume) {
      auto last = store->last_run(s.name);
      if (!last) throw std::invalid_argument(o.db + ": no earlier run of suite '" + s.name + "' to resume");
      const auto previous = store->run(*last);
      if (previous && previous->info.suite_hash != s.hash)
        throw std::invalid_argument(o.suite + ": the suite changed since run " + std::to_string(*last) +
                                    "; run it without --resume");
      if (previous && previous->info.shard != shard)
        throw std::invalid_argument(o.db + ": run " + std::to_string(*last) + " ran " +
                                    (previous->info.shard.empty() ? "the whole plan" : "shard " + previous->info.shard) +
                                    "; resume it with the same --shard");
      // Still 'running' after mark_stale_runs: alive on this host, or on another host where it cannot be checked.
      if (previous && previous->status == "running" && previous->info.host == env.host)
        throw std::invalid_argument(o.db + ": run " + std::to_string(*last) + " is still running (process " +
                                    std::to_string(previous->pid) + "); wait for it, or run without --resume");
      if (previous && previous->status == "running")
        std::cerr << "note: run " << *last << " reads 'running' on host " << previous->info.host
                  << "; resuming it here, as that process cannot be checked from " << env.host << "\n";
      if (const auto changes = environment_changes(*previous, env, device); !changes.empty() && !o.force) {
        std::string list;
        for (const auto& c : changes) list += (list.empty() ? "" : ", ") + c;
        throw std::invalid_argument(o.db + ": run " + std::to_string(*last) + " ran in another environment (" + list +
                                    "); resuming would mix its cells with these. Run without --resume, or pass --force");
      }
      run_id = *last;
      passed = store->passed_cells(run_id);
      store->reopen_run(run_id);
    } else {
      store::RunInfo info;
      info.suite_name = s.name;
      info.suite_path = o.suite;
      info.suite_json = s.text;
      info.suite_hash = s.hash;
      info.git_commit = env.git_commit + (env.git_dirty ? "-dirty" : "");
      info.host = env.host;
      info.cpu_name = env.cpu_name;
      info.gpu_name = env.gpu_name;
      info.driver_version = env.driver_version;
      info.cuda_version = env.cuda_version;
      info.libtorch_version = env.libtorch_version;
      info.locbench_version = LOCBENCH_VERSION;
      info.threads = env.threads;
      info.allocator = env.allocator;
      info.seeds = s.settings.seeds;
      info.environment_json = nlohmann::json{{"device", device},
                                             {"cudnn_version", env.cudnn_version},
                                             {"precisions", s.settings.precisions},
                                             {"interop_threads", at::get_num_interop_threads()},
                                             {"build", {{"commit", env.git_commit}, {"dirty", env.git_dirty}}},
                                             {"variables", s.variables}}
                                  .dump();
      info.backend = group.backend();
      info.world_size = group.size();
      info.shard = shard;
      run_id = store->begin_run(info);
    }
    // A run that stops on an exception (a store that cannot record, a full disk) must not read 'running' forever.
    ending = std::make_unique<RunEnding>(*store, run_id);
    std::cerr << "run " << run_id << " of suite '" << s.name << "' -> " << o.db << " ("
              << cells.size() - passed.size() << " of " << cells.size() << " cells to run"
              << (group.distributed() ? ", " + std::to_string(group.size()) + " ranks, " + group.backend() : "") << ")"
              << std::endl;
  }
  if (group.distributed()) {  // the others skip what rank 0 has already
    const auto all = *group.exchange("passed", group.is_main() ? nlohmann::json(passed).dump() : "");
    passed = nlohmann::json::parse(all[0]).get<std::set<std::string>>();
  }

  g_interrupted = false;
  const SignalScope signals;
  Progress progress(cells.size() - std::min(passed.size(), cells.size()));
  ModelCache models;
  bool all_passed = true, prepared = false, shared_data = false, interrupted = false;
  size_t index = 0;
  for (size_t c = 0; c < cells.size(); ++c) {
    const auto& cell = cells[c];
    if (passed.count(cell.key)) continue;
    if (group.distributed()) {
      const auto go = *group.exchange("cell/" + std::to_string(c), group.is_main() && g_interrupted ? "stop" : "go");
      interrupted = go[0] == "stop";
    } else {
      interrupted = g_interrupted;
    }
    if (interrupted) break;
    // Data-parallel cells run on every rank; the others on rank 0 while the rest go on to the next cell.
    const bool everyone = group.distributed() && data_parallel(cell.measurement->kind);
    if (!group.is_main() && !everyone) continue;
    if (group.is_main()) progress.begin(index++, describe(cell));
    store::Cell record;
    record.key = cell.key;
    record.model = cell.model->name;
    record.label = cell.model->label;
    record.dataset = cell.dataset ? cell.dataset->name : "";
    record.measurement = cell.measurement->name;
    record.settings_json = cell.settings.dump();
    record.seed = cell.seed;
    record.started_at = store::now_iso8601();
    const auto t0 = std::chrono::steady_clock::now();
    std::string preparing;  // rank 0 writes generated data before the others read it
    if (cell.dataset && !prepared && group.is_main()) {
      try {
        prepare_datasets(s, group.distributed());
        prepared = true;
      } catch (const std::exception& e) {
        preparing = e.what();
      }
    }
    if (cell.dataset && everyone && !shared_data) {
      group.exchange("datasets", "");
      shared_data = true;
    }
    try {
      if (!preparing.empty()) throw std::runtime_error(preparing);
      const VariantInfo& variant = *Registry::instance().find(cell.model->name);
      std::tie(record.checkpoint_path, record.checkpoint_sha256) = models.checkpoint(cell, variant);
      if (runs_in_child(o, cell)) measure_in_child(o, cell, record);
      else measure_here(s, cell, models, env, [&](double f) { if (group.is_main()) progress.update(f); }, record);
      record.passed = true;
    } catch (const dist::CommError& e) {
      group.fail_job(e.what(), /*comm_error=*/true);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
      record.passed = false;
      record.error = msg;
      record.results.clear();
      record.samples.clear();
    }
    if (everyone) {
      const Outcome outcome = agree_on_outcome(group, c, record.passed, record.error);
      if (!outcome.passed) record.passed = false, record.error = outcome.error, record.results.clear(), record.samples.clear();
    }
    if (!group.is_main()) continue;
    all_passed &= record.passed;
    record.ended_at = store::now_iso8601();
    record_or_record_failure(*store, run_id, record);
    progress.end(record.passed, record.error,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  int code = interrupted ? 130 : (all_passed ? 0 : 1);
  if (group.is_main()) {
    progress.finish();
    const std::string status = interrupted ? "interrupted" : (all_passed ? "passed" : "failed");
    ending->end(status);
    std::cerr << "run " << run_id << " " << status << std::endl;
  }
  if (group.distributed()) {  // every rank leaves with rank 0's status
    code = std::stoi((*group.exchange("status", std::to_string(code)))[0]);
    group.finish();
  }
  return code;
}

}  // namespace locbench::runner
