// Builds the table model from a run's cells: which columns exist, how they are labelled and scaled,
// how seeds aggregate, where failures and published numbers go.
#include "report/table.h"

#include "harness/common/files.h"
#include "harness/common/json_input.h"
#include "harness/common/text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

namespace locbench::report {
namespace {

using nlohmann::json;

// How a known metric is named and scaled, whether more is better, and whether it belongs in the main table; see
// harness/store/SCHEMA.md.
struct MetricDisplay {
  const char* metric;
  const char* stored_unit;
  const char* name;        // empty: the shown unit is the name ("GMACs (fvcore)")
  const char* shown_unit;
  double scale;
  int better;              // +1 higher is better, -1 lower, 0 neither
  bool main;               // in the default (paper-sized) table; the others are in --detail
  int decimals;            // shown after the point
};

// In the main table's order; the secondary figures follow the metric they detail.
constexpr MetricDisplay kDisplays[] = {
    {"params", "count", "Params", "M", 1e-6, -1, true, 2},
    {"macs", "MACs", "", "GMACs", 1e-9, -1, true, 2},
    {"flops", "FLOPs", "", "GFLOPs", 1e-9, -1, false, 2},
    {"latency", "ms", "Latency", "ms", 1.0, -1, true, 2},
    {"latency_p90", "ms", "Latency p90", "ms", 1.0, -1, false, 2},
    {"latency_min", "ms", "Latency min", "ms", 1.0, -1, false, 2},
    {"latency_cpu", "ms", "Latency CPU time", "ms", 1.0, -1, false, 2},
    {"image_latency", "ms", "Latency per image", "ms", 1.0, -1, true, 2},
    {"image_latency_cpu", "ms", "Latency per image CPU time", "ms", 1.0, -1, false, 2},
    {"throughput", "img/s", "Throughput", "img/s", 1.0, +1, true, 1},
    {"throughput_cpu", "img/s", "Throughput per CPU second", "img/s", 1.0, +1, false, 1},
    {"step_time", "ms", "Step time", "ms", 1.0, -1, false, 2},
    {"peak_memory", "bytes", "Peak memory", "MiB", 1.0 / (1024.0 * 1024.0), -1, true, 0},
    {"top1", "%", "Top-1", "%", 1.0, +1, true, 2},
    {"top5", "%", "Top-5", "%", 1.0, +1, false, 2},
    {"miou", "%", "mIoU", "%", 1.0, +1, true, 2},
    {"aacc", "%", "aAcc", "%", 1.0, +1, false, 2},
    {"macc", "%", "mAcc", "%", 1.0, +1, false, 2},
    {"train_time", "s", "Training time", "s", 1.0, -1, false, 0},
    {"traced_time", "ms", "Traced time", "ms", 1.0, -1, false, 2},
    {"sdpa_time", "ms", "SDPA time", "ms", 1.0, -1, false, 2},
    {"distinct_kernels", "count", "Distinct kernels", "", 1.0, 0, false, 0},
    {"distinct_ops", "count", "Distinct ops", "", 1.0, 0, false, 0},
    {"kernel_launches", "count", "Kernel launches", "", 1.0, 0, false, 0},
    {"op_calls", "count", "Op calls", "", 1.0, 0, false, 0},
};

const MetricDisplay* display_of(const std::string& metric, const std::string& unit) {
  for (const auto& d : kDisplays)
    if (metric == d.metric && unit == d.stored_unit) return &d;
  return nullptr;
}

// The main table's order of metrics; others follow in the order they were recorded.
size_t main_rank(const std::string& metric) {
  for (size_t i = 0; i < std::size(kDisplays); ++i)
    if (metric == kDisplays[i].metric) return i;
  return std::size(kDisplays);
}

bool is_main(const std::string& metric) {
  for (const auto& d : kDisplays)
    if (metric == d.metric) return d.main;
  return true;  // a metric this table does not know is shown rather than hidden
}

// A timing or a memory figure without its batch size means nothing, so these always show it.
bool always_shows_batch_size(const std::string& metric) {
  return metric.starts_with("latency") || metric.starts_with("image_latency") || metric.starts_with("throughput") ||
         metric == "step_time" || metric == "peak_memory";
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

// One setting as a header shows it, "bs 1", "224 px", "key=value"; `compact`: "bs1", "224px" (the labels of plots).
std::string setting_text(const std::string& key, const json& value, bool compact) {
  if (key == "batch_size") return (compact ? "bs" : "bs ") + value_text(value);
  if (key == "resolution" || key == "img_size" || key == "input_size") return value_text(value) + (compact ? "px" : " px");
  return key + "=" + value_text(value);
}

std::string settings_suffix(const json& settings) {
  std::string out;
  for (const auto& [key, value] : settings.items()) out += " " + setting_text(key, value, true);
  return out;
}

// The settings of a column as its header shows them: "bs 8, 512 px".
std::string settings_detail(const json& settings) {
  std::string out;
  for (const auto& [key, value] : settings.items()) out += (out.empty() ? "" : ", ") + setting_text(key, value, false);
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
  c.name = name;
  c.detail = d ? c.unit : r.unit;
  if (d && !*d->name) c.detail.clear();  // "GMACs" is its own unit
  const std::string shown = settings_detail(c.settings);
  if (!shown.empty()) c.detail += (c.detail.empty() ? "" : ", ") + shown;
  c.better = d ? d->better : 0;
  c.decimals = d ? d->decimals : 2;
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
      if (!m.is_object()) continue;
      if (m.contains("label") && m["label"].is_string()) add(m["label"].get<std::string>());
      else if (m.contains("name") && m["name"].is_string()) add(m["name"].get<std::string>());
    }
  }
  std::vector<std::string> present;
  for (const auto& c : cells) present.push_back(c.row_label());
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
  std::string where = cell.row_label() + ", " + cell.measurement + (cell.dataset.empty() ? "" : " on " + cell.dataset);
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
    own.label = own.name = cell.measurement;
    table.columns.push_back(own);
    for (auto& row : table.rows) row.entries.emplace_back();
    targets.push_back(table.columns.size() - 1);
  }
  for (size_t i : targets) {
    Entry& e = table.rows[row_of.at(cell.row_label())].entries[i];
    e.failed = true;
    add_note(e, note);
  }
}

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

