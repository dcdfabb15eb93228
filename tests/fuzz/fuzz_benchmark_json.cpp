// The Google Benchmark JSON reader of `bench check` on arbitrary bytes: only CheckError may come out, and every
// time it returns is a number.
#include "harness/check/check.h"
#include "tests/fuzz/fuzz_input.h"

#include <cmath>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = locbench::fuzz::input_file(data, size, ".json");
  try {
    for (const auto& [name, benchmark] : locbench::check::read_benchmark_json(path))
      for (double ns : benchmark.samples)
        if (std::isnan(ns)) std::abort();
  } catch (const locbench::check::CheckError&) {
  }
  return 0;
}
