#include "strongroom/client/identity_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <fstream>
#include <sstream>

namespace strongroom::client {
namespace {

constexpr std::size_t kMaxFileSize = 64 * 1024;

result<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? errc::not_found : errc::io_error;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return errc::io_error;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileSize) {
      ::close(fd);
      return errc::malformed;
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

result<void> WriteIdentityFile(const std::string& path, const crypto::Identity& identity) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno == EEXIST ? errc::already_exists : errc::io_error;
  std::string text = identity.ToText();
  std::size_t done = 0;
  bool ok = true;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  crypto::Wipe(std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
  if (!ok) {
    ::unlink(path.c_str());
    return errc::io_error;
  }
  return {};
}

result<crypto::Identity> ReadIdentityFile(const std::string& path) {
  auto text = ReadSmallFile(path);
  if (!text) return text.error();
  auto identity = crypto::Identity::FromText(*text);
  crypto::Wipe(std::span(reinterpret_cast<std::uint8_t*>(text->data()), text->size()));
  return identity;
}

result<crypto::PublicBundle> ParseRecipient(std::string_view arg) {
  if (arg.starts_with(crypto::kPublicKeyTextPrefix)) return crypto::PublicBundle::FromText(arg);
  auto text = ReadSmallFile(std::string(arg));
  if (!text) return text.error();
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() == '#') continue;
    return crypto::PublicBundle::FromText(line);
  }
  return errc::malformed;
}

}  // namespace strongroom::client
