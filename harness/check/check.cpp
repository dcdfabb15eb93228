// `bench check` (check.h): reads the repetitions of two Google Benchmark JSON files, optionally normalises each
// benchmark by a reference variant of the same op and shape in the same file, and gates every baseline benchmark on
// its median change and a two-sided Mann-Whitney U test over the repetitions.
#include "harness/check/check.h"

#include "harness/common/files.h"
#include "harness/common/json_input.h"
#include "harness/stats/stats.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <vector>

namespace locbench::check {

namespace {

using nlohmann::json;

// A name from a file, shortened for messages: benchmark names are untrusted and may be kilobytes long.
std::string shown(const std::string& name, size_t limit = 120) {
  return name.size() <= limit ? name : name.substr(0, limit) + "... (" + std::to_string(name.size()) + " chars)";
}

double nanoseconds_per(const std::string& unit, const std::string& path) {
  if (unit == "ns") return 1.0;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  throw CheckError(path + ": unknown time_unit '" + shown(unit, 20) + "'");
}

// Google Benchmark appends how a benchmark was run to its name ("/manual_time", "/repeats:9", "/min_time:0.5"); the
// gate compares what was measured, so those segments are dropped. "/threads:N" stays: it changes what is measured.
bool is_run_option(const std::string& segment) {
  if (segment == "manual_time" || segment == "real_time" || segment == "process_time") return true;
  for (const char* prefix : {"iterations:", "repeats:", "min_time:", "min_warmup_time:"})
    if (segment.rfind(prefix, 0) == 0) return true;
  return false;
}

std::string strip_run_options(const std::string& name) {
  std::string kept;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string segment = name.substr(start, end - start);
    if (!is_run_option(segment)) kept += (kept.empty() ? "" : "/") + segment;
    start = end + 1;
  }
  return kept;
}

struct Split {
  std::string op, variant, shape;
};

// "op/variant/shape..." -> parts; nullopt for names that do not follow the convention.
std::optional<Split> split_name(const std::string& name) {
  const auto first = name.find('/');
  if (first == std::string::npos) return std::nullopt;
  const auto second = name.find('/', first + 1);
  if (second == std::string::npos) return std::nullopt;
  return Split{name.substr(0, first), name.substr(first + 1, second - first - 1), name.substr(second + 1)};
}

bool usable(const std::vector<double>& samples) {
  return !samples.empty() &&
         std::all_of(samples.begin(), samples.end(), [](double v) { return std::isfinite(v) && v > 0; });
}

// Each benchmark's repetitions divided by the median of the reference variant of the same op and shape in the same
// file. Names without a usable reference go to `unnormalised` with the reason; the reference rows themselves are
// dropped (their ratio is 1 by definition).
BenchmarkTimes normalise(const BenchmarkTimes& times, const std::string& reference,
                         std::map<std::string, std::string>& unnormalised) {
  BenchmarkTimes out;
  for (const auto& [name, bench] : times) {
    const auto parts = split_name(name);
    if (!parts) {
      unnormalised[name] = "name is not op/variant/shape";
      continue;
    }
    if (parts->variant == reference) continue;
    const auto ref = times.find(parts->op + "/" + reference + "/" + parts->shape);
    if (ref == times.end() || !ref->second.error.empty() || !usable(ref->second.samples)) {
      unnormalised[name] = "no usable " + reference + " benchmark of the same op and shape";
      continue;
    }
    const double ref_median = stats::median(ref->second.samples);
    Benchmark ratio = bench;
    for (double& v : ratio.samples) v /= ref_median;
    out[name] = std::move(ratio);
  }
  return out;
}

std::string format_time(double ns) {
  char buf[32];
  if (ns >= 1e6) std::snprintf(buf, sizeof buf, "%.3f ms", ns / 1e6);
  else if (ns >= 1e3) std::snprintf(buf, sizeof buf, "%.3f us", ns / 1e3);
  else std::snprintf(buf, sizeof buf, "%.1f ns", ns);
  return buf;
}

std::string format_value(double v, bool ratio) {
  if (!ratio) return format_time(v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4fx", v);
  return buf;
}

std::string pad(const std::string& text, size_t width, bool right = false) {
  if (text.size() >= width) return text;
  const std::string fill(width - text.size(), ' ');
  return right ? fill + text : text + fill;
}

// Why a pair of benchmarks cannot be compared (empty when it can).
std::string unusable_reason(const Benchmark& b, const std::string& file, const CheckOptions& o) {
  if (!b.error.empty()) return file + " reports an error: " + shown(b.error);
  if (static_cast<int>(b.samples.size()) < o.min_repetitions)
    return file + " has " + std::to_string(b.samples.size()) + " repetition(s), the gate needs at least " +
           std::to_string(o.min_repetitions) + " (--benchmark_repetitions=" + std::to_string(o.min_repetitions) +
           ", without --benchmark_report_aggregates_only)";
  if (!usable(b.samples)) return file + " has a time that is not a finite positive number";
  return "";
}

}  // namespace

BenchmarkTimes read_benchmark_json(const std::string& path, bool cpu_time) {
  json doc;
  try {
    // Bounded nesting, no duplicate keys, one-line messages (harness/common/json_input.h).
    doc = parse_untrusted_json(read_input_file(path, "Google Benchmark JSON file", size_t{256} << 20), path);
  } catch (const std::invalid_argument& e) {
    throw CheckError(e.what());
  }
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array())
    throw CheckError(path + ": no 'benchmarks' array; expected Google Benchmark JSON (--benchmark_out)");

