// Tests of harness/profile: the RecordFunction op profile of a small model on CPU (names, call counts, inclusive vs
// self time) and the CUPTI kernel trace, which needs a GPU, a CUDA LibTorch and CUPTI and skips otherwise.
#include "harness/profile/profile.h"

#include <gtest/gtest.h>

#include <sstream>

namespace {

using namespace locbench;

// conv -> relu -> pool -> linear: a model whose op sequence is known.
class TinyConvNet : public Model {
 public:
  TinyConvNet() {
    conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)));
    head_ = register_module("head", torch::nn::Linear(8, 10));
  }
  torch::Tensor forward(const torch::Tensor& images) override {
    auto x = torch::relu(conv_->forward(images));
    return head_->forward(x.mean({2, 3}));
  }
  torch::Tensor forward_dense(const torch::Tensor& images) override { return conv_->forward(images); }
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& images, const std::vector<int64_t>&) override {
    return {forward_dense(images)};
  }
  int64_t num_blocks() const override { return 1; }
  int64_t num_features() const override { return 8; }
  int64_t feature_stride() const override { return 1; }

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::Linear head_{nullptr};
};

const profile::ProfileRow* find(const profile::ProfileRows& p, const std::string& name) {
  for (const auto& r : p.rows)
    if (r.name == name) return &r;
  return nullptr;
}

TEST(Profile, CpuOpProfileCountsEveryForward) {
  TinyConvNet model;
  const auto input = torch::randn({2, 3, 16, 16});
  profile::ProfileOptions options;
  options.iterations = 3;
  const auto p = profile::profile_model(model, input, torch::kCPU, options);
  EXPECT_EQ(p.tracer, "libtorch-record-function");
  EXPECT_EQ(p.iterations, 3);
  // The C++ Linear module reaches the dispatcher as addmm (aten::linear is decomposed before it is recorded).
  for (const char* op : {"aten::conv2d", "aten::relu", "aten::mean", "aten::addmm"}) {
    const auto* row = find(p, op);
    ASSERT_NE(row, nullptr) << op << " missing from the profile";
    EXPECT_EQ(row->calls, 3) << op;
    EXPECT_EQ(row->kind, "op");
    EXPECT_GT(row->total_us, 0.0) << op;
    EXPECT_NEAR(row->mean_us, row->total_us / row->calls, 1e-9) << op;
    EXPECT_LE(row->self_us, row->total_us + 1e-9) << op;
  }
  // conv2d only dispatches to the convolution kernels: most of its inclusive time belongs to nested ops.
  const auto* conv = find(p, "aten::conv2d");
  EXPECT_LT(conv->self_us, conv->total_us);
  for (size_t i = 1; i < p.rows.size(); ++i) EXPECT_GE(p.rows[i - 1].total_us, p.rows[i].total_us);
}

TEST(Profile, OpProfileIsOffOutsideTheProfiledRegion) {
  TinyConvNet model;
  const auto input = torch::randn({1, 3, 8, 8});
  profile::ProfileOptions options;
  options.warmup = 2;
  options.iterations = 1;
  const auto p = profile::profile_model(model, input, torch::kCPU, options);
  EXPECT_EQ(find(p, "aten::conv2d")->calls, 1);  // warm-up forwards are not counted
  model.forward(input);                           // a forward after profiling must not reach the collector
  const auto again = profile::profile_ops([&] { torch::relu(input); });
  EXPECT_EQ(find(again, "aten::relu")->calls, 1);
  EXPECT_EQ(find(again, "aten::conv2d"), nullptr);
}

TEST(Profile, JsonAndTableCarryTheRows) {
  const auto input = torch::randn({4, 4});
  const auto p = profile::profile_ops([&] { torch::matmul(input, input); });
  const auto json = profile::to_json(p);
  EXPECT_EQ(json["tracer"], "libtorch-record-function");
  ASSERT_FALSE(json["rows"].empty());
  EXPECT_EQ(json["rows"][0]["name"], p.rows[0].name);
  std::ostringstream table;
  profile::print_table(p, table);
  EXPECT_NE(table.str().find("aten::matmul"), std::string::npos) << table.str();
}

profile::ProfileRow row(const std::string& kind, const std::string& name, double total_us) {
  profile::ProfileRow r;
  r.kind = kind;
  r.name = name;
  r.calls = 2;
  r.total_us = r.self_us = total_us;
  return r;
}

