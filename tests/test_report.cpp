// The report: golden tables in every format and one SVG, from a database filled through the Store.
// Regenerate the golden files with LOCBENCH_UPDATE_GOLDEN=1 and review the diff.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <map>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/store/store.h"
#include "report/escape.h"
#include "report/report.h"
#include "report/table.h"
#include "harness/common/text.h"
#include "test_helpers.h"

namespace locbench::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using store::Cell;
using store::Result;

constexpr const char* kTiny = "vit_tiny_patch16_224";
constexpr const char* kLocAt = "locatvit_tiny";
constexpr const char* kLocal = "localvit_tiny_mlp4_act3_r192";
constexpr const char* kLocalLabel = "LocalViT-T";  // a suite label: the row keeps its registry name's published rows

Cell cell(const std::string& model, const std::string& dataset, const std::string& measurement,
          const std::string& settings, std::optional<int64_t> seed, std::vector<Result> results) {
  Cell c;
  c.model = model, c.dataset = dataset, c.measurement = measurement, c.settings_json = settings, c.seed = seed;
  if (model == kLocal) c.label = kLocalLabel;
  c.key = model + "/" + dataset + "/" + measurement + "/" + settings + "/" + (seed ? std::to_string(*seed) : "-");
  c.results = std::move(results);
  c.started_at = c.ended_at = "2026-01-01T00:00:00.000Z";
  // What the runner records: the device and the model as built (ImageNet classifiers at 224 px).
  c.provenance_json = json{{"device", "cpu"}, {"device_name", "Test CPU"}, {"threads", 2}, {"precision", "fp32"},
                           {"img_size", {224, 224}}, {"num_classes", 1000}, {"task", "classification"},
                           {"variables", {{"IMAGENET_ROOT", "/data/imagenet"}}}}
                          .dump();
  return c;
}

// Ten repetitions around `median` that spread by `spread` (relative), in a fixed order.
std::vector<double> repetitions(double median, double spread) {
  std::vector<double> out;
  for (double f : {0.0, 0.3, -0.3, 0.6, -0.6, 0.9, -0.9, 0.15, -0.15, 0.45}) out.push_back(median * (1 + f * spread));
  return out;
}

struct ModelNumbers {
  const char* model;
  double params, macs, latency_bs1, latency_bs8, throughput_bs8;
  std::vector<double> top1;          // per seed 0..2
  std::vector<double> miou_ade;      // per seed 0..1 (n = 2)
  double miou_pc;                    // seed 0 only
  std::vector<double> macc_ade;      // per seed 0..1: overlapping between models, so no difference is significant
};

// A fixed database: three models (recorded out of suite order), complexity, latency at two batch
// sizes, ImageNet top-1 over 3 seeds, mIoU on two datasets, and one failed cell.
fs::path fill_database(const std::string& name) {
  auto db = testing::temp_dir(name) / "results.db";
  store::Store s(db.string(), [] { return std::string("2026-01-01T00:00:00.000Z"); });
  store::RunInfo info;
  info.suite_name = "locality";
  info.suite_json = json{{"name", "locality"}, {"models", {kTiny, kLocAt, kLocal}}}.dump();
  info.suite_hash = "0123abcd";
  info.git_commit = "b39fe70";
  info.host = "testhost";
  info.gpu_name = "NVIDIA H100 80GB HBM3";
  info.libtorch_version = "2.5.1";
  info.cpu_name = "Test CPU";
  info.threads = 2;
  info.seeds = {0, 1, 2};
  info.environment_json = json{{"device", "cpu"}, {"cudnn_version", ""}}.dump();
  int64_t run = s.begin_run(info);
  std::vector<ModelNumbers> models = {
      {kLocAt, 5719756, 1.275e9, 4.10, 9.00, 1500.0, {73.8, 74.0, 74.2}, {23.2, 23.6}, 38.6, {52.0, 58.0}},
      {kTiny, 5717416, 1.258e9, 3.50, 8.00, 1700.0, {72.1, 72.5, 72.3}, {17.1, 17.5}, 33.7, {50.0, 60.0}},
      {kLocal, 5910000, 1.27e9, 4.50, 0.0, 0.0, {74.7, 74.9, 74.8}, {21.0, 21.4}, 36.0, {49.0, 61.0}},
  };
  for (const auto& m : models) {
    s.record_cell(run, cell(m.model, "", "complexity", "{}", std::nullopt,
                            {{"params", m.params, "count", ""}, {"macs", m.macs, "MACs", "fvcore"}}));
    Cell bs1 = cell(m.model, "", "latency", R"({"batch_size":1})", std::nullopt, {{"latency", m.latency_bs1, "ms", "median"}});
    // LocalViT's repetitions spread by 30%: a noisy timing.
    bs1.samples = {{"latency", repetitions(m.latency_bs1, m.model == std::string(kLocal) ? 0.3 : 0.02)}};
    if (m.model == std::string(kLocAt)) {
      bs1.checkpoint_path = "/ckpt/locatvit_tiny.safetensors";
      bs1.checkpoint_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    }
    s.record_cell(run, bs1);
    if (m.model == std::string(kLocal)) {
      Cell failed = cell(m.model, "", "latency", R"({"batch_size":8})", std::nullopt, {});
      failed.passed = false;
      failed.error = "CUDA out of memory\nbacktrace follows";
      s.record_cell(run, failed);
    } else {
      s.record_cell(run, cell(m.model, "", "latency", R"({"batch_size":8})", std::nullopt,
                              {{"latency", m.latency_bs8, "ms", "median"}, {"throughput", m.throughput_bs8, "img/s", ""}}));
    }
    for (int seed = 0; seed < 3; ++seed)
      s.record_cell(run, cell(m.model, "imagenet", "accuracy", "{}", seed, {{"top1", m.top1[seed], "%", ""}}));
    for (int seed = 0; seed < 2; ++seed)
      s.record_cell(run, cell(m.model, "ade20k", "segmentation", "{}", seed,
                              {{"miou", m.miou_ade[seed], "%", "whole"}, {"macc", m.macc_ade[seed], "%", "whole"}}));
    s.record_cell(run, cell(m.model, "pascal_context_59", "segmentation", "{}", 0, {{"miou", m.miou_pc, "%", "whole"}}));
  }
  s.end_run(run, "failed");
  return db;
}

