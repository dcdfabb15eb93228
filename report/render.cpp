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

std::string fixed(double v, int decimals, bool with_sign = false) {
  char text[64];
  std::snprintf(text, sizeof text, with_sign ? "%+.*f" : "%.*f", decimals, v);
  return text;
}

// Every user-supplied string goes through here: the one escaping function of each format (escape.h).
std::string escape(const std::string& text, Format f) {
  switch (f) {
    case Format::md: return markdown_text(text);
    case Format::csv: return csv_field(text);
    case Format::latex: {
      // "±" and "†" in labels or notes are not in every LaTeX font; they become math symbols.
      std::string out = latex_text(text);
      for (size_t at; (at = out.find("±")) != std::string::npos;) out.replace(at, std::string("±").size(), "$\\pm$");
      for (size_t at; (at = out.find("†")) != std::string::npos;)
        out.replace(at, std::string("†").size(), "$^\\dagger$");
      // "--" would typeset as an en dash ("--detail" as "–detail").
      for (size_t at = 0; (at = out.find("--", at)) != std::string::npos; at += 3) out.replace(at, 2, "-{}-");
      return out;
    }
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

std::string pvalue_text(double p, Format f) {
  if (std::isnan(p)) return "n/a";
  char text[32];
  if (p < 0.001) std::snprintf(text, sizeof text, f == Format::latex ? "$p<0.001$" : f == Format::html ? "p&lt;0.001" : "p<0.001");
  else std::snprintf(text, sizeof text, f == Format::latex ? "$p=%.3f$" : "p=%.3f", p);
  return text;
}

// `quartiles`: a timing reads "median [q1, q3]", else its median alone. The best entry of a column is bold in LaTeX
// and HTML; a published row's entries are italic in LaTeX (HTML styles its row).
// `seeds`: every entry over seeds has that many (the legend says so), so none repeats "(n=k)".
std::string entry_text(const Entry& e, const Column& c, Format f, bool quartiles, int seeds, bool published = false) {
  std::string text;
  auto fixed2 = [&](double v, bool with_sign = false) { return fixed(v, c.decimals, with_sign); };
  const std::string pm = f == Format::latex ? " $\\pm$ " : " ± ";
  if (e.values.empty()) {
    text = e.failed ? "failed" : (f == Format::latex ? "--" : f == Format::csv ? "" : "–");
  } else if (!std::isfinite(e.mean())) {
    text = std::isnan(e.mean()) ? "NaN" : e.mean() > 0 ? "inf" : "-inf";  // the footnote says why
  } else if (e.values.size() > 1) {
    const stats::Summary s = e.summary();
    text = fixed2(s.mean) + pm + fixed2((s.ci_high - s.ci_low) / 2);
    if (!seeds) text += " (n=" + std::to_string(s.n) + ")";
  } else if (const auto spread = e.spread(); spread && quartiles) {
    text = fixed2(e.values[0]) + " [" + fixed2(spread->q1) + ", " + fixed2(spread->q3) + "]";
  } else {
    text = fixed2(e.values[0]);
  }
  if (e.best && f == Format::latex) text = "\\textbf{" + text + "}";
  if (e.best && f == Format::html) text = "<strong>" + text + "</strong>";
  if (published && f == Format::latex && !e.values.empty()) text = "\\textit{" + text + "}";
  if (e.noisy) text += f == Format::latex ? "$^\\dagger$" : f == Format::html ? "&dagger;" : "†";
  if (e.vs_baseline) {
    const Comparison& d = *e.vs_baseline;
    // LaTeX, a paper's table: the difference and its mark; the p-value is in the CSV and JSON.
    text += " (" + fixed2(d.difference, true) + (d.significant ? "*" : "") +
            (f == Format::latex ? "" : ", " + pvalue_text(d.p, f)) + ")";
  }
  return text + marks(e.notes, f);
}

// A published row sits under its source's header, so it reads as the model alone (CSV and JSON keep the flag).
std::string row_label(const Row& row, Format f) {
  if (row.published && f == Format::latex) return "\\textit{" + escape(row.model, f) + "}" + marks(row.notes, f);
  return escape(row.published ? row.model : row.label(), f) + marks(row.notes, f);
}

// Whether row r opens a group of published rows (the first of its source).
bool opens_source(const Table& t, size_t r) {
  const Row& row = t.rows[r];
  return row.published && (r == 0 || !t.rows[r - 1].published || t.rows[r - 1].source != row.source);
}

// The header of a source's group: its short title; the footnote cites it in full.
std::string source_header(const Row& row, Format f) {
  return escape("Published: " + row.source_title(), f) + marks({row.source_note}, f);
}

std::string column_header(const Table& t, const Column& c, Format f) {
  bool prefix = t.group_by_dataset && !c.dataset.empty() && (f == Format::md || f == Format::csv);
  return escape((prefix ? dataset_label(c.dataset) + " " : "") + c.header(), f);
}

// Footnotes ("[k] " and the escaped text) and legend lines, escaped for the format.
std::vector<std::string> notes_text(const Table& t, Format f) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < t.footnotes.size(); ++i)
    lines.push_back("[" + std::to_string(i + 1) + "] " + escape(t.footnotes[i], f));
  for (size_t i = 0; i < t.legend.size(); ++i)
    lines.push_back(escape(f == Format::latex && t.baseline_legend == i ? t.baseline_legend_compact : t.legend[i], f));
  return lines;
}

