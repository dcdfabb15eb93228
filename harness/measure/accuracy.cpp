// The `accuracy` kind: top-1/top-5 of a classifier over an image folder, preprocessed as timm's eval transform
// on worker threads while the model runs.
#include "harness/measure/accuracy.h"

#include "harness/data/image.h"
#include "harness/data/imagefolder.h"
#include "harness/measure/common.h"
#include "harness/measure/kinds.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace locbench::measure {

namespace F = torch::nn::functional;

void TopKAccuracy::process(const torch::Tensor& logits, const torch::Tensor& targets) {
  const int64_t kmax = std::min<int64_t>(*std::max_element(ks_.begin(), ks_.end()), logits.size(1));
  auto top = std::get<1>(logits.topk(kmax, 1));
  auto hits = top.eq(targets.view({-1, 1}).to(top.device()));
  for (size_t i = 0; i < ks_.size(); ++i)
    correct_[i] += hits.narrow(1, 0, std::min<int64_t>(ks_[i], kmax)).any(1).sum().item<int64_t>();
  count_ += logits.size(0);
}

std::vector<double> TopKAccuracy::compute() const {
  std::vector<double> out;
  for (int64_t c : correct_) out.push_back(count_ ? 100.0 * static_cast<double>(c) / count_ : NAN);
  return out;
}

namespace {

// Decodes and preprocesses samples on worker threads, in order, so the model is what bounds speed.
class Loader {
 public:
  Loader(const std::vector<data::Sample>& samples, int workers, std::function<torch::Tensor(const std::string&)> load)
      : samples_(samples), load_(std::move(load)), slots_(samples.size()) {
    const int n = std::max(1, workers);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
  }
  ~Loader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  // The i-th preprocessed image (waits for it); rethrows a worker's error.
  torch::Tensor get(size_t i) {
    std::unique_lock<std::mutex> lock(mutex_);
    consumed_ = i;
    cv_.notify_all();
    cv_.wait(lock, [&] { return slots_[i].ready; });
    if (slots_[i].error) std::rethrow_exception(slots_[i].error);
    return std::move(slots_[i].tensor);
  }

 private:
  struct Slot {
    torch::Tensor tensor;
    std::exception_ptr error;
    bool ready = false;
  };
  void work() {
    c10::InferenceMode guard;
    while (true) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        // Stay at most a window ahead of the consumer to bound memory.
        cv_.wait(lock, [&] { return stop_ || next_ >= samples_.size() || next_ < consumed_ + kWindow; });
        if (stop_ || next_ >= samples_.size()) return;
        i = next_++;
      }
      Slot slot;
      try {
        slot.tensor = load_(samples_[i].path);
      } catch (...) {
        slot.error = std::current_exception();
      }
      slot.ready = true;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        slots_[i] = std::move(slot);
      }
      cv_.notify_all();
    }
  }
  static constexpr size_t kWindow = 256;
  const std::vector<data::Sample>& samples_;
  std::function<torch::Tensor(const std::string&)> load_;
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t next_ = 0, consumed_ = 0;
  bool stop_ = false;
};

}  // namespace

namespace kinds {

std::vector<store::Result> accuracy(Context& ctx) {
  DeterministicThreads threads;
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
  Loader loader(samples, workers, [&](const std::string& path) { return preprocess_eval(path, config, ctx.img_size); });
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

}  // namespace kinds

torch::Tensor preprocess_eval(const std::string& path, const VariantConfig& config, std::array<int64_t, 2> img_size) {
  const data::Image image = data::read_image(path, 3);
  auto x = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, torch::kUInt8)
               .permute({2, 0, 1})
               .to(torch::kFloat32)
               .unsqueeze(0);
  // timm: scale_size = floor(img_size / crop_pct) for the short side, keeping the aspect ratio.
  const double crop_pct = config.crop_pct;
  const auto scale_h = static_cast<int64_t>(std::floor(img_size[0] / crop_pct));
  const auto scale_w = static_cast<int64_t>(std::floor(img_size[1] / crop_pct));
  const int64_t h = image.height, w = image.width;
  int64_t new_h, new_w;
  if (img_size[0] == img_size[1]) {
    const int64_t short_side = std::min(h, w);
    new_h = h == short_side ? scale_h : static_cast<int64_t>(std::floor(static_cast<double>(scale_h) * h / short_side));
    new_w = w == short_side ? scale_h : static_cast<int64_t>(std::floor(static_cast<double>(scale_h) * w / short_side));
  } else {
    new_h = scale_h;
    new_w = scale_w;
  }
  const auto mode = config.interpolation == "bilinear" ? F::InterpolateFuncOptions::mode_t(torch::kBilinear)
                                                       : F::InterpolateFuncOptions::mode_t(torch::kBicubic);
  x = F::interpolate(x, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{new_h, new_w})
                            .mode(mode)
                            .align_corners(false)
                            .antialias(true));
  x = x.clamp(0, 255).round();  // the resized image is 8-bit, as PIL's
  const int64_t top = static_cast<int64_t>(std::round((new_h - img_size[0]) / 2.0));
  const int64_t left = static_cast<int64_t>(std::round((new_w - img_size[1]) / 2.0));
  x = x.narrow(2, std::max<int64_t>(top, 0), img_size[0]).narrow(3, std::max<int64_t>(left, 0), img_size[1]);
  auto mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}, torch::kFloat32).view({1, 3, 1, 1});
  auto std = torch::tensor({config.std[0], config.std[1], config.std[2]}, torch::kFloat32).view({1, 3, 1, 1});
  return ((x / 255.0 - mean) / std).squeeze(0).contiguous();
}

}  // namespace locbench::measure
