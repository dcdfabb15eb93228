// Renders the table model as Markdown, CSV, LaTeX (booktabs), HTML or JSON, and runs `bench report`.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/common/files.h"
#include "harness/common/exit_codes.h"
#include "harness/common/text.h"
#include "report/escape.h"
#include "report/render.h"
#include "report/report.h"

namespace locbench::report {
namespace {

using nlohmann::json;

enum class Format { md, csv, latex, html };

std::string fixed2(double v, bool with_sign = false) {
  char text[64];
  std::snprintf(text, sizeof text, with_sign ? "%+.2f" : "%.2f", v);
  return text;
}

// Every user-supplied string goes through here: the one escaping function of each format (escape.h).
std::string escape(const std::string& text, Format f) {
  switch (f) {
    case Format::md: return markdown_text(text);
    case Format::csv: return csv_field(text);
    case Format::latex: return latex_text(text);
    case Format::html: return html_text(text);
  }
  return text;
}

std::string marks(const std::vector<int>& notes, Format f) {
  if (notes.empty()) return "";
  std::string list;
  for (int n : notes) list += (list.empty() ? "" : ",") + std::to_string(n);
  if (f == Format::latex) return "\\textsuperscript{" + list + "}";
  if (f == Format::html) return "<sup>" + list + "</sup>";
  return " [" + list + "]";
}

std::string entry_text(const Entry& e, Format f) {
  std::string text;
  if (e.values.empty()) {
    text = e.failed ? "failed" : (f == Format::latex ? "--" : f == Format::csv ? "" : "–");
  } else if (!std::isfinite(e.mean())) {
    text = std::isnan(e.mean()) ? "NaN" : e.mean() > 0 ? "inf" : "-inf";  // the footnote says why
  } else {
    text = fixed2(e.mean());
    size_t n = e.values.size();
    if (n > 1) text += (f == Format::latex ? " $\\pm$ " : " ± ") + fixed2(e.stddev());
    if (n > 1 && n < 3) text += " (n=" + std::to_string(n) + ")";
    if (e.delta) text += " (" + fixed2(*e.delta, true) + ")";
  }
  return text + marks(e.notes, f);
}

std::string row_label(const Row& row, Format f) { return escape(row.label(), f) + marks(row.notes, f); }

std::string column_header(const Table& t, const Column& c, Format f) {
  bool prefix = t.group_by_dataset && !c.dataset.empty() && (f == Format::md || f == Format::csv);
  return escape((prefix ? dataset_label(c.dataset) + " " : "") + c.label, f);
}

std::string provenance(const Table& t) {
  const auto& r = t.run;
  std::string text = "locbench run " + std::to_string(r.id) + ", suite " + r.info.suite_name + ", " + r.status +
                     ", started " + r.started_at;
  auto add = [&](const std::string& name, const std::string& value) {
    if (!value.empty()) text += ", " + name + " " + value;
  };
  add("host", r.info.host), add("GPU", r.info.gpu_name), add("driver", r.info.driver_version);
  add("CUDA", r.info.cuda_version), add("LibTorch", r.info.libtorch_version), add("commit", r.info.git_commit);
  return text;
}

// Footnotes ("[k] " and the escaped text) and legend lines, escaped for the format.
std::vector<std::string> notes_text(const Table& t, Format f) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < t.footnotes.size(); ++i)
    lines.push_back("[" + std::to_string(i + 1) + "] " + escape(t.footnotes[i], f));
  for (const auto& l : t.legend) lines.push_back(escape(l, f));
  return lines;
}

std::string render_markdown(const Table& t) {
  std::ostringstream s;
  s << "**" << escape(provenance(t), Format::md) << "**\n\n| Model |";
  for (const auto& c : t.columns) s << " " << column_header(t, c, Format::md) << " |";
  s << "\n|:---|";
  for (size_t i = 0; i < t.columns.size(); ++i) s << "---:|";
  s << "\n";
  for (const auto& row : t.rows) {
    s << "| " << row_label(row, Format::md) << " |";
    for (const auto& e : row.entries) s << " " << entry_text(e, Format::md) << " |";
    s << "\n";
  }
  auto notes = notes_text(t, Format::md);
  if (!notes.empty()) s << "\n";
  for (const auto& line : notes) s << line << "  \n";
  return s.str();
}

