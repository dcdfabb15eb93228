// JSON from files a user hands us (suites, safetensors headers, Google Benchmark output): parsed with bounded
// nesting and no duplicate keys, and quoted in messages without re-serialising a whole value. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace locbench {

// Malformed or hostile JSON. The message starts with the path, then says where ("at byte 12", "in models[2]").
class JsonInputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct JsonLimits {
  // Containers nested deeper than this are refused: a recursive dump, copy or comparison of a deeper value
  // would overflow the stack. Every locbench file nests fewer than 10 levels.
  int max_depth = 64;
};

// Parses `text` (named `path` in messages) without recursion. Refuses nesting beyond limits.max_depth, a key
// given twice in one object (nlohmann keeps the last silently), numbers outside double's range (1e400), a NUL byte
// (nlohmann would stop reading there), a NUL character (\u0000) in a string or key, and any syntax error, each as a one-line JsonInputError.
nlohmann::json parse_untrusted_json(std::string_view text, const std::string& path, JsonLimits limits = {});

// A JSON value for a message: compact, at most about `max_chars` characters ("[1,2,3,..."), always one line.
std::string json_excerpt(const nlohmann::json& value, size_t max_chars = 60);

}  // namespace locbench
