// A small blocking HTTP/1.1 client for integration tests (Beast, one connection per call).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace strongroom::testing {

struct HttpReply {
  int status = 0;  // 0 when the connection failed or closed without a response.
  std::string body;
  std::map<std::string, std::string> headers;  // Lower-case names.

  // The value of a header (name in lower case), or "" when absent.
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

HttpReply HttpRequest(const std::string& host, std::uint16_t port, const std::string& method,
                      const std::string& target, const std::string& body = "",
                      const std::map<std::string, std::string>& headers = {});

// As HttpRequest, from the local address `source` ("127.0.0.2": all of 127.0.0.0/8 is
// loopback on Linux), to test rules about client addresses. status 0 if it cannot bind.
HttpReply HttpRequestFrom(const std::string& source, const std::string& host, std::uint16_t port,
                          const std::string& method, const std::string& target,
                          const std::string& body = "",
                          const std::map<std::string, std::string>& headers = {});

// Sends raw bytes and returns whatever the server answered before closing (or timeout).
std::string RawExchange(const std::string& host, std::uint16_t port, const std::string& bytes);

// A raw connection held open across calls: a client in the middle of a request, whose
// connection the test breaks (Close) or finishes when it chooses.
class RawConnection {
 public:
  RawConnection(const std::string& host, std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const;
  // Writes all of `bytes`; false on failure.
  bool Send(const std::string& bytes);
  // Reads until the server closes the connection (or 30 s pass); returns what it sent.
  std::string ReadUntilClose();
  // Closes at once, whatever the state of the request.
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::testing