std::string render_csv(const Table& t) {
  std::ostringstream s;
  s << "Model";
  for (const auto& c : t.columns) s << "," << column_header(t, c, Format::csv);
  s << "\n";
  for (const auto& row : t.rows) {
    s << escape(row.label() + marks(row.notes, Format::csv), Format::csv);
    for (const auto& e : row.entries) s << "," << escape(entry_text(e, Format::csv), Format::csv);
    s << "\n";
  }
  return s.str();
}

// Runs of adjacent columns with the same dataset: [first, last] index pairs.
std::vector<std::pair<size_t, size_t>> dataset_spans(const Table& t) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (!spans.empty() && t.columns[spans.back().first].dataset == t.columns[i].dataset)
      spans.back().second = i;
    else
      spans.push_back({i, i});
  }
  return spans;
}

std::string render_latex(const Table& t) {
  std::ostringstream s;
  size_t width = t.columns.size() + 1;
  s << "% " << escape(provenance(t), Format::latex) << "\n% requires \\usepackage{booktabs}\n";
  s << "\\begin{tabular}{l" << std::string(t.columns.size(), 'r') << "}\n\\toprule\n";
  if (t.group_by_dataset) {
    std::string rules;
    for (const auto& [a, b] : dataset_spans(t)) {
      const std::string& d = t.columns[a].dataset;
      s << " & \\multicolumn{" << b - a + 1 << "}{c}{" << escape(dataset_label(d), Format::latex) << "}";
      if (!d.empty()) rules += "\\cmidrule(lr){" + std::to_string(a + 2) + "-" + std::to_string(b + 2) + "}";
    }
    s << " \\\\\n" << (rules.empty() ? "" : rules + "\n");
  }
  s << "Model";
  for (const auto& c : t.columns) s << " & " << column_header(t, c, Format::latex);
  s << " \\\\\n\\midrule\n";
  for (const auto& row : t.rows) {
    s << row_label(row, Format::latex);
    for (const auto& e : row.entries) s << " & " << entry_text(e, Format::latex);
    s << " \\\\\n";
  }
  s << "\\bottomrule\n";
  for (const auto& line : notes_text(t, Format::latex))
    s << "\\multicolumn{" << width << "}{l}{\\footnotesize " << line << "} \\\\\n";
  s << "\\end{tabular}\n";
  return s.str();
}

std::string render_html(const Table& t) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>locbench run " << t.run.id
    << "</title>\n<style>\n"
       "body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }\n"
       "table { border-collapse: collapse; font-variant-numeric: tabular-nums; }\n"
       "thead tr:first-child th { border-top: 2px solid #222; }\n"
       "thead tr:last-child th { border-bottom: 1px solid #222; }\n"
       "tbody tr:last-child td { border-bottom: 2px solid #222; }\n"
       "th, td { padding: 0.3em 0.8em; text-align: right; }\n"
       "th:first-child, td:first-child { text-align: left; }\n"
       "tr.published td { color: #666; font-style: italic; }\n"
       ".notes { font-size: 0.85em; color: #444; }\n"
       "</style>\n</head>\n<body>\n";
  s << "<p>" << escape(provenance(t), Format::html) << "</p>\n<table>\n<thead>\n";
  if (t.group_by_dataset) {
    s << "<tr><th></th>";
    for (const auto& [a, b] : dataset_spans(t))
      s << "<th colspan=\"" << b - a + 1 << "\">" << escape(dataset_label(t.columns[a].dataset), Format::html)
        << "</th>";
    s << "</tr>\n";
  }
  s << "<tr><th>Model</th>";
  for (const auto& c : t.columns) s << "<th>" << column_header(t, c, Format::html) << "</th>";
  s << "</tr>\n</thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    s << (row.published ? "<tr class=\"published\">" : "<tr>") << "<td>" << row_label(row, Format::html)
      << "</td>";
    for (const auto& e : row.entries) s << "<td>" << entry_text(e, Format::html) << "</td>";
    s << "</tr>\n";
  }
  s << "</tbody>\n</table>\n";
  auto notes = notes_text(t, Format::html);
  if (!notes.empty()) {
    s << "<div class=\"notes\">\n";
    for (const auto& line : notes) s << "<p>" << line << "</p>\n";
    s << "</div>\n";
  }
  s << "</body>\n</html>\n";
  return s.str();
}

