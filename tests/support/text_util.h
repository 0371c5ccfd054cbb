// Small text and file helpers for integration tests: whole-file reads and writes, trimming,
// quoting for /bin/sh, and a readable account of a finished child process.
//
// All of them are plain functions without state. WriteFile reports a failed write as a fatal
// failure of the current test (so ASSERT_NO_FATAL_FAILURE around it works); the others never
// fail a test.
#pragma once

#include "support/process.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace strongroom::testing {

// The bytes of the file at `path`, or "" when it cannot be read (missing, a directory...).
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// Replaces the file at `path` with exactly `data` (created when missing). A failed write is
// a fatal test failure.
inline void WriteFile(const std::filesystem::path& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  ASSERT_TRUE(f.good()) << "cannot write " << path;
}

// `s` without leading and trailing white space (as std::isspace sees it).
inline std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// `s` as one single-quoted /bin/sh word that stands for exactly `s`, whatever it contains.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The exit status and both outputs of a finished process, for failure messages.
inline std::string Describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

}  // namespace strongroom::testing
