// Internal to report/: shared by the table renderers and the plots.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "report/table.h"

namespace locbench::report {

// The table of the chosen run: `run`, else the newest run of `suite`, else the newest run.
Table load_table(const std::string& db, const std::optional<int64_t>& run, const std::optional<std::string>& suite);

// md, csv, latex, html or json. `latex_fit`: the LaTeX tabular is scaled down to \linewidth when wider.
std::string render(const Table& table, const std::string& format, bool latex_fit = false);

// To the file `path`, or to `out` when `path` is empty.
void write_output(const std::string& text, const std::string& path, std::ostream& out);

}  // namespace locbench::report
