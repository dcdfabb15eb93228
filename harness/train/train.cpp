// Segmentation training (LocAtViT evaluations/segmentation with mmseg 1.x / mmcv) and small-model training from
// scratch. See train.h for the protocol; comments here say where a detail comes from.
#include "harness/train/train.h"

#include "harness/common/exit_codes.h"
#include "harness/common/text.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/safetensors.h"
#include "harness/dist/dist.h"
#include "harness/model/registry.h"
#include "kernels/resized_cross_entropy/resized_cross_entropy_op.h"

namespace locbench::train {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;

double PolySchedule::lr(int64_t iter) const {
  const double progress = std::min(1.0, static_cast<double>(iter) / static_cast<double>(std::max<int64_t>(total_steps, 1)));
  const double regular = (max_lr - min_lr) * std::pow(1.0 - progress, power) + min_lr;
  if (iter >= warmup_iters) return regular;
  const double k = (1.0 - static_cast<double>(iter) / static_cast<double>(warmup_iters)) * (1.0 - warmup_ratio);
  return regular * (1.0 - k);
}

double OneCycle::lr(int64_t iter) const {
  const double base = max_lr / div_factor;
  // [end_iter, start factor, end factor] as mmcv builds lr_phases in before_run.
  const std::array<std::array<double, 3>, 2> phases{{{pct_start * total_steps - 1, 1.0, div_factor},
                                                     {static_cast<double>(total_steps - 1), div_factor,
                                                      1.0 / final_div_factor}}};
  double start_iter = 0;
  for (const auto& [end_iter, start, end] : phases) {
    if (iter <= end_iter) {
      // mmcv divides by zero when pct_start * total == 1; the phase is then already complete.
      const double pct = end_iter > start_iter ? (iter - start_iter) / (end_iter - start_iter) : 1.0;
      const double a = base * start, b = base * end;
      if (anneal_cos) return b + (a - b) / 2.0 * (std::cos(M_PI * pct) + 1);
      return a + (b - a) * pct;
    }
    start_iter = end_iter;
  }
  return base / final_div_factor;  // past total_steps (mmcv would fail); the final value
}

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The seed of one sample of one iteration of one stage: independent of how the run was split by resumes.
uint64_t sample_seed(uint64_t seed, uint64_t stage, int64_t iter, int64_t b) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stage) ^ static_cast<uint64_t>(iter)) ^
         splitmix64(static_cast<uint64_t>(b) + 0x1234567ull);
}

}  // namespace

SegPair train_transform(const seg::SegExample& example, const TrainPipeline& p, seg::RandomSource& rng) {
  seg::SegImage x{example.image, example.label};
  x = seg::random_resize(x, p.scale, p.ratio_range, rng);
  x = seg::random_crop(x, {static_cast<int>(p.crop_size[0]), static_cast<int>(p.crop_size[1])}, p.cat_max_ratio, rng);
  x = seg::random_flip(x, p.flip_prob, rng);
  if (p.photo_metric_distortion) x.image = seg::photo_metric_distortion(x.image, rng);
  // Normalize (float32), then Pad bottom/right to the crop (image 0, label 255).
  torch::NoGradGuard no_grad;
  auto image = seg::normalize(seg::image_to_tensor(x.image), p.norm).squeeze(0);
  const int64_t pad_h = p.crop_size[0] - image.size(1), pad_w = p.crop_size[1] - image.size(2);
  image = F::pad(image, F::PadFuncOptions({0, pad_w, 0, pad_h}).value(0));
  auto label = torch::from_blob(x.label.pixels.data(), {x.label.height, x.label.width}, torch::kUInt8).to(torch::kLong);
  label = F::pad(label, F::PadFuncOptions({0, pad_w, 0, pad_h}).value(seg::kIgnoreIndex));
  return {image.contiguous(), label.contiguous()};
}

