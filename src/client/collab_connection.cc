#include "client/collab_connection.h"

#include "client/net_connect.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <functional>

namespace strongroom::client::collab_detail {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

IoError Fail(IoError::What what, std::string message, int status = 0) {
  return IoError{what, status, std::move(message)};
}

// Runs `ioc` until `done()` or `deadline`. False when the deadline came first.
bool RunUntil(net::io_context& ioc, const std::function<bool()>& done, Clock::time_point deadline) {
  ioc.restart();
  while (!done()) {
    if (ioc.run_one_until(deadline) == 0) {
      if (done()) return true;
      if (Clock::now() >= deadline || ioc.stopped()) return done();
    }
  }
  return true;
}

IoError FromReadError(const error_code& ec) {
  if (ec == websocket::error::closed || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == beast::error::timeout) {
    return Fail(IoError::What::closed, "the server closed the connection (" + ec.message() + ")");
  }
  if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
    return Fail(IoError::What::too_large, "the server sent a message larger than any frame");
  }
  return Fail(IoError::What::network, "reading from the server failed: " + ec.message());
}

template <class Next>
class WsConnection final : public Connection {
 public:
  using Ws = websocket::stream<Next>;

  WsConnection(std::unique_ptr<net::io_context> ioc, std::unique_ptr<Ws> ws)
      : ioc_(std::move(ioc)), ws_(std::move(ws)) {}

  ~WsConnection() override {
    // Pending operations are destroyed with the io_context, after the stream they refer to
    // has been shut; no handler runs.
    error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  }

  IoResult<std::optional<std::vector<std::uint8_t>>> Read(Clock::time_point deadline) override {
    if (broken_) return Fail(IoError::What::closed, "the connection is closed");
    if (!read_pending_ && !read_done_) {
      read_pending_ = true;
      buffer_.clear();
      ws_->async_read(buffer_, [this](error_code ec, std::size_t) {
        read_pending_ = false;
        read_done_ = true;
        read_ec_ = ec;
      });
    }
    RunUntil(*ioc_, [this] { return read_done_; }, deadline);
    if (!read_done_) return std::optional<std::vector<std::uint8_t>>();
    read_done_ = false;
    if (read_ec_) {
      broken_ = true;
      return FromReadError(read_ec_);
    }
    if (!ws_->got_binary()) {
      broken_ = true;
      return Fail(IoError::What::text, "the server sent a text message");
    }
    const auto data = buffer_.cdata();
    const auto* p = static_cast<const std::uint8_t*>(data.data());
    std::vector<std::uint8_t> message(p, p + data.size());
    buffer_.clear();
    return std::optional<std::vector<std::uint8_t>>(std::move(message));
  }

  IoResult<void> Write(std::span<const std::uint8_t> message, Clock::time_point deadline) override {
    if (broken_) return Fail(IoError::What::closed, "the connection is closed");
    bool done = false;
    error_code ec;
    ws_->async_write(net::buffer(message.data(), message.size()),
                     [&](error_code e, std::size_t) {
                       done = true;
                       ec = e;
                     });
    if (!RunUntil(*ioc_, [&] { return done; }, deadline)) {
      // A write cannot be abandoned half way: the connection is given up. Closing the socket
      // makes the write complete with an error; its handler refers to locals here, so it is
      // run to completion before returning.
      broken_ = true;
      error_code ignored;
      beast::get_lowest_layer(*ws_).socket().close(ignored);
      RunUntil(*ioc_, [&] { return done; }, Clock::now() + std::chrono::seconds(5));
      return Fail(IoError::What::timeout, "sending to the server timed out");
    }
    if (ec) {
      broken_ = true;
      return FromReadError(ec);
    }
    return {};
  }

  void Close(Clock::time_point deadline) override {
    if (broken_ || closing_) return;
    closing_ = true;
    bool done = false;
    ws_->async_close(websocket::close_code::normal, [&](error_code) { done = true; });
    // The close handshake finishes when a read sees the server's close frame.
    if (!read_pending_) {
      buffer_.clear();
      read_pending_ = true;
      ws_->async_read(buffer_, [this](error_code ec, std::size_t) {
        read_pending_ = false;
        read_done_ = true;
        read_ec_ = ec;
      });
    }
    RunUntil(*ioc_, [&] { return done && !read_pending_; }, deadline);
    broken_ = true;
    error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    RunUntil(*ioc_, [&] { return done && !read_pending_; },
             Clock::now() + std::chrono::milliseconds(500));
  }

 private:
  std::unique_ptr<net::io_context> ioc_;
  std::unique_ptr<Ws> ws_;
  beast::flat_buffer buffer_;
  bool read_pending_ = false;
  bool read_done_ = false;
  error_code read_ec_;
  bool broken_ = false;
  bool closing_ = false;
};

struct Opening {
  const ConnectRequest& request;
  Clock::time_point deadline;
  net::io_context* ioc = nullptr;
  std::optional<IoResult<std::unique_ptr<Connection>>> outcome;
  std::unique_ptr<net::io_context> owned;  // Handed to the connection on success.
};

