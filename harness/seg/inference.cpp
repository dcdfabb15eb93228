// mmseg EncoderDecoder whole/slide inference and the ADE20K test pipeline (see inference.h).
#include "harness/seg/inference.h"

#include <stdexcept>
#include <string>

#include "harness/data/resize.h"
#include "harness/model/registry.h"
#include "harness/seg/sliding_window.h"
#include "methods/common/layers.h"

namespace locbench::seg {

namespace F = torch::nn::functional;

namespace {

torch::Device device_of(torch::nn::Module& module) {
  for (const auto& p : module.parameters()) return p.device();
  return torch::kCPU;
}

F::InterpolateFuncOptions bilinear(std::array<int64_t, 2> size) {
  return F::InterpolateFuncOptions().size(std::vector<int64_t>{size[0], size[1]}).mode(torch::kBilinear)
      .align_corners(false);
}

}  // namespace

SegmentationModelImpl::SegmentationModelImpl(ModelPtr backbone_model, DecodeHeadPtr head)
    : backbone(std::move(backbone_model)), decode_head(std::move(head)) {
  if (!backbone) throw std::invalid_argument("SegmentationModel: backbone is null");
  if (!decode_head) throw std::invalid_argument("SegmentationModel: decode head is null");
  register_module("backbone", backbone);
  register_module("decode_head", decode_head);
}

SegmentationModelImpl::SegmentationModelImpl(ModelPtr backbone_model, const std::string& head_name,
                                             int64_t num_classes)
    : SegmentationModelImpl(backbone_model,
                            backbone_model ? create_head(head_name, {backbone_model->num_features(), num_classes})
                                           : nullptr) {}

SegmentationModelImpl::SegmentationModelImpl(ModelPtr segmentor_model) : segmentor(std::move(segmentor_model)) {
  if (!segmentor) throw std::invalid_argument("SegmentationModel: segmentation model is null");
  for (const auto& child : segmentor->named_children()) register_module(child.key(), child.value());
  for (const auto& p : segmentor->named_parameters(/*recurse=*/false)) register_parameter(p.key(), p.value());
  for (const auto& b : segmentor->named_buffers(/*recurse=*/false)) register_buffer(b.key(), b.value());
}

void SegmentationModelImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (segmentor) segmentor->train(on);
}

torch::Tensor SegmentationModelImpl::forward(const torch::Tensor& images) {
  // A segmentation model is its own encode_decode: it pads inside its patch embedding and returns scores at the
  // input size.
  if (segmentor) return segmentor->forward(images);
  // Zeros right/bottom of the normalised input are what dynamic_img_pad / AdaptivePadding add inside the patch
  // embedding; the head's logits (at the padded grid) are resized to the unpadded size, as encode_decode does.
  const torch::Tensor padded = layers::pad_to_multiple(images, backbone->feature_stride());
  return resize_logits(decode_head->forward(backbone->forward_dense(padded)), {images.size(2), images.size(3)});
}

torch::Tensor image_to_tensor(const data::Image& image) {
  if (image.channels != 3)
    throw std::invalid_argument("image_to_tensor: expected an RGB image, got " + std::to_string(image.channels) +
                                " channels");
  auto hwc = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3},
                              torch::kUInt8);
  return hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).contiguous();
}

torch::Tensor normalize(const torch::Tensor& image, const Normalization& norm) {
  // mmseg's Normalize keeps mean and std as float32 arrays; mmcv.imnormalize_ then subtracts the mean in float32
  // (cv2.subtract) and multiplies by 1 / float64(std) in double, rounding once to float32 (cv2.multiply by a
  // scalar; OpenCV 4.6 and 5.0 alike).
  const auto f32 = [](double v) { return static_cast<double>(static_cast<float>(v)); };
  auto mean = torch::tensor({f32(norm.mean[0]), f32(norm.mean[1]), f32(norm.mean[2])}, image.options())
                  .view({1, 3, 1, 1});
  auto inv_std = torch::tensor({1.0 / f32(norm.std[0]), 1.0 / f32(norm.std[1]), 1.0 / f32(norm.std[2])},
                               image.options().dtype(torch::kFloat64))
                     .view({1, 3, 1, 1});
  auto centred = image - mean;
  if (image.scalar_type() != torch::kFloat32) return centred * inv_std.to(image.scalar_type());
  return (centred.to(torch::kFloat64) * inv_std).to(torch::kFloat32);
}

torch::Tensor preprocess(const data::Image& image, const std::optional<std::pair<int64_t, int64_t>>& scale,
                         const Normalization& norm, int64_t min_size) {
  if (!scale) return normalize(image_to_tensor(image), norm);
  const auto [h, w] = rescale_size(image.height, image.width, *scale, min_size);
  // The 8-bit image is resized first: the float copy is the size of the network input, not of the file.
  const data::Image resized =
      data::cv_resize(image, static_cast<int>(w), static_cast<int>(h), data::CvInterpolation::bilinear);
  return normalize(image_to_tensor(resized), norm);
}

torch::Tensor resize_logits(const torch::Tensor& logits, std::array<int64_t, 2> size) {
  if (logits.size(2) == size[0] && logits.size(3) == size[1]) return logits;
  return F::interpolate(logits, bilinear(size));
}

