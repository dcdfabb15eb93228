#include "harness/common/text.h"

namespace locbench {

size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = byte(0);
  const size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : (c & 0xF0) == 0xE0 ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(k) & 0xC0) != 0x80) return 0;
  if ((c == 0xE0 && byte(1) < 0xA0) || (c == 0xED && byte(1) >= 0xA0)) return 0;  // overlong, surrogate
  if ((c == 0xF0 && byte(1) < 0x90) || (c == 0xF4 && byte(1) >= 0x90)) return 0;  // overlong, above U+10FFFF
  return n;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence_length(text, i);
    if (n) out.append(text.substr(i, n));
    else out += "\xEF\xBF\xBD";  // U+FFFD
    i += n ? n : 1;
  }
  return out;
}

std::string one_line(std::string_view text, size_t max_chars) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    if (chars >= max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = utf8_sequence_length(text, i);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f || n == 0) out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else if (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0)  // C1 controls, U+0080..U+009F
      out += std::string("\\u00") + hex[static_cast<unsigned char>(text[i + 1]) >> 4] + hex[text[i + 1] & 15];
    else out.append(text.substr(i, n));
    i += n ? n : 1;
    ++chars;
  }
  return out;
}

}  // namespace locbench
