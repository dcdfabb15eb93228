#include "harness/cli/cli_common.h"

#include "harness/common/text.h"
#include "harness/dist/dist.h"
#include "harness/model/registry.h"
#include "harness/suite/suite.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <stdexcept>

namespace locbench::cli {

namespace {
int g_exit_code = 0;
}

void set_exit_code(int code) {
  if (code != 0 && g_exit_code == 0) g_exit_code = code;
}

int exit_code() { return g_exit_code; }

void run_guarded(const char* command, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const suite::SuiteError& e) {
    std::cerr << e.what() << "\n";  // one line per problem, each naming the file and the field
    if (dist::world().distributed()) dist::world().fail_job(std::string("bench ") + command + ": invalid suite");
    set_exit_code(kUsageError);
  } catch (const dist::CommError& e) {
    dist::world().fail_job(std::string("bench ") + command + ": " + e.what(), /*comm_error=*/true);
  } catch (const std::bad_alloc&) {
    const std::string msg = std::string("bench ") + command +
                            ": out of memory (an input, a batch or an image size too large for this machine?)";
    if (dist::world().distributed()) dist::world().fail_job(msg);
    std::cerr << msg << "\n";
    set_exit_code(kRunFailure);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    // c10 errors carry a C++ backtrace after the first line; users need only the message.
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    if (dist::world().distributed()) dist::world().fail_job("bench " + std::string(command) + ": " + one_line(msg, 2000));
    std::cerr << "bench " << command << ": " << one_line(msg, 2000) << "\n";  // bounded, and one line
    set_exit_code(exit_code_of(e));
  }
}

namespace {

CLI::Validator number_check(double min, bool inclusive) {
  const std::string bound = CLI::detail::to_string(min);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v))
          return "expected a number, got '" + one_line(text, 40) + "'";
        if (inclusive ? v >= min : v > min) return "";
        return std::string("must be ") + (inclusive ? "at least " : "greater than ") + bound + ", got " +
               one_line(text, 40);
      },
      (inclusive ? ">=" : ">") + bound);
}

}  // namespace

CLI::Validator at_least(double min) { return number_check(min, true); }
CLI::Validator greater_than(double min) { return number_check(min, false); }

std::string options_digest(const CLI::App& command) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a of the options as CLI11 writes them
  for (const unsigned char c : command.config_to_str(true, false)) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::array<int64_t, 2> parse_img_size(const std::string& text) {
  const auto x = text.find('x');
  try {
    size_t used = 0;
    if (x == std::string::npos) {
      const int64_t s = std::stoll(text, &used);
      if (used != text.size() || s <= 0 || s > kMaxImageSide) throw std::invalid_argument("");
      return {s, s};
    }
    size_t used2 = 0;
    const int64_t h = std::stoll(text.substr(0, x), &used), w = std::stoll(text.substr(x + 1), &used2);
    if (used != x || used2 != text.size() - x - 1 || h <= 0 || w <= 0 || h > kMaxImageSide || w > kMaxImageSide)
      throw std::invalid_argument("");
    return {h, w};
  } catch (const std::exception&) {
    throw std::invalid_argument("--img-size: expected H or HxW with integers from 1 to " +
                                std::to_string(kMaxImageSide) + ", got '" + one_line(text, 40) + "'");
  }
}

const VariantInfo& lookup(const std::string& name) {
  const VariantInfo* info = Registry::instance().find(name);
  if (!info) throw std::invalid_argument(Registry::instance().unknown_message(name));
  return *info;
}

}  // namespace locbench::cli
