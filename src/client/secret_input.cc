#include "strongroom/client/secret_input.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <csignal>

namespace strongroom::client {
namespace {

// The terminal whose echo is off, for the signal handler to restore. One at a time: the CLI
// reads one secret at once.
int g_tty_fd = -1;
termios g_saved{};
std::atomic<bool> g_echo_off{false};

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};

extern "C" void RestoreAndReraise(int sig) {
  if (g_echo_off.exchange(false)) ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Echo off for the lifetime of the object; the previous mode and handlers come back after.
class NoEcho {
 public:
  explicit NoEcho(int fd) {
    if (::tcgetattr(fd, &g_saved) != 0) return;
    g_tty_fd = fd;
    for (std::size_t i = 0; i < std::size(kSignals); ++i) {
      struct sigaction sa {};
      sa.sa_handler = RestoreAndReraise;
      ::sigemptyset(&sa.sa_mask);
      ::sigaction(kSignals[i], &sa, &previous_[i]);
    }
    termios quiet = g_saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // The newline still shows, so the next output starts a line.
    g_echo_off = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    active_ = true;
  }
  ~NoEcho() {
    if (!active_) return;
    if (g_echo_off.exchange(false)) ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved);
    for (std::size_t i = 0; i < std::size(kSignals); ++i) {
      ::sigaction(kSignals[i], &previous_[i], nullptr);
    }
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  bool active_ = false;
  struct sigaction previous_[std::size(kSignals)]{};
};

// Reads one line from `fd` a byte at a time, so nothing past the line is consumed (the next
// secret may follow on the same standard input). nullopt-like: ok() false at end of input.
enum class LineStatus { ok, eof, too_long, error };

LineStatus ReadLine(int fd, SecretString& out) {
  bool any = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LineStatus::error;
    if (n == 0) return any ? LineStatus::ok : LineStatus::eof;
    any = true;
    if (c == '\n') break;
    if (out.size() >= kMaxSecretLineBytes) return LineStatus::too_long;
    out.push_back(c);
  }
  if (!out.empty() && out.view().back() == '\r') out.pop_back();
  return LineStatus::ok;
}

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

Result<SecretString> ReadSecretFromTerminal(std::string_view prompt) {
  const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return Error::Usage("no terminal to read a secret from; use --password-stdin");
  }
  SecretString secret;
  LineStatus status;
  {
    WriteAll(fd, prompt);
    NoEcho quiet(fd);
    status = ReadLine(fd, secret);
  }
  ::close(fd);
  switch (status) {
    case LineStatus::ok:
      return secret;
    case LineStatus::too_long:
      return Error::Usage("input too long");
    case LineStatus::eof:
    case LineStatus::error:
      break;
  }
  return Error::Usage("no input from the terminal");
}

Result<SecretString> ReadSecretFromStdin(std::string_view what) {
  SecretString secret;
  switch (ReadLine(STDIN_FILENO, secret)) {
    case LineStatus::ok:
      return secret;
    case LineStatus::too_long:
      return Error::Usage("standard input: line too long (" + std::string(what) + ")");
    case LineStatus::error:
      return Error::Local("cannot read standard input");
    case LineStatus::eof:
      break;
  }
  return Error::Usage("expected " + std::string(what) + " on standard input");
}

Result<void> ValidateNewPassword(const SecretString& password) {
  std::size_t characters = 0;
  for (const char c : password.view()) {
    // Count UTF-8 lead bytes, not continuation bytes: "characters" as a person counts them.
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++characters;
  }
  if (characters < kMinPasswordLength) {
    return Error::Usage("the password is too short (at least " +
                        std::to_string(kMinPasswordLength) + " characters)");
  }
  return {};
}

Result<void> ValidateNewPassword(const SecretString& password, const PasswordPolicy& policy,
                                 std::string_view email) {
  if (auto ok = ValidateNewPassword(password); !ok) return ok;
  const auto broken = PasswordPolicyViolations(policy, password.view(), email);
  if (broken.empty()) return {};
  std::string message = "the password does not meet this portal's policy; it needs ";
  for (std::size_t i = 0; i < broken.size(); ++i) {
    message.append(i == 0 ? "" : (i + 1 == broken.size() ? " and " : ", ")).append(broken[i]);
  }
  return Error::Usage(std::move(message));
}

}  // namespace strongroom::client