seg::IoUMetric evaluate(seg::SegmentationModelImpl& model, const seg::SegDataset& dataset, const EvalOptions& o,
                        const std::function<void(double)>& progress) {
  std::vector<seg::SegSample> samples = dataset.samples;
  if (o.limit > 0 && static_cast<int64_t>(samples.size()) > o.limit) {
    std::vector<seg::SegSample> subset;  // evenly spaced
    for (int64_t i = 0; i < o.limit; ++i) subset.push_back(samples[i * samples.size() / o.limit]);
    samples = std::move(subset);
  }
  if (o.mode != "whole" && o.mode != "slide")
    throw std::invalid_argument("evaluation mode must be 'whole' or 'slide', not '" + o.mode + "'");
  if (o.mode == "slide" && (o.stride[0] > o.crop_size[0] || o.stride[1] > o.crop_size[1]))
    throw std::invalid_argument("slide stride " + std::to_string(o.stride[0]) + "x" + std::to_string(o.stride[1]) +
                                " is larger than the crop " + std::to_string(o.crop_size[0]) + "x" +
                                std::to_string(o.crop_size[1]) + ": windows would leave pixels uncovered");
  // Under a launcher each rank scores every size()-th image from its rank (none twice, none dropped); the ranks
  // sum the areas and every rank computes the same metric.
  dist::Group& group = dist::world();
  if (group.distributed()) {
    std::vector<seg::SegSample> mine;
    for (size_t i = group.rank(); i < samples.size(); i += group.size()) mine.push_back(samples[i]);
    samples = std::move(mine);
  }
  if (!o.pred_dir.empty()) fs::create_directories(o.pred_dir);
  const bool was_training = model.is_training();
  model.eval();
  torch::InferenceMode guard;
  seg::IoUMetric metric(dataset.num_classes);
  for (size_t i = 0; i < samples.size(); ++i) {
    seg::SegExample ex = seg::load_sample(dataset, samples[i]);
    const std::array<int64_t, 2> size{ex.image.height, ex.image.width};
    torch::Tensor logits;
    if (o.mode == "whole") {
      logits = seg::whole_logits(model, ex.image, seg::WholeInferenceOptions{o.scale, o.min_size, o.norm});
    } else {
      seg::SlideInferenceOptions so;
      so.scale = o.scale;
      so.min_size = o.min_size;
      so.norm = o.norm;
      so.crop_size = o.crop_size;
      so.stride = o.stride;
      logits = seg::slide_logits(model, ex.image, so);
    }
    ex.image = {};  // the decoded file is no longer needed while the prediction is resized to its size
    const data::Image pred = seg::argmax_resized(logits, size);
    if (!o.pred_dir.empty()) data::write_png((fs::path(o.pred_dir) / (samples[i].stem + ".png")).string(), pred);
    metric.process(pred.pixels.data(), ex.label.pixels.data(), ex.label.pixels.size());
    if (progress) progress(static_cast<double>(i + 1) / samples.size());
  }
  model.train(was_training);
  if (group.distributed()) metric.set_statistics(group.sum(metric.statistics()));
  return metric;
}

const std::vector<std::string>& segmentation_dataset_kinds() {
  static const std::vector<std::string> kinds{"ade20k",           "synthetic_ade20k", "pascal_context59",
                                              "pascal_context60", "cocostuff10k",     "cocostuff164k"};
  return kinds;
}

namespace {

seg::SegDataset open_seg_layout(const std::string& kind, const std::string& root, bool train, int64_t num_classes) {
  if (kind == "ade20k" || kind == "synthetic_ade20k") {
    auto ds = seg::ade20k(root, train ? "training" : "validation");
    if (kind == "synthetic_ade20k") {
      if (num_classes <= 0) throw std::invalid_argument("synthetic_ade20k needs its number of classes");
      ds.name = "synthetic ADE20K";
      ds.num_classes = num_classes;
    }
    return ds;
  }
  if (kind == "pascal_context59") return seg::pascal_context_59(root, train ? "train" : "val");
  if (kind == "pascal_context60") return seg::pascal_context_60(root, train ? "train" : "val");
  if (kind == "cocostuff10k") return seg::coco_stuff10k(root, train ? "train2014" : "test2014");
  if (kind == "cocostuff164k") return seg::coco_stuff164k(root, train ? "train2017" : "val2017");
  std::string known;
  for (const auto& k : segmentation_dataset_kinds()) known += (known.empty() ? "" : ", ") + k;
  throw std::invalid_argument("unknown segmentation dataset kind '" + kind + "' (known: " + known + ")");
}

}  // namespace

seg::SegDataset open_seg_dataset(const std::string& kind, const std::string& root, bool train, int64_t num_classes,
                                 const data::DecodeLimits& limits) {
  seg::SegDataset ds = open_seg_layout(kind, root, train, num_classes);
  ds.limits = limits;
  return ds;
}

namespace {

// Training examples: decoded once when the split is small (synthetic data), from disk otherwise.
class ExampleSource {
 public:
  explicit ExampleSource(seg::SegDataset dataset) : dataset_(std::move(dataset)) {
    if (dataset_.samples.empty()) throw std::invalid_argument(dataset_.name + ": no training samples in " + dataset_.root);
    if (dataset_.samples.size() <= kCacheLimit)
      for (const auto& s : dataset_.samples) cache_.push_back(seg::load_sample(dataset_, s));
  }
  size_t size() const { return dataset_.samples.size(); }
  seg::SegExample get(size_t i) const {
    return cache_.empty() ? seg::load_sample(dataset_, dataset_.samples[i]) : cache_[i];
  }
  // mmengine InfiniteSampler(shuffle=True): a fresh permutation every epoch; position = iter * batch + b.
  size_t index(uint64_t seed, int64_t iter, int64_t batch, int64_t b) {
    const auto pos = static_cast<size_t>(iter * batch + b);
    const size_t epoch = pos / size();
    if (epoch != perm_epoch_ || perm_.empty()) {
      perm_.resize(size());
      std::iota(perm_.begin(), perm_.end(), 0);
      std::mt19937_64 engine(splitmix64(seed ^ (epoch * 0x9E3779B97F4A7C15ull)));
      for (size_t k = perm_.size(); k > 1; --k) std::swap(perm_[k - 1], perm_[engine() % k]);
      perm_epoch_ = epoch;
    }
    return perm_[pos % size()];
  }

