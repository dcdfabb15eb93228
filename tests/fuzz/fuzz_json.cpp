// The bounded JSON parser every untrusted file goes through, on arbitrary bytes: only JsonInputError may come out,
// and what it returns is within the depth bound and dumps (recursively) without trouble.
#include "harness/common/json_input.h"

#include <cstdint>
#include <cstdlib>

namespace {

int depth(const nlohmann::json& v) {
  int d = 0;
  if (v.is_structured())
    for (const auto& child : v) d = std::max(d, depth(child));
  return v.is_structured() ? d + 1 : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto v = locbench::parse_untrusted_json({reinterpret_cast<const char*>(data), size}, "fuzz.json");
    if (depth(v) > 64) std::abort();
    (void)v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    (void)locbench::json_excerpt(v);
  } catch (const locbench::JsonInputError& e) {
    const std::string msg = e.what();
    if (msg.rfind("fuzz.json: ", 0) != 0 || msg.find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
