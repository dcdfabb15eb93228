// The `accuracy` kind: top-1/top-5 of a classifier over an image folder, preprocessed as timm's eval transform
// on worker threads while the model runs.
#include "harness/measure/accuracy.h"

#include "harness/data/image.h"
#include "harness/dist/dist.h"
#include "harness/data/imagefolder.h"
#include "harness/data/ordered_loader.h"
#include "harness/data/resize.h"
#include "harness/measure/common.h"
#include "harness/measure/kinds.h"

#include <algorithm>
#include <cmath>
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

std::vector<int64_t> TopKAccuracy::statistics() const {
  std::vector<int64_t> out = correct_;
  out.push_back(count_);
  return out;
}

void TopKAccuracy::set_statistics(const std::vector<int64_t>& s) {
  if (s.size() != correct_.size() + 1) throw std::invalid_argument("top-k statistics of another k");
  std::copy(s.begin(), s.end() - 1, correct_.begin());
  count_ = s.back();
}

data::DecodeLimits decode_limits(const suite::DatasetEntry& dataset) {
  data::DecodeLimits limits;
  if (dataset.max_pixels > 0) limits.max_pixels = dataset.max_pixels;
  return limits;
}

std::vector<double> TopKAccuracy::compute() const {
  if (count_ == 0) throw std::runtime_error("no images were scored: an accuracy needs at least one");
  std::vector<double> out;
  for (int64_t c : correct_) out.push_back(count_ ? 100.0 * static_cast<double>(c) / count_ : NAN);
  return out;
}

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
  // Under a launcher each rank scores every size()-th image from its rank (none twice, none dropped) and the ranks
  // sum the correct counts.
  dist::Group& group = dist::world();
  if (group.distributed()) {
    std::vector<data::Sample> mine;
    for (size_t i = group.rank(); i < samples.size(); i += group.size()) mine.push_back(samples[i]);
    samples = std::move(mine);
  }
  const int workers = ds.workers > 0 ? ds.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const VariantConfig config = ctx.model.variant_config();
  const data::DecodeLimits limits = decode_limits(ds);
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
  if (group.distributed()) topk.set_statistics(group.sum(topk.statistics()));
  const auto acc = topk.compute();
  const std::string protocol = std::to_string(ctx.img_size[0]) + " px, crop " +
                               std::to_string(config.crop_pct).substr(0, 4) + " " + config.interpolation;
  return {{"top1", acc[0], "%", protocol}, {"top5", acc[1], "%", protocol}};
}

}  // namespace kinds

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

}  // namespace locbench::measure
