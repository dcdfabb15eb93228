// Correctness of the fused Gaussian-bias attention CUDA kernels (GAug / GAB): argument checks everywhere; with a GPU,
// forward and backward against the CPU reference over the shape table (test_gaussian_attention_table.h).
#include "kernels/gaussian_attention/gaussian_attention.h"
#include "kernels/gaussian_attention/reference.h"
#include "kernels/gaussian_attention/test_gaussian_attention_table.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace locbench::kernels;
using namespace locbench::kernels::testing;

TEST(GaussianAttentionKernel, RejectsUnsupportedArguments) {
  Problem p = make_problem(kCases[3], 1);
  EXPECT_EQ(validate(p.args), "");
  p.args.head_dim = 48;
  EXPECT_NE(validate(p.args), "");
  EXPECT_EQ(gaussian_attention_forward(p.args, nullptr), cudaErrorInvalidValue);
  p.args.head_dim = 32;
  p.args.seq_len += 1;  // no longer num_prefix + rows * cols
  EXPECT_NE(validate(p.args), "");
  p.args.seq_len -= 1;
  const float extra[1] = {0.f};
  p.args.extra.data = extra;  // the CPU kernel's extra bias
  EXPECT_NE(validate(p.args).find("extra additive bias"), std::string::npos);
  p.args.extra.data = nullptr;
  p.args.algorithm = Algorithm::kTensorCore;  // fp32 has no tensor-core path
  EXPECT_NE(validate(p.args), "");
  EXPECT_EQ(gaussian_attention_forward(p.args, nullptr), cudaErrorInvalidValue);
  p.args.algorithm = Algorithm::kAuto;

  Gradients g = make_gradients(p, 2);
  EXPECT_NE(validate(p.args, g.grads), "");  // no logsumexp from the forward
  EXPECT_EQ(gaussian_attention_backward(p.args, g.grads, nullptr), cudaErrorInvalidValue);
  std::vector<float> lse(size_t(p.args.batch) * p.args.heads * p.args.seq_len);
  p.args.lse = lse.data();
  EXPECT_EQ(validate(p.args, g.grads), "");
  g.grads.dk.data = nullptr;
  EXPECT_NE(validate(p.args, g.grads), "");
}
// --- With a GPU: the kernel against the reference over the whole table. ----------------------------------------

bool have_gpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

size_t dtype_size(DType t) { return t == DType::kFloat32 ? 4 : 2; }

