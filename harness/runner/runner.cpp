#include "harness/runner/runner.h"

#include "harness/allocator/allocator.h"
#include "harness/checkpoint/checkpoint.h"
#include "harness/data/imagefolder.h"
#include "harness/measure/measure.h"
#include "harness/store/store.h"
#include "harness/suite/suite.h"

#include <torch/headeronly/version.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#ifdef LOCBENCH_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <cuda_runtime_api.h>
#endif

#ifndef LOCBENCH_SOURCE_ROOT
#define LOCBENCH_SOURCE_ROOT ""
#endif
#ifndef LOCBENCH_VERSION
#define LOCBENCH_VERSION "unknown"
#endif

namespace locbench::runner {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

std::string command_output(const std::string& cmd) {
  std::string out;
  if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, pipe)) out += buf;
    ::pclose(pipe);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string git_commit() {
  const std::string root = LOCBENCH_SOURCE_ROOT;
  if (root.empty() || !fs::exists(fs::path(root) / ".git")) return "unknown";
  const std::string git = "git -C '" + root + "' ";
  std::string commit = command_output(git + "rev-parse HEAD 2>/dev/null");
  if (commit.empty()) return "unknown";
  if (!command_output(git + "status --porcelain --untracked-files=no 2>/dev/null").empty()) commit += "-dirty";
  return commit;
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
    if (!cell.model->checkpoint.empty()) load_checkpoint(*model, cell.model->checkpoint);
    model->to(device);
    model->eval();
    key_ = key;
    model_ = model;
    return model_;
  }

 private:
  std::string key_;
  ModelPtr model_;
};

torch::Device cell_device(const suite::Cell& cell) {
  const std::string dev = cell.settings.value("device", "cpu");
  if (dev == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("device cuda requested but no CUDA device is available to this LibTorch build");
    return torch::Device(torch::kCUDA, 0);
  }
  return torch::Device(torch::kCPU);
}

void prepare_datasets(const suite::Suite& s) {
  for (const auto& d : s.datasets) {
    if (d.generate.is_null() || fs::is_directory(d.root)) continue;
    if (d.kind == "synthetic_ade20k") continue;  // segmentation data: generated by its measurement (measure.cpp)
    data::SynthOptions o;
    o.classes = d.generate.value("classes", o.classes);
    o.per_class = d.generate.value("per_class", o.per_class);
    o.size = d.generate.value("size", o.size);
    o.seed = d.generate.value("seed", 0);
    std::cerr << "generating dataset '" << d.name << "' in " << d.root << std::endl;
    if (fs::path(d.root).has_parent_path()) fs::create_directories(fs::path(d.root).parent_path());
    data::write_synthetic_image_folder(d.root, o);
  }
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
  env.git_commit = git_commit();
  env.allocator = allocator::configure();
#ifdef LOCBENCH_TORCH_CUDA
  if (torch::cuda::is_available()) {
    env.gpu_name = at::cuda::getDeviceProperties(0)->name;
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    env.driver_version = std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10);
    env.cuda_version = std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10);
  }
#endif
  return env;
}

int run_suite(const RunOptions& o) {
  const suite::Suite s = suite::load_suite(o.suite);
  const std::vector<suite::Cell> cells = suite::plan(s, o.device, o.only);
  if (cells.empty()) throw std::invalid_argument(o.suite + ": no cells to run" + (o.only.empty() ? "" : " match --only " + o.only));
  if (o.dry_run) {
    for (size_t i = 0; i < cells.size(); ++i)
      std::cout << "[" << i + 1 << "/" << cells.size() << "] " << describe(cells[i]) << "  " << cells[i].settings.dump()
                << "\n";
    return 0;
  }
  if (s.settings.threads > 0) at::set_num_threads(s.settings.threads);
  const fs::path db(o.db);
  if (db.has_parent_path()) fs::create_directories(db.parent_path());
  store::Store store(o.db);

  int64_t run_id;
  std::set<std::string> passed;
  if (o.resume) {
    auto last = store.last_run(s.name);
    if (!last) throw std::invalid_argument(o.db + ": no earlier run of suite '" + s.name + "' to resume");
    const auto previous = store.run(*last);
    if (previous && previous->info.suite_hash != s.hash)
      throw std::invalid_argument(o.suite + ": the suite changed since run " + std::to_string(*last) +
                                  "; run it without --resume");
    run_id = *last;
    passed = store.passed_cells(run_id);
    store.reopen_run(run_id);
  } else {
    const Environment env = describe_environment();
    store::RunInfo info;
    info.suite_name = s.name;
    info.suite_path = o.suite;
    info.suite_json = s.text;
    info.suite_hash = s.hash;
    info.git_commit = env.git_commit;
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
    run_id = store.begin_run(info);
  }
  std::cerr << "run " << run_id << " of suite '" << s.name << "' -> " << o.db << " (" << cells.size() - passed.size()
            << " of " << cells.size() << " cells to run)" << std::endl;

  g_interrupted = false;
  auto old_int = std::signal(SIGINT, on_signal);
  auto old_term = std::signal(SIGTERM, on_signal);
  Progress progress(cells.size() - std::min(passed.size(), cells.size()));
  ModelCache models;
  bool all_passed = true, prepared = false;
  size_t index = 0;
  for (const auto& cell : cells) {
    if (passed.count(cell.key)) continue;
    if (g_interrupted) break;
    progress.begin(index++, describe(cell));
    store::Cell record;
    record.key = cell.key;
    record.model = cell.model->label;
    record.dataset = cell.dataset ? cell.dataset->name : "";
    record.measurement = cell.measurement->name;
    record.settings_json = cell.settings.dump();
    record.seed = cell.seed;
    record.started_at = store::now_iso8601();
    const auto t0 = std::chrono::steady_clock::now();
    try {
      if (cell.dataset && !prepared) {
        prepare_datasets(s);
        prepared = true;
      }
      const torch::Device device = cell_device(cell);
      ModelPtr model = models.get(cell, device);
      const VariantInfo& variant = *Registry::instance().find(cell.model->name);
      measure::Context ctx{*model, variant, cell, device};
      ctx.precision = cell.settings.value("precision", "fp32");
      ctx.batch_size = cell.settings.value("batch_size", int64_t{1});
      const auto& cfg = model->variant_config();
      ctx.img_size = s.settings.img_size.value_or(std::array<int64_t, 2>{cfg.input_size[1], cfg.input_size[2]});
      ctx.warmup = s.settings.warmup;
      ctx.repeats = s.settings.repeats;
      ctx.progress = [&](double f) { progress.update(f); };
      record.results = measure::run(ctx);
      record.curves = std::move(ctx.curves);
      record.profile = std::move(ctx.profile);
      record.passed = true;
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
      record.passed = false;
      record.error = msg;
      record.results.clear();
      all_passed = false;
    }
    record.ended_at = store::now_iso8601();
    store.record_cell(run_id, record);
    progress.end(record.passed, record.error,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  progress.finish();
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  const std::string status = g_interrupted ? "interrupted" : (all_passed ? "passed" : "failed");
  store.end_run(run_id, status);
  std::cerr << "run " << run_id << " " << status << std::endl;
  if (g_interrupted) return 130;
  return all_passed ? 0 : 1;
}

}  // namespace locbench::runner
