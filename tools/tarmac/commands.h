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

/// Prints "error: <message>" to stderr and returns 1.
int fail(const std::string& message);

}  // namespace tarmac::cli