// The columns `order` names, in that order, with their entries.
void keep_columns(Table& table, const std::vector<size_t>& order) {
  std::vector<Column> columns;
  for (size_t i : order) columns.push_back(table.columns[i]);
  table.columns = std::move(columns);
  for (auto& row : table.rows) {
    std::vector<Entry> entries;
    for (size_t i : order) entries.push_back(row.entries[i]);
    row.entries = std::move(entries);
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
  keep_columns(table, order);
}

// Bold in the table: per column with a direction, the best finite mean among two or more measured rows.
void mark_best(Table& table) {
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const int better = table.columns[i].better;
    std::vector<Entry*> finite;
    for (auto& row : table.rows) {
      if (row.published) continue;
      Entry& e = row.entries[i];
      e.best = false;
      if (!e.values.empty() && !e.failed && std::isfinite(e.mean())) finite.push_back(&e);
    }
    if (better == 0 || finite.size() < 2) continue;
    double best = finite.front()->mean();
    for (const Entry* e : finite) best = better > 0 ? std::max(best, e->mean()) : std::min(best, e->mean());
    for (Entry* e : finite) e->best = e->mean() == best;
  }
}

// The unnumbered notes on how to read the shown entries: intervals, quartiles, noise, bold, each column's protocol,
// and the metrics the view leaves out.
void describe_entries(Table& table) {
  table.legend.clear();
  bool any_seeds = false, any_spread = false, any_noisy = false, any_best = false;
  for (const auto& row : table.rows)
    for (const auto& e : row.entries) {
      any_seeds |= e.values.size() > 1;
      any_spread |= e.values.size() == 1 && e.spread().has_value();
      any_noisy |= e.noisy;
      any_best |= e.best;
    }
  std::set<size_t> seed_counts;
  for (const auto& row : table.rows)
    for (const auto& e : row.entries)
      if (e.values.size() > 1) seed_counts.insert(e.values.size());
  table.seeds = seed_counts.size() == 1 ? static_cast<int>(*seed_counts.begin()) : 0;
  if (table.seeds) {
    const std::string k = std::to_string(table.seeds), dof = std::to_string(table.seeds - 1);
    table.legend.push_back("a ± h: mean over " + k + " seeds ± half-width of its 95% confidence interval (Student's t, " +
                           dof + " degrees of freedom).");
  } else if (any_seeds) {
    table.legend.push_back("a ± h (n=k): mean over k seeds ± half-width of its 95% confidence interval (Student's t, "
                           "k - 1 degrees of freedom).");
  }
  if (any_spread)
    table.legend.push_back(table.quartiles ? "m [q1, q3]: median and interquartile range of the timed repetitions."
                                           : "Timings: median of the timed repetitions (quartiles in --detail).");
  if (any_noisy)
    table.legend.push_back("†: noisy, the timed repetitions spread by more than 10% of their median (IQR / median); "
                           "rerun on a quiet machine before reading it as a difference.");
  if (any_best)
    table.legend.push_back("Bold: the best measured entry of its column (higher is better for accuracy, mIoU and "
                           "throughput; lower for latency, memory, parameters and MACs), by mean or median alone.");
  std::vector<std::string> protocols;
  for (const auto& c : table.columns) {
    if (c.convention.empty()) continue;
    const std::string line = c.name + ": " + c.convention + ".";
    if (std::find(protocols.begin(), protocols.end(), line) == protocols.end()) protocols.push_back(line);
  }
  if (!protocols.empty()) table.legend.push_back("Protocols. " + join(protocols, " "));
  if (!table.hidden.empty())
    table.legend.push_back("Also measured, in the detail table (--detail): " + join(table.hidden) + ".");
}

