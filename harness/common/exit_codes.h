// bench's exit codes (README, "Errors, exit codes and hostile input"): 0 done, 1 a run failed, 2 the command line or
// an input is unusable and nothing was run (130: interrupted). Bad input is an std::invalid_argument: suites,
// untrusted JSON, unreadable input files, safetensors, images, benchmark files and bad options all throw one.
#pragma once

#include <exception>
#include <stdexcept>

namespace locbench {

constexpr int kRunFailure = 1;
constexpr int kUsageError = 2;

inline int exit_code_of(const std::exception& e) {
  return dynamic_cast<const std::invalid_argument*>(&e) ? kUsageError : kRunFailure;
}

}  // namespace locbench