template <class Ws>
net::awaitable<void> Upgrade(Ws& ws, Opening& o) {
  const ServerUrl& url = *o.request.url;
  // The WebSocket stream keeps its own timers: the TCP stream's expiry is switched off.
  beast::get_lowest_layer(ws).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::max<Clock::duration>(
      std::chrono::seconds(1),
      std::chrono::duration_cast<std::chrono::seconds>(o.deadline - Clock::now()));
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  const std::string_view bearer = o.request.bearer;
  const std::string agent = o.request.user_agent;
  ws.set_option(websocket::stream_base::decorator([bearer, agent](websocket::request_type& req) {
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + std::string(bearer));
    if (!agent.empty()) req.set(http::field::user_agent, agent);
  }));
  ws.read_message_max(o.request.max_message);
  ws.binary(true);
  ws.auto_fragment(false);
  websocket::response_type response;
  error_code ec;
  co_await ws.async_handshake(response, net_detail::HostHeader(url), o.request.target,
                              net::redirect_error(net::use_awaitable, ec));
  if (ec == websocket::error::upgrade_declined) {
    const int status = static_cast<int>(response.result_int());
    o.outcome.emplace(Fail(IoError::What::declined,
                           "the server refused the collaboration connection (HTTP " +
                               std::to_string(status) + ")",
                           status));
    co_return;
  }
  if (ec) {
    o.outcome.emplace(Fail(ec == beast::error::timeout ? IoError::What::timeout
                                                       : IoError::What::network,
                           "WebSocket upgrade with " + net_detail::HostHeader(url) +
                               " failed: " + ec.message()));
    co_return;
  }
  co_return;
}

net::awaitable<void> Run(Opening& o) {
  const ServerUrl& url = *o.request.url;
  auto executor = co_await net::this_coro::executor;
  error_code ec;
  tcp::resolver resolver(executor);
  auto found = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                               net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    o.outcome.emplace(Fail(IoError::What::network, "cannot resolve " + url.host + ": " +
                                                       ec.message()));
    co_return;
  }
  const auto endpoints = net_detail::AllowedEndpoints(url, found);
  if (endpoints.empty()) {
    o.outcome.emplace(Fail(IoError::What::network,
                           url.host + " does not resolve to a loopback address; use https://"));
    co_return;
  }
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_at(o.deadline);
  co_await tcp_stream.async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    o.outcome.emplace(Fail(ec == beast::error::timeout ? IoError::What::timeout
                                                       : IoError::What::network,
                           "cannot connect to " + net_detail::HostHeader(url) + ": " +
                               ec.message()));
    co_return;
  }
  tcp_stream.socket().set_option(tcp::no_delay(true));
  if (!url.tls) {
    using Ws = websocket::stream<beast::tcp_stream>;
    auto ws = std::make_unique<Ws>(std::move(tcp_stream));
    co_await Upgrade(*ws, o);
    if (!o.outcome) {
      o.outcome.emplace(std::unique_ptr<Connection>(
          std::make_unique<WsConnection<beast::tcp_stream>>(std::move(o.owned), std::move(ws))));
    }
    co_return;
  }
  using Tls = ssl::stream<beast::tcp_stream>;
  using Ws = websocket::stream<Tls>;
  auto ws = std::make_unique<Ws>(std::move(tcp_stream), *o.request.tls);
  if (!net_detail::PrepareTls(ws->next_layer(), url.host)) {
    o.outcome.emplace(Fail(IoError::What::network, "cannot set the TLS server name for " + url.host));
    co_return;
  }
  co_await ws->next_layer().async_handshake(ssl::stream_base::client,
                                            net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    o.outcome.emplace(Fail(ec == beast::error::timeout ? IoError::What::timeout
                                                       : IoError::What::network,
                           "TLS handshake with " + net_detail::HostHeader(url) + " failed: " +
                               ec.message() + " (is the certificate trusted? see --ca-file)"));
    co_return;
  }
  co_await Upgrade(*ws, o);
  if (!o.outcome) {
    o.outcome.emplace(std::unique_ptr<Connection>(
        std::make_unique<WsConnection<Tls>>(std::move(o.owned), std::move(ws))));
  }
}

}  // namespace

IoResult<std::unique_ptr<Connection>> Connection::Open(const ConnectRequest& request,
                                                       Clock::time_point deadline) {
  if (request.url == nullptr || (request.url->tls && request.tls == nullptr)) {
    return Fail(IoError::What::network, "internal: incomplete connection request");
  }
  auto ioc = std::make_unique<net::io_context>(1);
  net::io_context& context = *ioc;
  Opening o{request, deadline, &context, std::nullopt, std::move(ioc)};
  net::co_spawn(context, Run(o), [&o](std::exception_ptr e) {
    if (e && !o.outcome) o.outcome.emplace(Fail(IoError::What::network, "internal error"));
  });
  // The streams carry the deadline themselves; the margin only guards against a bug.
  RunUntil(context, [&o] { return o.outcome.has_value(); }, deadline + std::chrono::seconds(2));
  if (!o.outcome) {
    // Still connecting: `context` (o.owned) is destroyed on return, and everything with it.
    return Fail(IoError::What::timeout, "connecting to " + net_detail::HostHeader(*request.url) +
                                            " timed out");
  }
  return std::move(*o.outcome);
}

}  // namespace strongroom::client::collab_detail