TEST(Profile, SdpaBackendIsNamedFromKernelNames) {
  auto backend_of = [](std::vector<profile::ProfileRow> rows) {
    profile::ProfileRows p;
    p.tracer = "cupti";
    p.rows = std::move(rows);
    return profile::sdpa_backend(p);
  };
  const auto gemm = row("kernel", "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64", 50);
  EXPECT_EQ(backend_of({gemm, row("kernel", "cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7", 30)})
                .name,
            "cudnn");
  EXPECT_EQ(backend_of({row("kernel", "void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<64>>", 9)}).name,
            "flash");
  const auto efficient = backend_of(
      {gemm, row("kernel", "fmha_cutlassF_bf16_aligned_64x64_rf_sm80(PyTorchMemEffAttention::AttentionKernel<>)", 12),
       row("kernel", "void (anonymous namespace)::softmax_warp_forward<float, float, float, 7, false, false>", 3)});
  EXPECT_EQ(efficient.name, "efficient");
  EXPECT_DOUBLE_EQ(efficient.total_us, 12);
  EXPECT_EQ(efficient.calls, 2);
  // No fused kernel but a softmax: attention ran unfused (SDPA's math backend or written out).
  const auto math = backend_of({gemm, row("kernel", "void at::native::cunn_SoftMaxForward<4, float>", 4)});
  EXPECT_EQ(math.name, "math");
  EXPECT_DOUBLE_EQ(math.total_us, 4);
  // Two fused backends in one forward: both named, most time first.
  EXPECT_EQ(backend_of({row("kernel", "fmha_cutlassF_f32_aligned_64x64_rf_sm80", 5),
                        row("kernel", "cudnn_generated_fort_native_sdpa_sm90_knob_3", 20)})
                .name,
            "cudnn+efficient");
  EXPECT_EQ(backend_of({gemm, row("runtime", "cudaLaunchKernel", 100)}).name, "");
}

TEST(Profile, SdpaBackendIsNamedFromAtenOps) {
  profile::ProfileRows ops;
  ops.tracer = "libtorch-record-function";
  ops.rows = {row("op", "aten::scaled_dot_product_attention", 40),
              row("op", "aten::_scaled_dot_product_attention_math", 38), row("op", "aten::_softmax", 10)};
  EXPECT_EQ(profile::sdpa_backend(ops).name, "math");
  EXPECT_DOUBLE_EQ(profile::sdpa_backend(ops).total_us, 38);  // the math op, inclusive of its softmax
  ops.rows = {row("op", "aten::_scaled_dot_product_flash_attention_for_cpu", 7), row("op", "aten::linear", 90)};
  EXPECT_EQ(profile::sdpa_backend(ops).name, "flash");
  ops.rows = {row("op", "aten::linear", 90)};
  EXPECT_EQ(profile::sdpa_backend(ops).name, "");

  // A real CPU forward through SDPA names a backend, and the JSON carries it.
  const auto q = torch::randn({1, 2, 16, 8});
  const auto p = profile::profile_ops([&] { torch::scaled_dot_product_attention(q, q, q); });
  const auto used = profile::sdpa_backend(p);
  EXPECT_TRUE(used.name == "flash" || used.name == "math") << used.name;
  EXPECT_GT(used.total_us, 0.0);
  EXPECT_EQ(profile::to_json(p)["sdpa_backend"], used.name);
}

TEST(Profile, CuptiTraceListsKernelsWithLaunchConfiguration) {
  if (!torch::cuda::is_available() || !profile::cupti_available())
    GTEST_SKIP() << "needs a GPU, a CUDA LibTorch and CUPTI";
  TinyConvNet model;
  const auto p = profile::profile_model(model, torch::randn({2, 3, 32, 32}), torch::kCUDA);
  EXPECT_EQ(p.tracer, "cupti");
  EXPECT_GT(p.cupti_version, 0u);
  EXPECT_EQ(p.dropped_records, 0u);
  bool kernel = false, launch_api = false;
  for (const auto& r : p.rows) {
    if (r.kind == "kernel") {
      kernel = true;
      EXPECT_GT(r.grid[0] * r.grid[1] * r.grid[2], 0) << r.name;
      EXPECT_GT(r.block[0] * r.block[1] * r.block[2], 0) << r.name;
      EXPECT_GT(r.registers_per_thread, 0) << r.name;
      EXPECT_GT(r.total_us, 0.0) << r.name;
    }
    if (r.kind == "runtime" && r.name.find("cudaLaunchKernel") != std::string::npos) launch_api = true;
  }
  EXPECT_TRUE(kernel);
  EXPECT_TRUE(launch_api);
}

}  // namespace