 private:
  static constexpr size_t kCacheLimit = 2000;
  seg::SegDataset dataset_;
  std::vector<seg::SegExample> cache_;
  std::vector<size_t> perm_;
  size_t perm_epoch_ = 0;
};

// One batch of the pipeline: images (B, 3, h, w) and labels (B, h, w); samples transformed in parallel, each with
// its own seeded Rng so the batch does not depend on thread timing. Of `ranks` processes sharing the global batch
// `batch`, rank `rank` takes samples [rank * batch / ranks, (rank + 1) * batch / ranks) with their global positions
// and seeds: the same samples and augmentations as one process taking the whole batch.
SegPair make_batch(ExampleSource& source, const TrainPipeline& pipeline, uint64_t seed, uint64_t stage, int64_t iter,
                   int64_t batch, int rank = 0, int ranks = 1) {
  const int64_t first = batch * rank / ranks, count = batch * (rank + 1) / ranks - first;
  std::vector<size_t> indices;
  for (int64_t b = first; b < first + count; ++b) indices.push_back(source.index(seed ^ stage, iter, batch, b));
  std::vector<SegPair> items(count);
  const int64_t workers = std::max<int64_t>(1, std::thread::hardware_concurrency());
  for (int64_t start = 0; start < count; start += workers) {
    std::vector<std::future<SegPair>> jobs;
    for (int64_t b = start; b < std::min(count, start + workers); ++b)
      jobs.push_back(std::async(std::launch::async, [&, b] {
        Rng rng(sample_seed(seed, stage, iter, first + b));
        return train_transform(source.get(indices[b]), pipeline, rng);
      }));
    for (int64_t b = start; b < std::min(count, start + workers); ++b) items[b] = jobs[b - start].get();
  }
  std::vector<torch::Tensor> images, labels;
  for (auto& it : items) {
    images.push_back(it.image);
    labels.push_back(it.label);
  }
  return {torch::stack(images), torch::stack(labels)};
}

// Resumable state of one stage: every weight of the module, the trainable ones' AdamW moments and step, the
// iteration, the seed and the curves so far.
void save_stage(const std::string& path, const std::string& stage, torch::nn::Module& whole,
                const std::vector<std::pair<std::string, torch::Tensor>>& trainable, torch::optim::AdamW& optimizer,
                int64_t iteration, uint64_t seed, const std::vector<store::CurvePoint>& curves) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : whole.named_parameters()) tensors[item.key()] = item.value().detach();
  for (const auto& item : whole.named_buffers()) tensors[item.key()] = item.value().detach();
  int64_t adam_step = 0;
  for (const auto& [name, p] : trainable) {
    auto it = optimizer.state().find(p.unsafeGetTensorImpl());
    if (it == optimizer.state().end()) continue;
    auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
    tensors["optimizer." + name + ".exp_avg"] = s.exp_avg();
    tensors["optimizer." + name + ".exp_avg_sq"] = s.exp_avg_sq();
    adam_step = s.step();
  }
  std::map<std::string, std::vector<store::CurvePoint>> by_series;
  for (const auto& c : curves) by_series[c.series].push_back(c);
  for (const auto& [series, points] : by_series) {
    std::vector<int64_t> steps;
    std::vector<double> values;
    for (const auto& c : points) steps.push_back(c.step), values.push_back(c.value);
    tensors["curves." + series + ".step"] = torch::tensor(steps, torch::kInt64);
    tensors["curves." + series + ".value"] = torch::tensor(values, torch::kFloat64);
  }
  write_safetensors(path, tensors,
                    {{"stage", stage}, {"iteration", std::to_string(iteration)}, {"seed", std::to_string(seed)},
                     {"adam_step", std::to_string(adam_step)}, {"format", "locbench-train-1"}});
}

// Restores save_stage's state; returns the saved iteration. The curves saved are appended to `curves`.
int64_t load_stage(const std::string& path, const std::string& stage, torch::nn::Module& whole,
                   const std::vector<std::pair<std::string, torch::Tensor>>& trainable,
                   torch::optim::AdamW& optimizer, uint64_t seed, std::vector<store::CurvePoint>& curves) {
  auto tensors = read_safetensors(path);
  const safetensors::File file(path);
  const auto& meta = file.metadata();
  auto value = [&](const std::string& key) { return meta.count(key) ? meta.at(key) : std::string(); };
  if (value("stage") != stage)
    throw std::runtime_error(path + ": checkpoint of stage '" + value("stage") + "', expected '" + stage + "'");
  if (value("seed") != std::to_string(seed))
    throw std::runtime_error(path + ": checkpoint was trained with seed " + value("seed") +
                             ", this run uses " + std::to_string(seed) + "; resume with the same seed");
  torch::NoGradGuard no_grad;
  for (auto& item : whole.named_parameters()) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) throw std::runtime_error(path + ": missing tensor '" + item.key() + "'");
    item.value().copy_(it->second);
  }
  for (auto& item : whole.named_buffers())
    if (auto it = tensors.find(item.key()); it != tensors.end()) item.value().copy_(it->second);
  const int64_t adam_step = std::stoll("0" + value("adam_step"));
  for (const auto& [name, p] : trainable) {
    auto m = tensors.find("optimizer." + name + ".exp_avg"), v = tensors.find("optimizer." + name + ".exp_avg_sq");
    if (m == tensors.end() || v == tensors.end()) continue;
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(adam_step);
    s->exp_avg(m->second.to(p.device()).clone());
    s->exp_avg_sq(v->second.to(p.device()).clone());
    optimizer.state()[p.unsafeGetTensorImpl()] = std::move(s);
  }
  curves.clear();  // the checkpoint holds the whole history up to its iteration
  for (const auto& [key, t] : tensors) {
    if (key.rfind("curves.", 0) != 0 || key.size() < 12 || key.substr(key.size() - 5) != ".step") continue;
    const std::string series = key.substr(7, key.size() - 12);
    auto values = tensors.at("curves." + series + ".value");
    for (int64_t i = 0; i < t.numel(); ++i)
      curves.push_back({series, t[i].item<int64_t>(), values[i].item<double>()});
  }
  return std::stoll("0" + value("iteration"));
}