// A small published-numbers file, so the goldens do not change when results/published.json grows.
fs::path write_published(const fs::path& dir) {
  json doc = {{"sources", {{"locatvit", {{"title", "Locality-Attending Vision Transformer"}, {"arxiv", "2603.00001"},
                                         {"table", "Table 1"}}}}},
              {"numbers",
               {{{"model", kTiny}, {"metric", "top1"}, {"dataset", "imagenet"}, {"value", 72.39}, {"unit", "%"},
                 {"convention", "224 px"}, {"resolution", 224}, {"num_classes", 1000}, {"source", "locatvit"}},
                {{"model", kLocAt}, {"metric", "top1"}, {"dataset", "imagenet"}, {"value", 73.94}, {"unit", "%"},
                 {"resolution", 224}, {"source", "locatvit"}},
                {{"model", kLocAt}, {"metric", "macs"}, {"value", 1.27}, {"unit", "GMACs"},
                 {"convention", "fvcore-style"}, {"source", "LocAtViT paper, FLOPs"}},
                // A labelled row keeps its registry name's numbers.
                {{"model", kLocal}, {"metric", "top1"}, {"dataset", "imagenet"}, {"value", 74.8}, {"unit", "%"},
                 {"resolution", 224}, {"source", "locatvit"}},
                // Numbers that do not apply: another resolution, another number of classes, another task.
                {{"model", kTiny}, {"metric", "macs"}, {"value", 4.8}, {"unit", "GMACs"}, {"resolution", 384},
                 {"source", "locatvit"}},
                {{"model", kTiny}, {"metric", "params"}, {"value", 5.0}, {"unit", "M"}, {"num_classes", 100},
                 {"source", "locatvit"}},
                {{"model", kTiny}, {"metric", "params"}, {"value", 6.0}, {"unit", "M"}, {"task", "segmentation"},
                 {"source", "locatvit"}},
                {{"model", "unknown_model"}, {"metric", "top1"}, {"value", 1.0}, {"unit", "%"}, {"source", "x"}}}}};
  auto path = dir / "published.json";
  testing::write_bytes(path, doc.dump());
  return path;
}

void expect_golden(const std::string& name, const std::string& actual) {
  fs::path golden = fs::path(testing::source_dir()) / "tests" / "golden" / name;
  const char* update = std::getenv("LOCBENCH_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    testing::write_bytes(golden, actual);
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with LOCBENCH_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(actual, testing::read_bytes(golden)) << "differs from " << golden
                                                 << " (LOCBENCH_UPDATE_GOLDEN=1 regenerates it)";
}

std::string report(ReportOptions options, int expected_rc = 0) {
  std::ostringstream out, err;
  int rc = run_report(options, out, err);
  EXPECT_EQ(rc, expected_rc) << err.str();
  return expected_rc == 0 ? out.str() : err.str();
}

class ReportGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ReportGolden, MatchesGoldenFile) {
  auto db = fill_database("report_golden_" + GetParam());
  ReportOptions options;
  options.db = db.string();
  options.format = GetParam();
  options.baseline = kTiny;
  options.published = write_published(db.parent_path()).string();
  std::string ext = GetParam() == "latex" ? "tex" : GetParam();
  expect_golden("report." + ext, report(options));
}

INSTANTIATE_TEST_SUITE_P(Formats, ReportGolden, ::testing::Values("md", "csv", "latex", "html", "json"));

TEST(Report, ScatterPlotMatchesGoldenSvg) {
  auto db = fill_database("report_svg");
  PlotOptions options;
  options.db = db.string();
  options.x = "macs";
  options.y = "top1";
  std::ostringstream out, err;
  ASSERT_EQ(run_plot(options, out, err), 0) << err.str();
  expect_golden("plot_top1_vs_macs.svg", out.str());
}

