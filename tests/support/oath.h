// TOTP codes (RFC 6238: SHA-1, 6 digits, 30-second steps) computed by an independent
// implementation, oathtool from the OATH Toolkit (Debian package oathtool, installed by
// scripts/install-deps), so tests of two-factor sign-in never check the server against itself.
#pragma once

#include "support/process.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <ctime>
#include <string>

namespace strongroom::testing {

inline constexpr const char* kOathtool = "/usr/bin/oathtool";

// The current time step, as the server computes it.
inline std::int64_t CurrentStep() {
  return static_cast<std::int64_t>(std::time(nullptr)) / 30;
}

// The code of time step `step` for a base32 secret (fails the test when oathtool does).
inline std::string OathtoolCode(const std::string& base32_secret, std::int64_t step) {
  const RunResult r = RunProcess(
      {kOathtool, "--totp", "-b", "--now", "@" + std::to_string(step * 30 + 1), base32_secret});
  EXPECT_EQ(r.exit_code, 0) << "oathtool: exit " << r.exit_code << ": " << r.err;
  std::string code;
  for (char c : r.out) {
    if (!std::isspace(static_cast<unsigned char>(c))) code += c;
  }
  EXPECT_EQ(code.size(), 6u) << code;
  return code;
}

}  // namespace strongroom::testing