std::string render_markdown(const Table& t) {
  std::ostringstream s;
  for (size_t i = 0; i < t.provenance.size(); ++i)
    s << (i == 0 ? "**" : "") << escape(t.provenance[i], Format::md) << (i == 0 ? "**" : "") << "  \n";
  s << "\n| Model |";
  for (const auto& c : t.columns) s << " " << column_header(t, c, Format::md) << " |";
  s << "\n|:---|";
  for (size_t i = 0; i < t.columns.size(); ++i) s << "---:|";
  s << "\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const Row& row = t.rows[r];
    if (opens_source(t, r)) {
      s << "| *" << source_header(row, Format::md) << "* |";
      for (size_t i = 0; i < t.columns.size(); ++i) s << " |";
      s << "\n";
    }
    s << "| " << row_label(row, Format::md) << " |";
    for (size_t i = 0; i < row.entries.size(); ++i)
      s << " " << entry_text(row.entries[i], t.columns[i], Format::md, t.quartiles, t.seeds) << " |";
    s << "\n";
  }
  auto notes = notes_text(t, Format::md);
  if (!notes.empty()) s << "\n";
  for (const auto& line : notes) s << line << "  \n";
  return s.str();
}

json number_or_null(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  char text[40];
  std::snprintf(text, sizeof text, "%.10g", v);
  return text;
}