  BenchmarkTimes times;
  const char* const time_key = cpu_time ? "cpu_time" : "real_time";
  const auto& rows = doc["benchmarks"];
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const std::string where = path + ": benchmarks[" + std::to_string(i) + "]";
    if (!row.is_object()) throw CheckError(where + ": expected an object");
    auto text = [&](const char* key, const std::string& dflt) {
      if (!row.contains(key)) return dflt;
      if (!row[key].is_string()) throw CheckError(where + "." + key + ": expected a string");
      return row[key].get<std::string>();
    };
    const std::string type = text("run_type", "iteration");
    std::string raw = text("run_name", text("name", ""));
    if (raw.empty()) throw CheckError(where + ": no name");
    // Files without run_name name an aggregate "<run>_<aggregate_name>".
    const std::string suffix = "_" + text("aggregate_name", "");
    if (type == "aggregate" && !row.contains("run_name") && raw.size() > suffix.size() && raw.ends_with(suffix))
      raw.resize(raw.size() - suffix.size());
    Benchmark& bench = times[strip_run_options(raw)];
    if (type == "aggregate") continue;  // recomputed from the repetitions (a file of aggregates alone has none)
    if (row.contains("error_occurred") && row["error_occurred"].is_boolean() && row["error_occurred"].get<bool>()) {
      bench.error = text("error_message", "error_occurred");
      continue;
    }
    if (!row.contains(time_key) || !row[time_key].is_number())
      throw CheckError(where + " (" + shown(raw) + "): no numeric " + time_key);
    bench.samples.push_back(row[time_key].get<double>() * nanoseconds_per(text("time_unit", "ns"), path));
  }
  return times;
}

namespace {

// The repetitions of every file, pooled per benchmark (an error in any file marks the benchmark).
BenchmarkTimes read_side(const std::vector<std::string>& files, bool cpu_time) {
  if (files.empty()) throw CheckError("no file given");
  BenchmarkTimes pooled;
  for (const auto& file : files)
    for (auto& [name, bench] : read_benchmark_json(file, cpu_time)) {
      Benchmark& into = pooled[name];
      into.samples.insert(into.samples.end(), bench.samples.begin(), bench.samples.end());
      if (into.error.empty()) into.error = bench.error;
    }
  return pooled;
}

std::string names(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) out += (out.empty() ? "" : " + ") + f;
  return out;
}

}  // namespace

