// SVG plots from the table model: a labelled scatter of one metric against another (e.g. top-1 vs
// GMACs), or one line per model of a metric against a setting (latency vs batch size). Plain SVG text.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "harness/common/json_input.h"
#include "harness/common/exit_codes.h"
#include "harness/common/text.h"
#include "report/escape.h"
#include "report/render.h"
#include "report/report.h"

namespace locbench::report {
namespace {

using nlohmann::json;

// "metric[@dataset][:key=value,key=value]"
struct Selector {
  std::string metric;
  std::optional<std::string> dataset;
  json settings = json::object();
  std::string text;
};

Selector parse_selector(const std::string& text) {
  Selector s;
  s.text = text;
  std::string head = text.substr(0, text.find(':'));
  if (head.size() < text.size()) {
    std::stringstream filters(text.substr(head.size() + 1));
    for (std::string item; std::getline(filters, item, ',');) {
      auto eq = item.find('=');
      if (eq == std::string::npos)
        throw std::invalid_argument("plot axis '" + one_line(text, 80) + "': expected key=value after ':'");
      json value;
      try {
        value = parse_untrusted_json(item.substr(eq + 1), "plot axis");
      } catch (const JsonInputError&) {
        value = item.substr(eq + 1);  // not JSON: the text itself (resolution=224x224)
      }
      s.settings[item.substr(0, eq)] = value;
    }
  }
  auto at = head.find('@');
  s.metric = head.substr(0, at);
  if (at != std::string::npos) s.dataset = head.substr(at + 1);
  return s;
}

std::vector<size_t> matching_columns(const Table& t, const Selector& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const Column& c = t.columns[i];
    bool ok = c.metric == s.metric && (!s.dataset || c.dataset == *s.dataset);
    for (const auto& [k, v] : s.settings.items()) ok = ok && c.settings.contains(k) && c.settings[k] == v;
    if (ok) out.push_back(i);
  }
  return out;
}

size_t one_column(const Table& t, const Selector& s, std::ostream& err) {
  auto found = matching_columns(t, s);
  if (found.empty()) throw std::invalid_argument("run " + std::to_string(t.run.id) + " has no metric '" + s.text + "'");
  if (found.size() > 1) {
    err << "note: '" << s.text << "' matches " << found.size() << " columns; plotting '" << t.columns[found[0]].label
        << "' (narrow it with @dataset or :key=value)\n";
  }
  return found[0];
}

struct Point {
  double x, y;
  std::string label;
};

struct Series {
  std::string name;
  std::vector<Point> points;
};

struct Chart {
  std::string title, x_label, y_label;
  bool lines = false;
  std::vector<Series> series;
  std::vector<std::string> footer;  // the run's provenance, one line each
};

// Axis ticks at 1, 2 or 5 x 10^k covering [lo, hi] (finite): always at least two, at most 50, whatever the values
// (one value, values one ULP apart, values near the largest double).
std::vector<double> nice_ticks(double lo, double hi) {
  const double scale = std::max(std::abs(lo), std::abs(hi));
  if (!(hi - lo > scale * 1e-9)) {  // a span around values that do not span one
    const double pad = scale > 1e-300 ? scale * 0.1 : 1.0;
    if (std::isfinite(lo - pad)) lo -= pad;
    if (std::isfinite(hi + pad)) hi += pad;
  }
  const double raw = hi / 5.0 - lo / 5.0;  // (hi - lo) / 5 without overflowing
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  const double step = magnitude * (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10);
  if (!std::isfinite(step) || !(step > 0)) return {lo, hi};
  std::vector<double> ticks;
  const double last = std::ceil(hi / step);
  for (double k = std::floor(lo / step); k <= last + 1e-9 && ticks.size() < 50; k += 1) {
    const double v = k * step;
    if (!std::isfinite(v)) break;
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  if (ticks.size() < 2 || ticks.front() > lo || ticks.back() < hi) return {lo, hi};
  return ticks;
}

std::string xml(const std::string& text) { return xml_text(text); }

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

std::string tick_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string render_svg(const Chart& chart) {
  constexpr double kWidth = 720, kLeft = 80, kRight = 540, kTop = 40, kBottom = 400;
  const double kHeight = 460 + 14 * static_cast<double>(chart.footer.size());
  std::vector<double> xs, ys;
  for (const auto& s : chart.series)
    for (const auto& p : s.points) xs.push_back(p.x), ys.push_back(p.y);
  if (xs.empty()) throw std::runtime_error("nothing to plot: no model has both values");
  auto x_ticks = nice_ticks(*std::min_element(xs.begin(), xs.end()), *std::max_element(xs.begin(), xs.end()));
  auto y_ticks = nice_ticks(*std::min_element(ys.begin(), ys.end()), *std::max_element(ys.begin(), ys.end()));
  // Halves first: the span of two finite values may itself overflow.
  auto frac = [](double v, const std::vector<double>& t) { return (v / 2 - t.front() / 2) / (t.back() / 2 - t.front() / 2); };
  auto px = [&](double x) { return kLeft + frac(x, x_ticks) * (kRight - kLeft); };
  auto py = [&](double y) { return kBottom - frac(y, y_ticks) * (kBottom - kTop); };

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
    << "\" viewBox=\"0 0 " << kWidth << " " << kHeight << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << num((kLeft + kRight) / 2) << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">"
    << xml(chart.title) << "</text>\n";
  for (double t : x_ticks) {
    s << "<line x1=\"" << num(px(t)) << "\" y1=\"" << num(kTop) << "\" x2=\"" << num(px(t)) << "\" y2=\"" << num(kBottom)
      << "\" stroke=\"#e5e5e5\"/>\n";
    s << "<text x=\"" << num(px(t)) << "\" y=\"" << num(kBottom + 18) << "\" text-anchor=\"middle\">" << tick_text(t)
      << "</text>\n";
  }
  for (double t : y_ticks) {
    s << "<line x1=\"" << num(kLeft) << "\" y1=\"" << num(py(t)) << "\" x2=\"" << num(kRight) << "\" y2=\"" << num(py(t))
      << "\" stroke=\"#e5e5e5\"/>\n";
    s << "<text x=\"" << num(kLeft - 8) << "\" y=\"" << num(py(t) + 4) << "\" text-anchor=\"end\">" << tick_text(t)
      << "</text>\n";
  }
  s << "<rect x=\"" << num(kLeft) << "\" y=\"" << num(kTop) << "\" width=\"" << num(kRight - kLeft) << "\" height=\""
    << num(kBottom - kTop) << "\" fill=\"none\" stroke=\"#222\"/>\n";
  s << "<text x=\"" << num((kLeft + kRight) / 2) << "\" y=\"" << num(kBottom + 42) << "\" text-anchor=\"middle\">"
    << xml(chart.x_label) << "</text>\n";
  s << "<text transform=\"translate(22," << num((kTop + kBottom) / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
    << xml(chart.y_label) << "</text>\n";
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const Series& series = chart.series[i];
    const char* color = kPalette[i % std::size(kPalette)];
    if (chart.lines && series.points.size() > 1) {
      s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
      for (const auto& p : series.points) s << num(px(p.x)) << "," << num(py(p.y)) << " ";
      s << "\"/>\n";
    }
    for (const auto& p : series.points) {
      s << "<circle cx=\"" << num(px(p.x)) << "\" cy=\"" << num(py(p.y)) << "\" r=\"4\" fill=\"" << color << "\"/>\n";
      if (!p.label.empty())
        s << "<text x=\"" << num(px(p.x) + 6) << "\" y=\"" << num(py(p.y) - 6) << "\">" << xml(p.label) << "</text>\n";
    }
    if (chart.lines) {
      double y = kTop + 8 + 18 * static_cast<double>(i);
      s << "<line x1=\"" << num(kRight + 15) << "\" y1=\"" << num(y) << "\" x2=\"" << num(kRight + 35) << "\" y2=\""
        << num(y) << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n";
      s << "<text x=\"" << num(kRight + 40) << "\" y=\"" << num(y + 4) << "\">" << xml(series.name) << "</text>\n";
    }
  }
  for (size_t i = 0; i < chart.footer.size(); ++i)
    s << "<text x=\"8\" y=\"" << num(466 + 14 * static_cast<double>(i)) << "\" font-size=\"9\" fill=\"#555\">"
      << xml(chart.footer[i]) << "</text>\n";
  s << "</svg>\n";
  return s.str();
}

std::string title_of(const Table& t, const std::string& y, const std::string& x) {
  return y + " vs " + x + ": run " + std::to_string(t.run.id) + " (" + t.run.info.suite_name + ")";
}

Chart scatter(const Table& t, const Selector& xs, const Selector& ys, std::ostream& err) {
  size_t xc = one_column(t, xs, err), yc = one_column(t, ys, err);
  Chart chart{title_of(t, t.columns[yc].label, t.columns[xc].label), t.columns[xc].label, t.columns[yc].label, false, {}};
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const Row& row = t.rows[r];
    if (row.published || row.entries[xc].values.empty() || row.entries[yc].values.empty()) continue;
    const double x = row.entries[xc].mean(), y = row.entries[yc].mean();
    if (!std::isfinite(x) || !std::isfinite(y)) {
      err << "note: " << one_line(row.model, 80) << " is not plotted: its value is not a finite number\n";
      continue;
    }
    chart.series.push_back({row.model, {{x, y, row.model}}});
  }
  return chart;
}

// "Latency bs1 (ms, median)" -> "Latency (ms, median)": the setting becomes the x axis.
std::string without_setting(std::string label, const std::string& key, const json& value) {
  std::string v = value.is_string() ? value.get<std::string>() : value.dump();
  std::string shown = key == "batch_size" ? " bs" + v
                      : (key == "resolution" || key == "img_size" || key == "input_size") ? " " + v + "px"
                                                                                          : " " + key + "=" + v;
  auto at = label.find(shown);
  if (at != std::string::npos) label.erase(at, shown.size());
  return label;
}

// A setting as an x coordinate: a number as it is; a resolution "HxW" at sqrt(H * W), the side of the square with
// as many pixels.
std::optional<double> setting_number(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string t = v.get<std::string>();
  const size_t x = t.find('x');
  if (x == std::string::npos || x == 0 || x + 1 >= t.size()) return std::nullopt;
  char* end = nullptr;
  const double h = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + x) return std::nullopt;
  const double w = std::strtod(t.c_str() + x + 1, &end);
  if (*end != '\0' || !(h > 0) || !(w > 0)) return std::nullopt;
  return std::sqrt(h * w);
}