// Tidy CSV: one line per (row, column) with every statistic as its own number, for pandas and spreadsheets.
std::string render_csv(const Table& t) {
  std::ostringstream s;
  s << "model,published,column,metric,dataset,unit,convention,settings,n,mean,std,ci_low,ci_high,median,q1,q3,"
       "repetitions,noisy,failed,delta,delta_ci_low,delta_ci_high,p,test,significant,notes\n";
  for (const auto& row : t.rows) {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const Column& c = t.columns[i];
      const Entry& e = row.entries[i];
      if (e.empty()) continue;
      const stats::Summary sum = e.summary();
      const auto spread = e.spread();
      std::string notes;
      for (int n : e.notes) notes += (notes.empty() ? "" : " ") + std::to_string(n);
      for (int n : row.notes) notes += (notes.empty() ? "" : " ") + std::to_string(n);
      const Comparison* cmp = e.vs_baseline ? &*e.vs_baseline : nullptr;
      s << escape(row.model, Format::csv) << "," << (row.published ? 1 : 0) << "," << escape(c.header(), Format::csv)
        << "," << escape(c.metric, Format::csv) << "," << escape(c.dataset, Format::csv) << ","
        << escape(c.unit, Format::csv) << "," << escape(c.convention, Format::csv) << ","
        << escape(c.settings.dump(), Format::csv) << "," << sum.n << "," << csv_number(e.values.empty() ? NAN : sum.mean)
        << "," << csv_number(sum.std) << "," << csv_number(sum.ci_low) << "," << csv_number(sum.ci_high) << ","
        << csv_number(spread ? spread->median : NAN) << "," << csv_number(spread ? spread->q1 : NAN) << ","
        << csv_number(spread ? spread->q3 : NAN) << "," << e.samples.size() << "," << (e.noisy ? 1 : 0) << ","
        << (e.failed ? 1 : 0) << "," << csv_number(cmp ? cmp->difference : NAN) << ","
        << csv_number(cmp ? cmp->ci_low : NAN) << "," << csv_number(cmp ? cmp->ci_high : NAN) << ","
        << csv_number(cmp ? cmp->p : NAN) << "," << (cmp ? cmp->test : "") << "," << (cmp && cmp->significant ? 1 : 0)
        << "," << notes << "\n";
    }
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

// A fragment for a table float: booktabs rules, the header's names over their units, right-aligned numbers with two
// decimals (so they align on the point), the notes as a ragged paragraph under the tabular at \linewidth, never as
// table rows that would widen it.
std::string render_latex(const Table& t, bool fit) {
  std::ostringstream s;
  for (const auto& line : t.provenance) s << "% " << escape(line, Format::latex) << "\n";
  s << "% requires \\usepackage{booktabs}\n";
  if (fit) s << "% and \\usepackage{graphicx} (the tabular is scaled down to \\linewidth when wider)\n";
  s << "\\begingroup\\small\\setlength{\\tabcolsep}{4pt}\n";
  if (fit) s << "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n";
  s << "\\begin{tabular}{@{}l" << std::string(t.columns.size(), 'r') << "@{}}\n\\toprule\n";
  if (t.group_by_dataset) {
    std::string rules;
    for (const auto& [a, b] : dataset_spans(t)) {
      const std::string& d = t.columns[a].dataset;
      s << " & \\multicolumn{" << b - a + 1 << "}{c}{" << escape(dataset_label(d), Format::latex) << "}";
      if (!d.empty()) rules += "\\cmidrule(lr){" + std::to_string(a + 2) + "-" + std::to_string(b + 2) + "}";
    }
    s << " \\\\\n" << (rules.empty() ? "" : rules + "\n");
  }
  bool any_detail = false;
  for (const auto& c : t.columns) any_detail |= !c.detail.empty();
  s << "Model";
  for (const auto& c : t.columns) s << " & " << escape(c.name, Format::latex);
  s << " \\\\\n";
  if (any_detail) {
    for (const auto& c : t.columns) s << " & " << (c.detail.empty() ? "" : "(" + escape(c.detail, Format::latex) + ")");
    s << " \\\\\n";
  }
  s << "\\midrule\n";
  bool any_source = false;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const Row& row = t.rows[r];
    if (opens_source(t, r)) {
      // A zero-width box: a long title never widens the table.
      s << (any_source ? "\\addlinespace\n" : "\\midrule\n") << "\\multicolumn{" << t.columns.size() + 1
        << "}{@{}l}{\\makebox[0pt][l]{\\textit{" << source_header(row, Format::latex) << "}}} \\\\\n";
      any_source = true;
    }
    s << row_label(row, Format::latex);
    for (size_t i = 0; i < row.entries.size(); ++i)
      s << " & " << entry_text(row.entries[i], t.columns[i], Format::latex, t.quartiles, t.seeds, row.published);
    s << " \\\\\n";
  }
  s << "\\bottomrule\n\\end{tabular}" << (fit ? "}" : "") << "\n";
  const auto notes = notes_text(t, Format::latex);
  if (!notes.empty()) {
    s << "\\par\\smallskip\n{\\footnotesize\\raggedright\n";
    for (std::string line : notes) {
      // Paths and URLs may break after a slash.
      for (size_t at = 0; (at = line.find('/', at)) != std::string::npos; at += 13) line.insert(at + 1, "\\allowbreak{}");
      s << line << "\\par\n";
    }
    s << "}\n";
  }
  s << "\\endgroup\n";
  return s.str();
}

