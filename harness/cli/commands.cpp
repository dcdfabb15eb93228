#include "harness/cli/commands.h"

#include "harness/cli/cli_common.h"

namespace locbench::cli {

void add_commands(CLI::App& app) {
  add_list_command(app);
  add_info_command(app);
  add_forward_command(app);
  add_validate_command(app);
  add_run_command(app);
  add_measure_cell_command(app);
  add_merge_command(app);
  add_report_command(app);
  add_plot_command(app);
  add_train_command(app);
  add_eval_seg_command(app);
  add_check_command(app);
  add_profile_command(app);
  add_kernels_command(app);
  add_data_command(app);
  add_migrate_command(app);
}

}  // namespace locbench::cli
