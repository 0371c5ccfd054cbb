// The two-factor commands: `strongroom 2fa enable | disable | status | recovery-codes`.
// Their options, output and exit statuses are in docs/cli.md, "Two-factor authentication";
// integration tests rely on them exactly.
//
// Where a command needs a code and none was given as an option, it reads one: typed on the
// terminal when standard input is one, else the first line of standard input (so a script can
// enrol: it reads the otpauth:// line from standard output, computes the code, writes it).
#pragma once

#include "strongroom/client/api_client.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace strongroom::cli {

class TwoFactorCommands {
 public:
  explicit TwoFactorCommands(CLI::App& app);
  ~TwoFactorCommands();
  TwoFactorCommands(const TwoFactorCommands&) = delete;
  TwoFactorCommands& operator=(const TwoFactorCommands&) = delete;

  // True for "2fa". Its usage errors exit with status 2.
  [[nodiscard]] static bool IsTwoFactorCommand(std::string_view name);
  [[nodiscard]] std::optional<int> Run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The second factor from --totp / --recovery-code values (either may be empty; both set is a
// usage error). An empty result means neither was given.
[[nodiscard]] client::Result<client::SecondFactor> SecondFactorFromOptions(
    const std::string& totp, const std::string& recovery_code);

// A code a person typed or a script wrote: 6 digits are a TOTP code, anything else is taken
// for a recovery code (the server says if it is not one).
[[nodiscard]] client::SecondFactor SecondFactorFromText(std::string_view text);

}  // namespace strongroom::cli
