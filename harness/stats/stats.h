// Statistics of repeated measurements: summaries over seeds (mean, sample std, t-based confidence interval),
// robust summaries of timings (median, quartiles as numpy's default linear interpolation), and the tests that say
// whether two sets of numbers differ: Welch's t-test (scipy.stats.ttest_ind(equal_var=False)) and the Mann-Whitney
// U test (scipy.stats.mannwhitneyu, two-sided, method 'auto'). Torch-free; tested against SciPy's values.
#pragma once

#include <cstdint>
#include <vector>

namespace locbench::stats {

// Distributions.
double normal_cdf(double x);
double normal_quantile(double p);  // inverse of normal_cdf, p in (0, 1)
// Regularized incomplete beta I_x(a, b) for a, b > 0, x in [0, 1].
double incomplete_beta(double a, double b, double x);
double student_t_cdf(double t, double df);       // df > 0, not necessarily an integer (Welch)
double student_t_quantile(double p, double df);  // inverse of student_t_cdf, p in (0, 1)

// Summaries. Empty input gives NaN.
double mean(const std::vector<double>& values);
double sample_std(const std::vector<double>& values);  // n - 1 in the denominator; NaN below 2 values
double quantile(std::vector<double> values, double q);  // linear interpolation between order statistics (numpy)
double median(const std::vector<double>& values);

// Mean of values over seeds with the two-sided `level` confidence interval mean ± t(1 - (1-level)/2, n-1) s/sqrt(n).
// The t quantile is used at every n (it tends to the normal one as n grows). Below 2 values the interval is NaN.
struct Summary {
  int64_t n = 0;
  double mean = 0, std = 0, ci_low = 0, ci_high = 0;
};
Summary summarize(const std::vector<double>& values, double level = 0.95);

// Median and quartiles of timings; `noisy` when IQR / median exceeds the threshold.
struct Spread {
  int64_t n = 0;
  double median = 0, q1 = 0, q3 = 0;
  double iqr() const { return q3 - q1; }
  double relative_iqr() const { return median != 0 ? iqr() / median : 0; }
};
Spread spread(const std::vector<double>& values);
constexpr double kNoisyRelativeIqr = 0.10;
inline bool noisy(const Spread& s, double threshold = kNoisyRelativeIqr) { return s.relative_iqr() > threshold; }

// Welch's unequal-variance t-test of mean(a) - mean(b), two-sided, with the `level` interval of the difference.
// NaN p (and interval) when either side has fewer than 2 values or both have no spread.
struct TTest {
  double difference = 0, t = 0, df = 0, p = 0, ci_low = 0, ci_high = 0;
};
TTest welch_t_test(const std::vector<double>& a, const std::vector<double>& b, double level = 0.95);

// Mann-Whitney U of a against b, two-sided, as scipy.stats.mannwhitneyu with method 'auto': the exact null
// distribution when the smaller sample has at most 8 values and there are no ties, otherwise the normal
// approximation with the tie correction and the continuity correction. u is U1 (of `a`). NaN p for an empty side.
struct UTest {
  double u = 0, p = 0;
  bool exact = false;
};
UTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace locbench::stats
