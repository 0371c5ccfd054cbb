// The commands that talk to a Strongroom server: register, login, logout, whoami, passwd,
// sessions, recover, logins, key. Their options, output and exit statuses are specified in
// docs/cli.md; integration tests rely on them exactly.
#pragma once

#include "strongroom/client/api_client.h"
#include "strongroom/client/profile.h"
#include "strongroom/client/secret_string.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace strongroom::cli {

// A signed-in profile, ready for a command that needs a session (room_commands.h too).
struct SignedInSession {
  client::ProfileStore store;
  client::Profile profile;
  client::ApiClient api;
};
[[nodiscard]] client::Result<SignedInSession> OpenSignedInSession(const std::string& profile,
                                                                  const std::string& ca_file);
// Reports a failed call made with a session (a dead token removes the session file).
int ReportSessionFailure(SignedInSession& session, client::Error error);
// The password: the first line of standard input, or typed on the terminal.
[[nodiscard]] client::Result<client::SecretString> ReadExistingPassword(bool from_stdin);

// The CA file to trust for a TLS server: `--ca-file` when given, else STRONGROOM_CA_FILE, else
// "" (the system's store). Every connection a command makes uses the same answer.
[[nodiscard]] std::string EffectiveCaFile(const std::string& flag);

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