// Sorts the measured models by a clicked (or Enter-pressed) column header, ascending then descending, by the
// entry's number (data-value), entries without one last; the model column sorts by name. The published groups stay
// under them in their order. Inline: the page needs no network resource.
constexpr const char* kSortScript = R"(<script>
(function () {
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      function key(body) {
        var cell = body.rows[0].cells[col], v = cell.getAttribute("data-value");
        return col === 0 ? cell.textContent : v === null ? null : parseFloat(v);
      }
      function sort() {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var all = Array.prototype.slice.call(table.tBodies);
        var bodies = all.filter(function (b) { return b.className !== "published"; });
        bodies.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
          var d = typeof x === "string" ? x.localeCompare(y) : x - y;
          return up ? d : -d;
        });
        bodies.concat(all.filter(function (b) { return b.className === "published"; }))
            .forEach(function (body) { table.appendChild(body); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
})();
</script>
)";

// The number a column sorts by: the mean over seeds (a timing's median when it has one value), none when there is
// no finite value.
std::string sort_value(const Entry& e) {
  if (e.values.empty() || !std::isfinite(e.mean())) return "";
  char text[40];
  std::snprintf(text, sizeof text, "%.10g", e.mean());
  return std::string(" data-value=\"") + text + "\"";
}

// A standalone page: the table scrolls inside its own container, so a wide one never widens the page; columns sort
// on a click.
std::string render_html(const Table& t) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>locbench run " << t.run.id
    << "</title>\n<style>\n"
       "body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }\n"
       ".table-scroll { overflow-x: auto; max-width: 100%; }\n"
       "table { border-collapse: collapse; font-variant-numeric: tabular-nums; border-bottom: 2px solid #222; }\n"
       "thead tr:first-child th { border-top: 2px solid #222; }\n"
       "thead tr:last-child th { border-bottom: 1px solid #222; cursor: pointer; }\n"
       "thead th[aria-sort=ascending]::after { content: \" \\25B2\"; }\n"
       "thead th[aria-sort=descending]::after { content: \" \\25BC\"; }\n"
       "th, td { padding: 0.3em 0.8em; text-align: right; white-space: nowrap; }\n"
       "th:first-child, td:first-child { text-align: left; }\n"
       "tr.published td { color: #666; font-style: italic; }\n"
       "tr.source th { text-align: left; font-weight: normal; font-style: italic; padding-top: 0.8em; }\n"
       ".notes { font-size: 0.85em; color: #444; max-width: 60em; }\n"
       "</style>\n</head>\n<body>\n";
  for (const auto& line : t.provenance) s << "<p class=\"provenance\">" << escape(line, Format::html) << "</p>\n";
  s << "<div class=\"table-scroll\">\n<table class=\"sortable\">\n<thead>\n";
  if (t.group_by_dataset) {
    s << "<tr><th></th>";
    for (const auto& [a, b] : dataset_spans(t))
      s << "<th colspan=\"" << b - a + 1 << "\">" << escape(dataset_label(t.columns[a].dataset), Format::html)
        << "</th>";
    s << "</tr>\n";
  }
  s << "<tr><th>Model</th>";
  for (const auto& c : t.columns) s << "<th>" << column_header(t, c, Format::html) << "</th>";
  s << "</tr>\n</thead>\n";
  // One tbody per measured model (they sort) and one per source of published numbers (they stay below).
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const Row& row = t.rows[r];
    if (r == 0 || !row.published || opens_source(t, r))
      s << (r == 0 ? "" : "</tbody>\n") << (opens_source(t, r) ? "<tbody class=\"published\">\n" : "<tbody>\n");
    if (opens_source(t, r))
      s << "<tr class=\"source\"><th colspan=\"" << t.columns.size() + 1 << "\">" << source_header(row, Format::html)
        << "</th></tr>\n";
    s << (row.published ? "<tr class=\"published\">" : "<tr>") << "<td>" << row_label(row, Format::html)
      << "</td>";
    for (size_t i = 0; i < row.entries.size(); ++i)
      s << "<td" << sort_value(row.entries[i]) << ">"
        << entry_text(row.entries[i], t.columns[i], Format::html, t.quartiles, t.seeds) << "</td>";
    s << "</tr>\n";
  }
  if (!t.rows.empty()) s << "</tbody>\n";
  s << "</table>\n</div>\n";
  auto notes = notes_text(t, Format::html);
  if (!notes.empty()) {
    s << "<div class=\"notes\">\n";
    for (const auto& line : notes) s << "<p>" << line << "</p>\n";
    s << "</div>\n";
  }
  s << kSortScript << "</body>\n</html>\n";
  return s.str();
}

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
                {"seeds", r.info.seeds},
                {"cpu_name", r.info.cpu_name},
                {"threads", r.info.threads}};
  doc["provenance"] = t.provenance_json;
  doc["provenance_lines"] = t.provenance;
  doc["baseline"] = t.baseline ? json(*t.baseline) : json(nullptr);
  doc["columns"] = json::array();
  for (const auto& c : t.columns)
    doc["columns"].push_back({{"label", c.label},
                              {"header", c.header()},
                              {"better", c.better},
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
      const stats::Summary sum = e.summary();
      json entry = {{"values", e.values}, {"n", e.values.size()}, {"failed", e.failed}, {"notes", e.notes},
                    {"best", e.best}};
      entry["mean"] = e.values.empty() ? json(nullptr) : number_or_null(sum.mean);
      entry["std"] = number_or_null(sum.std);
      entry["ci_low"] = number_or_null(sum.ci_low);
      entry["ci_high"] = number_or_null(sum.ci_high);
      const auto spread = e.spread();
      entry["repetitions"] = e.samples.size();
      entry["median"] = spread ? number_or_null(spread->median) : json(nullptr);
      entry["q1"] = spread ? number_or_null(spread->q1) : json(nullptr);
      entry["q3"] = spread ? number_or_null(spread->q3) : json(nullptr);
      entry["noisy"] = e.noisy;
      if (e.vs_baseline) {
        const Comparison& c = *e.vs_baseline;
        entry["delta"] = number_or_null(c.difference);
        entry["delta_ci_low"] = number_or_null(c.ci_low);
        entry["delta_ci_high"] = number_or_null(c.ci_high);
        entry["p"] = number_or_null(c.p);
        entry["test"] = c.test.empty() ? json(nullptr) : json(c.test);
        entry["significant"] = c.significant;
      } else {
        entry["delta"] = nullptr;
      }
      entries.push_back(entry);
    }
    doc["rows"].push_back({{"model", row.model},
                           {"registry", row.registry},
                           {"published", row.published},
                           {"source", row.published ? json(row.source) : json(nullptr)},
                           {"notes", row.notes},
                           {"entries", entries}});
  }
  doc["footnotes"] = t.footnotes;
  doc["legend"] = t.legend;
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";  // invalid UTF-8 becomes U+FFFD
}

}  // namespace

