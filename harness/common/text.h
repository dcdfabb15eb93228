// User-supplied text in messages and reports: one line, valid UTF-8, bounded length. Torch-free.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace locbench {

// Bytes of the valid UTF-8 sequence at text[i] (1 to 4), or 0 when the bytes there are not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t utf8_sequence_length(std::string_view text, size_t i);

// `text` with every invalid UTF-8 byte replaced by U+FFFD, so XML, JSON and LaTeX writers get valid text.
std::string valid_utf8(std::string_view text);

// A user string for a message: control characters escaped (\n, \x1b, \u009b), invalid UTF-8 bytes shown as \xNN,
// cut after `max_chars` characters with "...", so an error stays one readable line.
std::string one_line(std::string_view text, size_t max_chars = 120);

}  // namespace locbench
