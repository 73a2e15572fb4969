// build/bin/syn-guard: per-source SYN/connection-flood detection and blocking
// in the kernel. Subcommands register themselves (commands.h).
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "syn-guard: counts inbound TCP connection attempts per source in the kernel (XDP) and "
      "blocks a flooding source at once, for a set time.\n"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  int exit_code = 0;
  sg::cli::registerAgent(app, &exit_code);
  sg::cli::registerControl(app, &exit_code);
  sg::cli::registerReplay(app, &exit_code);
  sg::cli::registerDemo(app, &exit_code);
  sg::cli::registerConsole(app, &exit_code);
  sg::cli::registerCtl(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // bad flags: exit code 2, message already printed
  }
  return exit_code;
}
