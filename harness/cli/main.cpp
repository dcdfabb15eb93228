// build/bench: the locbench command line.
#include "harness/cli/commands.h"
#include "harness/runner/runner.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"locbench: locality in vision transformers, measured on one protocol"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every command");
  app.set_version_flag("--version", [] { return locbench::runner::version_text(); },
                       "locbench's version and commit, LibTorch, CUDA");
  locbench::cli::add_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return locbench::cli::exit_code();
}
