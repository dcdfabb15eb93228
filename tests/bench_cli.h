// The bench CLI run as a user runs it, for the end-to-end tests (LOCBENCH_BENCH_BIN is its path).
#pragma once

#include "tests/test_helpers.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace locbench::testing {

struct BenchResult {
  int code;
  std::string out, err;
};

// Runs `bench ARGS` in a shell (with `env` assignments before it); its exit code, stdout and stderr.
inline BenchResult bench(const std::string& args, const std::filesystem::path& dir, const std::string& env = "") {
  const auto out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = env + " " + std::string(LOCBENCH_BENCH_BIN) + " " + args + " >" + out.string() + " 2>" +
                          err.string();
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_bytes(out), read_bytes(err)};
}

}  // namespace locbench::testing
