// The bench sub-commands, one function each (harness/cli/cli_common.h). Each reports errors as one line on stderr
// and sets a non-zero exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace locbench::cli {

void add_commands(CLI::App& app);
int exit_code();

}  // namespace locbench::cli