// One line of text: provenance values are user and machine strings, and a header line must stay one line.
std::string provenance_line(const std::string& text) { return locbench::one_line(text, 2000); }

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

// The header lines of a report: the run, the machine and software it ran on, the ${VAR}s it resolved and the
// checkpoints its models were loaded from (with their SHA-256), and the same as JSON.
void describe_provenance(Table& table, const std::vector<store::Cell>& cells) {
  const auto& r = table.run;
  json env = json::parse(r.info.environment_json.empty() ? "{}" : r.info.environment_json, nullptr, false);
  if (!env.is_object()) env = json::object();
  auto text = [&](const json& obj, const char* key) {
    return obj.contains(key) && obj[key].is_string() ? obj[key].get<std::string>() : std::string();
  };
  std::vector<std::string> devices, device_names, precisions, threads;
  std::map<std::string, std::string> variables;
  std::vector<std::string> checkpoints;
  json checkpoint_json = json::array();
  auto add_unique = [](std::vector<std::string>& list, const std::string& v) {
    if (!v.empty() && std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
  };
  for (const auto& cell : cells) {
    json p = json::parse(cell.provenance_json.empty() ? "{}" : cell.provenance_json, nullptr, false);
    if (p.is_object()) {
      add_unique(devices, text(p, "device"));
      add_unique(device_names, text(p, "device_name"));
      add_unique(precisions, text(p, "precision"));
      if (p.contains("threads") && p["threads"].is_number_integer()) add_unique(threads, p["threads"].dump());
      if (p.contains("variables") && p["variables"].is_object())
        for (const auto& [k, v] : p["variables"].items())
          if (v.is_string()) variables[k] = v.get<std::string>();
    }
    if (!cell.checkpoint_path.empty()) {
      const std::string line = cell.row_label() + ": " + cell.checkpoint_path + " (sha256 " +
                               cell.checkpoint_sha256.substr(0, 16) + ")";
      if (std::find(checkpoints.begin(), checkpoints.end(), line) == checkpoints.end()) {
        checkpoints.push_back(line);
        checkpoint_json.push_back(
            {{"model", cell.row_label()}, {"path", cell.checkpoint_path}, {"sha256", cell.checkpoint_sha256}});
      }
    }
  }
  if (devices.empty()) add_unique(devices, text(env, "device"));
  if (threads.empty() && r.info.threads > 0) threads.push_back(std::to_string(r.info.threads));
  std::string first = "locbench run " + std::to_string(r.id) + ", suite " + r.info.suite_name + ", " + r.status +
                      ", started " + r.started_at;
  if (!r.info.git_commit.empty()) first += ", commit " + r.info.git_commit;
  table.provenance.push_back(provenance_line(first));
  std::vector<std::string> machine;
  auto add = [&](const std::string& name, const std::string& value) {
    if (!value.empty()) machine.push_back(name + " " + value);
  };
  add("host", r.info.host);
  add("CPU", r.info.cpu_name);
  add("GPU", r.info.gpu_name);
  add("driver", r.info.driver_version);
  add("device", join(devices, "/"));
  add("threads", join(threads, "/"));
  add("precision", join(precisions, "/"));
  add("LibTorch", r.info.libtorch_version);
  add("CUDA", r.info.cuda_version);
  add("cuDNN", text(env, "cudnn_version"));
  if (!machine.empty()) table.provenance.push_back(provenance_line(join(machine)));
  if (!variables.empty()) {
    std::vector<std::string> items;
    for (const auto& [k, v] : variables) items.push_back(k + "=" + v);
    table.provenance.push_back(provenance_line("variables: " + join(items)));
  }
  if (!checkpoints.empty()) table.provenance.push_back(provenance_line("checkpoints: " + join(checkpoints, "; ")));
  table.provenance_json = {{"devices", devices},        {"device_names", device_names},
                           {"threads", threads},        {"precisions", precisions},
                           {"variables", variables},    {"checkpoints", checkpoint_json},
                           {"environment", env}};
}

// Whether a published number applies to a measured entry: same input resolution, number of classes and task when
// the number names them, and only where the entry says what it ran at.
bool applies(const PublishedNumber& p, const Entry& e) {
  if (e.values.empty()) return false;
  if (p.resolution) {
    std::optional<std::array<int64_t, 2>> size;
    if (e.settings.contains("resolution")) {
      const json& r = e.settings["resolution"];
      if (r.is_number_integer()) size = std::array<int64_t, 2>{r.get<int64_t>(), r.get<int64_t>()};
      else if (r.is_string() && r.get<std::string>().find('x') != std::string::npos) {
        const std::string t = r.get<std::string>();
        size = std::array<int64_t, 2>{std::atoll(t.c_str()), std::atoll(t.c_str() + t.find('x') + 1)};
      }
    } else if (e.provenance.contains("img_size") && e.provenance["img_size"].is_array() &&
               e.provenance["img_size"].size() == 2) {
      size = std::array<int64_t, 2>{e.provenance["img_size"][0].get<int64_t>(), e.provenance["img_size"][1].get<int64_t>()};
    }
    if (!size || *size != *p.resolution) return false;
  }
  if (p.num_classes && (!e.provenance.contains("num_classes") || e.provenance["num_classes"] != *p.num_classes))
    return false;
  if (!p.task.empty() && (!e.provenance.contains("task") || e.provenance["task"] != p.task)) return false;
  return true;
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

stats::Summary Entry::summary() const { return stats::summarize(values); }

std::optional<stats::Spread> Entry::spread() const {
  if (samples.size() < 2) return std::nullopt;
  return stats::spread(samples);
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
  std::map<std::string, std::string> registry_of;
  for (const auto& cell : cells) registry_of.emplace(cell.row_label(), cell.model);
  for (const auto& model : model_order(run, cells)) {
    row_of[model] = table.rows.size();
    table.rows.push_back({model, registry_of.count(model) ? registry_of[model] : model, false, {}, {}});
  }
  for (const auto& cell : cells) {
    if (!cell.passed) continue;
    json settings = settings_without_seed(cell.settings_json);
    json provenance = json::parse(cell.provenance_json.empty() ? "{}" : cell.provenance_json, nullptr, false);
    if (!provenance.is_object()) provenance = json::object();
    // A timing is noisy when its wall-time repetitions spread by more than 10% of their median.
    bool noisy = false;
    for (const auto& series : cell.samples)
      if (!series.metric.ends_with("_cpu") && series.values.size() >= 2) noisy |= stats::noisy(stats::spread(series.values));
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
      Entry& entry = table.rows[row_of[cell.row_label()]].entries[column_of[id]];
      // NaN (NULL in the store) stays: a value that could not be computed is not a value that was not measured.
      entry.values.push_back(r.value * column.scale);
      for (const auto& series : cell.samples)
        if (series.metric == r.metric)
          for (double v : series.values)
            if (!std::isnan(v)) entry.samples.push_back(v * column.scale);
      entry.noisy |= noisy;
      entry.provenance = provenance;
      entry.settings = settings;
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

  mark_best(table);
  describe_entries(table);
  describe_provenance(table, cells);
  return table;
}

std::vector<PublishedNumber> load_published(const std::string& path) {
  const json doc = parse_untrusted_json(read_input_file(path, "published numbers file", size_t{16} << 20), path);
  if (!doc.is_object() || !doc.contains("numbers") || !doc["numbers"].is_array())
    throw std::invalid_argument(path + ": expected a JSON object with a \"numbers\" array");
  const json sources = doc.contains("sources") && doc["sources"].is_object() ? doc["sources"] : json::object();
  auto citation = [&](const std::string& id) {
    if (!sources.contains(id)) return id;
    const json& s = sources[id];
    std::string text = s.value("title", id);
    if (s.contains("arxiv")) text += ", arXiv:" + s["arxiv"].get<std::string>();
    if (s.contains("url")) text += ", " + s["url"].get<std::string>();
    if (s.contains("table")) text += ", " + s["table"].get<std::string>();
    return text;
  };
  std::vector<PublishedNumber> out;
  for (size_t i = 0; i < doc["numbers"].size(); ++i) {
    const json& n = doc["numbers"][i];
    const std::string where = path + ": numbers[" + std::to_string(i) + "]";
    if (!n.is_object() || !n.contains("model") || !n.contains("metric") || !n.contains("value") ||
        !n["value"].is_number() || !n.contains("source") || !n["source"].is_string())
      throw std::invalid_argument(where + ": every number needs model, metric, a numeric value and a source, got " +
                                  json_excerpt(n));
    try {
      PublishedNumber p{n["model"], n["metric"], n.value("dataset", ""), n.value("unit", ""),
                        n.value("convention", ""), citation(n["source"].get<std::string>()), n["value"].get<double>()};
      if (n.contains("resolution")) {
        const json& r = n["resolution"];
        p.resolution = r.is_array() ? std::array<int64_t, 2>{r.at(0).get<int64_t>(), r.at(1).get<int64_t>()}
                                    : std::array<int64_t, 2>{r.get<int64_t>(), r.get<int64_t>()};
      }
      if (n.contains("num_classes")) p.num_classes = n["num_classes"].get<int64_t>();
      p.task = n.value("task", "");
      p.in_registry = !n.value("not_in_registry", false);
      out.push_back(std::move(p));
    } catch (const json::exception& e) {
      throw std::invalid_argument(where + ": " + locbench::one_line(e.what(), 200));
    }
  }
  return out;
}

// One "(published)" row per model and source with the numbers that apply to the model's measured row; after the
// measured rows, grouped by source (in order of first appearance), in the measured rows' order within a group.
void add_published(Table& table, const std::vector<PublishedNumber>& published) {
  std::vector<std::string> sources;
  for (const auto& row : table.rows)
    for (const auto& p : published)
      if (!row.published && p.model == row.registry && std::find(sources.begin(), sources.end(), p.source) == sources.end())
        sources.push_back(p.source);
  std::vector<Row> rows = table.rows;
  for (const auto& source : sources) {
    std::vector<Row> papers;
    std::vector<std::vector<std::string>> protocols_of;
    for (const auto& row : table.rows) {
      if (row.published) continue;
      Row paper{row.model, row.registry, true, std::vector<Entry>(table.columns.size()), {}};
      std::vector<std::string> protocols;
      for (const auto& p : published) {
        if (p.model != row.registry || p.source != source) continue;
        for (size_t i = 0; i < table.columns.size(); ++i) {
          const Column& c = table.columns[i];
          if (c.metric != p.metric || c.dataset != p.dataset || c.unit != p.unit || !applies(p, row.entries[i]))
            continue;
          paper.entries[i].values = {p.value};
          if (!p.convention.empty() && std::find(protocols.begin(), protocols.end(), p.convention) == protocols.end())
            protocols.push_back(p.convention);
        }
      }
      if (std::all_of(paper.entries.begin(), paper.entries.end(), [](const Entry& e) { return e.empty(); })) continue;
      paper.source = source;
      papers.push_back(std::move(paper));
      protocols_of.push_back(std::move(protocols));
    }
    if (papers.empty()) continue;
    const int note = footnote(table, "published: " + source);  // numbered before its rows' notes, as they read
    for (size_t i = 0; i < papers.size(); ++i) {
      papers[i].source_note = note;
      if (!protocols_of[i].empty())
        papers[i].notes.push_back(footnote(table, "published with protocol: " + join(protocols_of[i], "; ")));
      rows.push_back(std::move(papers[i]));
    }
  }
  table.rows = std::move(rows);
}

void select_columns(Table& table, const std::vector<std::string>& metrics, bool detail) {
  auto alias = [](const std::string& m) { return m == "gmacs" ? std::string("macs") : m == "memory" ? std::string("peak_memory") : m; };
  std::vector<size_t> order;
  if (!metrics.empty()) {
    for (const auto& selector : metrics) {
      const size_t at = selector.find('@');
      const std::string metric = alias(selector.substr(0, at));
      const std::optional<std::string> dataset =
          at == std::string::npos ? std::nullopt : std::optional<std::string>(selector.substr(at + 1));
      bool found = false;
      for (size_t i = 0; i < table.columns.size(); ++i) {
        const Column& c = table.columns[i];
        if (c.metric != metric || (dataset && c.dataset != *dataset)) continue;
        found = true;
        if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
      }
      if (!found) {
        std::vector<std::string> there;
        for (const auto& c : table.columns) {
          const std::string name = c.metric + (c.dataset.empty() ? "" : "@" + c.dataset);
          if (std::find(there.begin(), there.end(), name) == there.end()) there.push_back(name);
        }
        throw std::invalid_argument("--metrics: no column of '" + selector + "' in run " +
                                    std::to_string(table.run.id) + " (there are: " + join(there) + ")");
      }
    }
  } else {
    for (size_t i = 0; i < table.columns.size(); ++i)
      if (detail || is_main(table.columns[i].metric) || table.columns[i].measurement == table.columns[i].metric)
        order.push_back(i);  // a failure's own column is always shown
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return main_rank(table.columns[a].metric) < main_rank(table.columns[b].metric);
    });
  }
  table.hidden.clear();
  for (size_t i = 0; i < table.columns.size(); ++i)
    if (std::find(order.begin(), order.end(), i) == order.end() &&
        std::find(table.hidden.begin(), table.hidden.end(), table.columns[i].name) == table.hidden.end())
      table.hidden.push_back(table.columns[i].name);
  keep_columns(table, order);
  if (table.group_by_dataset) group_columns_by_dataset(table);
  // Two shown columns that would read the same differ by convention: their headers say it.
  std::vector<bool> ambiguous(table.columns.size(), false);
  for (size_t i = 0; i < table.columns.size(); ++i)
    for (size_t j = 0; j < table.columns.size(); ++j) {
      const Column &a = table.columns[i], &b = table.columns[j];
      ambiguous[i] = ambiguous[i] || (i != j && a.dataset == b.dataset && a.header() == b.header() &&
                                      a.convention != b.convention && !a.convention.empty());
    }
  for (size_t i = 0; i < table.columns.size(); ++i)
    if (ambiguous[i]) table.columns[i].detail += (table.columns[i].detail.empty() ? "" : ", ") + table.columns[i].convention;
  table.quartiles = detail;
  describe_entries(table);
}

// The test of an entry against the baseline's: Welch over seeds when both have two or more, else Mann-Whitney U over
// the timed repetitions of a single cell each, else only the difference.
Comparison compare(const Entry& e, const Entry& base, double alpha) {
  Comparison c;
  if (e.values.size() >= 2 && base.values.size() >= 2) {
    const stats::TTest t = stats::welch_t_test(e.values, base.values);
    c.difference = t.difference;
    c.ci_low = t.ci_low, c.ci_high = t.ci_high, c.p = t.p;
    c.test = std::isnan(t.p) ? "" : "welch";
  } else if (e.values.size() == 1 && base.values.size() == 1 && e.samples.size() >= 2 && base.samples.size() >= 2) {
    c.difference = e.mean() - base.mean();
    c.p = stats::mann_whitney_u(e.samples, base.samples).p;
    c.test = "mann-whitney";
  } else {
    c.difference = e.mean() - base.mean();
  }
  c.significant = !std::isnan(c.p) && c.p < alpha;
  return c;
}

void apply_baseline(Table& table, const std::string& model, double alpha) {
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
  std::vector<bool> tested(table.columns.size(), false), any_significant(table.columns.size(), false);
  for (auto& row : table.rows) {
    if (row.published || row.model == model) continue;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      const Entry& b = base->entries[i];
      Entry& e = row.entries[i];
      if (b.values.empty() || e.values.empty() || !std::isfinite(b.mean()) || !std::isfinite(e.mean())) continue;
      e.vs_baseline = compare(e, b, alpha);
      tested[i] = tested[i] || !e.vs_baseline->test.empty();
      any_significant[i] = any_significant[i] || e.vs_baseline->significant;
    }
  }
  char level[16];
  std::snprintf(level, sizeof level, "%g", alpha);
  table.baseline_legend = table.legend.size();
  table.baseline_legend_compact = "(+d): difference to " + model + "; * marks a two-sided p < " + std::string(level) +
                                  " (Welch's t-test over seeds; Mann-Whitney U over the timed repetitions of a timing; "
                                  "no mark: not significant, or not testable with fewer than 2 values or no spread; p-values in the CSV "
                                  "and JSON reports). No correction for multiple comparisons.";
  table.legend.push_back("(+d, p=x): difference to " + model + " and its two-sided p-value; * marks p < " + level +
                         " (Welch's t-test over seeds; Mann-Whitney U over the timed repetitions of a timing; "
                         "n/a: fewer than 2 values or no spread). No correction for multiple comparisons.");
  for (size_t i = 0; i < table.columns.size(); ++i)
    if (tested[i] && !any_significant[i]) {
      const Column& c = table.columns[i];
      const std::string label =
          (table.group_by_dataset && !c.dataset.empty() ? dataset_label(c.dataset) + " " : "") + c.header();
      table.legend.push_back(label + ": no model differs significantly from " + model + " (p < " + level + ").");
    }
}

}  // namespace locbench::report
