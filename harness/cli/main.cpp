// build/bench: the locbench command line.
#include "harness/allocator/allocator.h"
#include "harness/cli/commands.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  try {
    locbench::allocator::configure();  // before the first tensor: every timing depends on it
  } catch (const std::invalid_argument& e) {
    std::cerr << "bench: " << e.what() << std::endl;
    return 2;
  }
  CLI::App app{"locbench: locality in vision transformers, measured on one protocol"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every command");
  locbench::cli::add_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return locbench::cli::exit_code();
}
