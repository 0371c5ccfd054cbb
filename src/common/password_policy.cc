#include "strongroom/password_policy.h"

#include <algorithm>
#include <array>

namespace strongroom {

namespace {

constexpr std::array<std::string_view, 4> kClassNames = {"lower", "upper", "digit", "symbol"};

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

}  // namespace

std::string_view CharacterClassName(CharacterClass c) noexcept {
  return kClassNames[static_cast<std::size_t>(c)];
}

bool ParseCharacterClass(std::string_view name, CharacterClass& out) noexcept {
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    if (kClassNames[i] == name) {
      out = static_cast<CharacterClass>(i);
      return true;
    }
  }
  return false;
}

std::vector<std::string> PasswordPolicyViolations(const PasswordPolicy& policy,
                                                  std::string_view password,
                                                  std::string_view email) {
  std::vector<std::string> broken;
  std::size_t characters = 0;
  bool has[4] = {false, false, false, false};
  for (const char ch : password) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c & 0xc0) != 0x80) ++characters;  // A UTF-8 lead byte starts a character.
    if (c >= 'a' && c <= 'z') {
      has[0] = true;
    } else if (c >= 'A' && c <= 'Z') {
      has[1] = true;
    } else if (c >= '0' && c <= '9') {
      has[2] = true;
    } else {
      has[3] = true;  // Punctuation, space, control or any byte of a non-ASCII character.
    }
  }
  const std::size_t min = std::max(policy.min_length, kPasswordMinLengthFloor);
  if (characters < min) broken.push_back("at least " + std::to_string(min) + " characters");
  static constexpr std::array<std::string_view, 4> kPhrases = {
      "a lower-case letter (a-z)", "an upper-case letter (A-Z)", "a digit (0-9)",
      "a symbol (anything but a-z, A-Z, 0-9)"};
  for (const CharacterClass c : policy.required_classes) {
    const auto i = static_cast<std::size_t>(c);
    if (!has[i]) {
      const std::string phrase(kPhrases[i]);
      if (std::find(broken.begin(), broken.end(), phrase) == broken.end()) broken.push_back(phrase);
    }
  }
  if (policy.not_email && !email.empty()) {
    const auto at = email.find('@');
    if (EqualsIgnoringAsciiCase(password, email) ||
        (at != std::string_view::npos && at > 0 && EqualsIgnoringAsciiCase(password, email.substr(0, at)))) {
      broken.emplace_back("not your email address");
    }
  }
  return broken;
}

}  // namespace strongroom