std::vector<std::pair<std::string, torch::Tensor>> trainable_parameters(torch::nn::Module& whole) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : whole.named_parameters())
    if (item.value().requires_grad()) out.emplace_back(item.key(), item.value());
  return out;
}

// mmcv paramwise settings of one parameter: (lr multiplier, weight-decay multiplier).
using Paramwise = std::function<std::pair<double, double>(const std::string&)>;

struct Stage {
  std::string name;  // "cls" or "seg"
  uint64_t salt;
  int64_t iterations, batch_size;
  std::function<double(int64_t)> lr;  // base learning rate set before iteration iter
  double weight_decay, clip_grad;
  Paramwise paramwise;  // empty: one group
  // Across processes: true when step_loss returns this rank's share of the global batch's loss (the shares sum to
  // the one-process loss, so gradients are summed); false when it returns the rank's own mean, as DDP trains
  // (gradients averaged). The batch_size is the global batch, split evenly over the ranks.
  bool loss_is_share = false;
};

// The state rank 0 has (fresh or resumed) on every rank: the iteration, every weight and buffer, and the AdamW
// moments. Returns the iteration to start at.
int64_t share_state(dist::Group& group, torch::nn::Module& whole,
                    const std::vector<std::pair<std::string, torch::Tensor>>& trainable, torch::optim::AdamW& optimizer,
                    int64_t start) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> has_state;
  int64_t adam_step = 0;
  for (const auto& [name, p] : trainable) {
    auto it = optimizer.state().find(p.unsafeGetTensorImpl());
    has_state.push_back(it != optimizer.state().end());
    if (it != optimizer.state().end()) adam_step = static_cast<torch::optim::AdamWParamState&>(*it->second).step();
  }
  std::vector<torch::Tensor> head{torch::tensor(std::vector<int64_t>{start, adam_step}, torch::kLong),
                                  torch::tensor(has_state, torch::kLong)};
  group.broadcast(head);
  start = head[0][0].item<int64_t>(), adam_step = head[0][1].item<int64_t>();
  std::vector<torch::Tensor> tensors;
  for (auto& item : whole.named_parameters()) tensors.push_back(item.value());
  for (auto& item : whole.named_buffers()) tensors.push_back(item.value());
  for (size_t i = 0; i < trainable.size(); ++i) {
    if (!head[1][static_cast<int64_t>(i)].item<int64_t>()) continue;
    const auto& p = trainable[i].second;
    auto& slot = optimizer.state()[p.unsafeGetTensorImpl()];
    if (!slot) {
      auto state = std::make_unique<torch::optim::AdamWParamState>();
      state->exp_avg(torch::zeros_like(p));
      state->exp_avg_sq(torch::zeros_like(p));
      slot = std::move(state);
    }
    auto& state = static_cast<torch::optim::AdamWParamState&>(*slot);
    state.step(adam_step);
    tensors.push_back(state.exp_avg());
    tensors.push_back(state.exp_avg_sq());
  }
  group.broadcast(tensors);
  return start;
}

