// What every bench sub-command shares: one guarded runner that turns an exception into one line on stderr and an
// exit code, the --img-size parser and the model look-up with "did you mean".
#pragma once

#include <CLI/CLI.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace locbench {
struct VariantInfo;
}

namespace locbench::cli {

// Runs a command's body. A suite error exits 2 (its lines already name the file and the field); any other
// exception prints "bench COMMAND: message" (first line only) and exits 1.
void run_guarded(const char* command, const std::function<void()>& fn);
// Sets the process's exit code (the first non-zero one wins).
void set_exit_code(int code);
int exit_code();

// "H" or "HxW" with positive integers.
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
void add_report_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_kernels_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_seg_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_profile_command(CLI::App& app);
void add_data_command(CLI::App& app);

}  // namespace locbench::cli
