// bench report, plot and kernels: what the store holds, as tables, figures and kernel profiles, all read-only; and
// bench migrate, the one command that brings a database to this bench's schema without running anything.
#include "harness/cli/cli_common.h"
#include "harness/common/json_input.h"
#include "harness/common/text.h"
#include "harness/profile/profile.h"
#include "harness/store/store.h"
#include "report/report.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

namespace locbench::cli {

namespace {

struct KernelsOptions {
  std::string db = "results/bench.db";
  int64_t run = -1;
  size_t top = 20;
  bool json = false;
};

profile::ProfileRows to_profile_rows(const store::Profile& stored) {
  profile::ProfileRows p;
  p.tracer = stored.tracer;
  p.cupti_version = static_cast<uint32_t>(stored.cupti_version);
  p.dropped_records = static_cast<uint64_t>(stored.dropped_records);
  p.iterations = static_cast<int>(stored.iterations);
  for (const auto& r : stored.rows) {
    profile::ProfileRow row;
    row.kind = r.kind, row.name = r.name, row.calls = r.calls;
    row.total_us = r.total_us, row.mean_us = r.mean_us, row.self_us = r.self_us;
    for (int i = 0; i < 3; ++i) {
      row.grid[i] = static_cast<int>(r.grid[i]);
      row.block[i] = static_cast<int>(r.block[i]);
    }
    row.registers_per_thread = static_cast<int>(r.registers_per_thread);
    row.static_shared_bytes = static_cast<int>(r.static_shared_bytes);
    row.dynamic_shared_bytes = static_cast<int>(r.dynamic_shared_bytes);
    row.stream = static_cast<uint32_t>(r.stream);
    p.rows.push_back(std::move(row));
  }
  return p;
}

void kernels(const KernelsOptions& o) {
  if (!std::filesystem::is_regular_file(o.db)) throw std::invalid_argument(o.db + ": no such database");
  const store::Store db(o.db, store::Store::Mode::read_only);
  const auto run = o.run >= 0 ? std::optional<int64_t>(o.run) : db.latest_run();
  if (!run || !db.run(*run))
    throw std::invalid_argument(o.db + ": no run" + (o.run >= 0 ? " " + std::to_string(o.run) : ""));
  nlohmann::json out = nlohmann::json::array();
  size_t shown = 0;
  for (const auto& cell : db.cells(*run)) {
    const auto stored = db.profile(*run, cell.key);
    if (!stored) continue;
    ++shown;
    const profile::ProfileRows p = to_profile_rows(*stored);
    if (o.json) {
      auto j = profile::to_json(p);
      j["sdpa_backend"] = stored->sdpa_backend;  // named from every row, before the measurement's `top`
      j["model"] = cell.model;
      j["measurement"] = cell.measurement;
      try {
        j["settings"] = parse_untrusted_json(cell.settings_json, o.db);
      } catch (const JsonInputError&) {
        j["settings"] = cell.settings_json;  // a database from elsewhere: shown as stored
      }
      out.push_back(std::move(j));
    } else {
      std::cout << one_line(cell.model) << " " << one_line(cell.measurement) << " " << one_line(cell.settings_json)
                << "\n";
      profile::print_table(p, std::cout, o.top);
      std::cout << "\n";
    }
  }
  if (o.json) std::cout << out.dump(2) << "\n";
  else if (!shown) std::cout << "run " << *run << " has no kernels cells\n";
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "A paper-style table of a run (the latest unless named)");
  struct Options {
    report::ReportOptions report;
    int64_t run = -1;
    std::string suite, baseline;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--db", o->report.db, "Results database")->capture_default_str();
  cmd->add_option("--run", o->run, "Run id");
  cmd->add_option("--suite", o->suite, "The latest run of this suite");
  cmd->add_option("--format", o->report.format, "md, csv, latex, html, json or svg")
      ->check(CLI::IsMember({"md", "csv", "latex", "html", "json", "svg"}))
      ->capture_default_str();
  cmd->add_option("--baseline", o->baseline,
                  "Model (row label) the others are compared with (default: the suite's settings.baseline; '' none)");
  cmd->add_option("--published", o->report.published, "Papers' numbers to show beside reproduced ones ('' for none)")
      ->capture_default_str();
  cmd->add_option("--out", o->report.out, "Write to this file instead of stdout");
  cmd->add_option("--metrics", o->report.metrics,
                  "Columns in this order: metric names, optionally @dataset (top1,latency,gmacs; default: the main "
                  "table)")
      ->delimiter(',');
  cmd->add_flag("--detail", o->report.detail, "Every measured column (p90, min, CPU time, ...) and timing quartiles");
  cmd->add_flag("--latex-fit", o->report.latex_fit,
                "LaTeX: scale the table down to \\linewidth when it is wider (needs graphicx)");
  cmd->callback([o, cmd] {
    run_guarded("report", [&] {
      report::ReportOptions ro = o->report;
      if (o->run >= 0) ro.run = o->run;
      if (!o->suite.empty()) ro.suite = o->suite;
      if (cmd->count("--baseline")) ro.baseline = o->baseline;  // given, even empty: it wins over the suite's
      set_exit_code(report::run_report(ro, std::cout, std::cerr));
    });
  });
}

void add_plot_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plot", "An SVG figure of a run: one metric against another or a setting");
  struct Options {
    report::PlotOptions plot;
    int64_t run = -1;
    std::string suite;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--db", o->plot.db, "Results database")->capture_default_str();
  cmd->add_option("--run", o->run, "Run id");
  cmd->add_option("--suite", o->suite, "The latest run of this suite");
  cmd->add_option("--x", o->plot.x, "x axis: a metric (macs, latency, ...) or a setting (batch_size, resolution)")
      ->capture_default_str();
  cmd->add_option("--y", o->plot.y, "y axis: a metric (top1, miou, latency, ...)")->capture_default_str();
  cmd->add_option("--out", o->plot.out, "Write to this file instead of stdout");
  cmd->callback([o] {
    run_guarded("plot", [&] {
      report::PlotOptions po = o->plot;
      if (o->run >= 0) po.run = o->run;
      if (!o->suite.empty()) po.suite = o->suite;
      set_exit_code(report::run_plot(po, std::cout, std::cerr));
    });
  });
}

void add_kernels_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("kernels", "The op/kernel profiles a run stored (its `kernels` cells)");
  auto o = std::make_shared<KernelsOptions>();
  cmd->add_option("--db", o->db, "Results database")->capture_default_str();
  cmd->add_option("--run", o->run, "Run id (default: the latest)");
  cmd->add_option("--top", o->top, "Rows shown per cell (0: all)")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] { run_guarded("kernels", [&] { kernels(*o); }); });
}

void add_migrate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("migrate", "Bring a results database to this bench's schema (reports never do)");
  auto db = std::make_shared<std::string>("results/bench.db");
  cmd->add_option("--db", *db, "Results database")->capture_default_str();
  cmd->callback([db] {
    run_guarded("migrate", [&] {
      if (!std::filesystem::is_regular_file(*db)) throw std::invalid_argument(*db + ": no such database");
      const store::Store migrated(*db);  // read-write: every missing step, each in its own transaction
      std::cout << *db << ": schema version " << store::schema_version() << "\n";
    });
  });
}

}  // namespace locbench::cli
