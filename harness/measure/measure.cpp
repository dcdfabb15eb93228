#include "harness/measure/measure.h"

#include "harness/compute/macs.h"
#include "harness/data/generated.h"
#include "harness/data/image.h"
#include "harness/data/imagefolder.h"
#include "harness/data/ordered_loader.h"
#include "harness/data/resize.h"
#include "harness/model/registry.h"
#include "harness/profile/profile.h"
#include "harness/seg/synth.h"
#include "harness/train/train.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#ifdef LOCBENCH_TORCH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace locbench::measure {

namespace F = torch::nn::functional;
using store::Result;

LatencyStats::Summary LatencyStats::compute() const {
  Summary s;
  if (samples_.empty()) throw std::runtime_error("no timed repeats: a latency needs at least one sample");
  std::vector<double> v = samples_;
  std::sort(v.begin(), v.end());
  auto quantile = [&](double q) {  // linear interpolation, as numpy's default
    const double pos = q * (v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  };
  s.median = quantile(0.5);
  s.p90 = quantile(0.9);
  s.min = v.front();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  s.n = static_cast<int>(v.size());
  return s;
}

void TopKAccuracy::process(const torch::Tensor& logits, const torch::Tensor& targets) {
  const int64_t kmax = std::min<int64_t>(*std::max_element(ks_.begin(), ks_.end()), logits.size(1));
  auto top = std::get<1>(logits.topk(kmax, 1));
  auto hits = top.eq(targets.view({-1, 1}).to(top.device()));
  for (size_t i = 0; i < ks_.size(); ++i)
    correct_[i] += hits.narrow(1, 0, std::min<int64_t>(ks_[i], kmax)).any(1).sum().item<int64_t>();
  count_ += logits.size(0);
}

std::vector<double> TopKAccuracy::compute() const {
  if (count_ == 0) throw std::runtime_error("no images were scored: an accuracy needs at least one");
  std::vector<double> out;
  for (int64_t c : correct_) out.push_back(count_ ? 100.0 * static_cast<double>(c) / count_ : NAN);
  return out;
}

int64_t process_peak_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

void reset_process_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";  // resets VmHWM to the current RSS (Linux >= 4.0)
}

namespace {

// The decoded-pixel limit a dataset entry sets (0: the default).
data::DecodeLimits limits_of(const suite::DatasetEntry& d) {
  data::DecodeLimits limits;
  if (d.max_pixels > 0) limits.max_pixels = d.max_pixels;
  return limits;
}

// Autocast for bf16/fp16 on the device; fp32 runs plain.
class Precision {
 public:
  Precision(const std::string& precision, torch::Device device) : type_(device.type()) {
    if (precision == "fp32") return;
    active_ = true;
    prev_enabled_ = at::autocast::is_autocast_enabled(type_);
    prev_dtype_ = at::autocast::get_autocast_dtype(type_);
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::set_autocast_dtype(type_, precision == "bf16" ? at::kBFloat16 : at::kHalf);
    at::autocast::increment_nesting();
  }
  ~Precision() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, prev_enabled_);
    at::autocast::set_autocast_dtype(type_, prev_dtype_);
  }

 private:
  c10::DeviceType type_;
  bool active_ = false, prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kFloat;
};

void synchronize(torch::Device device) {
#ifdef LOCBENCH_TORCH_CUDA
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
#else
  (void)device;
#endif
}

