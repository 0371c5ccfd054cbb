#include "support/collab_client.h"

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace strongroom::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct CollabClient::Impl {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  bool connected = false;
  bool closed = false;
  int status = 0;
  std::string body;

  // Runs one asynchronous operation to its end under `timeout`.
  template <class Start>
  boost::system::error_code RunFor(std::chrono::milliseconds timeout, Start start) {
    boost::system::error_code result = asio::error::would_block;
    beast::get_lowest_layer(ws).expires_after(timeout);
    start([&](boost::system::error_code ec, std::size_t = 0) { result = ec; });
    io.restart();
    io.run();
    return result;
  }
};

CollabClient::CollabClient(std::uint16_t port, const std::string& file_id, const std::string& token,
                           int receive_buffer_bytes)
    : impl_(std::make_unique<Impl>()) {
  auto& ws = impl_->ws;
  boost::system::error_code ec;
  if (receive_buffer_bytes > 0) {
    auto& socket = beast::get_lowest_layer(ws).socket();
    socket.open(tcp::v4(), ec);
    if (ec) return;
    socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes), ec);
  }
  beast::get_lowest_layer(ws).socket().connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return;
  ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& request) {
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  }));
  ws.read_message_max(collab::kMaxFrameSize);
  websocket::response_type response;
  ec = impl_->RunFor(std::chrono::seconds(20), [&](auto handler) {
    ws.async_handshake(response, "127.0.0.1", "/api/v1/collab/" + file_id,
                       [handler](boost::system::error_code e) mutable { handler(e); });
  });
  impl_->status = response.result_int();
  impl_->body = response.body();
  if (ec) return;
  beast::get_lowest_layer(ws).expires_never();
  ws.binary(true);
  impl_->connected = true;
}

CollabClient::~CollabClient() = default;

bool CollabClient::connected() const {
  return impl_->connected;
}
int CollabClient::http_status() const {
  return impl_->status;
}
const std::string& CollabClient::http_body() const {
  return impl_->body;
}
bool CollabClient::closed() const {
  return impl_->closed;
}

bool CollabClient::Send(const collab::Message& message) {
  auto bytes = collab::EncodeFrame(message);
  EXPECT_TRUE(bytes.has_value());
  return bytes && SendBytes(*bytes);
}

bool CollabClient::SendBytes(const std::vector<std::uint8_t>& bytes) {
  if (!impl_->connected) return false;
  impl_->ws.binary(true);
  const auto ec = impl_->RunFor(std::chrono::seconds(20), [&](auto handler) {
    impl_->ws.async_write(asio::buffer(bytes), handler);
  });
  if (ec) impl_->connected = false;
  return !ec;
}

bool CollabClient::SendText(const std::string& text) {
  if (!impl_->connected) return false;
  impl_->ws.text(true);
  const auto ec = impl_->RunFor(std::chrono::seconds(20), [&](auto handler) {
    impl_->ws.async_write(asio::buffer(text), handler);
  });
  impl_->ws.binary(true);
  if (ec) impl_->connected = false;
  return !ec;
}

std::optional<std::vector<std::uint8_t>> CollabClient::ReceiveBytes(
    std::chrono::milliseconds timeout) {
  if (!impl_->connected) return std::nullopt;
  beast::flat_buffer buffer;
  const auto ec =
      impl_->RunFor(timeout, [&](auto handler) { impl_->ws.async_read(buffer, handler); });
  beast::get_lowest_layer(impl_->ws).expires_never();
  if (ec) {
    impl_->connected = false;
    impl_->closed = ec != beast::error::timeout;
    return std::nullopt;
  }
  const auto* data = static_cast<const std::uint8_t*>(buffer.data().data());
  return std::vector<std::uint8_t>(data, data + buffer.size());
}

std::optional<collab::Message> CollabClient::Receive(std::chrono::milliseconds timeout) {
  auto bytes = ReceiveBytes(timeout);
  if (!bytes) return std::nullopt;
  auto message = collab::DecodeFrame(*bytes, collab::Direction::to_client);
  EXPECT_TRUE(message.has_value())
      << "the server sent a frame that does not decode: " << message.error().message();
  if (!message) return std::nullopt;
  return std::move(*message);
}

void CollabClient::Close() {
  if (!impl_->connected) return;
  (void)impl_->RunFor(std::chrono::seconds(5), [&](auto handler) {
    impl_->ws.async_close(websocket::close_code::normal, handler);
  });
  impl_->connected = false;
}

}  // namespace strongroom::testing
