// The Strongroom HTTP server: accepts connections, bounds them, and routes requests.
//
// Thread-safety: construct, Listen() and Run() from one thread; Stop() may be called from
// any thread (for example a signal-handling thread) at any time, any number of times.
//
// Shutdown contract: Stop() closes the listening socket at once, lets every request already
// being read or handled finish and get its response, closes idle keep-alive connections, and
// makes Run() return once no connection is left or `drain_timeout` has passed.
#pragma once

#include "strongroom/error.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace strongroom::server {

struct ServerOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;  // 0 picks a free ephemeral port.
  std::size_t threads = 0;           // 0 means one per core.

  // Bounds on every connection (slowloris and memory exhaustion).
  std::size_t max_header_bytes = std::size_t{16} * 1024;
  std::size_t max_body_bytes = std::size_t{1024} * 1024;
  std::chrono::milliseconds read_timeout{30'000};   // To read one whole request.
  std::chrono::milliseconds idle_timeout{60'000};   // Keep-alive wait between requests.
  std::chrono::milliseconds write_timeout{30'000};  // To write one whole response.
  std::size_t max_connections = 1024;
  std::chrono::milliseconds drain_timeout{10'000};

  // TLS: both set (PEM files), or neither for plain HTTP. Read once, by Listen(). With TLS
  // the server speaks TLS 1.2 and 1.3 only, with forward-secret AEAD suites in its own order,
  // no compression and no renegotiation, and every response carries
  // Strict-Transport-Security. The handshake must finish within read_timeout.
  std::string tls_cert_file;  // Certificate chain, leaf first.
  std::string tls_key_file;   // Private key of the leaf certificate.
};

struct BoundEndpoint {
  std::string host;
  std::uint16_t port = 0;
};

struct Services;  // src/server/services.h (see portal.h)

class Server {
 public:
  // Without services the server answers only /healthz (and 404/405/503 elsewhere).
  explicit Server(ServerOptions options, std::shared_ptr<Services> services = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the TLS certificate and key (if configured), binds and listens. With listen_port 0
  // the returned port is the one the kernel chose. On failure `*why` (if given) says what
  // failed in a sentence fit for an operator: file names and system errors, never key
  // material.
  [[nodiscard]] result<BoundEndpoint> Listen(std::string* why = nullptr);

  // Whether Listen() set up TLS (the scheme to advertise is https).
  [[nodiscard]] bool tls() const;

  // Serves on `threads` threads (the caller's among them) until Stop() has drained.
  void Run();

  // Begins graceful shutdown. See the contract above.
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace strongroom::server
