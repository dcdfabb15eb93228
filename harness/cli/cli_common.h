// What every bench sub-command shares: one guarded runner that turns an exception into one line on stderr and an
// exit code, the --img-size parser and the model look-up with "did you mean".
#pragma once

#include "harness/common/exit_codes.h"

#include <CLI/CLI.hpp>

#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>

namespace locbench {
struct VariantInfo;
}

namespace locbench::cli {

// Runs a command's body. A suite error prints its lines (each names the file and the field); any other exception
// prints "bench COMMAND: message" (its first line, one line however hostile); the exit code is exit_code_of's
// (harness/common/exit_codes.h).
// In a job under a launcher an error ends the job on every rank, each printing the line that names the rank
// (dist::Group::fail_job).
void run_guarded(const char* command, const std::function<void()>& fn);
// Sets the process's exit code (the first non-zero one wins).
void set_exit_code(int code);
int exit_code();

// Option validators with short messages ("--lr: must be at least 0, got -1"); CLI11's own print DBL_MAX in full.
CLI::Validator at_least(double min);
CLI::Validator greater_than(double min);

// A digest of the options a sub-command was given (the ranks of one job must agree on them).
std::string options_digest(const CLI::App& command);

// "H" or "HxW" with integers from 1 to kMaxImageSide.
std::array<int64_t, 2> parse_img_size(const std::string& text);
// The registered variant; throws std::invalid_argument with "did you mean" for an unknown name.
const VariantInfo& lookup(const std::string& name);

// One function per command; each adds its sub-command (and options) to the app.
void add_list_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_forward_command(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_measure_cell_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_kernels_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_seg_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_profile_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_migrate_command(CLI::App& app);

}  // namespace locbench::cli