json number_or_null(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

std::string render_json(const Table& t) {
  const auto& r = t.run;
  json doc;
  doc["run"] = {{"id", r.id},
                {"suite_name", r.info.suite_name},
                {"suite_hash", r.info.suite_hash},
                {"status", r.status},
                {"started_at", r.started_at},
                {"ended_at", r.ended_at},
                {"git_commit", r.info.git_commit},
                {"host", r.info.host},
                {"gpu_name", r.info.gpu_name},
                {"driver_version", r.info.driver_version},
                {"cuda_version", r.info.cuda_version},
                {"libtorch_version", r.info.libtorch_version},
                {"seeds", r.info.seeds}};
  doc["baseline"] = t.baseline ? json(*t.baseline) : json(nullptr);
  doc["columns"] = json::array();
  for (const auto& c : t.columns)
    doc["columns"].push_back({{"label", c.label},
                              {"metric", c.metric},
                              {"measurement", c.measurement},
                              {"dataset", c.dataset},
                              {"unit", c.unit},
                              {"convention", c.convention},
                              {"settings", c.settings}});
  doc["rows"] = json::array();
  for (const auto& row : t.rows) {
    json entries = json::array();
    for (const auto& e : row.entries) {
      if (e.empty()) {
        entries.push_back(nullptr);
        continue;
      }
      json entry = {{"values", e.values}, {"n", e.values.size()}, {"failed", e.failed}, {"notes", e.notes}};
      entry["mean"] = e.values.empty() ? json(nullptr) : number_or_null(e.mean());
      entry["std"] = e.values.size() > 1 ? json(e.stddev()) : json(nullptr);
      entry["delta"] = e.delta ? json(*e.delta) : json(nullptr);
      entries.push_back(entry);
    }
    doc["rows"].push_back({{"model", row.model}, {"published", row.published}, {"notes", row.notes}, {"entries", entries}});
  }
  doc["footnotes"] = t.footnotes;
  doc["legend"] = t.legend;
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";  // invalid UTF-8 becomes U+FFFD
}

}  // namespace

std::string render(const Table& table, const std::string& format) {
  if (format == "md") return render_markdown(table);
  if (format == "csv") return render_csv(table);
  if (format == "latex") return render_latex(table);
  if (format == "html") return render_html(table);
  if (format == "json") return render_json(table);
  throw std::invalid_argument("unknown report format '" + format + "' (md, csv, latex, html, json, svg)");
}

store::Run select_run(const store::Store& store, const std::optional<int64_t>& run,
                      const std::optional<std::string>& suite) {
  std::optional<int64_t> id = run;
  if (!id && suite) {
    id = store.last_run(*suite);
    if (!id) throw std::invalid_argument(store.path() + " has no run of suite '" + *suite + "'");
  }
  if (!id) id = store.latest_run();
  if (!id) throw std::invalid_argument(store.path() + " has no runs yet; run `bench run SUITE` first");
  auto found = store.run(*id);
  if (!found) throw std::invalid_argument(store.path() + " has no run " + std::to_string(*id));
  return *found;
}

Table load_table(const std::string& db, const std::optional<int64_t>& run, const std::optional<std::string>& suite) {
  if (!std::filesystem::exists(db))
    throw std::invalid_argument("no results database at " + db + "; run `bench run SUITE` first or pass --db");
  store::Store store(db, store::Store::Mode::read_only);  // reports never write, never migrate
  store::Run chosen = select_run(store, run, suite);
  return build_table(chosen, store.cells(chosen.id));
}

void write_output(const std::string& text, const std::string& path, std::ostream& out) {
  if (path.empty()) {
    out << text;
    return;
  }
  write_file_atomic(path, text);  // a full disk leaves the old file, never a truncated table
}

int run_report(const ReportOptions& options, std::ostream& out, std::ostream& err) {
  try {
    if (options.format == "svg") {
      PlotOptions plot{options.db, options.run, options.suite, "macs", "", options.out};
      return run_plot(plot, out, err);
    }
    Table table = load_table(options.db, options.run, options.suite);
    bool named = options.published != ReportOptions{}.published;
    if (!options.published.empty() && (named || std::filesystem::exists(options.published)))
      add_published(table, load_published(options.published));
    if (options.baseline) apply_baseline(table, *options.baseline);
    write_output(render(table, options.format), options.out, out);
    return 0;
  } catch (const std::exception& e) {
    err << one_line(e.what(), 400) << "\n";
    // A choice that names nothing in the database (run, suite, model, format, axis) or an unreadable input: 2.
    return exit_code_of(e);
  }
}

}  // namespace locbench::report
