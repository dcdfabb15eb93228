#include "kernels/resized_cross_entropy/resized_cross_entropy_op.h"

#include "kernels/resized_cross_entropy/resized_cross_entropy.h"

#include <stdexcept>

namespace locbench::kernels {

namespace {

namespace F = torch::nn::functional;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void check_shapes(const torch::Tensor& logits, const torch::Tensor& target) {
  if (logits.dim() != 4 || target.dim() != 3 || logits.size(0) != target.size(0))
    throw std::invalid_argument("resized cross-entropy: expects logits (B, K, h, w) and target (B, H, W), got " +
                                std::to_string(logits.dim()) + "-d and " + std::to_string(target.dim()) + "-d");
}

// The loss and its gradient come out of one pass; backward scales the saved gradient by the incoming one.
struct FusedFunction : torch::autograd::Function<FusedFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& target,
                               int64_t ignore_index, double divisor, bool grad) {
    const torch::Tensor x = logits.contiguous(), t = target.contiguous();
    torch::Tensor g = grad ? torch::empty_like(x) : torch::Tensor();
    ResizedCrossEntropyArgs a;
    a.batch = x.size(0), a.classes = x.size(1), a.in_h = x.size(2), a.in_w = x.size(3);
    a.out_h = t.size(1), a.out_w = t.size(2);
    a.logits = x.data_ptr<float>();
    a.target = t.data_ptr<int64_t>();
    a.ignore_index = ignore_index;
    a.grad_scale = static_cast<float>(1.0 / divisor);
    a.grad_logits = grad ? g.data_ptr<float>() : nullptr;
    const double sum = resized_cross_entropy_cpu(a);
    ctx->save_for_backward({g});
    return torch::tensor(static_cast<float>(sum / divisor), x.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const torch::Tensor g = ctx->get_saved_variables()[0];
    return {g.defined() ? g * grad_output[0] : torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

std::string fused_rejection(const torch::Tensor& logits, const torch::Tensor& target) {
  if (!logits.device().is_cpu() || !target.device().is_cpu()) return "CPU tensors only";
  if (logits.scalar_type() != torch::kFloat32) return "float32 logits only";
  if (target.scalar_type() != torch::kInt64) return "int64 targets only";
  if (logits.dim() != 4 || target.dim() != 3 || logits.size(0) != target.size(0))
    return "logits (B, K, h, w) and target (B, H, W)";
  if (logits.numel() == 0 || target.numel() == 0) return "empty tensors";
  return {};
}

torch::Tensor reference_resized_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                              int64_t ignore_index, double divisor) {
  check_shapes(logits, target);
  torch::Tensor resized = logits;
  if (logits.size(2) != target.size(1) || logits.size(3) != target.size(2))
    resized = F::interpolate(logits, F::InterpolateFuncOptions()
                                         .size(std::vector<int64_t>{target.size(1), target.size(2)})
                                         .mode(torch::kBilinear)
                                         .align_corners(false));
  return F::cross_entropy(resized, target,
                          F::CrossEntropyFuncOptions().ignore_index(ignore_index).reduction(torch::kSum)) /
         divisor;
}

torch::Tensor resized_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target, int64_t ignore_index,
                                    double divisor) {
  check_shapes(logits, target);
  if (!fused_rejection(logits, target).empty())
    return reference_resized_cross_entropy(logits, target, ignore_index, divisor);
  // The gradient is computed in the same pass only when autograd will ask for it.
  const bool grad = torch::GradMode::is_enabled() && logits.requires_grad();
  return FusedFunction::apply(logits, target, ignore_index, divisor, grad);
}

}  // namespace locbench::kernels