// The shared loop: lr from the schedule before each step, loss from `step_loss`, curves every log_interval,
// a checkpoint at checkpoint_interval, at stop_after and at the end. Returns whether it ran to the end.
bool run_stage(const Stage& stage, const TrainOptions& o, torch::nn::Module& whole,
               const std::function<torch::Tensor(int64_t)>& step_loss,
               const std::function<void(int64_t)>& on_eval, std::vector<store::CurvePoint>& curves,
               std::ostream& log, double progress_from, double progress_span) {
  dist::Group& group = dist::world();
  if (stage.batch_size % group.size() != 0)
    throw std::invalid_argument(stage.name + " batch size " + std::to_string(stage.batch_size) +
                                " is not divisible by the " + std::to_string(group.size()) +
                                " ranks (each takes an equal share of the global batch)");
  auto trainable = trainable_parameters(whole);
  std::vector<torch::Tensor> params;
  // One AdamW group per (lr, decay) multiplier pair, in order of first appearance.
  std::vector<std::pair<double, double>> multipliers;
  std::vector<std::vector<torch::Tensor>> grouped;
  for (auto& [name, p] : trainable) {
    params.push_back(p);
    const auto mult = stage.paramwise ? stage.paramwise(name) : std::pair<double, double>{1.0, 1.0};
    auto it = std::find(multipliers.begin(), multipliers.end(), mult);
    if (it == multipliers.end()) {
      multipliers.push_back(mult);
      grouped.emplace_back();
      it = multipliers.end() - 1;
    }
    grouped[it - multipliers.begin()].push_back(p);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t g = 0; g < grouped.size(); ++g) {
    auto options = std::make_unique<torch::optim::AdamWOptions>(stage.lr(0) * multipliers[g].first);
    options->betas({0.9, 0.999}).eps(1e-8).weight_decay(stage.weight_decay * multipliers[g].second);
    groups.emplace_back(grouped[g], std::move(options));
  }
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(stage.lr(0)).weight_decay(stage.weight_decay));
  const std::string path = o.work_dir.empty() ? "" : (fs::path(o.work_dir) / (stage.name + ".safetensors")).string();
  // Rank 0 reads and writes the checkpoints and keeps the curves; the others start from its state.
  int64_t start = 0;
  if (o.resume && !path.empty() && group.is_main() && fs::exists(path)) {
    start = load_stage(path, stage.name, whole, trainable, optimizer, o.seed, curves);
    log << stage.name << ": resumed at iteration " << start << " from " << path << "\n";
  }
  if (group.distributed()) start = share_state(group, whole, trainable, optimizer, start);
  auto save = [&](int64_t iteration) {
    if (!path.empty() && group.is_main())
      save_stage(path, stage.name, whole, trainable, optimizer, iteration, o.seed, curves);
  };
  double loss_sum = 0;
  int64_t loss_count = 0;
  for (int64_t iter = start; iter < stage.iterations; ++iter) {
    const double lr = stage.lr(iter);
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g)
      static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[g].options()).lr(lr * multipliers[g].first);
    optimizer.zero_grad();
    auto loss = step_loss(iter);
    loss.backward();
    group.all_reduce_gradients(params, /*average=*/!stage.loss_is_share);  // nothing in one process
    if (stage.clip_grad > 0) torch::nn::utils::clip_grad_norm_(params, stage.clip_grad);
    optimizer.step();
    double value = loss.item<double>();
    if (group.distributed()) value = group.sum(value) / (stage.loss_is_share ? 1 : group.size());
    loss_sum += value;
    ++loss_count;
    const int64_t done = iter + 1;
    if (done % std::max<int64_t>(o.log_interval, 1) == 0 || done == stage.iterations) {
      const std::string prefix = stage.name == "seg" ? "" : stage.name + "_";
      curves.push_back({prefix + "loss", done, loss_sum / loss_count});
      curves.push_back({prefix + "lr", done, lr});
      log << stage.name << " iter " << done << "/" << stage.iterations << " loss " << loss_sum / loss_count
          << " lr " << lr << "\n";
      loss_sum = 0, loss_count = 0;
    }
    if (on_eval && o.eval_interval > 0 && done % o.eval_interval == 0 && done < stage.iterations) on_eval(done);
    if (o.progress) o.progress(progress_from + progress_span * done / stage.iterations);
    if (o.stop_after > 0 && done - start >= o.stop_after && done < stage.iterations) {
      save(done);
      log << stage.name << ": stopped after iteration " << done << " (checkpoint " << path << ")\n";
      return false;
    }
    if (o.checkpoint_interval > 0 && done % o.checkpoint_interval == 0) save(done);
  }
  save(stage.iterations);
  return true;
}

void freeze(Model& backbone) {
  backbone.eval();  // frozen_stages='full': eval mode and no gradients
  for (auto& p : backbone.parameters()) p.set_requires_grad(false);
}

// Cross-entropy of the global batch as this rank's share: the sum over this rank's counted targets divided by the
// count over every rank, so that the shares add up to one process's mean over the whole batch (up to the order of
// the float sums). mmseg's DDP averages the ranks' own means instead, which differs when ranks count differently
// many labelled pixels.
torch::Tensor cross_entropy_share(dist::Group& group, const torch::Tensor& logits, const torch::Tensor& target,
                                  int64_t ignore_index) {
  const double counted = group.sum(target.ne(ignore_index).sum().item<double>());
  const auto sum = F::cross_entropy(
      logits, target, F::CrossEntropyFuncOptions().ignore_index(ignore_index).reduction(torch::kSum));
  return counted > 0 ? sum / counted : logits.sum() * 0;
}

