#include "support/cutting_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace strongroom::testing {

namespace {

// SO_LINGER 0: close() sends a reset (the server's side of a cut connection).
void Abort(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::shutdown(fd, SHUT_RDWR);
}

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

CuttingProxy::CuttingProxy(int upstream_port, std::string match, std::uint64_t cut_after,
                           int connections_to_cut)
    : upstream_port_(upstream_port),
      match_(std::move(match)),
      cut_after_(cut_after),
      connections_to_cut_(connections_to_cut) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("bind/listen");
  }
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

CuttingProxy::~CuttingProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : relays_) t.join();
}

std::vector<std::string> CuttingProxy::Requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

void CuttingProxy::AcceptLoop() {
  for (int index = 0;; ++index) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      if (stopping_) return;
      --index;
      continue;
    }
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stopping_) return;
      --index;
      continue;
    }
    std::lock_guard lock(mutex_);
    requests_.emplace_back();
    open_fds_.push_back(client);
    relays_.emplace_back([this, client, index] { Relay(client, index); });
  }
}

void CuttingProxy::Relay(int client, int index) {
  const int upstream = ConnectLoopback(upstream_port_);
  if (upstream < 0) {
    Abort(client);
    ::close(client);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    open_fds_.push_back(upstream);
  }
  // Decided when the first response bytes come (the request has arrived by then).
  std::optional<bool> cut;
  std::uint64_t down = 0;
  char buffer[64 * 1024];
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  bool done = false;
  while (!done && !stopping_) {
    if (::poll(fds, 2, 200) < 0) break;
    for (int i = 0; i < 2 && !done; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      if (i == 1 && !cut) {
        std::lock_guard lock(mutex_);
        cut = requests_[static_cast<std::size_t>(index)].find(match_) != std::string::npos;
      }
      std::size_t want = sizeof buffer;
      if (i == 1 && *cut) want = static_cast<std::size_t>(std::min<std::uint64_t>(want, cut_after_ - down));
      const ssize_t n = ::read(fds[i].fd, buffer, want);
      if (n <= 0) {
        done = true;
        break;
      }
      const int to = i == 0 ? upstream : client;
      if (i == 0) {
        std::lock_guard lock(mutex_);
        requests_[static_cast<std::size_t>(index)].append(buffer, static_cast<std::size_t>(n));
      }
      for (ssize_t sent = 0; sent < n;) {
        const ssize_t w = ::write(to, buffer + sent, static_cast<std::size_t>(n - sent));
        if (w <= 0) {
          done = true;
          break;
        }
        sent += w;
      }
      if (i == 1) {
        down += static_cast<std::uint64_t>(n);
        if (*cut && down >= cut_after_) {
          // Counted only now: a matching response shorter than cut_after passes whole.
          std::lock_guard lock(mutex_);
          if (connections_to_cut_ > 0) {
            --connections_to_cut_;
            ++cuts_;
            done = true;
          } else {
            cut = false;
          }
        }
      }
    }
  }
  // The client's side ends with a FIN, not a reset: a reset would make the kernel drop what
  // the client had received but not read yet, and how much that is depends on timing. With a
  // FIN it reads every relayed byte, then meets the end in the middle of the body.
  ::shutdown(client, SHUT_RDWR);
  Abort(upstream);
  std::lock_guard lock(mutex_);
  std::erase(open_fds_, client);
  std::erase(open_fds_, upstream);
  ::close(client);
  ::close(upstream);
}

}  // namespace strongroom::testing
