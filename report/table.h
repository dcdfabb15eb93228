// The report's table model: columns (metric x dataset x distinguishing settings), rows (models and
// their published numbers) and footnotes. Built once from the store, then rendered in any format.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/store/store.h"

namespace locbench::report {

struct Column {
  std::string metric, measurement, dataset, unit, convention;  // unit as shown (after scaling)
  nlohmann::json settings = nlohmann::json::object();          // what tells it from its siblings; never seed
  double scale = 1.0;                                          // stored value * scale = shown value
  std::string label;                                           // e.g. "Latency bs1 (ms, median)"
};

// One (row, column) of the table: the values of every seed, footnote marks, the delta to the baseline.
struct Entry {
  std::vector<double> values;
  std::vector<int> notes;  // footnote numbers (failures, sources of published numbers)
  bool failed = false;
  std::optional<double> delta;
  bool empty() const { return values.empty() && !failed; }
  double mean() const;
  double stddev() const;  // sample standard deviation (n - 1); 0 for one value
};

struct Row {
  std::string model;
  bool published = false;  // the papers' numbers for `model`, not a measurement
  std::vector<Entry> entries;  // one per column
  std::vector<int> notes;      // footnotes of the whole row (the source of published numbers)
  std::string label() const { return published ? model + " (published)" : model; }
};

struct Table {
  store::Run run;
  std::vector<Column> columns;
  std::vector<Row> rows;
  std::vector<std::string> footnotes;  // footnote k is footnotes[k - 1]
  std::vector<std::string> legend;     // unnumbered notes (how to read mean ± std, deltas)
  std::optional<std::string> baseline;
  bool group_by_dataset = false;  // some metric was measured on several datasets
};

// A number from a paper, as listed in results/published.json.
struct PublishedNumber {
  std::string model, metric, dataset, unit, convention, source;
  double value = 0.0;
};

std::vector<PublishedNumber> load_published(const std::string& path);

Table build_table(const store::Run& run, const std::vector<store::Cell>& cells);
void add_published(Table& table, const std::vector<PublishedNumber>& published);
void apply_baseline(Table& table, const std::string& model);  // throws std::runtime_error if absent

// "ade20k" -> "ADE20K"; unknown names unchanged.
std::string dataset_label(const std::string& dataset);

}  // namespace locbench::report
