// Builds the table model from a run's cells: which columns exist, how they are labelled and scaled,
// how seeds aggregate, where failures and published numbers go.
#include "report/table.h"

#include "harness/common/files.h"
#include "harness/common/json_input.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

namespace locbench::report {
namespace {

using nlohmann::json;

// How a known metric is named and scaled; see harness/store/SCHEMA.md.
struct MetricDisplay {
  const char* metric;
  const char* stored_unit;
  const char* name;        // empty: the shown unit is the name ("GMACs (fvcore)")
  const char* shown_unit;
  double scale;
};

constexpr MetricDisplay kDisplays[] = {
    {"params", "count", "Params", "M", 1e-6},
    {"macs", "MACs", "", "GMACs", 1e-9},
    {"flops", "FLOPs", "", "GFLOPs", 1e-9},
    {"latency", "ms", "Latency", "ms", 1.0},
    {"throughput", "img/s", "Throughput", "img/s", 1.0},
    {"top1", "%", "Top-1", "%", 1.0},
    {"top5", "%", "Top-5", "%", 1.0},
    {"miou", "%", "mIoU", "%", 1.0},
    {"aacc", "%", "aAcc", "%", 1.0},
    {"macc", "%", "mAcc", "%", 1.0},
    {"peak_memory", "bytes", "Peak memory", "MiB", 1.0 / (1024.0 * 1024.0)},
};

const MetricDisplay* display_of(const std::string& metric, const std::string& unit) {
  for (const auto& d : kDisplays)
    if (metric == d.metric && unit == d.stored_unit) return &d;
  return nullptr;
}

// A timing without its batch size means nothing, so these always show it.
bool always_shows_batch_size(const std::string& metric) {
  return metric == "latency" || metric == "throughput" || metric == "peak_memory";
}

// JSON a run stored (its settings, its suite): a database file may come from anyone, so it is parsed as untrusted
// input; what cannot be read counts as empty.
json stored_json(const std::string& text) {
  try {
    return parse_untrusted_json(text.empty() ? "{}" : text, "stored JSON");
  } catch (const JsonInputError&) {
    return json::object();
  }
}

json settings_without_seed(const std::string& text) {
  json settings = stored_json(text);
  if (!settings.is_object()) return json::object();
  settings.erase("seed");
  return settings;
}

std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string settings_suffix(const json& settings) {
  std::string out;
  for (const auto& [key, value] : settings.items()) {
    out += " ";
    if (key == "batch_size")
      out += "bs" + value_text(value);
    else if (key == "resolution" || key == "img_size" || key == "input_size")
      out += value_text(value) + "px";
    else
      out += key + "=" + value_text(value);
  }
  return out;
}

std::string metric_key(const std::string& metric, const std::string& dataset) { return metric + "\x1f" + dataset; }

// For each (metric, dataset): the settings keys whose values differ between its cells.
std::map<std::string, std::set<std::string>> distinguishing_keys(const std::vector<store::Cell>& cells) {
  std::map<std::string, std::vector<json>> settings_of;
  for (const auto& cell : cells) {
    if (!cell.passed) continue;
    json settings = settings_without_seed(cell.settings_json);
    for (const auto& r : cell.results) settings_of[metric_key(r.metric, cell.dataset)].push_back(settings);
  }
  std::map<std::string, std::set<std::string>> keys;
  for (const auto& [mk, list] : settings_of) {
    std::set<std::string> all;
    for (const auto& s : list)
      for (const auto& [k, v] : s.items()) all.insert(k);
    for (const auto& k : all) {
      bool always = k == "batch_size" && always_shows_batch_size(mk.substr(0, mk.find('\x1f')));
      for (const auto& s : list)
        if (always || !s.contains(k) || s[k] != list.front().value(k, json())) keys[mk].insert(k);
    }
  }
  return keys;
}

json pick(const json& settings, const std::set<std::string>& keys) {
  json out = json::object();
  for (const auto& k : keys)
    if (settings.contains(k)) out[k] = settings[k];
  return out;
}

Column make_column(const std::string& metric, const store::Cell& cell, const store::Result& r, json settings) {
  Column c;
  c.metric = metric, c.measurement = cell.measurement, c.dataset = cell.dataset, c.convention = r.convention;
  c.settings = std::move(settings);
  const MetricDisplay* d = display_of(metric, r.unit);
  c.unit = d ? d->shown_unit : r.unit;
  c.scale = d ? d->scale : 1.0;
  std::string name = d ? (*d->name ? d->name : d->shown_unit) : metric;
  std::string paren = d && !*d->name ? c.convention : c.unit;
  if (d && *d->name && !c.convention.empty()) paren += (paren.empty() ? "" : ", ") + c.convention;
  if (!d && !c.convention.empty()) paren += (paren.empty() ? "" : ", ") + c.convention;
  c.label = name + settings_suffix(c.settings) + (paren.empty() ? "" : " (" + paren + ")");
  return c;
}

// Models in the order the suite lists them, then any others in recording order.
std::vector<std::string> model_order(const store::Run& run, const std::vector<store::Cell>& cells) {
  std::vector<std::string> order;
  auto add = [&](const std::string& m) {
    if (!m.empty() && std::find(order.begin(), order.end(), m) == order.end()) order.push_back(m);
  };
  json suite = stored_json(run.info.suite_json);
  if (suite.is_object() && suite.contains("models") && suite["models"].is_array()) {
    for (const auto& m : suite["models"]) {
      if (m.is_string()) add(m.get<std::string>());
      if (m.is_object() && m.contains("name") && m["name"].is_string()) add(m["name"].get<std::string>());
      if (m.is_object() && m.contains("model") && m["model"].is_string()) add(m["model"].get<std::string>());
    }
  }
  std::vector<std::string> present;
  for (const auto& c : cells) present.push_back(c.model);
  std::vector<std::string> result;
  for (const auto& m : order)
    if (std::find(present.begin(), present.end(), m) != present.end()) result.push_back(m);
  for (const auto& m : present)
    if (std::find(result.begin(), result.end(), m) == result.end()) result.push_back(m);
  return result;
}

int footnote(Table& table, const std::string& text) {
  auto it = std::find(table.footnotes.begin(), table.footnotes.end(), text);
  if (it != table.footnotes.end()) return static_cast<int>(it - table.footnotes.begin()) + 1;
  table.footnotes.push_back(text);
  return static_cast<int>(table.footnotes.size());
}

void add_note(Entry& entry, int note) {
  if (std::find(entry.notes.begin(), entry.notes.end(), note) == entry.notes.end()) entry.notes.push_back(note);
}

bool settings_match(const json& column_settings, const json& cell_settings) {
  for (const auto& [k, v] : column_settings.items())
    if (!cell_settings.contains(k) || cell_settings[k] != v) return false;
  return true;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// A failed cell has no results: it marks every column its measurement fills for other models, or
// a column of its own when no model passed it.
void mark_failure(Table& table, std::map<std::string, size_t>& row_of, const store::Cell& cell) {
  json settings = settings_without_seed(cell.settings_json);
  std::string where = cell.model + ", " + cell.measurement + (cell.dataset.empty() ? "" : " on " + cell.dataset);
  if (!settings.empty()) where += " " + json_excerpt(settings, 200);
  int note = footnote(table, "failed: " + where + ": " + first_line(cell.error));
  std::vector<size_t> targets;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const Column& c = table.columns[i];
    if (c.measurement == cell.measurement && c.dataset == cell.dataset && settings_match(c.settings, settings))
      targets.push_back(i);
  }
  if (targets.empty()) {
    Column own;
    own.metric = own.measurement = cell.measurement;
    own.dataset = cell.dataset;
    own.label = cell.measurement;
    table.columns.push_back(own);
    for (auto& row : table.rows) row.entries.emplace_back();
    targets.push_back(table.columns.size() - 1);
  }
  for (size_t i : targets) {
    Entry& e = table.rows[row_of.at(cell.model)].entries[i];
    e.failed = true;
    add_note(e, note);
  }
}

// Columns of one dataset side by side (in order of first appearance), so headers can span them.
void group_columns_by_dataset(Table& table) {
  std::vector<std::string> datasets;
  for (const auto& c : table.columns)
    if (std::find(datasets.begin(), datasets.end(), c.dataset) == datasets.end()) datasets.push_back(c.dataset);
  std::vector<size_t> order(table.columns.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto rank = [&](size_t i) { return std::find(datasets.begin(), datasets.end(), table.columns[i].dataset) - datasets.begin(); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rank(a) < rank(b); });
  std::vector<Column> columns;
  for (size_t i : order) columns.push_back(table.columns[i]);
  table.columns = std::move(columns);
  for (auto& row : table.rows) {
    std::vector<Entry> entries;
    for (size_t i : order) entries.push_back(row.entries[i]);
    row.entries = std::move(entries);
  }
}

}  // namespace

double Entry::mean() const {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? std::nan("") : sum / static_cast<double>(values.size());
}

double Entry::stddev() const {
  if (values.size() < 2) return 0.0;
  double m = mean(), sum = 0;
  for (double v : values) sum += (v - m) * (v - m);
  return std::sqrt(sum / static_cast<double>(values.size() - 1));
}

std::string dataset_label(const std::string& dataset) {
  static const std::map<std::string, std::string> names = {
      {"imagenet", "ImageNet-1K"},        {"imagenet1k", "ImageNet-1K"},
      {"ade20k", "ADE20K"},               {"pascal_context_59", "PASCAL-Context-59"},
      {"coco_stuff164k", "COCO-Stuff-164K"}, {"coco_stuff10k", "COCO-Stuff-10K"},
  };
  auto it = names.find(dataset);
  return it == names.end() ? dataset : it->second;
}

Table build_table(const store::Run& run, const std::vector<store::Cell>& cells) {
  Table table;
  table.run = run;
  auto keys = distinguishing_keys(cells);
  std::map<std::string, size_t> column_of, row_of;
  std::map<std::string, std::set<std::string>> datasets_of_metric;
  for (const auto& model : model_order(run, cells)) {
    row_of[model] = table.rows.size();
    table.rows.push_back({model, false, {}, {}});
  }
  for (const auto& cell : cells) {
    if (!cell.passed) continue;
    json settings = settings_without_seed(cell.settings_json);
    for (const auto& r : cell.results) {
      json picked = pick(settings, keys[metric_key(r.metric, cell.dataset)]);
      std::string id = metric_key(r.metric, cell.dataset) + "\x1f" + r.unit + "\x1f" + r.convention + "\x1f" +
                       picked.dump();
      if (!column_of.count(id)) {
        column_of[id] = table.columns.size();
        table.columns.push_back(make_column(r.metric, cell, r, picked));
        for (auto& row : table.rows) row.entries.emplace_back();
      }
      datasets_of_metric[r.metric].insert(cell.dataset);
      const Column& column = table.columns[column_of[id]];
      // NaN (NULL in the store) stays: a value that could not be computed is not a value that was not measured.
      table.rows[row_of[cell.model]].entries[column_of[id]].values.push_back(r.value * column.scale);
    }
  }
  for (auto& row : table.rows)
    for (auto& e : row.entries)
      if (!std::isfinite(e.mean()) && !e.values.empty())
        add_note(e, footnote(table, "NaN or inf: the cell passed, but this value is not a finite number (a NaN is "
                                    "stored as NULL)"));
  for (const auto& cell : cells)
    if (!cell.passed) mark_failure(table, row_of, cell);
  for (const auto& [metric, datasets] : datasets_of_metric) table.group_by_dataset |= datasets.size() > 1;
  if (table.group_by_dataset) group_columns_by_dataset(table);

  bool any_seeds = false;
  for (const auto& row : table.rows)
    for (const auto& e : row.entries) any_seeds |= e.values.size() > 1;
  if (any_seeds)
    table.legend.push_back("a ± b: mean ± sample standard deviation over seeds; (n=k) marks fewer than 3 seeds.");
  return table;
}

std::vector<PublishedNumber> load_published(const std::string& path) {
  const json doc = parse_untrusted_json(read_input_file(path, "published numbers file", size_t{16} << 20), path);
  if (!doc.is_object() || !doc.contains("numbers") || !doc["numbers"].is_array())
    throw std::invalid_argument(path + ": expected a JSON object with a \"numbers\" array");
  std::vector<PublishedNumber> out;
  const auto text = [](const json& n, const char* key) { return n.contains(key) && n[key].is_string(); };
  for (size_t i = 0; i < doc["numbers"].size(); ++i) {
    const json& n = doc["numbers"][i];
    if (!n.is_object() || !text(n, "model") || !text(n, "metric") || !text(n, "source") || !n.contains("value") ||
        !n["value"].is_number() || (n.contains("dataset") && !text(n, "dataset")) ||
        (n.contains("unit") && !text(n, "unit")) || (n.contains("convention") && !text(n, "convention")))
      throw std::invalid_argument(path + ": numbers[" + std::to_string(i) + "]: needs model, metric and source strings "
                               "and a numeric value (dataset, unit, convention: strings), got " + json_excerpt(n));
    out.push_back({n["model"], n["metric"], n.value("dataset", ""), n.value("unit", ""), n.value("convention", ""),
                   n["source"], n["value"].get<double>()});
  }
  return out;
}

// One "(published)" row per model and source, under the model's measured row.
void add_published(Table& table, const std::vector<PublishedNumber>& published) {
  std::vector<Row> rows;
  for (auto& row : table.rows) {
    std::vector<std::string> sources;
    for (const auto& p : published)
      if (p.model == row.model && std::find(sources.begin(), sources.end(), p.source) == sources.end())
        sources.push_back(p.source);
    std::vector<Row> papers;
    for (const auto& source : sources) {
      Row paper{row.model, true, std::vector<Entry>(table.columns.size()), {}};
      std::vector<std::string> protocols;
      for (const auto& p : published) {
        if (p.model != row.model || p.source != source) continue;
        for (size_t i = 0; i < table.columns.size(); ++i) {
          const Column& c = table.columns[i];
          if (c.metric != p.metric || c.dataset != p.dataset || c.unit != p.unit) continue;
          paper.entries[i].values = {p.value};
          if (!p.convention.empty() && std::find(protocols.begin(), protocols.end(), p.convention) == protocols.end())
            protocols.push_back(p.convention);
        }
      }
      bool any = std::any_of(paper.entries.begin(), paper.entries.end(), [](const Entry& e) { return !e.empty(); });
      if (!any) continue;
      std::string text = "published: " + source;
      for (const auto& protocol : protocols) text += "; " + protocol;
      paper.notes.push_back(footnote(table, text));
      papers.push_back(std::move(paper));
    }
    rows.push_back(std::move(row));
    for (auto& paper : papers) rows.push_back(std::move(paper));
  }
  table.rows = std::move(rows);
}

void apply_baseline(Table& table, const std::string& model) {
  auto base = std::find_if(table.rows.begin(), table.rows.end(),
                           [&](const Row& r) { return r.model == model && !r.published; });
  if (base == table.rows.end()) {
    std::string models;
    for (const auto& r : table.rows)
      if (!r.published) models += (models.empty() ? "" : ", ") + r.model;
    throw std::invalid_argument("baseline model '" + model + "' is not in run " + std::to_string(table.run.id) +
                             " (models: " + models + ")");
  }
  table.baseline = model;
  for (auto& row : table.rows) {
    if (row.published || row.model == model) continue;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      const Entry& b = base->entries[i];
      Entry& e = row.entries[i];
      if (!b.values.empty() && !e.values.empty() && std::isfinite(b.mean()) && std::isfinite(e.mean()))
        e.delta = e.mean() - b.mean();
    }
  }
  table.legend.push_back("(+x): difference to " + model + ".");
}

}  // namespace locbench::report
