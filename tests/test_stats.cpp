// Tests of harness/stats against SciPy's values (tests/fixtures/stats_reference.json, written by
// tests/fixtures/make_stats_reference.py): t and normal quantiles, the t distribution, the incomplete beta function,
// t-based confidence intervals, Welch's t-test, the Mann-Whitney U test (exact and asymptotic, with ties), quantiles.
#include "harness/stats/stats.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace {

using namespace locbench::stats;
using nlohmann::json;

const json& reference() {
  static const json doc = [] {
    std::ifstream in(std::string(LOCBENCH_SOURCE_DIR) + "/tests/fixtures/stats_reference.json");
    return json::parse(in);
  }();
  return doc;
}

std::vector<double> values(const json& v) { return v.get<std::vector<double>>(); }

// Relative agreement to 1e-10 (absolute near zero): the values SciPy prints, not a looser tolerance.
void expect_close(double actual, double expected, const std::string& what, double tol = 1e-10) {
  EXPECT_NEAR(actual, expected, tol * std::max(1.0, std::fabs(expected))) << what;
}

TEST(Stats, StudentTQuantileMatchesScipy) {
  for (const auto& c : reference()["t_quantile"]) {
    const double p = c["p"], df = c["df"];
    expect_close(student_t_quantile(p, df), c["value"], "t.ppf(" + std::to_string(p) + ", " + std::to_string(df) + ")",
                 1e-9);
  }
  EXPECT_TRUE(std::isnan(student_t_quantile(0.5, 0)));
  EXPECT_TRUE(std::isnan(student_t_quantile(1.5, 3)));
}

TEST(Stats, StudentTCdfMatchesScipy) {
  for (const auto& c : reference()["t_cdf"]) {
    const double t = c["t"], df = c["df"];
    expect_close(student_t_cdf(t, df), c["value"], "t.cdf(" + std::to_string(t) + ", " + std::to_string(df) + ")");
  }
}

TEST(Stats, NormalQuantileAndIncompleteBetaMatchScipy) {
  for (const auto& c : reference()["normal_quantile"]) expect_close(normal_quantile(c["p"]), c["value"], c.dump());
  for (const auto& c : reference()["incomplete_beta"])
    expect_close(incomplete_beta(c["a"], c["b"], c["x"]), c["value"], c.dump());
}

TEST(Stats, ConfidenceIntervalIsTBasedAsScipy) {
  for (const auto& c : reference()["confidence_interval"]) {
    const Summary s = summarize(values(c["values"]));
    EXPECT_EQ(s.n, static_cast<int64_t>(c["values"].size()));
    expect_close(s.mean, c["mean"], "mean");
    expect_close(s.std, c["std"], "std");
    expect_close(s.ci_low, c["ci_low"], "ci_low n=" + std::to_string(s.n));
    expect_close(s.ci_high, c["ci_high"], "ci_high n=" + std::to_string(s.n));
  }
  const Summary one = summarize({3.0});
  EXPECT_EQ(one.n, 1);
  EXPECT_EQ(one.mean, 3.0);
  EXPECT_TRUE(std::isnan(one.std) && std::isnan(one.ci_low) && std::isnan(one.ci_high));
}

TEST(Stats, WelchTTestMatchesScipy) {
  for (const auto& c : reference()["welch"]) {
    const TTest r = welch_t_test(values(c["a"]), values(c["b"]));
    expect_close(r.t, c["t"], "t");
    expect_close(r.df, c["df"], "df");
    expect_close(r.p, c["p"], "p " + c["a"].dump());
    expect_close(r.ci_low, c["ci_low"], "ci_low", 1e-9);
    expect_close(r.ci_high, c["ci_high"], "ci_high", 1e-9);
  }
  // Not testable: one value on a side, or no spread at all.
  EXPECT_TRUE(std::isnan(welch_t_test({1.0}, {2.0, 3.0}).p));
  EXPECT_TRUE(std::isnan(welch_t_test({1.0, 1.0}, {2.0, 2.0}).p));
  EXPECT_DOUBLE_EQ(welch_t_test({1.0, 1.0}, {2.0, 2.0}).difference, -1.0);
}

TEST(Stats, MannWhitneyMatchesScipyExactAndAsymptotic) {
  bool saw_exact = false, saw_asymptotic = false;
  for (const auto& c : reference()["mann_whitney"]) {
    const UTest r = mann_whitney_u(values(c["a"]), values(c["b"]));
    expect_close(r.u, c["u"], "U " + c["a"].dump());
    expect_close(r.p, c["p"], "p " + c["a"].dump() + " vs " + c["b"].dump());
    (r.exact ? saw_exact : saw_asymptotic) = true;
  }
  EXPECT_TRUE(saw_exact && saw_asymptotic);
  EXPECT_TRUE(std::isnan(mann_whitney_u({}, {1.0}).p));
}

TEST(Stats, QuantilesInterpolateAsNumpy) {
  const auto& q = reference()["quantiles"];
  for (size_t i = 0; i < q["q"].size(); ++i)
    expect_close(quantile(values(q["values"]), q["q"][i]), q["value"][i], "q=" + q["q"][i].dump());
  const Spread s = spread({10, 11, 12, 13, 14});
  EXPECT_DOUBLE_EQ(s.median, 12);
  EXPECT_DOUBLE_EQ(s.iqr(), 2);
  EXPECT_FALSE(noisy(s, 0.2));
  EXPECT_TRUE(noisy(s, 0.1));  // 2 / 12 = 16.7%
  EXPECT_TRUE(std::isnan(median({})));
}

}  // namespace
