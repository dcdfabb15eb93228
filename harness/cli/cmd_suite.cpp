// bench validate, run, measure-cell and merge: a suite checked, planned and measured into the store; databases merged.
#include "harness/cli/cli_common.h"
#include "harness/runner/runner.h"
#include "harness/store/merge.h"
#include "harness/suite/suite.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <tuple>

namespace locbench::cli {

void add_validate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("validate", "Check a suite without running it");
  auto path = std::make_shared<std::string>();
  cmd->add_option("suite", *path, "Suite JSON file")->required();
  cmd->callback([path] {
    run_guarded("validate", [&] {
      const auto errors = suite::validate_suite(*path);
      for (const auto& e : errors) std::cerr << e << "\n";
      if (!errors.empty()) {
        set_exit_code(2);
        return;
      }
      const auto s = suite::load_suite(*path);
      std::cout << *path << ": valid, " << suite::plan(s).size() << " cells\n";
    });
  });
}

void add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a suite: every cell measured and stored in SQLite");
  auto r = std::make_shared<runner::RunOptions>();
  cmd->add_option("suite", r->suite, "Suite JSON file")->required();
  cmd->add_option("--db", r->db, "Results database")->capture_default_str();
  cmd->add_flag("--resume", r->resume, "Run only the unfinished cells of the last run of this suite");
  cmd->add_option("--device", r->device, "Override the suite's device")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--only", r->only, "Run cells whose model/measurement[/dataset] or model matches this glob");
  cmd->add_flag("--dry-run", r->dry_run, "Print the cells without running them");
  cmd->add_option("--max-pixels", r->max_pixels,
                  "Refuse images whose header claims more pixels (every dataset; default: the suite's, else 89478485)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--force", r->force, "With --resume: continue even in another environment (commit, host, device, threads)");
  auto shard = std::make_shared<std::string>();
  cmd->add_option("--shard", *shard,
                  "I/N: only every N-th cell of the plan from the I-th (0-based), e.g. a Slurm array task "
                  "$SLURM_ARRAY_TASK_ID/N; give each shard its own --db and join them with bench merge");
  cmd->callback([r, shard] {
    run_guarded("run", [&] {
      if (!shard->empty()) std::tie(r->shard_index, r->shard_count) = runner::parse_shard(*shard);
      // Memory cells run in a child process of this very executable (runner.h).
      r->executable = std::filesystem::read_symlink("/proc/self/exe").string();
      set_exit_code(runner::run_suite(*r));
    });
  });
}

void add_measure_cell_command(CLI::App& app) {
  // Internal: `bench run` starts it for the cells it measures in a process of their own.
  auto* cmd = app.add_subcommand("measure-cell", "Measure one cell of a suite in this process (used by bench run)");
  cmd->group("");  // not listed in --help
  struct Options {
    std::string suite, key, device, out;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("suite", o->suite, "Suite JSON file")->required();
  cmd->add_option("--key", o->key, "The cell's key")->required();
  cmd->add_option("--out", o->out, "JSON file for the results")->required();
  cmd->add_option("--device", o->device, "The run's device override");
  cmd->callback([o] {
    run_guarded("measure-cell", [&] { set_exit_code(runner::measure_cell(o->suite, o->key, o->device, o->out)); });
  });
}

void add_merge_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("merge", "Merge the runs of several databases (shards of bench run --shard) into one");
  struct Options {
    std::vector<std::string> sources;
    std::string into;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("databases", o->sources, "Databases to merge (read, and migrated to this schema)")->required();
  cmd->add_option("--into", o->into, "The database the runs go to (created when missing)")->required();
  cmd->callback([o] {
    run_guarded("merge", [&] {
      const std::filesystem::path into(o->into);
      if (into.has_parent_path()) std::filesystem::create_directories(into.parent_path());
      const store::MergeSummary summary = store::merge(o->sources, o->into);
      for (const auto& line : summary.lines) std::cout << line << "\n";
      std::cout << o->into << ": " << summary.runs << " runs, " << summary.cells << " cells merged\n";
    });
  });
}

}  // namespace locbench::cli
