// `bench check`: the benchmark regression gate. Compares the repetitions of every benchmark in two Google Benchmark
// JSON files (baseline, current), optionally normalised by a reference variant in each file, as Google Benchmark's
// tools/compare.py does: a benchmark regressed when its median slowed down beyond a threshold AND the two sets of
// repetitions differ significantly (two-sided Mann-Whitney U). A gate that cannot decide fails: a benchmark missing
// from the current file, an empty file, fewer repetitions than the minimum, a non-finite or non-positive time.
// Torch-free, so it builds and is tested on any machine.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace locbench::check {

struct CheckOptions {
  // Google Benchmark JSON files (--benchmark_out, with --benchmark_repetitions): the repetitions of every file of a
  // side are pooled, so runs of the two binaries interleaved in time (A B A B ...) share the machine's drift.
  std::vector<std::string> baseline;
  std::vector<std::string> current;  // same format, from the run under test
  std::optional<std::string> reference;  // variant whose time divides every other variant's (same op and shape)
  double threshold = 0.10;   // relative slow-down of the median that counts as a regression
  double alpha = 0.05;       // significance level of the U test
  int min_repetitions = 9;   // fewer repetitions cannot show significance (compare.py's docs ask for 9 or more)
  bool cpu_time = false;     // compare cpu_time instead of real_time
};

// A file that cannot be read or is not Google Benchmark JSON; the message names the file.
// Bad input, hence an std::invalid_argument (harness/common/exit_codes.h).
class CheckError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// One benchmark of a file: the time of every repetition in nanoseconds (iteration rows), in file order.
struct Benchmark {
  std::vector<double> samples;
  std::string error;  // the error_message of a row that reported error_occurred
};

// Benchmarks keyed by name without Google Benchmark's run-option suffixes ("/manual_time", "/repeats:9",
// "/min_time:0.5", ...): "op/variant/shape". Aggregate rows (mean, median, stddev, cv) are skipped: the gate recomputes
// them from the repetitions.
using BenchmarkTimes = std::map<std::string, Benchmark>;

// The one entry point for untrusted benchmark files: reads a Google Benchmark JSON file. Throws CheckError naming the
// file for unreadable or malformed input; a time that is not a finite positive number is kept as it is (run_check
// fails on it with a message).
BenchmarkTimes read_benchmark_json(const std::string& path, bool cpu_time = false);

// Compares and prints a table of changes to `out`, problems to `err`. Returns 0 when every baseline benchmark was
// compared and none regressed, 1 on a regression or when the gate cannot decide (see above), 2 when a file cannot be
// read.
int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

}  // namespace locbench::check