// Classification pre-training of a small model from scratch on the segmentation data: each crop's target is its
// most frequent class (crops with no labelled pixel are ignored).
bool pretrain_classifier(Model& model, ExampleSource& source, const TrainOptions& o,
                         std::vector<store::CurvePoint>& curves, std::ostream& log) {
  const auto& cfg = model.variant_config();
  TrainPipeline pipeline = o.pipeline;
  pipeline.crop_size = {cfg.input_size[1], cfg.input_size[2]};
  for (int c = 0; c < 3; ++c) pipeline.norm.mean[c] = cfg.mean[c] * 255, pipeline.norm.std[c] = cfg.std[c] * 255;
  const OneCycle schedule{o.cls_lr, o.cls_iterations, 0.1, 1e4, 1.0, false};
  Stage stage{"cls", 0xC1A55, o.cls_iterations, o.cls_batch_size, [schedule](int64_t i) { return schedule.lr(i); },
              o.cls_weight_decay, o.cls_clip_grad, {}, /*loss_is_share=*/true};
  model.train();
  dist::Group& group = dist::world();
  auto step = [&](int64_t iter) {
    SegPair batch = make_batch(source, pipeline, o.seed, stage.salt, iter, stage.batch_size, group.rank(), group.size());
    auto counts = torch::zeros({batch.label.size(0), 256}, torch::kLong);
    counts.scatter_add_(1, batch.label.flatten(1).clamp(0, 255), torch::ones_like(batch.label.flatten(1)));
    counts.narrow(1, seg::kIgnoreIndex, 1).zero_();
    auto target = counts.argmax(1);
    target = torch::where(counts.sum(1) > 0, target, torch::full_like(target, -100));
    auto logits = model.forward(batch.image.to(o.device));
    if (group.distributed()) return cross_entropy_share(group, logits, target.to(o.device), -100);
    return F::cross_entropy(logits, target.to(o.device), F::CrossEntropyFuncOptions().ignore_index(-100));
  };
  const bool finished = run_stage(stage, o, model, step, {}, curves, log, 0.0, 0.5);
  model.eval();
  return finished;
}

}  // namespace

seg::SegmentationModel segmentation_model(const std::string& name, const std::string& checkpoint,
                                          const std::string& head, const seg::SegDataset& dataset,
                                          const ModelArgs& args) {
  const VariantInfo* info = Registry::instance().find(name);
  if (info && info->task == "segmentation") {
    ModelArgs a = args;
    if (!a.num_classes) a.num_classes = dataset.num_classes;
    ModelPtr net = create_model(name, a);
    if (!checkpoint.empty()) load_checkpoint(*net, checkpoint);
    if (net->variant_config().num_classes != dataset.num_classes)
      throw std::invalid_argument(name + " predicts " + std::to_string(net->variant_config().num_classes) +
                                  " classes, " + dataset.name + " has " + std::to_string(dataset.num_classes));
    seg::SegmentationModel model(net);
    if (!head.empty()) load_segmentation_checkpoint(*model, head);
    return model;
  }
  if (head.empty())
    throw std::invalid_argument("'" + name + "' is a backbone: give a head checkpoint written by bench train");
  ModelPtr backbone = create_model(name, args);
  if (!checkpoint.empty()) load_checkpoint(*backbone, checkpoint);
  seg::SegmentationModel model(backbone, "linear", dataset.num_classes);
  load_segmentation_checkpoint(*model, head);
  return model;
}

void load_segmentation_checkpoint(seg::SegmentationModelImpl& model, const std::string& path) {
  auto tensors = read_safetensors(path);
  torch::NoGradGuard no_grad;
  bool any_head = false;
  for (auto& item : model.named_parameters()) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) {
      if (item.key().rfind("decode_head.", 0) == 0)
        throw std::runtime_error(path + ": missing tensor '" + item.key() + "' (not a head checkpoint of this model?)");
      continue;  // a head-only checkpoint keeps the backbone's own weights
    }
    if (it->second.sizes() != item.value().sizes())
      throw std::runtime_error(path + ": '" + item.key() + "' has shape " + c10::str(it->second.sizes()) +
                               ", the model expects " + c10::str(item.value().sizes()));
    item.value().copy_(it->second);
    any_head |= item.key().rfind("decode_head.", 0) == 0;
  }
  if (!any_head) throw std::runtime_error(path + ": no decode_head.* tensors");
}

void apply_recipe(TrainOptions& o, const VariantConfig& c) {
  for (int k = 0; k < 3; ++k) o.pipeline.norm.mean[k] = c.mean[k] * 255, o.pipeline.norm.std[k] = c.std[k] * 255;
  o.eval.norm = o.pipeline.norm;
  o.pipeline.crop_size = {c.input_size[1], c.input_size[2]};
  o.eval.crop_size = o.pipeline.crop_size;
  if (!c.seg) return;
  const SegRecipe& r = *c.seg;
  if (r.scale[0] > 0) {
    o.pipeline.scale = {r.scale[0], r.scale[1]};
    o.eval.scale = o.pipeline.scale;
  }
  o.eval.min_size = r.min_size;
  o.eval.mode = r.stride[0] > 0 ? "slide" : "whole";
  if (r.stride[0] > 0) o.eval.stride = r.stride;
  if (o.task != "segmentor") return;
  if (r.lr > 0) o.lr = r.lr;
  o.weight_decay = r.weight_decay;
  o.head_lr_mult = r.head_lr_mult;
  o.warmup_iters = r.warmup_iters;
  o.warmup_ratio = r.warmup_ratio;
  o.power = r.power;
  o.clip_grad = r.clip_grad;
}