std::string render(const Table& table, const std::string& format, bool latex_fit) {
  if (format == "md") return render_markdown(table);
  if (format == "csv") return render_csv(table);
  if (format == "latex") return render_latex(table, latex_fit);
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
    // The data formats carry every column unless --metrics chooses; the typeset ones show the chosen view.
    const bool data = options.format == "csv" || options.format == "json";
    select_columns(table, options.metrics, options.detail || data);
    bool named = options.published != ReportOptions{}.published;
    if (!options.published.empty() && (named || std::filesystem::exists(options.published)))
      add_published(table, load_published(options.published));
    // The suite's settings.baseline unless --baseline names another (or none, with an empty name).
    std::optional<std::string> baseline = options.baseline;
    if (!baseline) {
      const json suite = json::parse(table.run.info.suite_json.empty() ? "{}" : table.run.info.suite_json, nullptr, false);
      if (suite.is_object() && suite.contains("settings") && suite["settings"].is_object() &&
          suite["settings"].contains("baseline") && suite["settings"]["baseline"].is_string())
        baseline = suite["settings"]["baseline"].get<std::string>();
    }
    if (baseline && !baseline->empty()) apply_baseline(table, *baseline);
    write_output(render(table, options.format, options.latex_fit), options.out, out);
    return 0;
  } catch (const std::exception& e) {
    err << one_line(e.what(), 400) << "\n";
    // A choice that names nothing in the database (run, suite, model, format, axis) or an unreadable input: 2.
    return exit_code_of(e);
  }
}

}  // namespace locbench::report
