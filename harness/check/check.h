// `bench check`: the benchmark regression gate. Compares two Google Benchmark JSON files (baseline, current) and
// fails when a benchmark got slower than a threshold, optionally normalised by a reference variant in each file.
// Torch-free, so it builds and is tested on any machine.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace locbench::check {

struct CheckOptions {
  std::string baseline;   // Google Benchmark JSON (--benchmark_out)
  std::string current;    // same format, from the run under test
  std::optional<std::string> reference;  // variant whose time divides every other variant's (same op and shape)
  double threshold = 0.10;  // relative slow-down that counts as a regression
};

// A file that cannot be read or is not Google Benchmark JSON; the message names the file.
// Bad input, hence an std::invalid_argument (harness/common/exit_codes.h).
class CheckError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// One benchmark's time in nanoseconds, keyed by its name without Google Benchmark's suffixes
// ("/manual_time", "_median", ...): "op/variant/shape".
using BenchmarkTimes = std::map<std::string, double>;

// Reads a Google Benchmark JSON file: the 'median' aggregate rows where repetitions produced them, else the
// iteration rows (the median of them when several share a name). Throws CheckError naming the file.
BenchmarkTimes read_benchmark_json(const std::string& path);

// Compares and prints a table of changes to `out`, problems to `err`.
// Returns 0 when nothing regressed beyond the threshold, 1 on a regression, 2 when a file cannot be used.
int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

}  // namespace locbench::check
