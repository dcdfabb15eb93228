// Statistics of repeated measurements (stats.h). The distributions are computed from the regularized incomplete
// beta function (a continued fraction evaluated with the modified Lentz method) and std::erfc; quantiles invert the
// distribution functions by bisection to double precision.
#include "harness/stats/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace locbench::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Continued fraction of I_x(a, b) (the even and odd steps of its standard expansion), for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-16;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a - 1.0 + m2) * (a + m2));
    d = 1.0 + num * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2));
    d = 1.0 + num * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1.0) < kEps) break;
  }
  return h;
}

// Upper tail P(T > t) of Student's t for t >= 0: I_{df/(df+t^2)}(df/2, 1/2) / 2, without cancellation.
double student_t_upper(double t, double df) {
  if (std::isinf(t)) return 0.0;
  return 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

// The x in [lo, hi] where the decreasing function f crosses `target`, by bisection to double precision.
template <typename F>
double bisect_decreasing(F f, double target, double lo, double hi) {
  for (int i = 0; i < 2000 && lo < hi; ++i) {
    const double mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    (f(mid) > target ? lo : hi) = mid;
  }
  return lo + (hi - lo) / 2;
}

// Average ranks (1-based) of values; `ties` gets the size of every group of equal values.
std::vector<double> average_ranks(const std::vector<double>& values, std::vector<int64_t>& ties) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return values[i] < values[j]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    ties.push_back(static_cast<int64_t>(j - i + 1));
    i = j + 1;
  }
  return ranks;
}

// P(U >= u) under the null for samples of sizes m and n without ties. The counts of U are the coefficients of the
// Gaussian binomial [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), built one factor at a time (each
// partial product is [n+i choose i]_q, so every coefficient stays a non-negative count).
double mann_whitney_exact_sf(int64_t m, int64_t n, int64_t u) {
  if (m > n) std::swap(m, n);
  std::vector<double> counts{1.0};
  for (int64_t i = 1; i <= m; ++i) {
    std::vector<double> next(counts.size() + n, 0.0);
    for (size_t k = 0; k < next.size(); ++k) {
      const double plus = k < counts.size() ? counts[k] : 0.0;
      const double minus = k >= static_cast<size_t>(n + i) && k - (n + i) < counts.size() ? counts[k - (n + i)] : 0.0;
      next[k] = plus - minus + (k >= static_cast<size_t>(i) ? next[k - i] : 0.0);
    }
    counts = std::move(next);
  }
  double total = 0, tail = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    total += counts[k];
    if (static_cast<int64_t>(k) >= u) tail += counts[k];
  }
  return tail / total;
}

}  // namespace

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : kNaN;
  // By symmetry, the x >= 0 whose upper tail is the smaller of p and 1 - p (p itself below 1/2, so tiny p keep
  // their precision), computed as erfc.
  const double x = bisect_decreasing([](double v) { return 0.5 * std::erfc(v / std::sqrt(2.0)); },
                                     std::min(p, 1.0 - p), 0.0, 40.0);
  return p < 0.5 ? -x : x;
}

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0 && b > 0) || !(x >= 0 && x <= 1)) return kNaN;
  if (x == 0.0 || x == 1.0) return x;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double df) {
  if (!(df > 0) || std::isnan(t)) return kNaN;
  const double upper = student_t_upper(std::fabs(t), df);
  return t >= 0 ? 1.0 - upper : upper;
}

double student_t_quantile(double p, double df) {
  if (!(df > 0) || !(p > 0.0 && p < 1.0)) return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : kNaN;
  if (p == 0.5) return 0.0;
  const double target = std::min(p, 1.0 - p);  // the upper tail of |t|, as in normal_quantile
  double hi = 1.0;
  while (student_t_upper(hi, df) > target && hi < 1e300) hi *= 2;
  const double t = bisect_decreasing([df](double v) { return student_t_upper(v, df); }, target, 0.0, hi);
  return p < 0.5 ? -t : t;
}

