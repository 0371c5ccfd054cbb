// A simulated user machine for the `strongroom` CLI: its own STRONGROOM_HOME (a fresh private
// temporary directory, removed with the machine), so profiles, sessions and pinned keys of one
// machine never leak into another. Plus the checks every CLI test makes of a finished command.
//
//   CliMachine laptop;
//   const RunResult r = laptop.Cli({"login", "--server", url, "--email", e, "--password-stdin"},
//                                  password + "\n");
//   ExpectCliError(r, "invalid_credentials");
//
// The CLI runs with the test's environment plus STRONGROOM_HOME and whatever AddEnv added; a
// command that outlives the machine's timeout is killed and fails the test (RunProcess).
#pragma once

#include "support/process.h"

#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace strongroom::testing {

class CliMachine {
 public:
  // `timeout`: how long one command may run.
  explicit CliMachine(std::chrono::seconds timeout = std::chrono::seconds(60));
  ~CliMachine();
  CliMachine(CliMachine&&) noexcept;
  CliMachine& operator=(CliMachine&&) noexcept;

  // STRONGROOM_HOME of this machine (exists, mode 0700, empty at first).
  const std::string& home() const;

  // Adds "NAME=value" to the environment of every later command of this machine.
  void AddEnv(std::string name_value);

  // The argv that runs `strongroom ARGS` on this machine (through /usr/bin/env), for tests
  // that drive the process themselves; `extra_env` ("NAME=value") for this command only.
  std::vector<std::string> Argv(const std::vector<std::string>& args,
                                const std::vector<std::string>& extra_env = {}) const;

  // Runs `strongroom ARGS` to completion with `input` on standard input, in `cwd` when given
  // (else the test's own working directory).
  RunResult Cli(const std::vector<std::string>& args, const std::string& input = "",
                const std::string& cwd = "") const;

  // The default profile's session file, and the bearer token in it ("" when none).
  std::filesystem::path SessionFile() const;
  std::string SessionToken() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The standard output of a command that must have succeeded (exit 0), parsed as JSON (as
// `--json` prints it); an empty object, and a test failure, otherwise.
boost::json::value CliJson(const RunResult& r);

// A refused command: exit status 1, standard error starting "strongroom: " (nothing printed
// there before the error) and containing `needle`.
void ExpectCliFailure(const RunResult& r, const std::string& needle);

// A refused command whose error names API error `code`: ExpectCliFailure(r, "(CODE)"), the
// form "strongroom: MESSAGE (CODE)" of docs/cli.md.
void ExpectCliError(const RunResult& r, const std::string& code);

// As ExpectCliError, for commands that may write to standard error before the error (prompts
// of an interactive command): exit status 1 and "(CODE)" anywhere on standard error.
void ExpectCliErrorAfterOutput(const RunResult& r, const std::string& code);

}  // namespace strongroom::testing