// Milliseconds of one call: CUDA events on the GPU, a steady clock on the CPU.
double time_ms(torch::Device device, const std::function<void()>& fn) {
#ifdef LOCBENCH_TORCH_CUDA
  if (device.is_cuda()) {
    at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
    start.record();
    fn();
    stop.record();
    stop.synchronize();
    return start.elapsed_time(stop);
  }
#endif
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  synchronize(device);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

torch::Tensor random_batch(const Context& ctx) {
  torch::manual_seed(0);
  return torch::randn({ctx.batch_size, 3, ctx.img_size[0], ctx.img_size[1]}).to(ctx.device);
}

std::vector<Result> params(Context& ctx) {
  return {{"params", static_cast<double>(count_params(ctx.model)), "count", "timm"}};
}

std::vector<Result> macs(Context& ctx) {
  if (const std::string why = ctx.model.compute_not_observable(); !why.empty())
    throw std::runtime_error("MACs cannot be counted: " + why);
  auto input = torch::zeros({1, 3, ctx.img_size[0], ctx.img_size[1]});
  const MacCount count = count_macs([&] {
    torch::InferenceMode guard;
    ctx.model.forward(input);
  });
  const std::string convention = "fvcore " + std::to_string(ctx.img_size[0]) + "x" + std::to_string(ctx.img_size[1]);
  std::vector<Result> out{{"macs", count.macs, "MACs", convention}, {"flops", 2 * count.macs, "FLOPs", convention}};
  return out;
}

LatencyStats timed_loop(Context& ctx, const torch::Tensor& input) {
  Precision precision(ctx.precision, ctx.device);
  torch::InferenceMode guard;
  for (int i = 0; i < ctx.warmup; ++i) ctx.model.forward(input);
  synchronize(ctx.device);
  LatencyStats stats;
  for (int i = 0; i < ctx.repeats; ++i) {
    stats.process(time_ms(ctx.device, [&] { ctx.model.forward(input); }));
    if (ctx.progress) ctx.progress(static_cast<double>(i + 1) / ctx.repeats);
  }
  return stats;
}

std::vector<Result> latency(Context& ctx, const std::string& protocol) {
  const auto s = timed_loop(ctx, random_batch(ctx)).compute();
  const double per_image = s.median / static_cast<double>(ctx.batch_size);
  return {{"latency", s.median, "ms", "median, " + protocol},
          {"latency_p90", s.p90, "ms", "p90, " + protocol},
          {"latency_min", s.min, "ms", "min, " + protocol},
          {"throughput", 1000.0 / per_image, "img/s", protocol}};
}

std::vector<Result> memory(Context& ctx) {
  auto input = random_batch(ctx);
#ifdef LOCBENCH_TORCH_CUDA
  if (ctx.device.is_cuda()) {
    synchronize(ctx.device);
    c10::cuda::CUDACachingAllocator::resetPeakStats(ctx.device.index());
    {
      Precision precision(ctx.precision, ctx.device);
      torch::InferenceMode guard;
      ctx.model.forward(input);
    }
    synchronize(ctx.device);
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(ctx.device.index());
    const auto peak = stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
    return {{"peak_memory", static_cast<double>(peak), "bytes", "CUDA allocator peak"}};
  }
#endif
  reset_process_peak_rss();
  {
    Precision precision(ctx.precision, ctx.device);
    torch::InferenceMode guard;
    ctx.model.forward(input);
  }
  return {{"peak_memory", static_cast<double>(process_peak_rss()), "bytes", "process VmHWM"}};
}

std::vector<Result> accuracy(Context& ctx) {
  const auto& ds = *ctx.cell.dataset;
  data::ImageFolder folder = data::read_image_folder(ds.root);
  std::vector<data::Sample> samples = folder.samples;
  if (ds.limit > 0 && static_cast<int64_t>(samples.size()) > ds.limit) {
    // An evenly spaced subset keeps every class represented.
    std::vector<data::Sample> subset;
    for (int64_t i = 0; i < ds.limit; ++i) subset.push_back(samples[i * samples.size() / ds.limit]);
    samples = std::move(subset);
  }
  const int64_t classes = ctx.model.variant_config().num_classes;
  if (classes != static_cast<int64_t>(folder.classes.size()))
    throw std::invalid_argument("dataset '" + ds.name + "' has " + std::to_string(folder.classes.size()) +
                                " classes but model '" + ctx.cell.model->label + "' predicts " +
                                std::to_string(classes) + " (set num_classes on the model)");
  const int workers = ds.workers > 0 ? ds.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const VariantConfig config = ctx.model.variant_config();
  const data::DecodeLimits limits = limits_of(ds);
  data::OrderedLoader<torch::Tensor> loader(samples, workers, [&](const data::Sample& sample) {
    c10::InferenceMode guard;  // thread-local: each worker's own
    return preprocess_eval(sample.path, config, ctx.img_size, limits);
  });
  TopKAccuracy topk({1, 5});
  Precision precision(ctx.precision, ctx.device);
  torch::InferenceMode guard;
  for (size_t start = 0; start < samples.size(); start += ctx.batch_size) {
    const size_t end = std::min(samples.size(), start + static_cast<size_t>(ctx.batch_size));
    std::vector<torch::Tensor> images;
    std::vector<int64_t> labels;
    for (size_t i = start; i < end; ++i) {
      images.push_back(loader.get(i));
      labels.push_back(samples[i].label);
    }
    auto logits = ctx.model.forward(torch::stack(images).to(ctx.device)).to(torch::kFloat32);
    topk.process(logits.cpu(), torch::tensor(labels));
    if (ctx.progress) ctx.progress(static_cast<double>(end) / samples.size());
  }
  const auto acc = topk.compute();
  const std::string protocol = std::to_string(ctx.img_size[0]) + " px, crop " +
                               std::to_string(config.crop_pct).substr(0, 4) + " " + config.interpolation;
  return {{"top1", acc[0], "%", protocol}, {"top5", acc[1], "%", protocol}};
}

// An option given as N or [N, M] (suite validation checked the shape).
std::array<int64_t, 2> pair_option(const nlohmann::json& options, const std::string& key, std::array<int64_t, 2> dflt) {
  if (!options.contains(key)) return dflt;
  const auto& v = options[key];
  if (v.is_array()) return {v[0].get<int64_t>(), v.size() > 1 ? v[1].get<int64_t>() : v[0].get<int64_t>()};
  return {v.get<int64_t>(), v.get<int64_t>()};
}

// The mmseg settings of a suite's miou/train entry, on top of LocAtViT's defaults (train.h).
train::TrainOptions train_options(const Context& ctx) {
  const auto& m = *ctx.cell.measurement;
  const auto& ds = *ctx.cell.dataset;
  const nlohmann::json t = m.options.value("train", nlohmann::json::object());
  train::TrainOptions o;
  o.task = t.value("task", std::string("head"));
  // A segmentation model's released recipe first (crop, scales, test mode, optimiser); the suite's settings win.
  if (const VariantInfo* info = Registry::instance().find(ctx.cell.model->name); info && info->task == "segmentation")
    train::apply_recipe(o, ctx.model.variant_config());
  o.model = ctx.cell.model->name;
  o.checkpoint = ctx.cell.model->checkpoint;
  o.model_args = ctx.cell.model->args;
  o.dataset_kind = ds.kind;
  o.root = ds.root;
  o.limits = limits_of(ds);
  o.num_classes = ds.num_classes;
  o.iterations = t.value("iterations", o.iterations);
  o.batch_size = t.value("batch_size", o.batch_size);
  o.lr = t.value("lr", o.lr);
  o.weight_decay = t.value("weight_decay", o.weight_decay);
  o.cls_iterations = t.value("cls_iterations", o.cls_iterations);
  o.cls_batch_size = t.value("cls_batch_size", o.cls_batch_size);
  o.cls_lr = t.value("cls_lr", o.cls_lr);
  o.log_interval = t.value("log_interval", o.log_interval);
  o.eval_interval = t.value("eval_interval", o.eval_interval);
  o.checkpoint_interval = t.value("checkpoint_interval", o.checkpoint_interval);
  if (t.contains("work_dir")) o.work_dir = suite::expand_env(t["work_dir"].get<std::string>(), "train.work_dir");
  o.head_lr_mult = t.value("head_lr_mult", o.head_lr_mult);
  o.warmup_iters = t.value("warmup_iters", o.warmup_iters);
  o.power = t.value("power", o.power);
  o.clip_grad = t.value("clip_grad", o.clip_grad);
  o.pipeline.crop_size = pair_option(t, "crop", o.pipeline.crop_size);
  const auto scale = pair_option(t, "scale", {o.pipeline.scale.first, o.pipeline.scale.second});
  o.pipeline.scale = {scale[0], scale[1]};
  o.seed = static_cast<uint64_t>(ctx.cell.seed.value_or(0));
  o.device = ctx.device;
  return o;
}

// The test settings of a miou/train entry on top of the trained ones (a segmentation model's recipe included).
train::EvalOptions eval_options(const nlohmann::json& options, const train::TrainOptions& trained) {
  train::EvalOptions e = trained.eval;
  e.mode = options.value("mode", e.mode);
  // The test Resize scale is the training scale (mmseg configs share one img_scale).
  const auto scale = pair_option(options, "scale", {trained.pipeline.scale.first, trained.pipeline.scale.second});
  e.scale = std::pair<int64_t, int64_t>{scale[0], scale[1]};
  e.crop_size = pair_option(options, "crop", trained.pipeline.crop_size);
  // The trained stride goes with the trained window (a recipe's); another window gets 2/3 of it (512 -> 341, as
  // mmseg's ViT configs).
  const bool same_window = !options.contains("crop") && e.crop_size == trained.eval.crop_size;
  e.stride = pair_option(options, "stride",
                         same_window ? trained.eval.stride
                                     : std::array<int64_t, 2>{e.crop_size[0] * 2 / 3, e.crop_size[1] * 2 / 3});
  e.limit = options.value("limit", int64_t{0});
  return e;
}

std::string fmt_pair(int64_t a, int64_t b, const std::string& sep) { return std::to_string(a) + sep + std::to_string(b); }

std::string eval_convention(const train::EvalOptions& e) {
  const std::string slide =
      e.mode == "slide" ? fmt_pair(e.crop_size[0], e.stride[0], "/") : std::string();
  const std::string resize = e.scale ? ", resize " + fmt_pair(e.scale->first, e.scale->second, "x") : std::string();
  const std::string min_size = e.min_size > 0 ? ", min " + std::to_string(e.min_size) : std::string();
  return e.mode + (slide.empty() ? "" : " ") + slide + resize + min_size;
}

std::vector<Result> iou_results(const seg::IoUResult& r, const std::string& convention) {
  return {{"miou", r.mIoU, "%", convention}, {"aacc", r.aAcc, "%", convention}, {"macc", r.mAcc, "%", convention}};
}

// `miou` with a head checkpoint: score the cell's backbone and that head. `miou` with train settings and `train`:
// train (head on the frozen backbone, or a small model from scratch), then score, keeping the curves.
std::vector<Result> segmentation(Context& ctx) {
  const auto& m = *ctx.cell.measurement;
  const auto& ds = *ctx.cell.dataset;
  prepare_synthetic_ade20k(ds);
  train::TrainOptions o = train_options(ctx);
  o.eval = eval_options(m.options, o);
  const VariantInfo* info = Registry::instance().find(ctx.cell.model->name);
  const bool segmentor = info && info->task == "segmentation";
  if (m.options.contains("head") || (segmentor && !m.options.contains("train"))) {
    const seg::SegDataset val = train::open_seg_dataset(ds.kind, ds.root, false, ds.num_classes, limits_of(ds));
    // The runner owns the model; the segmentation model borrows it.
    ModelPtr borrowed(ModelPtr(), &ctx.model);
    seg::SegmentationModel model{nullptr};
    if (segmentor) {
      if (ctx.model.variant_config().num_classes != val.num_classes)
        throw std::runtime_error("model '" + ctx.cell.model->label + "' predicts " +
                                 std::to_string(ctx.model.variant_config().num_classes) + " classes, " + val.name +
                                 " has " + std::to_string(val.num_classes) + " (set num_classes on the model)");
      model = seg::SegmentationModel(borrowed);
    } else {
      model = seg::SegmentationModel(borrowed, "linear", val.num_classes);
    }
    if (m.options.contains("head"))
      train::load_segmentation_checkpoint(*model, suite::expand_env(m.options["head"].get<std::string>(), "head"));
    model->to(ctx.device);
    return iou_results(train::evaluate(*model, val, o.eval, ctx.progress).compute(), eval_convention(o.eval));
  }
  if (o.task == "head") o.backbone = ModelPtr(ModelPtr(), &ctx.model);
  o.progress = ctx.progress;
  std::ostringstream log;  // the curves keep what matters; the log is for `bench train`
  const train::TrainResult r = train::train(o, log);
  ctx.curves = r.curves;
  auto out = iou_results(r.val, eval_convention(o.eval) + ", " + std::to_string(o.iterations) + " it bs" +
                                    std::to_string(o.batch_size) + " crop " + std::to_string(o.pipeline.crop_size[0]));
  out.push_back({"train_time", r.seconds, "s", o.task});
  return out;
}

// The rows of a profile as the store keeps them: the `top` largest of each kind (0: all), in the profile's order.
store::Profile stored_profile(const profile::ProfileRows& p, int64_t warmup, int64_t top) {
  store::Profile out;
  out.tracer = p.tracer;
  out.cupti_version = p.cupti_version;
  out.dropped_records = static_cast<int64_t>(p.dropped_records);
  out.warmup = warmup;
  out.iterations = p.iterations;
  out.total_rows = static_cast<int64_t>(p.rows.size());
  out.sdpa_backend = profile::sdpa_backend(p).name;
  std::map<std::string, int64_t> kept;
  for (const auto& r : p.rows) {
    if (top > 0 && kept[r.kind] >= top) continue;
    kept[r.kind] += 1;
    store::ProfileRow row;
    row.kind = r.kind, row.name = r.name, row.calls = r.calls;
    row.total_us = r.total_us, row.mean_us = r.mean_us, row.self_us = r.self_us;
    row.grid = {r.grid[0], r.grid[1], r.grid[2]};
    row.block = {r.block[0], r.block[1], r.block[2]};
    row.registers_per_thread = r.registers_per_thread;
    row.static_shared_bytes = r.static_shared_bytes, row.dynamic_shared_bytes = r.dynamic_shared_bytes;
    row.stream = r.stream;
    out.rows.push_back(std::move(row));
  }
  return out;
}

// `kernels`: the per-kernel (CUDA, CUPTI) or per-op (CPU, RecordFunction) profile of the cell's forward on random
// input. The rows go to the store with the cell; the results sum them per forward, over every row (before `top`).
std::vector<Result> kernels(Context& ctx) {
  if (ctx.device.is_cuda() && !profile::cupti_available())
    throw std::runtime_error("kernels on cuda needs CUPTI, which this build lacks (it needs a CUDA LibTorch and "
                             "CUPTI when configured); profile on the cpu instead");
  profile::ProfileOptions o;
  o.warmup = ctx.cell.settings.value("warmup", 1);
  o.iterations = ctx.cell.settings.value("iterations", 1);
  profile::ProfileRows p;
  {
    // Autocast reaches the profiled forwards: the precision decides which SDPA backend runs.
    Precision precision(ctx.precision, ctx.device);
    p = profile::profile_model(ctx.model, random_batch(ctx), ctx.device, o);
  }
  const bool cuda = p.tracer == "cupti";
  const std::string kind = cuda ? "kernel" : "op";
  double time_us = 0;
  int64_t calls = 0;
  std::set<std::string> names;
  for (const auto& r : p.rows) {
    if (r.kind != kind) continue;
    time_us += cuda ? r.total_us : r.self_us;  // op self times add up to the traced time without double counting
    calls += r.calls;
    names.insert(r.name);
  }
  const double forwards = std::max(1, p.iterations);
  std::vector<Result> out{
      {"traced_time", time_us / forwards / 1000.0, "ms",
       cuda ? "kernel GPU time, per forward" : "op self time, per forward"},
      {cuda ? "distinct_kernels" : "distinct_ops", static_cast<double>(names.size()), "count", p.tracer},
      {cuda ? "kernel_launches" : "op_calls", calls / forwards, "count", "per forward"}};
  if (const auto sdpa = profile::sdpa_backend(p); !sdpa.name.empty())
    out.push_back({"sdpa_time", sdpa.total_us / forwards / 1000.0, "ms", sdpa.name});
  ctx.profile = stored_profile(p, o.warmup, ctx.cell.measurement->options.value("top", int64_t{0}));
  return out;
}

}  // namespace

