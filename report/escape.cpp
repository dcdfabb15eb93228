#include "report/escape.h"

#include "harness/common/text.h"

#include <cctype>
#include <cstdlib>

namespace locbench::report {

namespace {

// Valid UTF-8 with every control character (C0, DEL) as a space: the one-line text every format starts from.
std::string plain(std::string_view text) {
  std::string out = valid_utf8(text);
  for (char& ch : out)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  return out;
}

bool word_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || static_cast<unsigned char>(ch) >= 0x80; }

bool plain_number(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

}  // namespace

std::string markdown_text(std::string_view text) {
  const std::string s = plain(text);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    switch (ch) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '_': {
        // Inside a word (vit_tiny_patch16) an underscore never emphasises; at a word's edge it may.
        const bool inside = i > 0 && i + 1 < s.size() && word_char(s[i - 1]) && word_char(s[i + 1]);
        out += inside ? "_" : "\\_";
        break;
      }
      case '\\': case '|': case '*': case '`': case '[': case ']': case '~': case '$':
        out += '\\';
        out += ch;
        break;
      default: out += ch;
    }
  }
  return out;
}

std::string latex_text(std::string_view text) {
  const std::string s = plain(text);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    switch (ch) {
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        out += '\\';
        out += ch;
        break;
      case '\\': out += "\\textbackslash{}"; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '<': out += "\\textless{}"; break;
      case '>': out += "\\textgreater{}"; break;
      case '|': out += "\\textbar{}"; break;
      default:
        if (s.compare(i, 2, "\xC2\xB1") == 0) {  // ±
          out += "$\\pm$";
          ++i;
        } else if (s.compare(i, 3, "\xEF\xBF\xBD") == 0) {  // U+FFFD (an invalid byte): no LaTeX font has it
          out += '?';
          i += 2;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

std::string html_text(std::string_view text) {
  const std::string s = plain(text);
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string xml_text(std::string_view text) {
  std::string out = html_text(text);
  for (size_t at; (at = out.find("\xEF\xBF\xBE")) != std::string::npos || (at = out.find("\xEF\xBF\xBF")) != std::string::npos;)
    out.replace(at, 3, "\xEF\xBF\xBD");  // U+FFFE, U+FFFF are not XML characters
  return out;
}

std::string csv_field(std::string_view text) {
  std::string s = valid_utf8(text);
  for (char& ch : s)  // CR and LF are quoted below; other controls (ESC sequences) have no place in a table
    if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\r' && ch != '\n' && ch != '\t') || ch == 0x7f) ch = ' ';
  if (!s.empty() && std::string_view("=+-@\t\r").find(s[0]) != std::string_view::npos && !plain_number(s))
    s.insert(0, "'");
  const bool quote = s.find_first_of(",\"\r\n") != std::string::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!quote) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

}  // namespace locbench::report
