// build/bench: the locbench command line.
#include "harness/cli/cli_common.h"
#include "harness/allocator/allocator.h"
#include "harness/cli/commands.h"
#include "harness/common/text.h"
#include "harness/runner/runner.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  // Past a file size limit (ulimit -f) a write fails with EFBIG and is reported, instead of a silent kill.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    locbench::allocator::configure();  // before the first tensor: every timing depends on it
  } catch (const std::invalid_argument& e) {
    std::cerr << "bench: " << e.what() << std::endl;
    return 2;
  }
  CLI::App app{"locbench: locality in vision transformers, measured on one protocol"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every command");
  app.set_version_flag("--version", [] { return locbench::runner::version_text(); },
                       "locbench's version and commit, LibTorch, CUDA");
  locbench::cli::add_commands(app);
  // One line, as every other error ("bench: --size: Value 100000 not in range 8 to 8192; see bench --help").
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "bench: " + locbench::one_line(e.what(), 400) + "; see bench --help\n";
  });
  if (argc > 1 && argv[1][0] != '-') {
    std::string commands;
    bool known = false;
    const CLI::App& commands_of = app;
    for (const CLI::App* sub : commands_of.get_subcommands([](const CLI::App*) { return true; })) {
      known |= sub->get_name() == argv[1];
      commands += (commands.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::cerr << "bench: unknown command '" << locbench::one_line(argv[1], 60) << "' (commands: " << commands
                << ")\n";
      return locbench::kUsageError;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is a usage error, whatever CLI11's own code.
    return app.exit(e) == 0 ? 0 : locbench::kUsageError;
  }
  // A table printed to a full disk or a closed pipe is not a table printed.
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "bench: cannot write to standard output: " << std::strerror(errno) << "\n";
    return locbench::kRunFailure;
  }
  return locbench::cli::exit_code();
}