namespace {

// mmcv DefaultOptimizerConstructor with custom_keys {head: lr_mult, norm: decay_mult 0, ln: decay_mult 0}: the keys
// are tried longest first (ties alphabetically), the first one contained in the parameter name applies.
Paramwise segmentor_paramwise(double head_lr_mult) {
  return [head_lr_mult](const std::string& name) -> std::pair<double, double> {
    if (name.find("head") != std::string::npos) return {head_lr_mult, 1.0};
    if (name.find("norm") != std::string::npos || name.find("ln") != std::string::npos) return {1.0, 0.0};
    return {1.0, 1.0};
  };
}

// The end of a segmentation training: the final score, its curve point, the checkpoint path, the time.
TrainResult finish(TrainResult result, seg::SegmentationModel model, const seg::SegDataset& val,
                   const TrainOptions& o, std::chrono::steady_clock::time_point t0, std::ostream& log) {
  result.iterations = o.iterations;
  if (!o.work_dir.empty()) result.checkpoint = (fs::path(o.work_dir) / "seg.safetensors").string();
  result.model = model;
  if (!o.final_eval) {
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }
  result.val = evaluate(*model, val, o.eval).compute();
  result.curves.push_back({"miou", o.iterations, result.val.mIoU});
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log << "mIoU " << result.val.mIoU << " aAcc " << result.val.aAcc << " mAcc " << result.val.mAcc << " ("
      << result.seconds << " s)\n";
  return result;
}

// Task segmentor: a whole segmentation model trained end to end with its own loss.
TrainResult train_segmentor(const TrainOptions& o, ExampleSource& source, const seg::SegDataset& val,
                            std::ostream& log, std::chrono::steady_clock::time_point t0) {
  const VariantInfo* info = Registry::instance().find(o.model);
  if (!info) throw std::invalid_argument("unknown model '" + o.model + "'");
  if (info->task != "segmentation")
    throw std::invalid_argument("task 'segmentor' trains a segmentation model (bench list models: task segmentation); '" +
                                o.model + "' is a " + info->task + " model (use task head or scratch)");
  ModelArgs args = o.model_args;
  if (!args.num_classes) args.num_classes = val.num_classes;
  torch::manual_seed(o.seed);
  ModelPtr net = create_model(o.model, args);
  if (!o.checkpoint.empty()) load_checkpoint(*net, o.checkpoint);
  if (net->variant_config().num_classes != val.num_classes)
    throw std::invalid_argument(o.model + " predicts " + std::to_string(net->variant_config().num_classes) +
                                " classes, " + val.name + " has " + std::to_string(val.num_classes));
  seg::SegmentationModel model(net);
  model->to(o.device);
  model->train();
  const PolySchedule schedule{o.lr, o.iterations, o.power, 0.0, o.warmup_iters, o.warmup_ratio};
  Stage stage{"seg",          0x5E6,        o.iterations, o.batch_size, [schedule](int64_t i) { return schedule.lr(i); },
              o.weight_decay, o.clip_grad, segmentor_paramwise(o.head_lr_mult)};
  TrainResult result;
  // Across processes each rank's loss is its own mean, as the official DDP training has it, with the criterion's
  // normaliser (SegViT's num_masks) averaged over the ranks; the gradients are averaged (loss_is_share false).
  dist::Group& group = dist::world();
  const CountAverage average_count =
      group.distributed() ? CountAverage([&group](double n) { return group.sum(n) / group.size(); }) : CountAverage();
  auto step = [&](int64_t iter) {
    SegPair batch = make_batch(source, o.pipeline, o.seed, stage.salt, iter, stage.batch_size, group.rank(), group.size());
    // Dropout and drop-path draw from a generator seeded per iteration (and rank), so a resumed run equals an
    // uninterrupted one.
    torch::manual_seed(sample_seed(o.seed, stage.salt, iter, -1 - group.rank()) >> 1);
    const auto terms = net->segmentation_loss(batch.image.to(o.device), batch.label.to(o.device), average_count);
    if (terms.empty())
      throw std::invalid_argument("'" + o.model + "' has no training loss of its own (task segmentor needs one)");
    torch::Tensor loss;
    for (const auto& [name, value] : terms) loss = loss.defined() ? loss + value : value;
    return loss;
  };
  auto on_eval = [&](int64_t done) {
    const auto r = evaluate(*model, val, o.eval).compute();
    result.curves.push_back({"miou", done, r.mIoU});
    log << "seg iter " << done << " mIoU " << r.mIoU << "\n";
  };
  if (!run_stage(stage, o, *model, step, on_eval, result.curves, log, 0.0, 0.9)) {
    result.stopped = true;
    return result;
  }
  return finish(std::move(result), model, val, o, t0, log);
}

}  // namespace

