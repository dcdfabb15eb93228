// LocAtViT's LinearSegHead (evaluations/segmentation/linear_seg.py) with mmcv ConvModule / mmseg
// BaseDecodeHead key names and initialisation (kaiming conv, unit norm, conv_seg normal std 0.01).
#include "methods/common/seg_heads.h"

#include "harness/model/registry.h"

namespace locbench::layers {

namespace F = torch::nn::functional;

ConvModuleImpl::ConvModuleImpl(int64_t in_channels, int64_t out_channels, double gn_eps) {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1).bias(false)));
  gn = register_module("gn", torch::nn::GroupNorm(torch::nn::GroupNormOptions(1, out_channels).eps(gn_eps)));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor ConvModuleImpl::forward(const torch::Tensor& x) { return F::gelu(gn->forward(conv->forward(x))); }

LinearSegHeadImpl::LinearSegHeadImpl(const LinearSegHeadOptions& options) : options_(options) {
  conv = register_module("conv", ConvModule(options.in_channels, options.channels, options.gn_eps));
  conv_seg = register_module("conv_seg", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.channels,
                                                                                    options.num_classes, 1)));
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(conv_seg->weight, 0.0, 0.01);
  torch::nn::init::zeros_(conv_seg->bias);
}

torch::Tensor LinearSegHeadImpl::forward(const torch::Tensor& features) {
  return conv_seg->forward(conv->forward(features));
}

torch::Tensor LinearSegHeadImpl::forward(const torch::Tensor& features, std::array<int64_t, 2> size) {
  return F::interpolate(forward(features), F::InterpolateFuncOptions()
                                               .size(std::vector<int64_t>{size[0], size[1]})
                                               .mode(torch::kBilinear)
                                               .align_corners(options_.align_corners));
}

namespace {

DecodeHeadPtr make_linear_head(const HeadArgs& args) {
  LinearSegHeadOptions o;
  o.in_channels = args.in_channels;
  o.num_classes = args.num_classes;
  return std::make_shared<LinearSegHeadImpl>(o);
}

const RegisterHead kLinear{{"linear",
                            "LocAtViT (Hajimiri et al., ICLR 2026, arXiv 2603.04892), "
                            "evaluations/segmentation/linear_seg.py",
                            make_linear_head}};

}  // namespace

}  // namespace locbench::layers
