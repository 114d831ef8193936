// tarmac command-line entry point: one subcommand per file, thin over the library.
#include <cstdio>
#include <exception>
#include <new>

#include "commands.h"

int main(int argc, char** argv) {
  using namespace tarmac::cli;
  CLI::App app{"tarmac: ONNX inference engine and deployment toolkit for perception models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tarmac ") + TARMAC_VERSION);
  Action action;
  add_run_command(app, &action);
  add_inspect_command(app, &action);
  add_sanitize_command(app, &action);
  add_sim_command(app, &action);
  add_eval3d_command(app, &action);
  add_render_command(app, &action);
  add_exec_command(app, &action);
  add_refit_command(app, &action);
  add_detect3d_command(app, &action);
  add_compare_command(app, &action);
  // CLI11 reports an unknown first word as "a subcommand is required"; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string word = argv[1];
    std::string names;
    bool known = false;
    for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; })) {
      known = known || s->check_name(word);
      names += (names.empty() ? "" : ", ") + s->get_name();
    }
    if (!known) {
      fail("unknown subcommand '" + word + "' (expected one of: " + names + ")");
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s (see 'tarmac --help')\n", e.what());
    return 2;
  }
  try {
    return action ? action() : fail("no subcommand given");
  } catch (const std::bad_alloc&) {
    return fail("out of memory");
  } catch (const std::exception& e) {
    return fail(std::string("unexpected failure: ") + e.what());
  }
}
