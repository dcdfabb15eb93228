// The fused resized cross-entropy against ATen's resize + cross-entropy (the reference): loss and gradient over
// up- and down-scaling, equal sizes, one class, ignored pixels, any thread count; and its refusals.
#include "kernels/resized_cross_entropy/resized_cross_entropy.h"
#include "kernels/resized_cross_entropy/resized_cross_entropy_op.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <stdexcept>

namespace {

using locbench::kernels::fused_rejection;
using locbench::kernels::reference_resized_cross_entropy;
using locbench::kernels::resized_cross_entropy;

constexpr int64_t kIgnore = 255;

struct Shape {
  int64_t batch, classes, in_h, in_w, out_h, out_w;
  double ignored;  // fraction of ignored target pixels
};

struct Case {
  torch::Tensor logits, target;
};

Case make_case(const Shape& s, uint64_t seed) {
  torch::manual_seed(seed);
  Case c;
  c.logits = torch::randn({s.batch, s.classes, s.in_h, s.in_w}) * 3;
  c.target = torch::randint(0, s.classes, {s.batch, s.out_h, s.out_w}, torch::kLong);
  c.target.masked_fill_(torch::rand({s.batch, s.out_h, s.out_w}) < s.ignored, kIgnore);
  return c;
}

struct Result {
  double loss;
  torch::Tensor grad;
};

template <typename Loss>
Result run(const Case& c, double divisor, Loss loss) {
  const torch::Tensor x = c.logits.clone().requires_grad_(true);
  const torch::Tensor l = loss(x, c.target, kIgnore, divisor);
  (l * 3).backward();
  return {l.item<double>(), x.grad()};
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

TEST(ResizedCrossEntropy, EqualsResizeThenCrossEntropy) {
  const Shape shapes[] = {
      {2, 5, 7, 9, 29, 37, 0.2},       // up, scales that are not integers
      {3, 150, 8, 8, 128, 128, 0.1},   // ADE20K's classes, stride 16
      {2, 19, 16, 16, 10, 12, 0.0},    // down
      {1, 7, 6, 6, 6, 6, 0.3},         // equal sizes: no resize
      {2, 1, 4, 5, 17, 11, 0.0},       // one class: zero loss and gradient
      {1, 4, 1, 1, 9, 8, 0.5},         // a 1 x 1 input
      {2, 6, 5, 3, 16, 40, 0.95},      // mostly ignored, rows with no counted pixel
  };
  std::printf("%-32s %10s %14s %22s\n", "B x K  h x w -> H x W", "loss", "|dloss|/loss", "max|dgrad|/max|grad|");
  for (const Shape& s : shapes) {
    const Case c = make_case(s, 7 + s.classes);
    const double divisor = static_cast<double>(s.batch * s.out_h * s.out_w);
    const Result ref = run(c, divisor, reference_resized_cross_entropy);
    const Result fused = run(c, divisor, resized_cross_entropy);
    const double loss_err = std::abs(fused.loss - ref.loss) / std::max(std::abs(ref.loss), 1e-12);
    const double grad_scale = std::max(max_abs(ref.grad), 3 / divisor);  // one class: the reference's is 0
    const double grad_err = max_abs(fused.grad - ref.grad) / grad_scale;
    std::printf("%4lld x %-4lld %3lld x %-3lld -> %4lld x %-4lld %10.6f %14.3g %22.3g\n", (long long)s.batch, (long long)s.classes,
                (long long)s.in_h, (long long)s.in_w, (long long)s.out_h, (long long)s.out_w, ref.loss, loss_err,
                grad_err);
    if (s.classes == 1) {  // zero up to rounding, against the 3 / divisor a counted pixel's gradient is made of
      EXPECT_EQ(fused.loss, 0.0);
      EXPECT_LT(max_abs(fused.grad), 1e-5 * 3 / divisor);
      continue;
    }
    EXPECT_GT(ref.loss, 0.0);
    EXPECT_LT(loss_err, 1e-5) << s.out_h << "x" << s.out_w;
    EXPECT_LT(grad_err, 1e-5) << s.out_h << "x" << s.out_w;
  }
}

TEST(ResizedCrossEntropy, DivisorAndIncomingGradientScale) {
  const Case c = make_case({2, 11, 6, 7, 23, 19, 0.25}, 3);
  const Result one = run(c, 1.0, resized_cross_entropy);
  const Result mean = run(c, 874.0, resized_cross_entropy);
  EXPECT_NEAR(mean.loss * 874.0, one.loss, 1e-4 * one.loss);
  EXPECT_LT(max_abs(mean.grad * 874.0 - one.grad) / max_abs(one.grad), 1e-5);
  // run() backpropagates 3 * loss: the gradient is three times the loss's own.
  const torch::Tensor x = c.logits.clone().requires_grad_(true);
  resized_cross_entropy(x, c.target, kIgnore, 1.0).backward();
  EXPECT_LT(max_abs(one.grad - 3 * x.grad()) / max_abs(one.grad), 1e-6);
}

TEST(ResizedCrossEntropy, EveryThreadCountGivesTheSameBits) {
  const Case c = make_case({5, 23, 9, 8, 40, 33, 0.1}, 11);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const Result serial = run(c, 100.0, resized_cross_entropy);
  at::set_num_threads(std::max(2, threads));
  const Result parallel = run(c, 100.0, resized_cross_entropy);
  at::set_num_threads(threads);
  EXPECT_EQ(serial.loss, parallel.loss);
  EXPECT_TRUE(torch::equal(serial.grad, parallel.grad));
}

TEST(ResizedCrossEntropy, AllIgnoredIsZeroLossAndGradient) {
  Case c = make_case({2, 9, 4, 4, 16, 16, 0.0}, 5);
  c.target.fill_(kIgnore);
  const Result fused = run(c, 512.0, resized_cross_entropy);
  EXPECT_EQ(fused.loss, 0.0);
  EXPECT_EQ(max_abs(fused.grad), 0.0);
}

TEST(ResizedCrossEntropy, NonContiguousLogitsAndNoGradient) {
  const Case c = make_case({2, 8, 6, 5, 21, 18, 0.1}, 9);
  const torch::Tensor channels_last = c.logits.contiguous(torch::MemoryFormat::ChannelsLast);
  const double ref = reference_resized_cross_entropy(c.logits, c.target, kIgnore, 1.0).item<double>();
  torch::NoGradGuard no_grad;
  const double fused = resized_cross_entropy(channels_last, c.target, kIgnore, 1.0).item<double>();
  EXPECT_NEAR(fused, ref, 1e-5 * ref);
}

TEST(ResizedCrossEntropy, TargetsOutsideTheClassesAreRefused) {
  Case c = make_case({1, 4, 3, 3, 8, 8, 0.0}, 1);
  c.target[0][5][5] = 4;
  try {
    resized_cross_entropy(c.logits, c.target, kIgnore, 1.0);
    FAIL() << "a target of 4 with 4 classes was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("target 4 is outside [0, 4)"), std::string::npos) << e.what();
  }
  c.target[0][5][5] = -1;
  EXPECT_THROW(resized_cross_entropy(c.logits, c.target, kIgnore, 1.0), std::invalid_argument);
  EXPECT_THROW(resized_cross_entropy(c.logits[0], c.target, kIgnore, 1.0), std::invalid_argument);
}

TEST(ResizedCrossEntropy, OtherDtypesTakeTheReference) {
  const Case c = make_case({1, 5, 4, 4, 12, 12, 0.0}, 2);
  EXPECT_EQ(fused_rejection(c.logits, c.target), "");
  EXPECT_NE(fused_rejection(c.logits.to(torch::kDouble), c.target), "");
  EXPECT_NE(fused_rejection(c.logits, c.target.to(torch::kInt)), "");
  const double ref = reference_resized_cross_entropy(c.logits.to(torch::kDouble), c.target, kIgnore, 1.0).item<double>();
  const double got = resized_cross_entropy(c.logits.to(torch::kDouble), c.target, kIgnore, 1.0).item<double>();
  EXPECT_EQ(got, ref);
}

}  // namespace
