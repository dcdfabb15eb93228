// Paper-style tables and plots from the results database. Reads only the store (and the published
// numbers file); measures nothing. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace locbench::report {

struct ReportOptions {
  std::string db = "results/bench.db";
  std::optional<int64_t> run;         // a run id; wins over `suite`
  std::optional<std::string> suite;   // the newest run of this suite; neither: the newest run of all
  std::string format = "md";          // md, csv, latex, html, json (svg: the default plot, see PlotOptions)
  // A model (row label) of the run: other rows show their difference to it and its p-value. Unset: the suite's
  // settings.baseline, if any; empty: none.
  std::optional<std::string> baseline;
  // Papers' own numbers (results/published.json). Shown as "<model> (published)" rows under every
  // model that has any, unless `published` is empty. A missing file at the default path is skipped;
  // a missing file named explicitly is an error.
  std::string published = "results/published.json";
  std::string out;  // a file to write instead of the stream
  // The view (report/table.h select_columns): metric names in the order shown ("top1,latency,params"; empty: the
  // main table), and `detail`: every measured column, timings with their quartiles.
  std::vector<std::string> metrics;
  bool detail = false;
  // LaTeX: the tabular scaled down to \linewidth when it is wider (\resizebox; needs graphicx), never up.
  bool latex_fit = false;
};

// Writes the table of one run to `out` (or the file options.out). Returns 0; after writing a one-line message to
// `err`, 2 when an option names nothing there (database, run, suite, baseline, format) or an input file is unusable,
// 1 for any other failure.
int run_report(const ReportOptions& options, std::ostream& out, std::ostream& err);

struct PlotOptions {
  std::string db = "results/bench.db";
  std::optional<int64_t> run;
  std::optional<std::string> suite;
  // Axis selectors: a metric name (`macs`, `latency`, `top1`, `miou`, ...), optionally narrowed by
  // dataset and settings: `miou@ade20k`, `latency:batch_size=1`. When `x` names a setting instead of
  // a metric (`batch_size`, `resolution`), each model becomes a line of `y` against that setting.
  std::string x = "macs";
  std::string y = "top1";
  std::string out;
};

// Writes a standalone SVG: a labelled scatter (one point per model, mean over seeds) or lines. Returns as
// run_report. Points whose value is not finite are left out, each with a note on `err`.
int run_plot(const PlotOptions& options, std::ostream& out, std::ostream& err);

}  // namespace locbench::report