// Device copy of host fp32 values in the dtype.
void* to_device(const std::vector<float>& host, DType dtype) {
  std::vector<uint16_t> half_bits(host.size());
  const void* src = host.data();
  if (dtype != DType::kFloat32) {
    for (size_t i = 0; i < host.size(); ++i) {
      if (dtype == DType::kBFloat16) {
        const __nv_bfloat16 x = __float2bfloat16(host[i]);
        std::memcpy(&half_bits[i], &x, 2);
      } else {
        const __half x = __float2half(host[i]);
        std::memcpy(&half_bits[i], &x, 2);
      }
    }
    src = half_bits.data();
  }
  void* dev = nullptr;
  EXPECT_EQ(cudaMalloc(&dev, host.size() * dtype_size(dtype)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(dev, src, host.size() * dtype_size(dtype), cudaMemcpyHostToDevice), cudaSuccess);
  return dev;
}

std::vector<float> from_device(const void* dev, size_t n, DType dtype) {
  std::vector<float> out(n);
  std::vector<uint16_t> bits(n);
  if (dtype == DType::kFloat32) {
    EXPECT_EQ(cudaMemcpy(out.data(), dev, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
  EXPECT_EQ(cudaMemcpy(bits.data(), dev, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
  for (size_t i = 0; i < n; ++i) {
    if (dtype == DType::kBFloat16) {
      __nv_bfloat16 x;
      std::memcpy(&x, &bits[i], 2);
      out[i] = __bfloat162float(x);
    } else {
      __half x;
      std::memcpy(&x, &bits[i], 2);
      out[i] = __half2float(x);
    }
  }
  return out;
}

TEST(GaussianAttentionKernel, MatchesReferenceOverShapeTable) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device: the fused kernel is only checked on a GPU";
  for (const Case& c : kCases) {
    if (!cuda_takes(c)) continue;
    Problem p = make_problem(c, 11);
    reference_forward(p.args);
    GaussianAttentionArgs dev = p.args;
    std::vector<void*> buffers;
    for (auto [t, vec] : {std::pair{&dev.q, &p.q}, {&dev.k, &p.k}, {&dev.v, &p.v}, {&dev.out, &p.out}})
      buffers.push_back(t->data = to_device(*vec, c.dtype));
    auto params = [&](const float** ptr, const std::vector<float>& host) {
      buffers.push_back(to_device(host, DType::kFloat32));
      *ptr = static_cast<const float*>(buffers.back());
    };
    params(&dev.bias.var, p.var);
    params(&dev.bias.amplitude, p.amplitude);
    params(&dev.bias.gab_amplitude, p.gab_amplitude);
    params(&dev.bias.gab_sigma, p.gab_sigma);
    ASSERT_EQ(cudaMemset(dev.out.data, 0xff, p.out.size() * dtype_size(c.dtype)), cudaSuccess);  // NaN if unwritten

    ASSERT_EQ(gaussian_attention_forward(dev, nullptr), cudaSuccess) << describe(c);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << describe(c);
    const auto got = from_device(dev.out.data, p.out.size(), c.dtype);
    // Inputs are identical; what differs is fp32 accumulation order, __expf and the output's rounding.
    const double atol = c.dtype == DType::kFloat32 ? 2e-5 : c.dtype == DType::kFloat16 ? 2e-3 : 1.6e-2;
    const double rtol = c.dtype == DType::kFloat32 ? 1e-4 : c.dtype == DType::kFloat16 ? 2e-3 : 1e-2;
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double err = std::abs(double(got[i]) - p.out[i]);
      worst = std::isnan(err) ? INFINITY : std::max(worst, err);
      bad += !(err <= atol + rtol * std::abs(p.out[i]));
    }
    EXPECT_EQ(bad, 0u) << describe(c) << ": worst abs error " << worst;
    for (void* b : buffers) cudaFree(b);
  }
}

// Largest error of `got` against `want`, relative to want's largest magnitude (NaN: infinite), over n values.
double relative_error(const std::vector<float>& got, const std::vector<float>& want, size_t n) {
  double largest = 0, worst = 0;
  for (size_t i = 0; i < n; ++i) {
    largest = std::max(largest, double(std::abs(want[i])));
    const double err = std::abs(double(got[i]) - want[i]);
    worst = std::isnan(err) ? INFINITY : std::max(worst, err);
  }
  return worst / std::max(largest, 1e-30);
}

// The kernels' forward (with its logsumexp) then backward, against the reference's, per row of the table.
TEST(GaussianAttentionKernel, BackwardMatchesReferenceOverShapeTable) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device: the fused kernel is only checked on a GPU";
  for (const Case& c : kCases) {
    if (!cuda_takes(c)) continue;
    Problem p = make_problem(c, 13);
    Gradients g = make_gradients(p, 17);
    std::vector<float> lse(size_t(c.batch) * c.heads * p.args.seq_len);
    p.args.lse = lse.data();
    reference_forward(p.args);
    reference_backward(p.args, g.grads);

    std::vector<void*> buffers;
    // Device copy; outputs are filled with 0xff bytes (NaN) so that an entry the kernels miss shows.
    auto upload = [&](const std::vector<float>& host, DType dtype, bool output = false) {
      buffers.push_back(to_device(host, dtype));
      if (output) EXPECT_EQ(cudaMemset(buffers.back(), 0xff, host.size() * dtype_size(dtype)), cudaSuccess);
      return buffers.back();
    };
    auto upload_params = [&](const std::vector<float>& host) {
      return static_cast<const float*>(upload(host, DType::kFloat32));
    };
    GaussianAttentionArgs dev = p.args;
    dev.q.data = upload(p.q, c.dtype), dev.k.data = upload(p.k, c.dtype), dev.v.data = upload(p.v, c.dtype);
    dev.out.data = upload(p.out, c.dtype, true);
    dev.lse = static_cast<float*>(upload(lse, DType::kFloat32, true));
    dev.bias.var = upload_params(p.var), dev.bias.amplitude = upload_params(p.amplitude);
    dev.bias.gab_amplitude = upload_params(p.gab_amplitude), dev.bias.gab_sigma = upload_params(p.gab_sigma);
    GaussianAttentionGrads grads = g.grads;
    grads.dout.data = upload(g.dout, c.dtype);
    grads.dq.data = upload(g.dq, c.dtype, true), grads.dk.data = upload(g.dk, c.dtype, true);
    grads.dv.data = upload(g.dv, c.dtype, true);
    for (auto [ptr, host] : {std::pair{&grads.dvar, &g.dvar}, {&grads.damp, &g.damp},
                             {&grads.dgab_amplitude, &g.dgab_amplitude}, {&grads.dgab_sigma, &g.dgab_sigma}})
      *ptr = static_cast<float*>(upload(*host, DType::kFloat32, true));

    ASSERT_EQ(gaussian_attention_forward(dev, nullptr), cudaSuccess) << describe(c);
    ASSERT_EQ(gaussian_attention_backward(dev, grads, nullptr), cudaSuccess) << describe(c);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << describe(c);

    // The inputs are identical; the kernels differ by fp32 accumulation, __expf, the dtype-rounded O that
    // rowsum(dO * O) reads (P rounded to 16 bits before P V on tensor cores) and the rounding of dQ, dK, dV.
    const double tol = c.dtype == DType::kFloat32 ? 1e-3 : c.dtype == DType::kFloat16 ? 1e-2 : 5e-2;
    auto expect_close = [&](const char* what, const void* dev_ptr, const std::vector<float>& want, DType dtype,
                            size_t n, double limit) {
      const double err = relative_error(from_device(dev_ptr, want.size(), dtype), want, n);
      EXPECT_LT(err, limit) << describe(c) << ": " << what << " error relative to its largest value";
    };
    expect_close("lse", dev.lse, lse, DType::kFloat32, lse.size(), 1e-4);
    expect_close("dq", grads.dq.data, g.dq, c.dtype, g.dq.size(), tol);
    expect_close("dk", grads.dk.data, g.dk, c.dtype, g.dk.size(), tol);
    expect_close("dv", grads.dv.data, g.dv, c.dtype, g.dv.size(), tol);
    if (c.mode == BiasMode::kGAug) {
      expect_close("dvar", grads.dvar, g.dvar, DType::kFloat32, g.dvar.size(), tol);
      expect_close("damp", grads.damp, g.damp, DType::kFloat32, g.damp.size(), tol);
    } else {
      const size_t params = c.gab_per_layer ? 1 : size_t(c.heads);
      expect_close("dA", grads.dgab_amplitude, g.dgab_amplitude, DType::kFloat32, params, tol);
      expect_close("dsigma", grads.dgab_sigma, g.dgab_sigma, DType::kFloat32, params, tol);
    }
    for (void* b : buffers) cudaFree(b);
  }
}

}  // namespace
