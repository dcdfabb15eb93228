// bench check and data: the benchmark regression gate and generated datasets.
#include "harness/check/check.h"
#include "harness/cli/cli_common.h"
#include "harness/data/imagefolder.h"
#include "harness/model/model_args.h"

#include <iostream>
#include <memory>

namespace locbench::cli {

void add_check_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("check", "Gate Google Benchmark results against a baseline (exit 1 on a regression)");
  struct Options {
    check::CheckOptions check;
    std::string reference;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--baseline", o->check.baseline,
                  "Google Benchmark JSON of the baseline (repeat it: the files' repetitions are pooled)")
      ->required()
      ->take_all();
  cmd->add_option("--current", o->check.current, "Google Benchmark JSON of this run (repeatable, pooled)")
      ->required()
      ->take_all();
  cmd->add_option("--reference", o->reference, "Variant that divides every op/shape's time (same file)");
  cmd->add_option("--threshold", o->check.threshold, "Relative slow-down of the median counted as a regression")
      ->check(greater_than(0))
      ->capture_default_str();
  cmd->add_option("--alpha", o->check.alpha, "Significance level of the Mann-Whitney U test")
      ->check(CLI::Range(1e-9, 0.5))
      ->capture_default_str();
  cmd->add_option("--min-repetitions", o->check.min_repetitions, "Repetitions each benchmark needs in both files")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  cmd->add_flag("--cpu-time", o->check.cpu_time, "Compare cpu_time instead of real_time");
  cmd->callback([o] {
    run_guarded("check", [&] {
      check::CheckOptions co = o->check;
      if (!o->reference.empty()) co.reference = o->reference;
      set_exit_code(check::run_check(co, std::cout, std::cerr));
    });
  });
}

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Datasets");
  data->require_subcommand(1);
  auto* synth = data->add_subcommand("synth", "Write a synthetic ImageFolder dataset (texture classes)");
  struct Options {
    std::string out;
    data::SynthOptions synth;
  };
  auto o = std::make_shared<Options>();
  synth->add_option("--out", o->out, "Folder to create (root/<class>/<image>)")->required();
  // The bounds of a suite's generate (suites/README.md).
  synth->add_option("--classes", o->synth.classes, "Number of classes")->check(CLI::Range(2, 1000))->capture_default_str();
  synth->add_option("--per-class", o->synth.per_class, "Images per class")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  synth->add_option("--size", o->synth.size, "Image side in pixels")
      ->check(CLI::Range(int64_t{8}, kMaxImageSide))
      ->capture_default_str();
  synth->add_option("--seed", o->synth.seed, "Seed")->capture_default_str();
  synth->add_option("--format", o->synth.format, "jpg or png")
      ->check(CLI::IsMember({"jpg", "png"}))
      ->capture_default_str();
  synth->callback([o] {
    run_guarded("data synth", [&] {
      data::write_synthetic_image_folder(o->out, o->synth);  // or checks the complete one already there
      std::cout << o->out << ": " << o->synth.classes << " classes x " << o->synth.per_class << " images\n";
    });
  });
}

}  // namespace locbench::cli