torch::Tensor slide_logits(const EncodeDecode& encode_decode, const torch::Tensor& images,
                           std::array<int64_t, 2> crop_size, std::array<int64_t, 2> stride, int64_t max_batch) {
  if (images.size(0) != 1) throw std::invalid_argument("slide_logits: expects one image (batch 1)");
  const int64_t H = images.size(2), W = images.size(3);
  const SlideGrid grid = slide_grid(H, W, crop_size[0], crop_size[1], stride[0], stride[1]);
  const auto& windows = grid.windows;
  const int64_t n = static_cast<int64_t>(windows.size());
  const int64_t chunk = max_batch > 0 ? max_batch : n;
  torch::Tensor preds, count = torch::zeros({1, 1, H, W}, images.options());
  for (int64_t start = 0; start < n; start += chunk) {
    std::vector<torch::Tensor> crops;
    for (int64_t i = start; i < std::min(n, start + chunk); ++i) {
      const SlideWindow& w = windows[i];
      crops.push_back(images.slice(2, w.y1, w.y2).slice(3, w.x1, w.x2));
    }
    const torch::Tensor logits = encode_decode(torch::cat(crops, 0));
    if (!preds.defined()) preds = torch::zeros({1, logits.size(1), H, W}, logits.options());
    for (int64_t i = start; i < std::min(n, start + chunk); ++i) {
      const SlideWindow& w = windows[i];
      preds.slice(2, w.y1, w.y2).slice(3, w.x1, w.x2) += logits.slice(0, i - start, i - start + 1);
      count.slice(2, w.y1, w.y2).slice(3, w.x1, w.x2) += 1;
    }
  }
  return preds / count.to(preds.dtype());
}

torch::Tensor whole_logits(SegmentationModelImpl& model, const data::Image& image,
                           const WholeInferenceOptions& options) {
  torch::InferenceMode guard;
  const torch::Tensor x = preprocess(image, options.scale, options.norm, options.min_size).to(device_of(model));
  return model.forward(x);
}

torch::Tensor slide_logits(SegmentationModelImpl& model, const data::Image& image,
                           const SlideInferenceOptions& options) {
  torch::InferenceMode guard;
  const torch::Tensor x = preprocess(image, options.scale, options.norm, options.min_size).to(device_of(model));
  const EncodeDecode encode_decode = [&model](const torch::Tensor& crops) { return model.forward(crops); };
  return slide_logits(encode_decode, x, options.crop_size, options.stride, options.max_batch);
}

torch::Tensor whole_inference(SegmentationModelImpl& model, const data::Image& image,
                              const WholeInferenceOptions& options) {
  torch::InferenceMode guard;
  return resize_logits(whole_logits(model, image, options), {image.height, image.width});
}

torch::Tensor slide_inference(SegmentationModelImpl& model, const data::Image& image,
                              const SlideInferenceOptions& options) {
  torch::InferenceMode guard;
  return resize_logits(slide_logits(model, image, options), {image.height, image.width});
}

data::Image argmax_resized(const torch::Tensor& logits, std::array<int64_t, 2> size) {
  if (logits.dim() != 4 || logits.size(0) != 1) throw std::invalid_argument("argmax_resized: expects (1, K, h, w)");
  if (logits.size(1) > 255) throw std::invalid_argument("argmax_resized: more than 255 classes do not fit 8 bits");
  torch::InferenceMode guard;
  // One class plane at a time: the bilinear resize is per channel, so each plane equals the one a full resize
  // gives; a running maximum (strictly greater wins, the first maximum stays, as argmax) keeps memory at a few
  // planes of the output size instead of K.
  torch::Tensor best, ids;
  for (int64_t k = 0; k < logits.size(1); ++k) {
    const torch::Tensor plane = resize_logits(logits.slice(1, k, k + 1), size)[0][0];
    if (k == 0) {
      best = plane.clone();
      ids = torch::zeros(plane.sizes(), plane.options().dtype(torch::kUInt8));
      continue;
    }
    const torch::Tensor better = plane > best;
    ids.masked_fill_(better, static_cast<uint8_t>(k));
    torch::maximum_out(best, best, plane);
  }
  ids = ids.cpu().contiguous();
  data::Image label{static_cast<int>(size[1]), static_cast<int>(size[0]), 1, {}};
  label.pixels.assign(ids.data_ptr<uint8_t>(), ids.data_ptr<uint8_t>() + ids.numel());
  return label;
}

data::Image argmax_label(const torch::Tensor& logits) {
  if (logits.dim() != 4 || logits.size(0) != 1) throw std::invalid_argument("argmax_label: expects (1, K, H, W)");
  if (logits.size(1) > 255) throw std::invalid_argument("argmax_label: more than 255 classes do not fit 8 bits");
  const torch::Tensor ids = logits[0].argmax(0).to(torch::kUInt8).cpu().contiguous();
  data::Image label{static_cast<int>(ids.size(1)), static_cast<int>(ids.size(0)), 1, {}};
  label.pixels.assign(ids.data_ptr<uint8_t>(), ids.data_ptr<uint8_t>() + ids.numel());
  return label;
}

}  // namespace locbench::seg