TrainResult train(const TrainOptions& o, std::ostream& log) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.task != "head" && o.task != "scratch" && o.task != "segmentor")
    throw std::invalid_argument("train task must be 'head', 'scratch' or 'segmentor', not '" + o.task + "'");
  if (!o.work_dir.empty()) fs::create_directories(o.work_dir);
  if (o.resume && o.work_dir.empty()) throw std::invalid_argument("--resume needs a work directory with checkpoints");
  ExampleSource source(open_seg_dataset(o.dataset_kind, o.root, true, o.num_classes, o.limits));
  const seg::SegDataset val = open_seg_dataset(o.dataset_kind, o.root, false, o.num_classes, o.limits);
  if (o.task == "segmentor") return train_segmentor(o, source, val, log, t0);
  torch::manual_seed(o.seed);
  ModelPtr backbone = o.task == "head" && o.backbone ? o.backbone : create_model(o.model, o.model_args);
  if (!o.backbone && !o.checkpoint.empty()) load_checkpoint(*backbone, o.checkpoint);
  backbone->to(o.device);
  TrainResult result;
  if (o.task == "scratch" && !pretrain_classifier(*backbone, source, o, result.curves, log)) {
    result.stopped = true;
    return result;
  }
  freeze(*backbone);
  torch::manual_seed(o.seed + 1);
  seg::SegmentationModel model(backbone, "linear", val.num_classes);
  model->to(o.device);
  model->decode_head->train();
  const OneCycle schedule{o.lr, o.iterations, o.pct_start, o.div_factor, o.final_div_factor, false};
  Stage stage{"seg", 0x5E6, o.iterations, o.batch_size, [schedule](int64_t i) { return schedule.lr(i); },
              o.weight_decay, 0, {}, /*loss_is_share=*/true};
  dist::Group& group = dist::world();
  auto step = [&](int64_t iter) {
    SegPair batch = make_batch(source, o.pipeline, o.seed, stage.salt, iter, stage.batch_size, group.rank(), group.size());
    torch::Tensor features;
    {
      torch::NoGradGuard no_grad;
      features = model->backbone->forward_dense(batch.image.to(o.device));
    }
    // BaseDecodeHead.losses: logits resized to the label size (bilinear), then mmseg's CrossEntropyLoss with
    // ignore 255 and avg_non_ignore=False: the summed loss of the labelled pixels over every pixel of the batch (of
    // the global batch across ranks, so the shares add up to one process's mean). On CPU tensors the resize, the
    // log-softmax and the NLL run fused, without the (B, K, H, W) logits.
    const torch::Tensor label = batch.label.to(o.device);
    // Every label is padded to the crop, so the global batch's pixel count needs no collective.
    const double pixels = static_cast<double>(stage.batch_size) * label.size(1) * label.size(2);
    return kernels::resized_cross_entropy(model->decode_head->forward(features), label, seg::kIgnoreIndex, pixels);
  };
  auto on_eval = [&](int64_t done) {
    const auto r = evaluate(*model, val, o.eval).compute();
    result.curves.push_back({"miou", done, r.mIoU});
    log << "seg iter " << done << " mIoU " << r.mIoU << "\n";
    model->backbone->eval();
  };
  const double from = o.task == "scratch" ? 0.5 : 0.0;
  if (!run_stage(stage, o, *model, step, on_eval, result.curves, log, from, (1.0 - from) * 0.9)) {
    result.stopped = true;
    return result;
  }
  return finish(std::move(result), model, val, o, t0, log);
}

int run_train(const TrainOptions& options, std::ostream& log) {
  try {
    const TrainResult r = train(options, log);
    if (r.stopped) return 0;
    log << "model " << options.model << " on " << options.root << ": mIoU " << r.val.mIoU << " %, aAcc " << r.val.aAcc
        << " %, mAcc " << r.val.mAcc << " % after " << r.iterations << " iterations";
    if (!r.checkpoint.empty()) log << "; checkpoint " << r.checkpoint;
    log << "\n";
    return 0;
  } catch (const std::exception& e) {
    if (dist::world().distributed()) throw;  // under a launcher bench's run_guarded ends the job on every rank
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    std::cerr << "bench train: " << one_line(msg, 2000) << "\n";  // errors on stderr, one line, as every command's
    return exit_code_of(e);
  }
}

int run_eval_seg(const SegEvalOptions& o, std::ostream& out, std::ostream& err) {
  try {
    const seg::SegDataset val = open_seg_dataset(o.dataset_kind, o.root, false, o.num_classes, o.limits);
    seg::SegmentationModel model = segmentation_model(o.model, o.checkpoint, o.head, val);
    model->to(o.device);
    // The scoring loop alone (decode, preprocess, inference, resize + argmax, IoU areas), wall and process CPU time.
    const auto wall0 = std::chrono::steady_clock::now();
    const std::clock_t cpu0 = std::clock();
    const auto r = evaluate(*model, val, o.eval).compute();
    const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    const size_t images = val.samples.size();
    if (o.json) {
      out << nlohmann::json{{"mIoU", r.mIoU}, {"aAcc", r.aAcc}, {"mAcc", r.mAcc}, {"images", images},
                            {"seconds", wall}, {"cpu_seconds", cpu}}.dump()
          << "\n";
    } else {
      out << val.name << " " << val.split << " (" << o.eval.mode << "): mIoU " << r.mIoU << " %, aAcc " << r.aAcc
          << " %, mAcc " << r.mAcc << " %\n";
      if (images > 0)
        out << images << " images in " << wall << " s: " << 1e3 * wall / images << " ms per image (CPU "
            << 1e3 * cpu / images << " ms)\n";
    }
    return 0;
  } catch (const std::exception& e) {
    if (dist::world().distributed()) throw;  // under a launcher bench's run_guarded ends the job on every rank
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    err << "bench eval-seg: " << msg << "\n";
    return exit_code_of(e);
  }
}

}  // namespace locbench::train
