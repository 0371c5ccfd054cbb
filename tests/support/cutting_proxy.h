// A TCP relay on loopback that breaks connections on purpose, for tests of resumed transfers.
//
// Every accepted connection is relayed to the upstream port in both directions. The first
// `connections_to_cut` connections whose request contains `match` and whose response reaches
// `cut_after` bytes are closed there (both sides: the client sees the connection end in the
// middle of the body, the server a reset): a response cut in
// the middle of its body, as a broken network would. Other connections pass untouched. The relay records the bytes each client sent, so a test can check
// which requests (and Range headers) arrived.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strongroom::testing {

class CuttingProxy {
 public:
  CuttingProxy(int upstream_port, std::string match, std::uint64_t cut_after,
               int connections_to_cut);
  ~CuttingProxy();  // Stops accepting and joins every relay.
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // What each client sent, one string per connection, in accept order.
  [[nodiscard]] std::vector<std::string> Requests();
  [[nodiscard]] int cuts() const { return cuts_.load(); }

 private:
  void AcceptLoop();
  void Relay(int client, int index);

  int upstream_port_;
  std::string match_;
  std::uint64_t cut_after_;
  int connections_to_cut_;  // Left to cut; guarded by mutex_.
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> cuts_{0};
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> relays_;
  std::thread acceptor_;
};

}  // namespace strongroom::testing
