// `bench check`: reads two Google Benchmark JSON files, optionally normalises each benchmark by a reference variant
// of the same op and shape in the same file, and reports every change against a relative threshold.
#include "harness/check/check.h"

#include "harness/common/files.h"
#include "harness/common/json_input.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

namespace locbench::check {

namespace {

using nlohmann::json;

double nanoseconds_per(const std::string& unit, const std::string& path) {
  if (unit == "ns") return 1.0;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  throw CheckError(path + ": unknown time_unit '" + unit + "'");
}

// Google Benchmark appends run options to the name ("/manual_time", "/repeats:9", "/threads:1"); the gate
// compares what was measured, not how, so those are dropped.
std::string strip_run_options(const std::string& name) {
  static const std::regex option(R"(^(manual_time|real_time|process_time|(iterations|repeats|threads|min_time|min_warmup_time):.*)$)");
  std::stringstream in(name);
  std::string part, kept;
  while (std::getline(in, part, '/')) {
    if (std::regex_match(part, option)) continue;
    kept += (kept.empty() ? "" : "/") + part;
  }
  return kept;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
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

// Each benchmark divided by the reference variant of the same op and shape; names that cannot be normalised are
// reported through `unnormalised`. The reference rows themselves are dropped (their ratio is 1 by definition).
BenchmarkTimes normalise(const BenchmarkTimes& times, const std::string& reference, std::set<std::string>& unnormalised) {
  BenchmarkTimes out;
  for (const auto& [name, ns] : times) {
    const auto parts = split_name(name);
    if (!parts) {
      unnormalised.insert(name + " (name is not op/variant/shape)");
      continue;
    }
    if (parts->variant == reference) continue;
    const auto ref = times.find(parts->op + "/" + reference + "/" + parts->shape);
    if (ref == times.end() || ref->second <= 0.0) {
      unnormalised.insert(name + " (no " + reference + " benchmark of the same op and shape)");
      continue;
    }
    out[name] = ns / ref->second;
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

void print_missing(const char* title, const std::vector<std::string>& names, std::ostream& out) {
  if (names.empty()) return;
  out << title << " (" << names.size() << "):\n";
  for (const auto& n : names) out << "  " << n << "\n";
}

}  // namespace

BenchmarkTimes read_benchmark_json(const std::string& path) {
  json doc;
  try {
    // Bounded nesting, no duplicate keys, one-line messages (harness/common/json_input.h).
    doc = parse_untrusted_json(read_input_file(path, "Google Benchmark JSON file", size_t{256} << 20), path);
  } catch (const std::invalid_argument& e) {
    throw CheckError(e.what());
  }
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array())
    throw CheckError(path + ": no 'benchmarks' array; expected Google Benchmark JSON (--benchmark_out)");

  std::map<std::string, std::vector<double>> iterations;
  BenchmarkTimes medians;
  for (const auto& row : doc["benchmarks"]) {
    try {
      const std::string type = row.value("run_type", "iteration");
      std::string raw = row.value("run_name", row.at("name").get<std::string>());
      // Old files without run_name name an aggregate "<run>_median".
      const std::string suffix = "_" + row.value("aggregate_name", std::string{});
      if (!row.contains("run_name") && type == "aggregate" && raw.ends_with(suffix))
        raw.resize(raw.size() - suffix.size());
      if (row.contains("error_occurred") && row["error_occurred"].get<bool>()) continue;
      if (type == "aggregate" && row.value("aggregate_name", "") != "median") continue;
      const double ns = row.at("real_time").get<double>() * nanoseconds_per(row.value("time_unit", "ns"), path);
      const std::string name = strip_run_options(raw);
      if (type == "aggregate") medians[name] = ns;
      else iterations[name].push_back(ns);
    } catch (const json::exception& e) {
      throw CheckError(path + ": malformed benchmark row " + json_excerpt(row, 200) + " (" + e.what() + ")");
    }
  }
  // Repetitions without reported aggregates still give a robust number: the median of the iteration rows.
  for (const auto& [name, values] : iterations)
    if (!medians.count(name)) medians[name] = median(values);
  return medians;
}

int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  BenchmarkTimes baseline, current;
  try {
    baseline = read_benchmark_json(options.baseline);
    current = read_benchmark_json(options.current);
  } catch (const CheckError& e) {
    err << "bench check: " << e.what() << "\n";
    return 2;
  }
  const bool ratio = options.reference.has_value();
  std::set<std::string> unnormalised;
  if (ratio) {
    baseline = normalise(baseline, *options.reference, unnormalised);
    current = normalise(current, *options.reference, unnormalised);
  }

  std::vector<std::string> only_baseline, only_current;
  int regressions = 0;
  char line[512];
  std::snprintf(line, sizeof line, "%-56s %14s %14s %9s  %s\n", "benchmark", "baseline", "current", "change",
                "status");
  out << (ratio ? "times relative to variant '" + *options.reference + "' of the same op and shape\n" : "") << line;
  for (const auto& [name, base] : baseline) {
    const auto it = current.find(name);
    if (it == current.end()) {
      only_baseline.push_back(name);
      continue;
    }
    const double change = it->second / base - 1.0;
    // A tiny tolerance keeps a change of exactly the threshold (e.g. 100 -> 110 at 10%) from failing on rounding.
    const bool regressed = change > options.threshold + 1e-9;
    const bool improved = change < -options.threshold - 1e-9;
    regressions += regressed;
    std::snprintf(line, sizeof line, "%-56s %14s %14s %+8.1f%%  %s\n", name.c_str(), format_value(base, ratio).c_str(),
                  format_value(it->second, ratio).c_str(), 100.0 * change,
                  regressed ? "REGRESSION" : improved ? "faster" : "ok");
    out << line;
  }
  for (const auto& [name, _] : current)
    if (!baseline.count(name)) only_current.push_back(name);

  print_missing("only in the baseline", only_baseline, out);
  print_missing("only in the current run", only_current, out);
  print_missing("not compared, cannot normalise", {unnormalised.begin(), unnormalised.end()}, out);
  std::snprintf(line, sizeof line, "%d regression(s) beyond %.1f%%\n", regressions, 100.0 * options.threshold);
  out << line;
  return regressions > 0 ? 1 : 0;
}

}  // namespace locbench::check
