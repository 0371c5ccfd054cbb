// The portal's password policy (issue 6), and the check a client runs against it.
//
// The server never sees a password: registration and password changes send only a key
// derived from it (docs/design.md, "Keys"). So the server can only *publish* the policy
// (GET /api/v1/password-policy); the client checks a new password against it before deriving
// anything. A modified client can skip the check, and nothing on the server can notice: that
// is the most a zero-knowledge server can enforce (docs/threat-model.md, "Password policy").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom {

// A floor no policy goes below (the built-in rule before any policy existed).
inline constexpr std::size_t kPasswordMinLengthFloor = 8;
inline constexpr std::size_t kPasswordMinLengthCeiling = 128;

enum class CharacterClass { lower, upper, digit, symbol };
[[nodiscard]] std::string_view CharacterClassName(CharacterClass c) noexcept;  // "lower", ...
[[nodiscard]] bool ParseCharacterClass(std::string_view name, CharacterClass& out) noexcept;

struct PasswordPolicy {
  // Characters, counted as UTF-8 code points. In [kPasswordMinLengthFloor, ceiling].
  std::size_t min_length = 12;
  // Each class listed must occur at least once. lower/upper/digit are ASCII a-z, A-Z, 0-9;
  // symbol is any other character (punctuation, space, and every non-ASCII character).
  std::vector<CharacterClass> required_classes;
  // The password must not equal the account's email, or the email's part before '@',
  // compared without regard to ASCII case.
  bool not_email = true;
  friend bool operator==(const PasswordPolicy&, const PasswordPolicy&) = default;
};

// Every rule of `policy` that `password` breaks, as short phrases for people
// ("at least 12 characters", "a digit", "not your email address"); empty when it complies.
[[nodiscard]] std::vector<std::string> PasswordPolicyViolations(const PasswordPolicy& policy,
                                                                std::string_view password,
                                                                std::string_view email);

}  // namespace strongroom
