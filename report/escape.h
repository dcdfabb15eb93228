// One escaping function per output format, applied to every string a user or a stored run supplies (model and
// suite names, labels, settings, error messages, provenance, footnotes). Each also makes the text valid UTF-8
// and one line, so no string can end a table row, a LaTeX comment or a CSV record.
#pragma once

#include <string>
#include <string_view>

namespace locbench::report {

// GitHub Markdown inside a table cell or a paragraph: \ | * _ ` [ ] ~ $ escaped, < > & as entities (no raw HTML).
std::string markdown_text(std::string_view text);
// LaTeX text mode (also safe inside a % comment): specials escaped or spelled (\textbackslash{}), "±" as $\pm$.
std::string latex_text(std::string_view text);
// HTML element content: & < > " ' as entities.
std::string html_text(std::string_view text);
// XML (SVG) content: as HTML, and characters XML 1.0 forbids (C0 controls, U+FFFE, U+FFFF) replaced.
std::string xml_text(std::string_view text);
// One CSV field (RFC 4180): quoted when it holds , " CR LF or edge spaces (other control characters become spaces);
// a text starting with = + - @ TAB CR that is not a plain number gets a leading ' so spreadsheets show it instead of
// evaluating it as a formula.
std::string csv_field(std::string_view text);

}  // namespace locbench::report
