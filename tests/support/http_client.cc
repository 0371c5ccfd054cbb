#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace strongroom::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

HttpReply Exchange(const std::string* source, const std::string& host, std::uint16_t port,
                   const std::string& method, const std::string& target, const std::string& body,
                   const std::map<std::string, std::string>& headers) {
  HttpReply reply;
  asio::io_context io;
  beast::tcp_stream stream(io);
  boost::system::error_code ec;
  stream.expires_after(std::chrono::seconds(30));
  if (source != nullptr) {
    const auto local = asio::ip::make_address(*source, ec);
    if (ec) return reply;
    stream.socket().open(local.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (!ec) stream.socket().bind(tcp::endpoint(local, 0), ec);
    if (ec) return reply;
  }
  stream.connect(tcp::endpoint(asio::ip::make_address(host), port), ec);
  if (ec) return reply;
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) return reply;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buffer, parser, ec);
  if (ec) return reply;
  const auto& res = parser.get();
  reply.status = res.result_int();
  reply.body = res.body();
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    reply.headers[name] = std::string(field.value());
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return reply;
}

}  // namespace

HttpReply HttpRequest(const std::string& host, std::uint16_t port, const std::string& method,
                      const std::string& target, const std::string& body,
                      const std::map<std::string, std::string>& headers) {
  return Exchange(nullptr, host, port, method, target, body, headers);
}

HttpReply HttpRequestFrom(const std::string& source, const std::string& host, std::uint16_t port,
                          const std::string& method, const std::string& target,
                          const std::string& body,
                          const std::map<std::string, std::string>& headers) {
  return Exchange(&source, host, port, method, target, body, headers);
}

std::string RawExchange(const std::string& host, std::uint16_t port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address(host), port), ec);
  if (ec) return {};
  asio::write(socket, asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  for (;;) {
    const std::size_t n = socket.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

struct RawConnection::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  bool connected = false;
};

RawConnection::RawConnection(const std::string& host, std::uint16_t port)
    : impl_(std::make_unique<Impl>()) {
  boost::system::error_code ec;
  impl_->stream.expires_after(std::chrono::seconds(30));
  impl_->stream.connect(tcp::endpoint(asio::ip::make_address(host), port), ec);
  impl_->connected = !ec;
}

RawConnection::~RawConnection() {
  Close();
}

bool RawConnection::connected() const {
  return impl_->connected;
}

bool RawConnection::Send(const std::string& bytes) {
  if (!impl_->connected) return false;
  boost::system::error_code ec;
  impl_->stream.expires_after(std::chrono::seconds(30));
  asio::write(impl_->stream, asio::buffer(bytes), ec);
  return !ec;
}

std::string RawConnection::ReadUntilClose() {
  std::string out;
  if (!impl_->connected) return out;
  impl_->stream.expires_after(std::chrono::seconds(30));
  char buf[4096];
  boost::system::error_code ec;
  for (;;) {
    const std::size_t n = impl_->stream.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

void RawConnection::Close() {
  if (!impl_->connected) return;
  boost::system::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  impl_->stream.socket().close(ec);
  impl_->connected = false;
}

}  // namespace strongroom::testing
