// Reading passwords and recovery codes from a person, and the client's password rule.
//
// From the terminal: /dev/tty (not standard input, so redirections cannot feed or capture
// it) with echo off; the terminal mode is restored even when the user presses Ctrl-C.
// From standard input (--password-stdin): one secret per line, no prompt, no echo; "\r\n"
// endings are accepted.
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/client/secret_string.h"
#include "strongroom/password_policy.h"

#include <string_view>

namespace strongroom::client {

inline constexpr std::size_t kMinPasswordLength = 8;      // Characters (UTF-8 code points).
inline constexpr std::size_t kMaxSecretLineBytes = 4096;  // Longer input is refused.

// Prompts on the terminal and reads one line without echo. Kind::usage when there is no
// terminal (the message suggests --password-stdin).
[[nodiscard]] Result<SecretString> ReadSecretFromTerminal(std::string_view prompt);

// Reads the next line of standard input. `what` names it in the error when input ends first
// (Kind::usage: "expected the new password on standard input").
[[nodiscard]] Result<SecretString> ReadSecretFromStdin(std::string_view what);

// A new password: at least kMinPasswordLength characters. Kind::usage otherwise.
[[nodiscard]] Result<void> ValidateNewPassword(const SecretString& password);
// A new password for the account `email` under the portal's `policy` (ApiClient::
// GetPasswordPolicy): Kind::usage naming every rule it breaks.
[[nodiscard]] Result<void> ValidateNewPassword(const SecretString& password,
                                               const PasswordPolicy& policy,
                                               std::string_view email);

}  // namespace strongroom::client
