// Replays the numpy.random draws recorded by tests/fixtures/make_transform_fixtures.py: each call must be the one
// mmseg made (kind and arguments), and returns the value mmseg got.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "harness/seg/transforms.h"

namespace locbench::testing {

class ScriptedRandom : public seg::RandomSource {
 public:
  explicit ScriptedRandom(const nlohmann::json& draws) : draws_(draws) {}
  double random_sample() override { return next("random_sample", nlohmann::json::array()).get<double>(); }
  int64_t randint(int64_t low, int64_t high) override { return next("randint", {low, high}).get<int64_t>(); }
  double uniform(double low, double high) override { return next("uniform", {low, high}).get<double>(); }
  bool exhausted() const { return i_ == draws_.size(); }

 private:
  nlohmann::json next(const std::string& kind, const nlohmann::json& args) {
    if (i_ >= draws_.size()) {
      ADD_FAILURE() << "draw " << i_ << " (" << kind << args.dump() << ") was never made by mmseg";
      return 0;
    }
    const auto& d = draws_[i_++];
    EXPECT_EQ(d[0], kind) << "draw " << i_ - 1;
    EXPECT_EQ(d[1], args) << "draw " << i_ - 1 << " (" << kind << ")";
    return d[2];
  }
  const nlohmann::json& draws_;
  size_t i_ = 0;
};

}  // namespace locbench::testing
