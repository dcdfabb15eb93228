#include "harness/compute/macs.h"

#include <ATen/record_function.h>

#include <numeric>
#include <set>

namespace locbench {

namespace {

using Shape = std::vector<int64_t>;

double prod(const Shape& s, size_t from = 0, size_t to = SIZE_MAX) {
  const size_t end = std::min(to, s.size());
  double p = 1;
  for (auto it = s.begin() + static_cast<std::ptrdiff_t>(std::min(from, end));
       it != s.begin() + static_cast<std::ptrdiff_t>(end); ++it)
    p *= static_cast<double>(*it);
  return p;
}

Shape shape_of(const c10::IValue& v) {
  if (v.isTensor() && v.toTensor().defined()) return v.toTensor().sizes().vec();
  return {};
}
bool defined(const c10::IValue& v) { return v.isTensor() && v.toTensor().defined(); }

using Inputs = c10::ArrayRef<const c10::IValue>;
using Outputs = std::vector<c10::IValue>;
using Handler = std::function<double(Inputs, const Outputs&)>;

double matmul_macs(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) return 0;
  return prod(a) * static_cast<double>(b.size() == 1 ? 1 : b.back());
}

// fvcore/numpy einsum cost for one contraction: product of all index sizes, halved when nothing is summed.
double einsum_macs(const std::string& equation, const std::vector<Shape>& shapes) {
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  const auto arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow), rhs = arrow == std::string::npos ? "" : eq.substr(arrow + 2);
  std::vector<std::string> terms;
  size_t start = 0;
  for (size_t i = 0; i <= lhs.size(); ++i)
    if (i == lhs.size() || lhs[i] == ',') {
      terms.push_back(lhs.substr(start, i - start));
      start = i + 1;
    }
  std::map<char, int64_t> sizes;
  for (size_t t = 0; t < terms.size() && t < shapes.size(); ++t)
    for (size_t i = 0; i < terms[t].size() && i < shapes[t].size(); ++i) sizes[terms[t][i]] = shapes[t][i];
  if (arrow == std::string::npos) {  // implicit output: indices that occur once, sorted
    std::map<char, int> seen;
    for (const auto& term : terms)
      for (char c : term) ++seen[c];
    for (const auto& [c, n] : seen)
      if (n == 1) rhs += c;
  }
  double total = 1;
  bool summed = false;
  for (const auto& [c, s] : sizes) {
    total *= static_cast<double>(s);
    if (rhs.find(c) == std::string::npos) summed = true;
  }
  const double factor = std::max<double>(1, static_cast<double>(terms.size()) - 1) + (summed ? 1 : 0);
  return total * factor / 2;
}

double norm_macs(const Shape& input, bool affine) { return prod(input) * (affine ? 5 : 4); }

const std::map<std::string, Handler>& handlers() {
  static const std::map<std::string, Handler> table = [] {
    std::map<std::string, Handler> h;
    h["aten::linear"] = [](Inputs in, const Outputs&) {
      const Shape x = shape_of(in[0]), w = shape_of(in[1]);
      return w.empty() ? 0.0 : prod(x) * static_cast<double>(w[0]);
    };
    // The packed oneDNN linear of inference (methods/common/packed_linear.h): X, the packed (out, in) weight.
    h["mkldnn::_linear_pointwise"] = h["aten::linear"];
    h["aten::addmm"] = [](Inputs in, const Outputs&) { return matmul_macs(shape_of(in[1]), shape_of(in[2])); };
    for (const char* op : {"aten::mm", "aten::bmm", "aten::matmul"})
      h[op] = [](Inputs in, const Outputs&) { return matmul_macs(shape_of(in[0]), shape_of(in[1])); };
    h["aten::baddbmm"] = [](Inputs in, const Outputs&) { return matmul_macs(shape_of(in[1]), shape_of(in[2])); };
    h["aten::einsum"] = [](Inputs in, const Outputs&) {
      std::vector<Shape> shapes;
      for (const at::Tensor& t : in[1].toTensorVector()) shapes.push_back(t.sizes().vec());
      return einsum_macs(in[0].toStringRef(), shapes);
    };
    for (const char* op : {"aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::convolution", "aten::_convolution",
                           "aten::conv_transpose2d"})
      h[op] = [op = std::string(op)](Inputs in, const Outputs& out) {
        const Shape w = shape_of(in[1]);
        if (w.size() < 3 || out.empty()) return 0.0;
        const bool transposed = op == "aten::conv_transpose2d" ||
                                ((op == "aten::convolution" || op == "aten::_convolution") && in.size() > 6 &&
                                 in[6].isBool() && in[6].toBool());
        // fvcore: batch * prod(weight shape) * prod(spatial of the non-transposed side)
        const Shape y = shape_of(out[0]), x = shape_of(in[0]);
        const Shape& spatial_src = transposed ? x : y;
        return prod(w) * static_cast<double>(spatial_src[0]) * prod(spatial_src, 2);
      };
    h["aten::scaled_dot_product_attention"] = [](Inputs in, const Outputs&) {
      const Shape q = shape_of(in[0]), k = shape_of(in[1]), v = shape_of(in[2]);
      const double batch = prod(q, 0, q.size() - 2), L = q[q.size() - 2], E = q.back(), S = k[k.size() - 2];
      return batch * L * S * E + batch * L * S * static_cast<double>(v.back());
    };
    // The fused Gaussian-bias attention (kernels/gaussian_attention): SDPA's two matmuls, the bias not counted.
    h["locbench::gaussian_attention"] = h["aten::scaled_dot_product_attention"];
    h["aten::layer_norm"] = [](Inputs in, const Outputs&) { return norm_macs(shape_of(in[0]), defined(in[2])); };
    h["aten::group_norm"] = [](Inputs in, const Outputs&) { return norm_macs(shape_of(in[0]), defined(in[2])); };
    h["aten::instance_norm"] = [](Inputs in, const Outputs&) { return norm_macs(shape_of(in[0]), defined(in[1])); };
    h["aten::batch_norm"] = [](Inputs in, const Outputs&) {
      const bool training = in.size() > 5 && in[5].isBool() && in[5].toBool();
      if (training) return norm_macs(shape_of(in[0]), defined(in[1]));
      return prod(shape_of(in[0])) * (defined(in[1]) ? 2 : 1);
    };
    h["aten::upsample_nearest2d"] = [](Inputs, const Outputs& out) { return prod(shape_of(out[0])); };
    h["aten::upsample_bilinear2d"] = [](Inputs, const Outputs& out) { return 4 * prod(shape_of(out[0])); };
    h["aten::adaptive_avg_pool2d"] = [](Inputs in, const Outputs&) { return prod(shape_of(in[0])); };
    h["aten::grid_sampler"] = [](Inputs, const Outputs& out) { return 4 * prod(shape_of(out[0])); };
    return h;
  }();
  return table;
}

