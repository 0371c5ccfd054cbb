// Starts a child process with pipes on stdout/stderr, for integration tests.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace strongroom::testing {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal.
  std::string out;
  std::string err;
};

// Runs argv to completion, feeding `input` on stdin. Fails the test on timeout.
RunResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                     std::chrono::seconds timeout = std::chrono::seconds(120));

// A long-running child (a server). The destructor kills it if still running.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads stdout until a line contains `needle`; returns that line, or nullopt on EOF/timeout.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout);
  // Sends `signal` and waits for exit; returns the exit status (-1 if killed by a signal).
  int SignalAndWait(int signal, std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string pending_;
};

// A fresh temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace strongroom::testing