TEST(Report, IntervalsTestsDeltasAndFailuresAreComputed) {
  auto db = fill_database("report_numbers");
  ReportOptions options;
  options.db = db.string();
  options.format = "json";
  options.baseline = kTiny;
  options.published = "";
  json doc = json::parse(report(options));
  auto column = [&](const std::string& label) {
    for (size_t i = 0; i < doc["columns"].size(); ++i)
      if (doc["columns"][i]["label"] == label) return i;
    ADD_FAILURE() << "no column " << label << " in " << doc["columns"].dump();
    return size_t{0};
  };
  auto entry = [&](const std::string& model, size_t col) {
    for (const auto& row : doc["rows"])
      if (row["model"] == model && !row["published"].get<bool>()) return row["entries"][col];
    return json();
  };
  size_t top1 = column("Top-1 (%)");
  const json locat = entry(kLocAt, top1);
  EXPECT_NEAR(locat["mean"].get<double>(), 74.0, 1e-9);
  EXPECT_NEAR(locat["std"].get<double>(), 0.2, 1e-9);  // sample std of 73.8, 74.0, 74.2
  EXPECT_EQ(locat["n"], 3);
  // t(0.975, 2) = 4.302652729911275: 74.0 -+ 4.3027 * 0.2 / sqrt(3)
  EXPECT_NEAR(locat["ci_low"].get<double>(), 74.0 - 4.302652729911275 * 0.2 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(locat["ci_high"].get<double>(), 74.0 + 4.302652729911275 * 0.2 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(locat["delta"].get<double>(), 74.0 - 72.3, 1e-9);
  EXPECT_NEAR(locat["p"].get<double>(), 0.000480882380625146, 1e-12);  // scipy.stats.ttest_ind(equal_var=False)
  EXPECT_EQ(locat["test"], "welch");
  EXPECT_TRUE(locat["significant"].get<bool>());
  EXPECT_LT(locat["delta_ci_low"].get<double>(), 1.7);
  EXPECT_GT(locat["delta_ci_high"].get<double>(), 1.7);
  EXPECT_TRUE(entry(kTiny, top1)["delta"].is_null());  // the baseline itself
  EXPECT_EQ(entry(kTiny, column("Params (M)"))["mean"].get<double>(), 5.717416);
  EXPECT_TRUE(entry(kLocAt, column("Params (M)"))["p"].is_null());  // one value a side: not testable
  EXPECT_NEAR(entry(kTiny, column("GMACs (fvcore)"))["mean"].get<double>(), 1.258, 1e-12);
  EXPECT_EQ(entry(kTiny, column("mIoU (%, whole)"))["n"], 2);  // ADE20K comes before PASCAL-Context
  // Timings: the median with the quartiles of the repetitions, compared by Mann-Whitney U.
  const json latency = entry(kLocAt, column("Latency bs1 (ms, median)"));
  EXPECT_EQ(latency["repetitions"], 10);
  EXPECT_NEAR(latency["median"].get<double>(), 4.10 * (1 + 0.075 * 0.02), 1e-9);
  EXPECT_FALSE(latency["noisy"].get<bool>());
  EXPECT_EQ(latency["test"], "mann-whitney");
  EXPECT_LT(latency["p"].get<double>(), 0.001);
  EXPECT_TRUE(entry(kLocalLabel, column("Latency bs1 (ms, median)"))["noisy"].get<bool>());
  size_t bs8 = column("Latency bs8 (ms, median)");
  EXPECT_TRUE(entry(kLocalLabel, bs8)["failed"].get<bool>());
  EXPECT_TRUE(entry(kLocalLabel, column("Throughput bs8 (img/s)"))["failed"].get<bool>());
  EXPECT_NE(doc["footnotes"][0].get<std::string>().find("CUDA out of memory"), std::string::npos);
  EXPECT_EQ(doc["footnotes"][0].get<std::string>().find("backtrace"), std::string::npos);
  // Rows in suite order although the cells were recorded locatvit first; a labelled row is its label.
  EXPECT_EQ(doc["rows"][0]["model"], kTiny);
  EXPECT_EQ(doc["rows"][1]["model"], kLocAt);
  EXPECT_EQ(doc["rows"][2]["model"], kLocalLabel);
  EXPECT_EQ(doc["rows"][2]["registry"], kLocal);
}

TEST(Report, SaysWhenNoModelDiffersSignificantly) {
  auto db = fill_database("report_no_difference");
  ReportOptions options;
  options.db = db.string();
  options.detail = true;  // mAcc is a detail column
  options.published = "";
  options.baseline = kTiny;
  const std::string md = report(options);
  // ADE20K mIoU at n = 2: LocAtViT +6.10 with p = 0.0021 (Welch, df = 2) is significant; PASCAL-Context has one
  // seed each, so nothing is tested there and nothing is claimed.
  EXPECT_NE(md.find("(+6.10*, p=0.002)"), std::string::npos) << md;
  EXPECT_EQ(md.find("PASCAL-Context-59 mIoU (%): no model differs"), std::string::npos) << md;
  // mAcc overlaps between every model: the table says that no difference is significant.
  EXPECT_NE(md.find("ADE20K mAcc (%): no model differs significantly from vit_tiny_patch16_224 (p &lt; 0.05)."),
            std::string::npos)
      << md;
}

TEST(Report, MarkdownShowsIntervalsSeedCountsAndFailedCells) {
  auto db = fill_database("report_md");
  ReportOptions options;
  options.db = db.string();
  options.detail = true;
  options.published = "";
  std::string md = report(options);
  EXPECT_NE(md.find("| 17.30 ± 2.54 (n=2) |"), std::string::npos) << md;  // t(0.975, 1) = 12.706
  EXPECT_NE(md.find("| 72.30 ± 0.50 (n=3) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 3.50 [3.48, 3.53] |"), std::string::npos) << md;
  EXPECT_NE(md.find("†"), std::string::npos) << md;  // LocalViT's noisy latency
  EXPECT_NE(md.find("| failed [1] |"), std::string::npos) << md;
  EXPECT_NE(md.find("| ADE20K mIoU (%) | ADE20K mAcc (%) | PASCAL-Context-59 mIoU (%) |"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("(+"), std::string::npos) << "no baseline, no deltas";
}

TEST(Report, EveryFormatCarriesTheProvenance) {
  auto db = fill_database("report_provenance");
  ReportOptions options;
  options.db = db.string();
  options.published = "";
  for (const char* format : {"md", "csv", "latex", "html", "json"}) {
    options.format = format;
    const std::string text = report(options);
    if (std::string(format) == "csv") continue;  // a tidy data file: one header line of column names
    for (const char* needle : {"commit b39fe70", "Test CPU", "threads 2", "LibTorch 2.5.1", "IMAGENET_ROOT=/data/imagenet",
                               "/ckpt/locatvit_tiny.safetensors", "9f86d081884c7d65"})
      EXPECT_NE(text.find(std::string(format) == "latex" ? latex_text(needle) : std::string(needle)), std::string::npos)
          << format << " lacks " << needle;
  }
  PlotOptions plot;
  plot.db = db.string();
  std::ostringstream out, err;
  ASSERT_EQ(run_plot(plot, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("IMAGENET_ROOT=/data/imagenet"), std::string::npos);
  EXPECT_NE(out.str().find("commit b39fe70"), std::string::npos);
}

TEST(Report, PublishedRowsOnlyWhereTheyApply) {
  auto db = fill_database("report_published");
  ReportOptions options;
  options.db = db.string();
  options.format = "json";
  options.published = write_published(db.parent_path()).string();
  json doc = json::parse(report(options));
  std::vector<std::string> published;
  for (const auto& row : doc["rows"])
    if (row["published"].get<bool>()) {
      published.push_back(row["registry"]);
      for (const auto& e : row["entries"])
        if (!e.is_null()) EXPECT_NE(e["values"][0], 4.8) << "a 384 px number beside a 224 px measurement";
    }
  // vit_tiny (top-1; not its 384 px MACs, 100-class or segmentation params), LocAtViT (two sources), and the
  // labelled LocalViT row; grouped by source, in the measured rows' order within a source.
  EXPECT_EQ(published, (std::vector<std::string>{kTiny, kLocAt, kLocal, kLocAt})) << doc["rows"].dump();
  std::vector<std::string> sources;
  for (const auto& row : doc["rows"])
    if (row["published"].get<bool>()) sources.push_back(row["source"]);
  EXPECT_EQ(sources.front(), "Locality-Attending Vision Transformer, arXiv:2603.00001, Table 1");
  EXPECT_EQ(sources.back(), "LocAtViT paper, FLOPs");
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(doc["rows"][i]["published"].get<bool>()) << "measured rows first";
  bool cited = false;
  for (const auto& f : doc["footnotes"])
    cited |= f.get<std::string>().find("Locality-Attending Vision Transformer, arXiv:2603.00001, Table 1") !=
             std::string::npos;
  EXPECT_TRUE(cited) << doc["footnotes"].dump();
}

TEST(Report, LatexIsBooktabsWithEscapedUnderscores) {
  auto db = fill_database("report_tex");
  ReportOptions options;
  options.db = db.string();
  options.format = "latex";
  options.published = "";
  options.detail = true;
  std::string tex = report(options);
  for (const char* needle : {"\\toprule", "\\midrule", "\\bottomrule", "vit\\_tiny\\_patch16\\_224",
                             "\\multicolumn{2}{c}{ADE20K}", "\\cmidrule(lr){8-9}", "$\\pm$"})
    EXPECT_NE(tex.find(needle), std::string::npos) << needle;
  std::string typeset;  // what LaTeX reads: everything but the % provenance comments
  std::istringstream lines(tex);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("%", 0) != 0) typeset += line + "\n";
  EXPECT_EQ(typeset.find("vit_tiny"), std::string::npos);
  options.detail = false;
  EXPECT_NE(report(options).find("(quartiles in -{}-detail)"), std::string::npos) << "two hyphens, not an en dash";
}

TEST(Report, LatexShowsDifferencesWithTheirMarkAndLeavesPValuesToTheData) {
  auto db = fill_database("report_tex_baseline");
  ReportOptions options;
  options.db = db.string();
  options.format = "latex";
  options.published = "";
  options.baseline = kTiny;
  const std::string tex = report(options);
  EXPECT_NE(tex.find("74.00 $\\pm$ 0.50 (n=3) (+1.70*) &"), std::string::npos) << tex;
  EXPECT_NE(tex.find("5.72 (+0.00) &"), std::string::npos) << tex;
  EXPECT_EQ(tex.find("$p"), std::string::npos) << tex;
  EXPECT_NE(tex.find("no mark: not significant, or not testable"), std::string::npos) << tex;
  options.format = "md";
  EXPECT_NE(report(options).find("(+1.70*, p<0.001)"), std::string::npos) << "Markdown keeps the p-value";
}

TEST(Report, SelectsRunsBySuiteAndId) {
  auto db = fill_database("report_select");
  {
    store::Store s(db.string());
    store::RunInfo other;
    other.suite_name = "other";
    other.suite_json = "{}";
    other.suite_hash = "x";
    int64_t run = s.begin_run(other);
    s.record_cell(run, cell("deit_tiny_patch16_224", "", "complexity", "{}", std::nullopt, {{"params", 1e6, "count", ""}}));
  }
  ReportOptions options;
  options.db = db.string();
  options.format = "csv";
  options.published = "";
  EXPECT_NE(report(options).find("deit_tiny_patch16_224"), std::string::npos);  // the newest run
  options.suite = "locality";
  EXPECT_NE(report(options).find(kLocAt), std::string::npos);
  options.suite.reset();
  options.run = 1;
  EXPECT_NE(report(options).find(kLocAt), std::string::npos);
  options.run = 9;
  EXPECT_NE(report(options, 2).find("has no run 9"), std::string::npos);
  options.run.reset();
  options.suite = "nope";
  EXPECT_NE(report(options, 2).find("no run of suite 'nope'"), std::string::npos);
}

TEST(Report, ErrorsAreOneActionableLine) {
  auto db = fill_database("report_errors");
  ReportOptions options;
  options.db = db.string();
  options.published = "";
  options.baseline = "resnet50";
  std::string message = report(options, 2);
  EXPECT_NE(message.find("baseline model 'resnet50' is not in run 1"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), message.size() - 1);
  options.baseline.reset();
  options.format = "docx";
  EXPECT_NE(report(options, 2).find("unknown report format 'docx'"), std::string::npos);
  options.format = "md";
  options.db = (db.parent_path() / "missing.db").string();
  EXPECT_NE(report(options, 2).find("no results database at"), std::string::npos);
  EXPECT_FALSE(fs::exists(options.db)) << "reporting must not create a database";
  options.db = db.string();
  options.published = (db.parent_path() / "nope.json").string();
  EXPECT_NE(report(options, 2).find("nope.json: no such published numbers file"), std::string::npos);
}

TEST(Report, LatencyAgainstBatchSizeIsOneLinePerModel) {
  auto db = fill_database("report_lines");
  PlotOptions options;
  options.db = db.string();
  options.x = "batch_size";
  options.y = "latency";
  std::ostringstream out, err;
  ASSERT_EQ(run_plot(options, out, err), 0) << err.str();
  std::string svg = out.str();
  size_t polylines = 0;
  for (size_t at = 0; (at = svg.find("<polyline", at)) != std::string::npos; ++at) ++polylines;
  EXPECT_EQ(polylines, 2u) << "localvit has only bs1 (its bs8 failed), so it is a point, not a line";
  EXPECT_NE(svg.find("Latency (ms, median)"), std::string::npos);
  options.x = "dtype";
  std::ostringstream out2, err2;
  EXPECT_EQ(run_plot(options, out2, err2), 2);
  EXPECT_NE(err2.str().find("neither a metric nor a numeric setting"), std::string::npos) << err2.str();
}

TEST(Report, PublishedNumbersFileIsWellFormedAndCited) {
  const std::string path = testing::source_dir() + "/results/published.json";
  auto numbers = load_published(path);
  ASSERT_FALSE(numbers.empty());
  const json doc = json::parse(testing::read_bytes(path));
  for (const auto& [id, source] : doc["sources"].items()) {
    EXPECT_TRUE(source.contains("title")) << id;
    EXPECT_TRUE(source.contains("arxiv") || source.contains("url")) << id;
    EXPECT_TRUE(source.contains("table")) << id;
  }
  for (const auto& n : doc["numbers"])
    EXPECT_TRUE(doc["sources"].contains(n["source"].get<std::string>())) << n.dump();
  for (const auto& n : numbers) {
    // Papers and repositories only: nothing outside the repository.
    EXPECT_EQ(n.source.find("shared/"), std::string::npos) << n.model << " " << n.metric << ": " << n.source;
    EXPECT_EQ(n.source.find(".md"), std::string::npos) << n.model << " " << n.metric << ": " << n.source;
    bool known = (n.metric == "params" && n.unit == "M") || (n.metric == "macs" && n.unit == "GMACs") ||
                 ((n.metric == "top1" || n.metric == "miou") && n.unit == "%" && !n.dataset.empty());
    EXPECT_TRUE(known) << n.model << " " << n.metric << " [" << n.unit << "] " << n.dataset;
    // Where it applies: a resolution for every ImageNet or complexity number, the classes of a classifier's.
    if (n.metric != "miou") EXPECT_TRUE(n.resolution.has_value()) << n.model << " " << n.metric;
    if (n.metric == "top1") EXPECT_EQ(n.num_classes, 1000) << n.model;
  }
}


// The quickstart's shape (suites/quickstart.json): five models, complexity, latency at bs 1 with its secondary figures,
// throughput at bs 8, peak memory, top-1 and top-5 of one seed, with the conventions the harness records.
fs::path fill_quickstart_database(const std::string& name) {
  auto db = testing::temp_dir(name) / "results.db";
  store::Store s(db.string(), [] { return std::string("2026-01-01T00:00:00.000Z"); });
  store::RunInfo info;
  info.suite_name = "quickstart";
  const std::vector<std::string> models = {"vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224",
                                           "localvit_pico_patch8_64", "glnet_pico_64"};
  info.suite_json = json{{"name", "quickstart"}, {"models", models}}.dump();
  info.suite_hash = "q";
  info.git_commit = "cb5ded2";
  info.host = "testhost";
  info.cpu_name = "Test CPU";
  info.threads = 2;
  int64_t run = s.begin_run(info);
  for (size_t i = 0; i < models.size(); ++i) {
    const double k = 1.0 + static_cast<double>(i);
    const std::string& m = models[i];
    s.record_cell(run, cell(m, "", "params", "{}", std::nullopt, {{"params", 5.5e6 * k * k, "count", "timm"}}));
    s.record_cell(run, cell(m, "", "macs", "{}", std::nullopt,
                            {{"macs", 1.1e9 * k * k, "MACs", "fvcore"}, {"flops", 2.2e9 * k * k, "FLOPs", "fvcore"}}));
    Cell latency = cell(m, "", "latency", R"({"batch_size":1})", std::nullopt,
                        {{"latency", 3.1 * k, "ms", "median, random-input forward"},
                         {"latency_p90", 3.4 * k, "ms", "p90, random-input forward"},
                         {"latency_min", 3.0 * k, "ms", "min, random-input forward"},
                         {"latency_cpu", 6.0 * k, "ms", "CPU time (user + sys), median, random-input forward"}});
    latency.samples = {{"latency", repetitions(3.1 * k, i == 3 ? 0.3 : 0.02)}, {"latency_cpu", repetitions(6.0 * k, 0.02)}};
    s.record_cell(run, latency);
    s.record_cell(run, cell(m, "", "throughput", R"({"batch_size":8})", std::nullopt,
                            {{"throughput", 1234.5 / k, "img/s", "timm benchmark.py"},
                             {"step_time", 6.48 * k, "ms", "mean, timm benchmark.py"},
                             {"throughput_cpu", 617.25 / k, "img/s", "per CPU second (user + sys), timm benchmark.py"}}));
    s.record_cell(run, cell(m, "", "memory", R"({"batch_size":1})", std::nullopt,
                            {{"peak_memory", 310.0 * 1048576 * k, "bytes",
                              "VmHWM since the model was built, in the run's process"}}));
    s.record_cell(run, cell(m, "synth10", "accuracy", R"({"batch_size":8})", 0,
                            {{"top1", 10.0 + k, "%", "64 px, crop 0.875, bicubic"},
                             {"top5", 50.0 + k, "%", "64 px, crop 0.875, bicubic"}}));
  }
  s.end_run(run, "passed");
  return db;
}

std::string header_line(const std::string& md) {
  const size_t at = md.find("| Model |");
  return at == std::string::npos ? "" : md.substr(at, md.find('\n', at) - at);
}

TEST(ReportView, DefaultIsPaperSizedAndDetailHasTheRest) {
  auto db = fill_quickstart_database("report_view_default");
  ReportOptions options;
  options.db = db.string();
  options.published = "";
  const std::string md = report(options);
  EXPECT_EQ(header_line(md), "| Model | Params (M) | GMACs | Latency (ms, bs 1) | Throughput (img/s, bs 8) | "
                             "Peak memory (MiB, bs 1) | Top-1 (%) |")
      << md;
  EXPECT_NE(md.find("| vit_tiny_patch16_224 | 5.50 | 1.10 | 3.10 | 1234.5 | 310 | 11.00 |"), std::string::npos)
      << "the main table shows timings as medians: " << md;
  EXPECT_NE(md.find("Also measured, in the detail table (--detail): GFLOPs, Latency p90, Latency min, Latency CPU time, "
                    "Step time, Throughput per CPU second, Top-5."),
            std::string::npos)
      << "nothing is left out silently: " << md;
  EXPECT_NE(md.find("Latency: median, random-input forward."), std::string::npos) << "protocols in a note: " << md;
  options.detail = true;
  const std::string detail = report(options);
  for (const char* header : {"Latency p90 (ms, bs 1)", "Latency CPU time (ms, bs 1)", "GFLOPs", "Top-5 (%)",
                             "Throughput per CPU second (img/s, bs 8)"})
    EXPECT_NE(header_line(detail).find(header), std::string::npos) << header << " in " << header_line(detail);
  EXPECT_NE(detail.find("| 3.10 [3.08, 3.13] |"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("Also measured"), std::string::npos) << detail;
}

TEST(ReportView, MetricsChooseAndOrderTheColumns) {
  auto db = fill_quickstart_database("report_view_metrics");
  ReportOptions options;
  options.db = db.string();
  options.published = "";
  options.metrics = {"top1", "latency", "gmacs", "memory"};
  EXPECT_EQ(header_line(report(options)),
            "| Model | Top-1 (%) | Latency (ms, bs 1) | GMACs | Peak memory (MiB, bs 1) |");
  options.metrics = {"latency_p90@", "top5@synth10"};
  EXPECT_EQ(header_line(report(options)), "| Model | Latency p90 (ms, bs 1) | Top-5 (%) |");
  options.metrics = {"top1", "miou"};
  const std::string err = report(options, 2);
  EXPECT_NE(err.find("--metrics: no column of 'miou' in run 1 (there are: params, macs, flops, latency"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1);
}

TEST(ReportView, OneSeedCountIsSaidOnceNotInEveryEntry) {
  auto db = fill_database("report_view_seeds");
  ReportOptions options;
  options.db = db.string();
  options.published = "";
  options.metrics = {"top1"};  // three seeds each
  std::string md = report(options);
  EXPECT_NE(md.find("| vit_tiny_patch16_224 | 72.30 ± 0.50 |"), std::string::npos) << md;
  EXPECT_NE(md.find("a ± h: mean over 3 seeds ± half-width of its 95% confidence interval (Student's t, 2 degrees"),
            std::string::npos)
      << md;
  options.metrics = {"top1", "miou@ade20k"};  // three and two: each entry says its own
  md = report(options);
  EXPECT_NE(md.find("| vit_tiny_patch16_224 | 72.30 ± 0.50 (n=3) | 17.30 ± 2.54 (n=2) |"), std::string::npos) << md;
}

TEST(ReportView, BestEntryOfEachColumnIsBoldInItsDirection) {
  auto db = fill_quickstart_database("report_view_best");
  ReportOptions options;
  options.db = db.string();
  options.published = "";
  options.format = "json";
  const json doc = json::parse(report(options));
  std::map<std::string, std::string> best;  // header -> model
  for (size_t c = 0; c < doc["columns"].size(); ++c)
    for (const auto& row : doc["rows"])
      if (row["entries"][c]["best"].get<bool>()) best[doc["columns"][c]["header"]] = row["model"];
  EXPECT_EQ(best["Params (M)"], "vit_tiny_patch16_224");       // lower is better
  EXPECT_EQ(best["Latency (ms, bs 1)"], "vit_tiny_patch16_224");
  EXPECT_EQ(best["Throughput (img/s, bs 8)"], "vit_tiny_patch16_224");  // higher is better
  EXPECT_EQ(best["Top-1 (%)"], "glnet_pico_64");
  EXPECT_EQ(best.size(), doc["columns"].size()) << "every column here has a direction: " << doc["columns"].dump();
  options.format = "latex";
  EXPECT_NE(report(options).find("glnet\\_pico\\_64 & 137.50 & 27.50 & 15.50 & 246.9 & 1550 & \\textbf{15.00} \\\\"),
            std::string::npos)
      << report(options);
}

TEST(ReportHtml, ScrollsInItsOwnContainerAndSortsWithoutTheNetwork) {
  auto db = fill_database("report_html_sort");
  ReportOptions options;
  options.db = db.string();
  options.format = "html";
  options.baseline = kTiny;
  options.published = write_published(db.parent_path()).string();
  const std::string html = report(options);
  EXPECT_NE(html.find(".table-scroll { overflow-x: auto;"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"table-scroll\">\n<table class=\"sortable\">"), std::string::npos);
  for (const char* remote : {"src=", "href=", "http://", "https://", "@import"})
    EXPECT_EQ(html.find(remote), std::string::npos) << remote << ": the page loads nothing";
  size_t bodies = 0;
  for (size_t at = 0; (at = html.find("<tbody>", at)) != std::string::npos; ++at) ++bodies;
  EXPECT_EQ(bodies, 3u) << "one group per measured model, its published rows inside";
  // The sort key is the entry's number: LocAtViT's top-1 mean, the best one bold.
  EXPECT_NE(html.find("<td data-value=\"74\">74.00 ± 0.50 (n=3) (+1.70*, p&lt;0.001)</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td data-value=\"74.8\"><strong>74.80 ± 0.25 (n=3)</strong>"), std::string::npos) << html;
  EXPECT_NE(html.find("th.addEventListener(\"click\", sort);"), std::string::npos);
}

// pdflatex on a small article that \inputs the rendered table in a table float, as a paper would; the log must hold
// no overfull box. Skipped where pdflatex is not installed (scripts/install-deps.sh installs it).
struct Typeset {
  int rc = -1;
  std::string log;
  bool overfull() const { return log.find("Overfull \\hbox") != std::string::npos; }
};

Typeset typeset(const std::string& name, const std::string& table) {
  const fs::path dir = testing::temp_dir(name);
  testing::write_bytes(dir / "table.tex", table);
  testing::write_bytes(dir / "paper.tex",
                       "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n\\begin{document}\n"
                       "\\begin{table}[t]\n\\centering\n\\input{table}\n\\caption{Results.}\n\\end{table}\n"
                       "\\end{document}\n");
  const std::string command = "cd '" + dir.string() +
                              "' && pdflatex -interaction=nonstopmode -halt-on-error paper.tex >/dev/null 2>&1";
  Typeset t;
  const int status = std::system(command.c_str());
  t.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (fs::exists(dir / "paper.log")) t.log = testing::read_bytes(dir / "paper.log");
  if (t.rc == 0 && !fs::exists(dir / "paper.pdf")) t.rc = -2;
  return t;
}

bool have_pdflatex() { return std::system("command -v pdflatex >/dev/null 2>&1") == 0; }

// The ADE20K suite's shape (suites/ade20k.json): six labelled models, complexity and mIoU, aAcc, mAcc of one seed.
fs::path fill_ade20k_database(const std::string& name) {
  auto db = testing::temp_dir(name) / "results.db";
  store::Store s(db.string(), [] { return std::string("2026-01-01T00:00:00.000Z"); });
  store::RunInfo info;
  info.suite_name = "ade20k";
  const std::vector<std::pair<std::string, std::string>> models = {
      {"vit_tiny_patch16_224", "ViT-Ti/16"}, {"locatvit_tiny", "LocAtViT-Tiny"}, {"vit_base_patch16_224", "ViT-B/16"},
      {"locatvit_base", "LocAtViT-Base"}, {"localvit_tiny_mlp4_act3_r192", "LocalViT-T"}, {"glnet_4g", "GLNet-4G"}};
  json listed = json::array();
  for (const auto& [model, label] : models) listed.push_back({{"name", model}, {"label", label}});
  info.suite_json = json{{"name", "ade20k"}, {"models", listed}}.dump();
  info.suite_hash = "a";
  int64_t run = s.begin_run(info);
  for (size_t i = 0; i < models.size(); ++i) {
    const double k = 1.0 + static_cast<double>(i);
    auto labelled = [&](Cell c) {
      c.label = models[i].second;
      return c;
    };
    s.record_cell(run, labelled(cell(models[i].first, "", "params", "{}", std::nullopt,
                                     {{"params", 5.7e6 * k, "count", "timm"}})));
    s.record_cell(run, labelled(cell(models[i].first, "", "macs", "{}", std::nullopt,
                                     {{"macs", 1.26e9 * k, "MACs", "fvcore"}, {"flops", 2.52e9 * k, "FLOPs", "fvcore"}})));
    s.record_cell(run, labelled(cell(models[i].first, "ade20k", "miou", "{}", 0,
                                     {{"miou", 17.0 + k, "%", "whole"}, {"aacc", 70.0 + k, "%", "whole"},
                                      {"macc", 25.0 + k, "%", "whole"}, {"train_time", 3600.0 * k, "s", "head"}})));
  }
  s.end_run(run, "passed");
  return db;
}

TEST(ReportLatex, CompilesWithoutOverfullBoxes) {
  if (!have_pdflatex()) GTEST_SKIP() << "pdflatex is not installed (scripts/install-deps.sh installs texlive)";
  ReportOptions options;
  options.published = "";
  options.format = "latex";
  auto ade20k = fill_ade20k_database("report_latex_ade20k");
  options.db = ade20k.string();
  for (bool detail : {false, true}) {  // the main table as it is; the detail table (six more columns) fitted
    options.detail = options.latex_fit = detail;
    const Typeset t = typeset(detail ? "report_latex_ade20k_detail" : "report_latex_ade20k_main", report(options));
    EXPECT_EQ(t.rc, 0) << t.log;
    EXPECT_FALSE(t.overfull()) << "the ADE20K suite's table, detail " << detail << ": " << t.log;
  }
  // The quickstart's main table with its registry names (no labels) is some 30pt wider than an article's text
  // (345pt): fitted, it is scaled down; a suite with labels fits as it is.
  auto quickstart = fill_quickstart_database("report_latex_quickstart");
  options.db = quickstart.string();
  options.detail = false;
  options.latex_fit = false;
  EXPECT_TRUE(typeset("report_latex_main_unfitted", report(options)).overfull());
  options.latex_fit = true;
  {
    const Typeset t = typeset("report_latex_main", report(options));
    EXPECT_EQ(t.rc, 0) << t.log;
    EXPECT_FALSE(t.overfull()) << "the quickstart's main table: " << t.log;
  }
  options.latex_fit = false;
  // The detail table is wide: as it is, it overflows (so the check can fail); fitted, it does not.
  options.detail = true;
  {
    const Typeset t = typeset("report_latex_wide", report(options));
    EXPECT_EQ(t.rc, 0) << t.log;
    EXPECT_TRUE(t.overfull()) << "a 14-column table that fits unscaled: the check would not see an overflow";
  }
  options.latex_fit = true;
  {
    const Typeset t = typeset("report_latex_fit", report(options));
    EXPECT_EQ(t.rc, 0) << t.log;
    EXPECT_FALSE(t.overfull()) << "the fitted detail table: " << t.log;
  }
  // The fixture: three datasets, seeds, a baseline with p-values, failures and published rows, fitted.
  auto db = fill_database("report_latex_fixture");
  options.db = db.string();
  options.detail = false;
  options.baseline = kTiny;
  options.published = write_published(db.parent_path()).string();
  {
    const Typeset t = typeset("report_latex_fixture_fit", report(options));
    EXPECT_EQ(t.rc, 0) << t.log;
    EXPECT_FALSE(t.overfull()) << t.log;
  }
}

// Every string a run stores, hostile: table syntax, HTML, LaTeX, spreadsheet formulas, control characters, bad UTF-8.
const std::vector<std::string> kHostile = {
    "a|b",          "a\\|b",       "<img src=x onerror=alert(1)>", "=HYPERLINK(\"http://x\",\"y\")",
    "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "line\rbreak", "*bold* _it_ `code` [l](x)", "tab\there",
    "esc\x1b[31mred", "bad\xff\xfeutf8", "100% $x^2$ {}#&~", "new\nline\\input{/etc/passwd}",
};

const std::string kHostileSuite = "evil\n\\input{/etc/passwd}% <b>x</b> | =1+1";

fs::path fill_hostile_database(const std::string& name) {
  auto db = testing::temp_dir(name) / "results.db";
  store::Store s(db.string(), [] { return std::string("2026-01-01T00:00:00.000Z"); });
  store::RunInfo info;
  info.suite_name = kHostileSuite;
  info.suite_json = "{}";
  info.suite_hash = "0";
  info.host = "host\r\n<script>alert(1)</script>";
  info.gpu_name = "GPU & \"quotes\" 'single'";
  info.git_commit = "`rm -rf`";
  int64_t run = s.begin_run(info);
  for (size_t i = 0; i < kHostile.size(); ++i) {
    Cell c = cell(kHostile[i], "data|set<" + std::to_string(i % 2) + ">", "acc_" + std::to_string(i % 2) + "*",
                  json{{"precision", kHostile[(i + 3) % kHostile.size()]}}.dump(-1, ' ', false, json::error_handler_t::replace),
                  std::nullopt, {{"top1", 70.0 + static_cast<double>(i), "%", kHostile[(i + 5) % kHostile.size()]}});
    if (i == 4) {
      c.passed = false;
      c.results.clear();
      c.error = "boom | <b>" + kHostile[13] + " =2+2";
    }
    s.record_cell(run, c);
  }
  s.end_run(run, "failed");
  return db;
}

class HostileGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(HostileGolden, EveryUserStringIsEscapedForItsFormat) {
  auto db = fill_hostile_database("report_hostile_" + GetParam());
  std::string text;
  if (GetParam() == "svg") {
    PlotOptions options;
    options.db = db.string();
    options.x = "top1@data|set<0>";
    options.y = "top1@data|set<0>";
    std::ostringstream out, err;
    ASSERT_EQ(run_plot(options, out, err), 0) << err.str();
    text = out.str();
  } else {
    ReportOptions options;
    options.db = db.string();
    options.format = GetParam();
    options.published = "";
    text = report(options);
  }
  const std::string& f = GetParam();
  // What no format may contain: raw tags where tags are live, control characters, invalid UTF-8.
  if (f != "csv" && f != "json") {  // data formats: a tag there is text
    EXPECT_EQ(text.find("<img"), std::string::npos) << f;
    // The one script is the page's own sorting script.
    EXPECT_EQ(text.find("<script"), f == "html" ? text.rfind("<script>\n(function () {") : std::string::npos) << f;
    EXPECT_EQ(text.find("<b>"), std::string::npos) << f;
  }
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << f;
  if (f != "csv") EXPECT_EQ(text.find('\r'), std::string::npos) << f << ": CSV alone may quote a CR";
  EXPECT_EQ(valid_utf8(text), text) << f;
  if (f == "latex") {
    EXPECT_EQ(text.find("\\input"), std::string::npos);
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);
    EXPECT_EQ(line.rfind("% locbench run 1, suite evil", 0), 0u) << line;
    // Every provenance line stays a comment: nothing is typeset before the table opens.
    while (std::getline(lines, line) && line.rfind("\\begingroup", 0) != 0) EXPECT_EQ(line.rfind("%", 0), 0u) << line;
    EXPECT_EQ(line.rfind("\\begingroup", 0), 0u) << line;
  }
  if (f == "md") {
    // Every table row has exactly columns + 1 unescaped pipes.
    std::istringstream lines(text);
    std::vector<size_t> pipes;
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line[0] != '|') continue;
      size_t n = 0;
      for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\\') ++i;
        else if (line[i] == '|') ++n;
      }
      pipes.push_back(n);
    }
    ASSERT_GT(pipes.size(), 3u);
    for (size_t n : pipes) EXPECT_EQ(n, pipes.front()) << text;
  }
  if (f == "csv") {
    // RFC 4180: every record has the header's field count, and no field is a live formula.
    std::vector<std::vector<std::string>> records(1);
    std::string field;
    bool quoted = false;
    std::vector<std::string> record;
    for (size_t i = 0; i < text.size(); ++i) {
      const char ch = text[i];
      if (quoted) {
        if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
        else if (ch == '"') quoted = false;
        else field += ch;
      } else if (ch == '"') {
        quoted = true;
      } else if (ch == ',') {
        record.push_back(field), field.clear();
      } else if (ch == '\n') {
        record.push_back(field), field.clear();
        records.push_back(record), record.clear();
      } else {
        field += ch;
      }
    }
    records.erase(records.begin());
    ASSERT_GT(records.size(), 3u);
    for (const auto& r : records) {
      EXPECT_EQ(r.size(), records.front().size());
      for (const auto& v : r)
        if (!v.empty() && std::string("=+-@").find(v[0]) != std::string::npos)
          EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(v.back())) && v.find_first_not_of("+-.0123456789e") ==
                      std::string::npos) << "a live formula: " << v;
    }
  }
  if (f == "json") {
    const json doc = json::parse(text);
    EXPECT_EQ(doc["run"]["suite_name"], kHostileSuite);
    bool found = false;
    for (const auto& row : doc["rows"]) found |= row["model"] == "<img src=x onerror=alert(1)>";
    EXPECT_TRUE(found);
  }
  const std::string ext = f == "latex" ? "tex" : f;
  expect_golden("hostile." + ext, text);
}

