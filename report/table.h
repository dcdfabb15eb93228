// The report's table model: columns (metric x dataset x distinguishing settings), rows (models and their published
// numbers), the statistics of every entry (seeds: mean and t-interval; timings: median and quartiles of the
// repetitions), the comparison with a baseline, footnotes and the provenance of the run. Built once from the store,
// then rendered in any format.
#pragma once

#include <nlohmann/json.hpp>
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "harness/stats/stats.h"
#include "harness/store/store.h"

namespace locbench::report {

struct Column {
  std::string metric, measurement, dataset, unit, convention;  // unit as shown (after scaling)
  nlohmann::json settings = nlohmann::json::object();          // what tells it from its siblings; never seed
  double scale = 1.0;                                          // stored value * scale = shown value
  std::string label;                                           // e.g. "Latency bs1 (ms, median)" (plots, JSON)
  // The table's header: the metric's name, then unit and distinguishing settings, e.g. "Latency (ms, bs 1)"; the
  // convention goes to a legend line, unless two shown columns would otherwise read the same.
  std::string name, detail;
  std::string header() const { return detail.empty() ? name : name + " (" + detail + ")"; }
  int decimals = 2;  // shown after the point (text formats; CSV and JSON carry every digit)
  int better = 0;  // +1: higher is better (accuracy, throughput), -1: lower (latency, memory, size), 0: neither
};

// An entry against the baseline's entry of the same column: the difference of means over seeds (Welch's t-test, with
// its 95% interval) or of medians over timed repetitions (Mann-Whitney U, no interval).
struct Comparison {
  double difference = 0;
  double ci_low = std::numeric_limits<double>::quiet_NaN(), ci_high = std::numeric_limits<double>::quiet_NaN();
  double p = std::numeric_limits<double>::quiet_NaN();  // NaN: not testable (fewer than 2 values a side, no spread)
  std::string test;  // "welch", "mann-whitney" or "" (not testable)
  bool significant = false;
};

// One (row, column) of the table: the values of every seed, the timed repetitions of a timing (one cell), footnote
// marks, the comparison with the baseline.
struct Entry {
  std::vector<double> values;   // one per seed (scaled)
  std::vector<double> samples;  // timings: every repetition of the metric (scaled); empty otherwise
  bool noisy = false;           // a timing whose IQR exceeds 10% of its median
  nlohmann::json provenance = nlohmann::json::object();  // of the entry's cells: img_size, num_classes, task, ...
  nlohmann::json settings = nlohmann::json::object();    // of the entry's cells (resolution, batch_size, ...)
  std::vector<int> notes;  // footnote numbers (failures, sources of published numbers)
  bool failed = false;
  bool best = false;  // the best finite mean of its column among the measured rows (ties: each), in bold
  std::optional<Comparison> vs_baseline;
  bool empty() const { return values.empty() && !failed; }
  double mean() const;
  double stddev() const;  // sample standard deviation (n - 1); 0 for one value
  stats::Summary summary() const;         // over `values` (seeds)
  std::optional<stats::Spread> spread() const;  // over `samples`, when there are at least 2
};

struct Row {
  std::string model;     // the row's label (the suite's label, else the registry name)
  std::string registry;  // the registry name (published numbers match on it)
  bool published = false;  // the papers' numbers for `registry`, not a measurement
  std::vector<Entry> entries;  // one per column
  std::vector<int> notes;      // footnotes of the whole row (the protocol of published numbers)
  // Published rows: the citation of their source ("Title, arXiv:..., Table 2"), and the footnote that carries it.
  // They follow the measured rows, grouped by source in order of first appearance, each group under a header.
  std::string source;
  int source_note = 0;
  std::string label() const { return published ? model + " (published)" : model; }
  // The source's short name for a group header: the citation up to its first ", ".
  std::string source_title() const { return source.substr(0, source.find(", ")); }
};

struct Table {
  store::Run run;
  std::vector<Column> columns;
  std::vector<Row> rows;
  std::vector<std::string> footnotes;   // footnote k is footnotes[k - 1]
  std::vector<std::string> legend;      // unnumbered notes (how to read intervals, significance)
  std::vector<std::string> provenance;  // header lines: run, machine and software, variables, checkpoints
  nlohmann::json provenance_json = nlohmann::json::object();  // the same, structured (json format)
  std::optional<std::string> baseline;
  bool group_by_dataset = false;  // some metric was measured on several datasets
  bool quartiles = true;          // timings read "median [q1, q3]"; the main view shows the median alone
  // The legend line on differences to the baseline, and its form for a table whose entries show the difference and
  // its significance mark only (LaTeX: p-values stay in the CSV and JSON).
  std::optional<size_t> baseline_legend;
  std::string baseline_legend_compact;
  int seeds = 0;  // when every entry over seeds has the same number k of them: k, said once in the legend, not per entry
  std::vector<std::string> hidden;  // names of the measured metrics the chosen view leaves out
};

// A number from a paper or a repository, as listed in results/published.json. The conditions say where it applies:
// a measured entry at another input resolution, with another number of classes or of another task gets no
// published row.
struct PublishedNumber {
  std::string model, metric, dataset, unit, convention, source;
  double value = 0.0;
  std::optional<std::array<int64_t, 2>> resolution;
  std::optional<int64_t> num_classes;
  std::string task;
  bool in_registry = true;  // false: the model is not a locbench registry name (marked in the file)
};

// Reads the file: {"sources": {id: {title, arxiv | url, table}}, "numbers": [{model, metric, value, unit, source: id,
// dataset?, convention?, resolution?, num_classes?, task?, not_in_registry?}]}. A source id is replaced by its
// citation ("Title, arXiv:2406.01234, Table 2"); a source that is not an id is kept as it is.
std::vector<PublishedNumber> load_published(const std::string& path);

Table build_table(const store::Run& run, const std::vector<store::Cell>& cells);
void add_published(Table& table, const std::vector<PublishedNumber>& published);
// The view: `metrics` (metric names, optionally `@dataset`, in the order given; "gmacs" and "memory" are accepted for
// macs and peak_memory) or, when empty, the main table: params, GMACs, latency, throughput, peak memory and the
// accuracy metrics, one column per measured setting, timings as medians. `detail` keeps every column and the
// quartiles. Throws std::invalid_argument naming the metrics there are when a selector matches no column.
void select_columns(Table& table, const std::vector<std::string>& metrics, bool detail);
void apply_baseline(Table& table, const std::string& model, double alpha = 0.05);  // throws if absent

// "ade20k" -> "ADE20K"; unknown names unchanged.
std::string dataset_label(const std::string& dataset);

}  // namespace locbench::report
