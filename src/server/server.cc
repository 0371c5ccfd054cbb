#include "strongroom/server/server.h"

#include "server/router.h"
#include "server/services.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <atomic>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace strongroom::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// One accepted connection. `idle` is touched only on the connection's strand.
struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(ServerOptions opts, std::shared_ptr<Services> svc)
      : options(std::move(opts)),
        services(std::move(svc)),
        io(static_cast<int>(ThreadCount(options))),
        acceptor(asio::make_strand(io)),
        drain_timer(asio::make_strand(io)),
        keep_running(io.get_executor()) {}

  static std::size_t ThreadCount(const ServerOptions& o) {
    if (o.threads != 0) return o.threads;
    return std::max(1u, std::thread::hardware_concurrency());
  }

  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> connection);
  void Register(const std::shared_ptr<Connection>& c);
  void Unregister(const std::shared_ptr<Connection>& c);
  void CloseIdleConnections();

  ServerOptions options;
  std::shared_ptr<Services> services;  // May be null (bare transport).
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::steady_timer drain_timer;  // Used only on its own strand.
  // Keeps io.run() from returning before Stop()'s last step has run: without it, the
  // accept loop can end (acceptor closed) and run() return while Stop() is still posting,
  // and a posted handler that never runs keeps this Impl alive through the io_context it
  // owns. Reset only on the drain timer's strand.
  asio::executor_work_guard<asio::io_context::executor_type> keep_running;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> open_connections{0};

  std::mutex connections_mutex;
  std::list<std::weak_ptr<Connection>> connections;  // Guarded by connections_mutex.
};

void Server::Impl::Register(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(connections_mutex);
  connections.push_back(c);
}

void Server::Impl::Unregister(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(connections_mutex);
  connections.remove_if([&](const std::weak_ptr<Connection>& w) {
    auto p = w.lock();
    return !p || p == c;
  });
}

void Server::Impl::CloseIdleConnections() {
  std::lock_guard lock(connections_mutex);
  for (auto& weak : connections) {
    if (auto c = weak.lock()) {
      asio::post(c->stream.get_executor(), [c] {
        if (c->idle) c->stream.cancel();
      });
    }
  }
}

asio::awaitable<void> Server::Impl::AcceptLoop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kNoThrow);
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    if (open_connections.load() >= options.max_connections) {
      spdlog::warn("connection limit ({}) reached, refusing a connection", options.max_connections);
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto connection = std::make_shared<Connection>(std::move(socket));
    ++open_connections;
    Register(connection);
    auto self = shared_from_this();
    asio::co_spawn(connection->stream.get_executor(), Serve(connection),
                   [self, connection](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                         spdlog::error("connection handler failed: {}", ex.what());
                       }
                     }
                     self->Unregister(connection);
                     if (--self->open_connections == 0 && self->stopping) {
                       asio::post(self->drain_timer.get_executor(),
                                  [self] { self->drain_timer.cancel(); });
                     }
                   });
  }
}

asio::awaitable<void> Server::Impl::Serve(std::shared_ptr<Connection> connection) {
  beast::tcp_stream& stream = connection->stream;
  beast::flat_buffer buffer(options.max_header_bytes);
  bool first = true;
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);

    // Wait for the first byte of the next request under the idle timeout, then read the
    // whole request under the read timeout.
    connection->idle = true;
    if (!first && buffer.size() == 0) {
      stream.expires_after(options.idle_timeout);
      auto [ec, n] =
          co_await stream.async_read_some(buffer.prepare(options.max_header_bytes), kNoThrow);
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    connection->idle = false;
    stream.expires_after(options.read_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (ec) {
      Request bare;
      bare.version(11);
      bare.keep_alive(false);
      Response response;
      if (ec == http::error::body_limit) {
        response = ErrorResponse(bare, http::status::payload_too_large, "too_large",
                                 "request body exceeds the limit");
      } else if (ec == http::error::header_limit) {
        response = ErrorResponse(bare, http::status::request_header_fields_too_large, "too_large",
                                 "request header exceeds the limit");
      } else if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
                 ec == beast::error::timeout || ec == asio::error::connection_reset) {
        break;
      } else {
        response =
            ErrorResponse(bare, http::status::bad_request, "bad_request", "malformed HTTP request");
      }
      response.keep_alive(false);
      stream.expires_after(options.write_timeout);
      co_await http::async_write(stream, response, kNoThrow);
      break;
    }

    const Request& request = parser.get();
    HandlerContext context;
    context.services = services.get();
    Response response = Dispatch(request, context);
    if (stopping) response.keep_alive(false);
    stream.expires_after(options.write_timeout);
    auto [wec, written] = co_await http::async_write(stream, response, kNoThrow);
    if (wec || !response.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

Server::Server(ServerOptions options, std::shared_ptr<Services> services)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(services))) {}

Server::~Server() = default;

result<BoundEndpoint> Server::Listen() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.listen_host, ec);
  if (ec) return errc::invalid_argument;
  const tcp::endpoint endpoint(address, impl_->options.listen_port);
  auto& acceptor = impl_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) return ec;
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) return ec;
  if (acceptor.bind(endpoint, ec); ec) return ec;
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return ec;
  const auto local = acceptor.local_endpoint(ec);
  if (ec) return ec;
  return BoundEndpoint{local.address().to_string(), local.port()};
}

void Server::Run() {
  auto impl = impl_;
  asio::co_spawn(impl->acceptor.get_executor(), impl->AcceptLoop(), asio::detached);
  std::vector<std::thread> workers;
  const std::size_t n = Impl::ThreadCount(impl->options);
  for (std::size_t i = 1; i < n; ++i) workers.emplace_back([impl] { impl->io.run(); });
  impl->io.run();
  for (auto& t : workers) t.join();
}

void Server::Stop() {
  auto impl = impl_;
  if (impl->stopping.exchange(true)) return;
  asio::post(impl->acceptor.get_executor(), [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl->CloseIdleConnections();
  // Run() returns when no work is left; the timer bounds how long stragglers may take.
  asio::post(impl->drain_timer.get_executor(), [impl] {
    impl->keep_running.reset();  // From here on, run() returns once the work drains.
    if (impl->open_connections == 0) return;
    impl->drain_timer.expires_after(impl->options.drain_timeout);
    impl->drain_timer.async_wait([impl](boost::system::error_code ec) {
      if (!ec) {
        spdlog::warn("drain timeout: closing {} connection(s)", impl->open_connections.load());
        impl->io.stop();
      }
    });
  });
}

}  // namespace strongroom::server