void prepare_synthetic_ade20k(const suite::DatasetEntry& d) {
  if (d.kind != "synthetic_ade20k") return;
  seg::SynthOptions o;
  o.num_classes = d.generate.value("classes", o.num_classes);
  o.count = d.generate.value("count", int64_t{64});
  o.min_size = d.generate.value("min_size", o.min_size);
  o.max_size = d.generate.value("max_size", o.max_size);
  o.regions = d.generate.value("regions", o.regions);
  o.seed = d.generate.value("seed", uint64_t{0});
  const int64_t val_count = d.generate.value("val_count", std::max<int64_t>(8, o.count / 4));
  const nlohmann::json recipe{{"generator", "synthetic_ade20k"}, {"classes", o.num_classes}, {"count", o.count},
                              {"val_count", val_count}, {"min_size", o.min_size}, {"max_size", o.max_size},
                              {"regions", o.regions}, {"seed", o.seed}};
  data::generate_dataset(d.root, recipe, [&](const std::string& folder) {
    seg::write_synthetic_ade20k(folder, "training", o);
    seg::SynthOptions val = o;
    val.count = val_count;
    seg::write_synthetic_ade20k(folder, "validation", val);
  });
}

torch::Tensor preprocess_eval(const std::string& path, const VariantConfig& config, std::array<int64_t, 2> img_size,
                              const data::DecodeLimits& limits) {
  // timm's loader and eval transform: PIL.Image.open(f).convert('RGB'), Resize + CenterCrop on the 8-bit image
  // (Pillow's resampling), then ToTensor and Normalize.
  const data::Image rgb = data::read_image(path, data::ReadProtocol::timm, limits);
  data::TimmEvalTransform t;
  t.img_size = {static_cast<int>(img_size[0]), static_cast<int>(img_size[1])};
  t.crop_pct = config.crop_pct;
  t.interpolation = config.interpolation;
  const data::Image image = data::timm_eval_transform(rgb, t);
  auto x = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, torch::kUInt8)
               .permute({2, 0, 1})
               .to(torch::kFloat32)
               .div(255);
  auto mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}, torch::kFloat32).view({3, 1, 1});
  auto std = torch::tensor({config.std[0], config.std[1], config.std[2]}, torch::kFloat32).view({3, 1, 1});
  return ((x - mean) / std).contiguous();
}

std::vector<Result> run(Context& ctx) {
  const std::string& kind = ctx.cell.measurement->kind;
  if (kind == "params") return params(ctx);
  if (kind == "macs") return macs(ctx);
  // The two protocols of conventions.md 1.1/1.2: mmseg's batch-1 latency and timm's large-batch throughput,
  // both on random input with data loading outside the timed region.
  if (kind == "latency") return latency(ctx, "mmseg latency");
  if (kind == "throughput") return latency(ctx, "timm throughput");
  if (kind == "memory") return memory(ctx);
  if (kind == "accuracy") return accuracy(ctx);
  if (kind == "miou" || kind == "train") return segmentation(ctx);
  if (kind == "kernels") return kernels(ctx);
  throw std::invalid_argument("unknown measurement kind '" + kind + "'");
}

}  // namespace locbench::measure
