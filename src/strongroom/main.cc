// strongroom: the Strongroom client command line.
#include "strongroom/version.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  CLI::App app{"strongroom: the Strongroom client (end-to-end encrypted document workspace)"};
  app.set_version_flag("-V,--version", std::string("strongroom ") + strongroom::kVersion);
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (argc == 1) {
    std::cout << app.help();
  }
  return 0;
}
