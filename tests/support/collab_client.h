// A small blocking WebSocket client of /api/v1/collab/{file_id} for integration tests: it
// speaks the frame codec (strongroom/collab/wire.h) and nothing else. Sealing and opening are
// the test's business (crypto/collab.h, the real client cryptography).
//
// Every call blocks until done or its timeout; a timeout breaks the connection (the test has
// failed by then anyway). One object is one connection, used by one thread.
#pragma once

#include "strongroom/collab/wire.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace strongroom::testing {

class CollabClient {
 public:
  // Connects to 127.0.0.1:`port` and asks to upgrade GET /api/v1/collab/`file_id` with
  // "Authorization: Bearer `token`" (none when empty). On success connected() is true; on a
  // refused upgrade http_status() is the server's answer (401, 403, 404, 429, ...) and
  // http_body() its body. `receive_buffer_bytes` (when not 0) caps the socket's receive
  // buffer, for a reader that must fall behind quickly.
  CollabClient(std::uint16_t port, const std::string& file_id, const std::string& token,
               int receive_buffer_bytes = 0);
  ~CollabClient();
  CollabClient(const CollabClient&) = delete;
  CollabClient& operator=(const CollabClient&) = delete;

  [[nodiscard]] bool connected() const;
  [[nodiscard]] int http_status() const;
  [[nodiscard]] const std::string& http_body() const;

  // Sends one binary message: an encoded frame, or any bytes. false when the connection
  // failed.
  bool Send(const collab::Message& message);
  bool SendBytes(const std::vector<std::uint8_t>& bytes);
  bool SendText(const std::string& text);  // A text message (a protocol error).

  // The next message, decoded as travelling to the client; nullopt when the connection closed
  // or failed or `timeout` passed (then closed() tells which). A message that does not decode
  // fails the test and is returned as nullopt.
  std::optional<collab::Message> Receive(
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // The raw bytes of the next message (same rules).
  std::optional<std::vector<std::uint8_t>> ReceiveBytes(
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Whether the server ended the connection (a close frame, EOF or reset): after a Receive
  // returned nullopt, true unless it timed out.
  [[nodiscard]] bool closed() const;

  // A clean close handshake (best effort).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::testing
