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