// Ops fvcore ignores on purpose (data movement, indexing, comparisons), plus their eager-mode twins.
const std::set<std::string>& ignored_ops() {
  static const std::set<std::string> ops{
      "aten::Int", "aten::ScalarImplicit", "aten::__and__", "aten::arange", "aten::bitwise_not", "aten::cat",
      "aten::chunk", "aten::clamp", "aten::clamp_", "aten::constant_pad_nd", "aten::contiguous", "aten::copy_",
      "aten::detach", "aten::dropout", "aten::empty", "aten::eq", "aten::expand", "aten::flatten", "aten::floor",
      "aten::floor_divide", "aten::full", "aten::full_like", "aten::ge", "aten::gt", "aten::index",
      "aten::index_put_", "aten::max", "aten::nonzero", "aten::permute", "aten::relu", "aten::relu_",
      "aten::remainder", "aten::reshape", "aten::select", "aten::size", "aten::slice", "aten::split",
      "aten::split_with_sizes", "aten::squeeze", "aten::narrow", "aten::unbind", "aten::stack", "aten::t",
      "aten::to", "aten::transpose", "aten::unsqueeze", "aten::unsqueeze_", "aten::view", "aten::zeros",
      "aten::zeros_like", "aten::masked_fill", "aten::masked_fill_", "aten::pad", "aten::empty_like",
      "aten::empty_strided", "aten::as_strided", "aten::alias", "aten::_to_copy", "aten::clone", "aten::expand_as",
      "aten::view_as", "aten::unflatten", "aten::_reshape_alias", "aten::_unsafe_view", "aten::lift_fresh",
      "aten::resolve_conj", "aten::resolve_neg", "aten::item", "aten::_local_scalar_dense", "aten::fill_",
      "aten::zero_", "aten::ones", "aten::ones_like", "aten::new_zeros", "aten::new_empty", "aten::argmax",
      "aten::detach_", "aten::unsafe_split", "aten::movedim", "aten::reflection_pad2d", "aten::replication_pad2d",
      "mkldnn::_reorder_linear_weight"};
  return ops;
}

struct CounterState {
  int depth = 0;
  MacCount* result = nullptr;
};
thread_local CounterState t_state;

}  // namespace

// Inputs are only valid while the op starts, so the outermost op's inputs are kept until it ends.
struct OpContext : at::ObserverContext {
  std::vector<c10::IValue> inputs;
};

MacCount count_macs(const std::function<void()>& fn) {
  MacCount result;
  t_state = CounterState{0, &result};
  auto start = [](const at::RecordFunction& rec) -> std::unique_ptr<at::ObserverContext> {
    if (++t_state.depth != 1) return nullptr;
    auto ctx = std::make_unique<OpContext>();
    const auto inputs = rec.inputs();
    ctx->inputs.assign(inputs.begin(), inputs.end());
    return ctx;
  };
  auto end = [](const at::RecordFunction& rec, at::ObserverContext* context) {
    const int depth = t_state.depth--;
    if (depth != 1 || !t_state.result || !context) return;
    const auto& inputs = static_cast<OpContext*>(context)->inputs;
    MacCount& r = *t_state.result;
    const std::string name = rec.name();
    ++r.calls_by_op[name];
    auto it = handlers().find(name);
    if (it != handlers().end()) {
      const double macs = it->second(Inputs(inputs.data(), inputs.size()), rec.outputs());
      r.macs += macs;
      r.macs_by_op[name] += macs;
    } else if (!ignored_ops().count(name)) {
      ++r.unhandled_ops[name];
    }
  };
  auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(start, end)
                                               .needsInputs(true)
                                               .needsOutputs(true)
                                               .needsIds(false)
                                               .scopes({at::RecordScope::FUNCTION}));
  struct Remove {
    at::CallbackHandle handle;
    ~Remove() {
      at::removeCallback(handle);
      t_state = CounterState{};
    }
  } remove{handle};
  fn();
  return result;
}

int64_t count_params(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(true)) n += p.numel();
  return n;
}

}  // namespace locbench
