// The bench sub-commands. Each reports errors as one line on stderr and sets a non-zero exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace locbench::cli {

void add_commands(CLI::App& app);
int exit_code();

}  // namespace locbench::cli
