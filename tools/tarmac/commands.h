// Subcommand registration: each add_*_command attaches a CLI11 subcommand whose callback
// stores the action to run after parsing.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace tarmac::cli {

/// Returns the process exit code: 0 success, 1 failure (an "error:" line was printed).
using Action = std::function<int()>;

void add_run_command(CLI::App& app, Action* action);
void add_inspect_command(CLI::App& app, Action* action);
void add_sanitize_command(CLI::App& app, Action* action);
void add_sim_command(CLI::App& app, Action* action);
void add_eval3d_command(CLI::App& app, Action* action);
void add_render_command(CLI::App& app, Action* action);
void add_exec_command(CLI::App& app, Action* action);
void add_refit_command(CLI::App& app, Action* action);
void add_detect3d_command(CLI::App& app, Action* action);
void add_compare_command(CLI::App& app, Action* action);

/// True when the file starts with a plan's magic; inspect_plan prints it (plan_commands.cc).
bool is_plan_file(const std::string& path);
int inspect_plan(const std::string& path, bool json);

/// Prints "error: <message>" to stderr and returns 1.
int fail(const std::string& message);

}  // namespace tarmac::cli
