#include "support/cli_machine.h"

#include "support/json_util.h"
#include "support/text_util.h"

#include <gtest/gtest.h>

#ifndef STRONGROOM_CLI_PATH
#error "STRONGROOM_CLI_PATH must name the strongroom binary (tests/CMakeLists.txt)"
#endif

namespace strongroom::testing {

struct CliMachine::State {
  TempDir home;
  std::chrono::seconds timeout;
  std::vector<std::string> env;
};

CliMachine::CliMachine(std::chrono::seconds timeout)
    : state_(std::make_unique<State>(State{{}, timeout, {}})) {}
CliMachine::~CliMachine() = default;
CliMachine::CliMachine(CliMachine&&) noexcept = default;
CliMachine& CliMachine::operator=(CliMachine&&) noexcept = default;

const std::string& CliMachine::home() const {
  return state_->home.path();
}

void CliMachine::AddEnv(std::string name_value) {
  state_->env.push_back(std::move(name_value));
}

std::vector<std::string> CliMachine::Argv(const std::vector<std::string>& args,
                                          const std::vector<std::string>& extra_env) const {
  std::vector<std::string> argv{"/usr/bin/env", "STRONGROOM_HOME=" + home()};
  argv.insert(argv.end(), state_->env.begin(), state_->env.end());
  argv.insert(argv.end(), extra_env.begin(), extra_env.end());
  argv.push_back(STRONGROOM_CLI_PATH);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

RunResult CliMachine::Cli(const std::vector<std::string>& args, const std::string& input,
                          const std::string& cwd) const {
  if (cwd.empty()) return RunProcess(Argv(args), input, state_->timeout);
  std::string script = "cd " + ShellQuote(cwd) + " && exec";
  for (const auto& a : Argv(args)) script.append(" ").append(ShellQuote(a));
  return RunProcess({"/bin/sh", "-c", script}, input, state_->timeout);
}

std::filesystem::path CliMachine::SessionFile() const {
  return std::filesystem::path(home()) / "profiles/default/session";
}

std::string CliMachine::SessionToken() const {
  return Trim(ReadFile(SessionFile()));
}

boost::json::value CliJson(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  if (r.exit_code != 0) return boost::json::object();
  return ParseJson(r.out);
}

void ExpectCliFailure(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(r.err.starts_with("strongroom: ")) << Describe(r);
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in\n"
                                                   << Describe(r);
}

void ExpectCliError(const RunResult& r, const std::string& code) {
  ExpectCliFailure(r, "(" + code + ")");
}

void ExpectCliErrorAfterOutput(const RunResult& r, const std::string& code) {
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("(" + code + ")"), std::string::npos) << Describe(r);
}

}  // namespace strongroom::testing