INSTANTIATE_TEST_SUITE_P(Formats, HostileGolden, ::testing::Values("md", "csv", "latex", "html", "json", "svg"));

TEST(Report, NanIsShownAsNanWithAFootnoteNotAsNotMeasured) {
  auto db = testing::temp_dir("report_nan") / "results.db";
  {
    store::Store s(db.string());
    store::RunInfo info;
    info.suite_name = "nan";
    info.suite_json = "{}";
    info.suite_hash = "0";
    int64_t run = s.begin_run(info);
    s.record_cell(run, cell("a", "ade20k", "miou", "{}", 0, {{"miou", std::nan(""), "%", "whole"},
                                                             {"aacc", 50.0, "%", "whole"}}));
    s.record_cell(run, cell("b", "ade20k", "miou", "{}", 0, {{"aacc", 60.0, "%", "whole"}}));
    s.record_cell(run, cell("c", "ade20k", "miou", "{}", 0, {{"miou", std::numeric_limits<double>::infinity(), "%",
                                                             "whole"}, {"aacc", 70.0, "%", "whole"}}));
    s.end_run(run, "passed");
  }
  ReportOptions options;
  options.db = db.string();
  options.published = "";
  options.detail = true;  // aAcc is a detail column
  const std::string md = report(options);
  EXPECT_NE(md.find("| a | NaN [1] | 50.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| b | – | 60.00 |"), std::string::npos) << "not measured stays a dash: " << md;
  EXPECT_NE(md.find("| c | inf [1] | 70.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("[1] NaN or inf: the cell passed, but this value is not a finite number"), std::string::npos) << md;
  options.format = "json";
  const json doc = json::parse(report(options));
  EXPECT_TRUE(doc["rows"][0]["entries"][0]["mean"].is_null());
  EXPECT_EQ(doc["rows"][0]["entries"][0]["n"], 1);
  EXPECT_TRUE(doc["rows"][1]["entries"][0].is_null());
}

// A plot of values as they come: identical, one ULP apart, huge, infinite.
std::pair<int, std::string> plot_of(const std::string& name, const std::vector<std::pair<double, double>>& points) {
  auto db = testing::temp_dir(name) / "results.db";
  {
    store::Store s(db.string());
    store::RunInfo info;
    info.suite_name = "p";
    info.suite_json = "{}";
    info.suite_hash = "0";
    int64_t run = s.begin_run(info);
    for (size_t i = 0; i < points.size(); ++i)
      s.record_cell(run, cell("m" + std::to_string(i), "", "x", "{}", std::nullopt,
                              {{"macs", points[i].first, "MACs", ""}, {"top1", points[i].second, "%", ""}}));
    s.end_run(run, "passed");
  }
  PlotOptions options;
  options.db = db.string();
  std::ostringstream out, err;
  const int rc = run_plot(options, out, err);
  return {rc, rc == 0 ? out.str() : err.str()};
}

TEST(Report, PlotsOfDegenerateValuesEndAndDrawOnlyFiniteOnes) {
  const double inf = std::numeric_limits<double>::infinity();
  const double one = 1.0, next = std::nextafter(1.0, 2.0);
  for (const auto& points : std::vector<std::vector<std::pair<double, double>>>{
           {{1e9, one}, {2e9, next}},                       // y one ULP apart
           {{1e9, 5.0}, {1e9, 5.0}},                        // one point twice
           {{1e9, 0.0}},                                    // zero
           {{1e300, 1e300}, {-1e300, -1e300}},              // spans that overflow
           {{5e-324, 5e-324}},                              // the smallest subnormal
           {{1e9, 70.0}, {2e9, inf}, {3e9, -inf}},          // infinities are left out, with a note
       }) {
    const auto [rc, svg] = plot_of("report_plot_edge", points);
    ASSERT_EQ(rc, 0) << svg;
    EXPECT_EQ(svg.find("nan"), std::string::npos) << svg;
    EXPECT_EQ(svg.find("inf"), std::string::npos) << svg;
    EXPECT_NE(svg.find("<circle"), std::string::npos);
  }
  const auto [rc, err] = plot_of("report_plot_inf", {{1e9, inf}});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.find("nothing to plot"), std::string::npos) << err;
}

// Runs `body` as user nobody when this is root (root reads and writes anything), else as this user.
int as_unprivileged(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(90);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(Report, WorksOnAReadOnlyDatabaseInAReadOnlyFolder) {
  auto db = fill_database("report_readonly");
  const std::string before = testing::read_bytes(db);
  ::chmod(db.c_str(), 0444);
  ::chmod(db.parent_path().c_str(), 0555);
  const int code = as_unprivileged([&] {
    ReportOptions options;
    options.db = db.string();
    options.published = "";
    std::ostringstream out, err;
    const int rc = run_report(options, out, err);
    if (rc != 0) std::fprintf(stderr, "%s", err.str().c_str());
    return rc == 0 && out.str().find(kLocAt) != std::string::npos ? 0 : 1;
  });
  ::chmod(db.parent_path().c_str(), 0755);
  ::chmod(db.c_str(), 0644);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(testing::read_bytes(db), before) << "the report wrote to the database";
  for (const auto& entry : fs::directory_iterator(db.parent_path()))
    EXPECT_EQ(entry.path(), db) << "the report left " << entry.path();
}

TEST(Report, NeverMigratesAndSaysHowTo) {
  auto db = fill_database("report_old_schema");
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(handle, "PRAGMA user_version=3", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(handle);
  ReportOptions options;
  options.db = db.string();
  options.published = "";
  const std::string err = report(options, 1);
  EXPECT_NE(err.find("database schema version 3 is older than this bench's"), std::string::npos) << err;
  EXPECT_NE(err.find("bench migrate --db " + db.string()), std::string::npos) << err;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(handle, "PRAGMA user_version", -1, &st, nullptr);
  sqlite3_step(st);
  EXPECT_EQ(sqlite3_column_int(st, 0), 3) << "the report migrated";
  sqlite3_finalize(st);
  sqlite3_close(handle);
}

}  // namespace
}  // namespace locbench::report