// One line per model: y over the values of the setting `key` (e.g. batch_size, resolution) of y's columns.
Chart lines_over_setting(const Table& t, const std::string& key, const Selector& ys, std::ostream& err) {
  std::vector<size_t> columns;
  for (size_t i : matching_columns(t, ys))
    if (t.columns[i].settings.contains(key) && setting_number(t.columns[i].settings[key])) columns.push_back(i);
  if (columns.empty())
    throw std::invalid_argument("'" + key + "' is neither a metric nor a numeric setting of '" + ys.text + "' in run " +
                             std::to_string(t.run.id));
  const Column& first = t.columns[columns[0]];
  std::string y_label = without_setting(first.label, key, first.settings[key]);
  Chart chart{title_of(t, y_label, key), key, y_label, /*lines=*/true, {}};
  for (const auto& row : t.rows) {
    if (row.published) continue;
    Series series{row.model, {}};
    for (size_t c : columns) {
      if (row.entries[c].values.empty()) continue;
      const std::optional<double> x = setting_number(t.columns[c].settings[key]);
      const double y = row.entries[c].mean();
      if (x && std::isfinite(*x) && std::isfinite(y)) series.points.push_back({*x, y, ""});
      else err << "note: a point of " << one_line(row.model, 80) << " is not plotted: its value is not a finite number\n";
    }
    std::sort(series.points.begin(), series.points.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
    if (!series.points.empty()) chart.series.push_back(std::move(series));
  }
  return chart;
}

std::string default_y(const Table& t) {
  for (const char* metric : {"top1", "miou"})
    for (const auto& c : t.columns)
      if (c.metric == metric) return metric;
  throw std::invalid_argument("run " + std::to_string(t.run.id) + " has neither top1 nor miou to plot; pass --y");
}

}  // namespace

int run_plot(const PlotOptions& options, std::ostream& out, std::ostream& err) {
  try {
    Table table = load_table(options.db, options.run, options.suite);
    Selector ys = parse_selector(options.y.empty() ? default_y(table) : options.y);
    Selector xs = parse_selector(options.x);
    bool x_is_metric = !matching_columns(table, Selector{xs.metric, xs.dataset, json::object(), xs.text}).empty();
    Chart chart = x_is_metric ? scatter(table, xs, ys, err) : lines_over_setting(table, xs.metric, ys, err);
    chart.footer = table.provenance;
    write_output(render_svg(chart), options.out, out);
    return 0;
  } catch (const std::exception& e) {
    err << one_line(e.what(), 400) << "\n";
    // A choice that names nothing in the database (run, suite, model, format, axis) or an unreadable input: 2.
    return exit_code_of(e);
  }
}

}  // namespace locbench::report
