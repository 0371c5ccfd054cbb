// One WebSocket connection to /api/v1/collab/{file_id}, plain (loopback only) or TLS, with
// blocking calls that each take a deadline. Internal to strongroom_client (collab.cc).
//
// Each connection owns its io_context: whatever is pending when the connection is dropped
// (a read the owner stopped waiting for, a handshake past its deadline) is destroyed with it,
// so no state leaks from one connection into the next.
//
// At most one read and one write are outstanding, as Beast requires; a read started by Read()
// stays pending across calls until a message arrives, so a Read() that times out loses
// nothing. Control frames (pings) are answered only while a call runs the io_context.
#pragma once

#include "strongroom/client/http_transport.h"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace strongroom::client::collab_detail {

using Clock = std::chrono::steady_clock;

struct IoError {
  enum class What {
    network,   // Resolve, connect, TLS, I/O.
    timeout,   // The deadline passed.
    declined,  // The server answered the upgrade with another HTTP status (http_status).
    closed,    // The peer closed the WebSocket (or the TCP connection).
    text,      // A text message: the protocol allows binary ones only.
    too_large, // A message over the reader's limit.
  };
  What what = What::network;
  int http_status = 0;
  std::string message;  // Host names, statuses and library messages: never a token.
};

template <class T>
using IoResult = boost::system::result<T, IoError>;

struct ConnectRequest {
  const ServerUrl* url = nullptr;
  boost::asio::ssl::context* tls = nullptr;  // Required for a TLS URL.
  std::string target;                         // Path below the host, base path included.
  std::string_view bearer;                    // Sent as "Authorization: Bearer ..." only.
  std::string user_agent;
  std::size_t max_message = 0;                // Longest message the reader accepts.
};

class Connection {
 public:
  // Resolves, connects (loopback only for plain text), does TLS and the WebSocket upgrade.
  [[nodiscard]] static IoResult<std::unique_ptr<Connection>> Open(const ConnectRequest& request,
                                                                  Clock::time_point deadline);
  virtual ~Connection() = default;

  // The next binary message, or nullopt when none arrived by `deadline` (the read stays
  // pending). Any error leaves the connection unusable.
  [[nodiscard]] virtual IoResult<std::optional<std::vector<std::uint8_t>>> Read(
      Clock::time_point deadline) = 0;
  // Writes one binary message. A timeout leaves the connection unusable.
  [[nodiscard]] virtual IoResult<void> Write(std::span<const std::uint8_t> message,
                                             Clock::time_point deadline) = 0;
  // A WebSocket close, waited for until `deadline` at most. Idempotent.
  virtual void Close(Clock::time_point deadline) = 0;
};

}  // namespace strongroom::client::collab_detail
