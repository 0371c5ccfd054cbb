// The commands that talk to a Strongroom server: register, login, logout, whoami, passwd,
// sessions, recover, logins, key. Their options, output and exit statuses are specified in
// docs/cli.md; integration tests rely on them exactly.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace strongroom::cli {

class AccountCommands {
 public:
  // Adds the subcommands to `app`. Keep the object alive until Run().
  explicit AccountCommands(CLI::App& app);
  ~AccountCommands();
  AccountCommands(const AccountCommands&) = delete;
  AccountCommands& operator=(const AccountCommands&) = delete;

  // True when `name` is one of these commands. Their usage errors exit with status 2.
  [[nodiscard]] static bool IsAccountCommand(std::string_view name);

  // Runs the command the user chose and returns the exit status; nullopt when the command
  // line chose none of these.
  [[nodiscard]] std::optional<int> Run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace strongroom::cli