double mean(const std::vector<double>& values) {
  if (values.empty()) return kNaN;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double sample_std(const std::vector<double>& values) {
  if (values.size() < 2) return kNaN;
  const double m = mean(values);
  double sum = 0;
  for (double v : values) sum += (v - m) * (v - m);
  return std::sqrt(sum / static_cast<double>(values.size() - 1));
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

double median(const std::vector<double>& values) { return quantile(values, 0.5); }

Summary summarize(const std::vector<double>& values, double level) {
  Summary s;
  s.n = static_cast<int64_t>(values.size());
  s.mean = mean(values);
  s.std = sample_std(values);
  if (s.n < 2) {
    s.ci_low = s.ci_high = kNaN;
    return s;
  }
  const double half = student_t_quantile(1.0 - (1.0 - level) / 2.0, static_cast<double>(s.n - 1)) * s.std /
                      std::sqrt(static_cast<double>(s.n));
  s.ci_low = s.mean - half;
  s.ci_high = s.mean + half;
  return s;
}

Spread spread(const std::vector<double>& values) {
  Spread s;
  s.n = static_cast<int64_t>(values.size());
  s.median = quantile(values, 0.5);
  s.q1 = quantile(values, 0.25);
  s.q3 = quantile(values, 0.75);
  return s;
}

TTest welch_t_test(const std::vector<double>& a, const std::vector<double>& b, double level) {
  TTest r;
  r.difference = mean(a) - mean(b);
  r.t = r.df = r.p = r.ci_low = r.ci_high = kNaN;
  if (a.size() < 2 || b.size() < 2) return r;
  const double va = std::pow(sample_std(a), 2) / static_cast<double>(a.size());
  const double vb = std::pow(sample_std(b), 2) / static_cast<double>(b.size());
  const double se2 = va + vb;
  if (!(se2 > 0)) return r;
  r.df = se2 * se2 / (va * va / static_cast<double>(a.size() - 1) + vb * vb / static_cast<double>(b.size() - 1));
  r.t = r.difference / std::sqrt(se2);
  r.p = std::min(1.0, 2.0 * student_t_upper(std::fabs(r.t), r.df));
  const double half = student_t_quantile(1.0 - (1.0 - level) / 2.0, r.df) * std::sqrt(se2);
  r.ci_low = r.difference - half;
  r.ci_high = r.difference + half;
  return r;
}

UTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b) {
  UTest r;
  const auto n1 = static_cast<int64_t>(a.size()), n2 = static_cast<int64_t>(b.size());
  if (n1 == 0 || n2 == 0) {
    r.u = r.p = kNaN;
    return r;
  }
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::vector<int64_t> ties;
  const std::vector<double> ranks = average_ranks(all, ties);
  double r1 = 0;
  for (int64_t i = 0; i < n1; ++i) r1 += ranks[i];
  r.u = r1 - static_cast<double>(n1 * (n1 + 1)) / 2.0;
  const double u = std::max(r.u, static_cast<double>(n1 * n2) - r.u);
  const bool tied = std::any_of(ties.begin(), ties.end(), [](int64_t t) { return t > 1; });
  r.exact = std::min(n1, n2) <= 8 && !tied;
  if (r.exact) {
    r.p = std::min(1.0, 2.0 * mann_whitney_exact_sf(n1, n2, static_cast<int64_t>(std::llround(u))));
    return r;
  }
  const double n = static_cast<double>(n1 + n2);
  double tie_term = 0;
  for (int64_t t : ties) tie_term += static_cast<double>(t) * t * t - static_cast<double>(t);
  const double sigma = std::sqrt(static_cast<double>(n1 * n2) / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0))));
  if (!(sigma > 0)) {
    r.p = 1.0;  // every value equal: no evidence of a difference
    return r;
  }
  const double z = (u - static_cast<double>(n1 * n2) / 2.0 - 0.5) / sigma;
  r.p = std::clamp(2.0 * normal_cdf(-z), 0.0, 1.0);
  return r;
}

}  // namespace locbench::stats
