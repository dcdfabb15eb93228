// Checking a model against a fixture written by the official code (make_localvit_glnet_fixtures.py): logits,
// dense features and every intermediate (blocks or stages), for each input size the fixture holds.
#pragma once

#include "harness/checkpoint/checkpoint.h"
#include "harness/model/model.h"
#include "tests/test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

namespace locbench::testing {

constexpr double kOfficialTolerance = 1e-4;

inline nlohmann::json fixture_config(const std::string& name) {
  std::ifstream in(source_dir() + "/tests/fixtures/" + name + "/config.json");
  return nlohmann::json::parse(in);
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a - b).abs().max().item<double>();
}

// Loads the fixture's weights strictly into `model` and returns the largest error over every size and output.
inline double check_official_fixture(const std::string& name, Model& model, int64_t num_intermediates) {
  const std::string dir = source_dir() + "/tests/fixtures/" + name;
  const auto config = fixture_config(name);
  const auto io = read_safetensors(dir + "/io.safetensors");
  load_checkpoint(model, dir + "/weights.safetensors");
  model.eval();
  torch::NoGradGuard no_grad;
  double worst = 0;
  for (const auto& size : config["sizes"]) {
    const std::string tag = std::to_string(size[0].get<int>()) + "x" + std::to_string(size[1].get<int>());
    SCOPED_TRACE(name + " " + tag);
    auto input = io.at("input_" + tag).to(torch::kFloat32);
    const double d_logits = max_abs_diff(model.forward(input), io.at("logits_" + tag));
    const double d_features = max_abs_diff(model.forward_dense(input), io.at("features_" + tag));
    std::vector<int64_t> all(num_intermediates);
    std::iota(all.begin(), all.end(), 0);
    auto inter = model.forward_intermediates(input, all);
    double d_inter = 0;
    for (int64_t i = 0; i < num_intermediates; ++i)
      d_inter = std::max(d_inter, max_abs_diff(inter[i], io.at("intermediates_" + tag + "_" + std::to_string(i))));
    EXPECT_LT(d_logits, kOfficialTolerance);
    EXPECT_LT(d_features, kOfficialTolerance);
    EXPECT_LT(d_inter, kOfficialTolerance);
    std::printf("[parity] %s %s: max|dlogits| %.2e  max|dfeatures| %.2e  max|dintermediates| %.2e\n", name.c_str(),
                tag.c_str(), d_logits, d_features, d_inter);
    worst = std::max({worst, d_logits, d_features, d_inter});
  }
  return worst;
}

}  // namespace locbench::testing