int run_check(const CheckOptions& o, std::ostream& out, std::ostream& err) {
  BenchmarkTimes baseline, current;
  try {
    baseline = read_side(o.baseline, o.cpu_time);
    current = read_side(o.current, o.cpu_time);
  } catch (const CheckError& e) {
    err << "bench check: " << e.what() << "\n";
    return 2;
  }
  const std::string base_files = names(o.baseline), current_files = names(o.current);
  std::vector<std::string> failures;
  if (baseline.empty()) failures.push_back(base_files + " has no benchmarks");
  if (current.empty()) failures.push_back(current_files + " has no benchmarks");

  const bool ratio = o.reference.has_value();
  std::map<std::string, std::string> unnormalised_base, unnormalised_current;
  if (ratio) {
    baseline = normalise(baseline, *o.reference, unnormalised_base);
    current = normalise(current, *o.reference, unnormalised_current);
    // What the baseline could normalise, the current file must too.
    for (const auto& [name, why] : unnormalised_current)
      if (baseline.count(name)) failures.push_back(shown(name) + ": cannot normalise in " + current_files + ": " + why);
  }

  std::ostringstream table;
  table << (ratio ? "times relative to variant '" + *o.reference + "' of the same op and shape\n" : "");
  table << pad("benchmark", 56) << pad("baseline", 14, true) << pad("current", 14, true) << pad("change", 10, true)
        << pad("p", 8, true) << pad("reps", 8, true) << "  status\n";
  int regressions = 0, compared = 0, noisy = 0;
  for (const auto& [name, base] : baseline) {
    const auto it = current.find(name);
    if (it == current.end()) {
      if (!ratio || !unnormalised_current.count(name))
        failures.push_back(shown(name) + ": missing from " + current_files);
      continue;
    }
    std::string why = unusable_reason(base, base_files, o);
    if (why.empty()) why = unusable_reason(it->second, current_files, o);
    if (!why.empty()) {
      failures.push_back(shown(name) + ": " + why);
      continue;
    }
    ++compared;
    const stats::Spread b = stats::spread(base.samples), c = stats::spread(it->second.samples);
    const double change = c.median / b.median - 1.0;
    const double p = stats::mann_whitney_u(base.samples, it->second.samples).p;
    const bool significant = p < o.alpha;
    // A tiny tolerance keeps a change of exactly the threshold (e.g. 100 -> 110 at 10%) from failing on rounding.
    const bool beyond = change > o.threshold + 1e-9, below = change < -o.threshold - 1e-9;
    const bool regressed = beyond && significant;
    const bool is_noisy = stats::noisy(b) || stats::noisy(c);
    regressions += regressed;
    noisy += is_noisy;
    std::string status = regressed ? "REGRESSION"
                         : beyond  ? "slower, not significant"
                         : below   ? (significant ? "faster" : "faster, not significant")
                                   : "ok";
    if (is_noisy) status += " (noisy: IQR/median " + std::to_string(static_cast<int>(std::lround(
                                100 * std::max(b.relative_iqr(), c.relative_iqr())))) + "%)";
    char change_text[32], p_text[32];
    std::snprintf(change_text, sizeof change_text, "%+.1f%%", 100.0 * change);
    std::snprintf(p_text, sizeof p_text, "%.4f", p);
    table << pad(shown(name, 56), 56) << pad(format_value(b.median, ratio), 14, true)
          << pad(format_value(c.median, ratio), 14, true) << pad(change_text, 10, true) << pad(p_text, 8, true)
          << pad(std::to_string(base.samples.size()) + "/" + std::to_string(it->second.samples.size()), 8, true)
          << "  " << status << "\n";
  }
  out << table.str();
  std::vector<std::string> only_current;
  for (const auto& [name, _] : current)
    if (!baseline.count(name) && !unnormalised_base.count(name)) only_current.push_back(shown(name));
  auto list = [&](const char* title, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out << title << " (" << names.size() << "):\n";
    for (const auto& n : names) out << "  " << n << "\n";
  };
  list("only in the current run, not gated", only_current);
  std::vector<std::string> not_compared;
  for (const auto& [name, why] : unnormalised_base) not_compared.push_back(shown(name) + " (" + why + ")");
  list("not compared, cannot normalise in the baseline", not_compared);
  if (compared == 0 && failures.empty()) failures.push_back("no benchmark of " + base_files + " could be compared");
  list("FAILED: the gate cannot decide", failures);
  char line[256];
  std::snprintf(line, sizeof line,
                "%d compared, %d regression(s) beyond %.1f%% at p < %g (Mann-Whitney U), %d noisy, %zu failure(s)\n",
                compared, regressions, 100.0 * o.threshold, o.alpha, noisy, failures.size());
  out << line;
  return regressions > 0 || !failures.empty() ? 1 : 0;
}

}  // namespace locbench::check
