// tarmac command-line entry point: one subcommand per file, thin over the library.
#include <cstdio>

int main() {
  std::fprintf(stderr, "error: no subcommand given\n");
  return 2;
}
