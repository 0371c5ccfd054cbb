// The administration commands: `strongroom admin users ...`, `admin groups ...`,
// `admin settings ...`, `admin audit`, `admin logins`. Specified in docs/cli.md, "Administration"; they need a
// signed-in owner or admin (the server refuses anyone else) and never the password: managing
// accounts opens no keys.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace strongroom::cli {

class AdminCommands {
 public:
  // Adds `admin` and its subcommands to `app`. Keep the object alive until Run().
  explicit AdminCommands(CLI::App& app);
  ~AdminCommands();
  AdminCommands(const AdminCommands&) = delete;
  AdminCommands& operator=(const AdminCommands&) = delete;

  // True for "admin": its usage errors exit with status 2.
  [[nodiscard]] static bool IsAdminCommand(std::string_view name);

  // Runs the chosen command and returns the exit status; nullopt when it was not `admin`.
  [[nodiscard]] std::optional<int> Run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace strongroom::cli
