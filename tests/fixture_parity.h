// Comparing a Model with a reference fixture (tests/fixtures/<case>/: config.json, weights.safetensors,
// io.safetensors with input_/logits_/features_/intermediates_ tensors per size).
#pragma once

#include "harness/checkpoint/checkpoint.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>
#include <nlohmann/json.hpp>

namespace locbench::testing {

struct ParityFixture {
  nlohmann::json config;
  std::string weights;
  std::map<std::string, torch::Tensor> io;
};

inline ParityFixture load_parity_fixture(const std::string& name) {
  const std::string dir = source_dir() + "/tests/fixtures/" + name;
  ParityFixture f;
  std::ifstream in(dir + "/config.json");
  f.config = nlohmann::json::parse(in);
  f.weights = dir + "/weights.safetensors";
  f.io = read_safetensors(dir + "/io.safetensors");
  return f;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a - b).abs().max().item<double>();
}

// Loads the fixture's weights into `model` and checks logits, dense features and every block output at every size.
inline void expect_fixture_parity(Model& model, const ParityFixture& f, const std::string& label,
                                  double tolerance = 1e-4) {
  load_checkpoint(model, f.weights);
  model.eval();
  torch::NoGradGuard no_grad;
  const int64_t depth = f.config["depth"];
  for (const auto& size : f.config["sizes"]) {
    const std::string tag = std::to_string(size[0].get<int>()) + "x" + std::to_string(size[1].get<int>());
    SCOPED_TRACE(label + " " + tag);
    auto input = f.io.at("input_" + tag).to(torch::kFloat32);
    const double d_logits = max_abs_diff(model.forward(input), f.io.at("logits_" + tag));
    const double d_features = max_abs_diff(model.forward_dense(input), f.io.at("features_" + tag));
    std::vector<int64_t> all(depth);
    std::iota(all.begin(), all.end(), 0);
    auto inter = model.forward_intermediates(input, all);
    double d_inter = 0;
    for (int64_t i = 0; i < depth; ++i)
      d_inter = std::max(d_inter, max_abs_diff(inter[i], f.io.at("intermediates_" + tag + "_" + std::to_string(i))));
    EXPECT_LT(d_logits, tolerance);
    EXPECT_LT(d_features, tolerance);
    EXPECT_LT(d_inter, tolerance);
    std::printf("[parity] %s %s: max|dlogits| %.2e  max|dfeatures| %.2e  max|dintermediates| %.2e\n",
                label.c_str(), tag.c_str(), d_logits, d_features, d_inter);
  }
}

}  // namespace locbench::testing
