// Segmentation inference as mmseg's EncoderDecoder runs it (mmseg/models/segmentors/encoder_decoder.py,
// test_cfg mode 'whole' and 'slide'), with the test pipeline of configs/_base_/datasets/ade20k.py:
// LoadImageFromFile (the mmseg read protocol) -> Resize(scale=(2048, 512), keep_ratio=True) on the 8-bit image with
// cv::resize -> Normalize(mean, std on 0-255 RGB, as mmcv.imnormalize) -> model -> logits resized to the original
// image size (bilinear, align_corners=False) -> argmax.
// encode_decode: inputs whose sides are not multiples of the patch are padded inside the patch embedding (mmseg's
// AdaptivePadding 'corner', timm's dynamic_img_pad: zeros right/bottom of the normalised image) and the head's
// logits are resized to the unpadded input size, never cropped.
#pragma once

#include <torch/torch.h>

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "harness/data/image.h"
#include "harness/model/model.h"

namespace locbench::seg {

// mmseg's img_norm_cfg for ImageNet-pretrained backbones, on 0-255 RGB.
struct Normalization {
  std::array<double, 3> mean{123.675, 116.28, 103.53};
  std::array<double, 3> std{58.395, 57.12, 57.375};
};

// Backbone (dense features of a locbench::Model) + decode head; keys backbone.*, decode_head.* as in mmseg.
// Or a whole segmentation model (registry task "segmentation", e.g. SegViT) whose forward gives the class scores:
// its own submodules are registered here by name, so the keys stay its own (backbone.*, decode_head.*).
class SegmentationModelImpl : public torch::nn::Module {
 public:
  SegmentationModelImpl(ModelPtr backbone, DecodeHeadPtr head);
  // The registered head `head_name` (bench list heads) on the backbone's features.
  SegmentationModelImpl(ModelPtr backbone, const std::string& head_name, int64_t num_classes);
  explicit SegmentationModelImpl(ModelPtr segmentor);
  // encode_decode: normalised images (B, 3, H, W) -> logits (B, K, H, W).
  torch::Tensor forward(const torch::Tensor& images);
  void train(bool on = true) override;  // also the segmentation model's own mode
  int64_t num_classes() const {
    return segmentor ? segmentor->variant_config().num_classes : decode_head->num_classes();
  }

  ModelPtr backbone;   // null for a whole segmentation model
  ModelPtr segmentor;  // null for backbone + head
  DecodeHeadPtr decode_head;
};
TORCH_MODULE(SegmentationModel);

using EncodeDecode = std::function<torch::Tensor(const torch::Tensor&)>;

struct WholeInferenceOptions {
  std::optional<std::pair<int64_t, int64_t>> scale{{2048, 512}};  // keep-ratio Resize scale; none = no resize
  int64_t min_size = 0;                                            // Resize min_size (rescale_size)
  Normalization norm;
};

struct SlideInferenceOptions {
  std::optional<std::pair<int64_t, int64_t>> scale{{2048, 512}};
  int64_t min_size = 0;
  std::array<int64_t, 2> crop_size{512, 512};  // (h, w)
  std::array<int64_t, 2> stride{341, 341};     // (h, w)
  int64_t max_batch = 0;                       // windows per forward; 0 = all windows of the image at once
  Normalization norm;
};

// RGB 8-bit image -> (1, 3, H, W) float in 0..255.
torch::Tensor image_to_tensor(const data::Image& image);
// mmcv.imnormalize on float32: (x - float32(mean)) * float32(1 / std) per channel.
torch::Tensor normalize(const torch::Tensor& image, const Normalization& norm);
// The network input for an image: keep-ratio Resize (when scale is set) of the 8-bit image with cv::resize
// (mmcv.imrescale, bilinear), then the float copy and normalisation: (1, 3, h, w).
torch::Tensor preprocess(const data::Image& image, const std::optional<std::pair<int64_t, int64_t>>& scale,
                         const Normalization& norm, int64_t min_size = 0);
// Bilinear (align_corners=False) resize of logits (B, K, h, w) to `size`.
torch::Tensor resize_logits(const torch::Tensor& logits, std::array<int64_t, 2> size);

// mmseg slide_inference on normalised images (1, 3, H, W): each window's logits (encode_decode output, already at
// window size) are summed into a full-size accumulator and divided by the per-pixel window count. Windows of
// one image all have the same shape and are batched, at most max_batch at a time (0 = all). A stride larger than
// the crop would leave pixels without a window (mmseg asserts): std::invalid_argument.
torch::Tensor slide_logits(const EncodeDecode& encode_decode, const torch::Tensor& images,
                           std::array<int64_t, 2> crop_size, std::array<int64_t, 2> stride, int64_t max_batch = 0);

// Logits (1, K, h, w) at the size of the network input (after the test Resize).
torch::Tensor whole_logits(SegmentationModelImpl& model, const data::Image& image,
                           const WholeInferenceOptions& options = {});
torch::Tensor slide_logits(SegmentationModelImpl& model, const data::Image& image,
                           const SlideInferenceOptions& options = {});
// Logits (1, K, H0, W0) at the original image size.
torch::Tensor whole_inference(SegmentationModelImpl& model, const data::Image& image,
                              const WholeInferenceOptions& options = {});
torch::Tensor slide_inference(SegmentationModelImpl& model, const data::Image& image,
                              const SlideInferenceOptions& options = {});

// argmax over classes of logits (1, K, h, w) bilinearly resized to `size` (H0, W0), as mmseg's inference resizes to
// ori_shape before its softmax and argmax, computed one class plane at a time: memory stays at a few planes of the
// output size however many classes there are (150 classes of a 9400 x 9400 image would be 53 GB at once).
data::Image argmax_resized(const torch::Tensor& logits, std::array<int64_t, 2> size);

// argmax over classes of logits (1, K, H, W) -> 1-channel label map of train ids.
data::Image argmax_label(const torch::Tensor& logits);

}  // namespace locbench::seg
