#include "strongroom/server/server.h"

#include "server/collab/relay.h"
#include "server/logging.h"
#include "server/router.h"
#include "server/services.h"
#include "strongroom/crypto/verifier.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

// Asio's TLS layer is compiled once, in strongroom_boost_ssl (src/boost/asio_ssl.cc). The
// OpenSSL headers below configure the TLS transport only (versions, options, key check).

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

namespace strongroom::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kHsts = "max-age=31536000";
constexpr std::size_t kMaxUserAgentBytes = 256;
constexpr std::size_t kMaxClientRequestIdBytes = 64;
constexpr std::size_t kRequestIdPrefixBytes = 12;  // Random per thread; then a counter.
// Streamed bodies (uploads, downloads) move through a buffer of this size per connection.
constexpr std::size_t kStreamPieceBytes = std::size_t{256} * 1024;
// Sending close_notify tells the client the response was complete (not truncated by an
// attacker); waiting for the peer's is a courtesy, kept short so a silent peer cannot hold a
// connection (and a drain) open.
constexpr std::chrono::seconds kTlsShutdownTimeout{1};

// TLS 1.2 suites for clients without 1.3: ECDHE only (forward secrecy, no DH parameters to
// manage), AEAD only. Mozilla's "intermediate" list minus its DHE entries. TLS 1.3 suites are
// OpenSSL's defaults, which are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// One accepted connection. `idle` is touched only on the connection's thread (its context).
struct Connection {
  using Stream = std::variant<beast::tcp_stream, TlsStream>;

  Connection(tcp::socket socket, ssl::context* tls)
      : remote_ip(RemoteIp(socket)), stream(MakeStream(std::move(socket), tls)) {}

  static Stream MakeStream(tcp::socket socket, ssl::context* tls) {
    if (tls != nullptr) return Stream(std::in_place_type<TlsStream>, std::move(socket), *tls);
    return Stream(std::in_place_type<beast::tcp_stream>, std::move(socket));
  }

  static std::string RemoteIp(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (ec) return "unknown";
    const auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    }
    return address.to_string();
  }

  beast::tcp_stream& socket_layer() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream);
  }

  std::string remote_ip;  // Of the peer; proxy headers are not trusted.
  Stream stream;
  bool idle = true;
};

bool ValidClientRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientRequestIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// A request id unique across threads, restarts and nodes without a system call per request:
// 96 random bits chosen once per thread, then that thread's counter (32 hex digits in all,
// as before). Request ids are labels, not secrets; unpredictability is not needed, only that
// two requests never share one.
std::string FreshRequestId() {
  thread_local std::string prefix = crypto::RandomHex(kRequestIdPrefixBytes);
  thread_local std::uint32_t counter = 0;
  if (++counter == 0) prefix = crypto::RandomHex(kRequestIdPrefixBytes);  // Wrapped: new prefix.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = prefix;
  id.resize(prefix.size() + 8);
  for (std::size_t i = 0; i < 8; ++i) id[prefix.size() + i] = kHex[(counter >> (28 - 4 * i)) & 0xf];
  return id;
}

// The client's X-Request-Id when it is safe to echo and log (so a proxy's id links its logs
// with ours), otherwise a fresh random one.
std::string RequestIdFor(const Request* request) {
  if (request != nullptr) {
    const auto it = request->find("X-Request-Id");
    if (it != request->end() && ValidClientRequestId(it->value())) {
      return std::string(it->value());
    }
  }
  return FreshRequestId();
}

bool IsTlsError(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() ||
         ec.category() == ssl::error::get_stream_category();
}

// The configured TLS context, or why it could not be made. Says which file failed, never what
// it contains.
std::unique_ptr<ssl::context> MakeTlsContext(const ServerOptions& options, std::string& why) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                           ssl::context::single_dh_use,
                       ec);
  SSL_CTX* native = context->native_handle();
  if (ec || SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    why = "cannot configure TLS (OpenSSL too old?)";
    return nullptr;
  }
  // Server preference: our AEAD-only order wins over a client that prefers weaker suites.
  // No renegotiation: it has been the source of several attacks and HTTP/1.1 needs none.
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (context->use_certificate_chain_file(options.tls_cert_file, ec); ec) {
    why = "cannot load the TLS certificate chain from '" + options.tls_cert_file +
          "': " + ec.message();
    return nullptr;
  }
  if (context->use_private_key_file(options.tls_key_file, ssl::context::pem, ec); ec) {
    // OpenSSL checks the key against the certificate while loading it.
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
      why = "the TLS private key in '" + options.tls_key_file +
            "' does not match the certificate in '" + options.tls_cert_file + "'";
    } else {
      why = "cannot load the TLS private key from '" + options.tls_key_file + "': " + ec.message();
    }
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    why = "the TLS private key in '" + options.tls_key_file +
          "' does not match the certificate in '" + options.tls_cert_file + "'";
    return nullptr;
  }
  return context;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(ServerOptions opts, std::shared_ptr<Services> svc)
      : options(std::move(opts)),
        services(std::move(svc)),
        ios(MakeContexts(ThreadCount(options))),
        acceptor(ios.front()->get_executor()),
        drain_timer(ios.front()->get_executor()) {
    for (auto& io : ios) keep_running.emplace_back(io->get_executor());
  }

  // One single-threaded io_context per thread: a connection lives on one thread from accept
  // to close, so its handlers need no strand and no lock, and a request never wakes another
  // thread. (One shared io_context with a strand per connection cost a futex hand-off per
  // request; see bench/README.md.)
  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(std::size_t n) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }
  // Lets every thread's run() return once its work is done. Only on the first context.
  void ReleaseContexts() {
    for (auto& guard : keep_running) guard.reset();
  }
  void StopContexts() {
    for (auto& io : ios) io->stop();
  }

  static std::size_t ThreadCount(const ServerOptions& o) {
    if (o.threads != 0) return o.threads;
    return std::max(1u, std::thread::hardware_concurrency());
  }

  Metrics* metrics() const { return services ? services->metrics.get() : nullptr; }

  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> connection);
  template <class Stream>
  asio::awaitable<void> ServeRequests(Stream& stream, Connection& connection);
  // Answers a request that could not be read (malformed, too large), when anyone listens.
  template <class Stream>
  asio::awaitable<void> AnswerReadError(Stream& stream, Connection& connection,
                                        boost::system::error_code ec, const Request* partial,
                                        std::chrono::steady_clock::time_point started);
  // Reads a streamed body into its route's BodyReceiver. Returns the answer, or a response
  // with status 0 when the connection broke. `body_unread`: the answer came before the end
  // of the body, so the connection cannot be reused.
  template <class Stream>
  asio::awaitable<Response> ReceiveStreamed(Stream& stream, beast::flat_buffer& buffer,
                                            http::request_parser<http::empty_body>& header_parser,
                                            const Request& header, HandlerContext& context,
                                            bool& body_unread);
  // Sends `head` (with its Content-Length), then the body from `body`. False when the
  // connection failed or the body could not be read to its end.
  template <class Stream>
  asio::awaitable<bool> SendStreamed(Stream& stream, Response head, io::Source& body);
  static void FillRequestInfo(const Request& request, HandlerContext& context);
  template <class Stream>
  asio::awaitable<void> DiscardRestOfBody(Stream& stream, beast::tcp_stream& transport);
  // Sets the headers every response carries.
  static void Stamp(Response& response, const HandlerContext& context);
  // Records an answered request in the metrics and writes its access line.
  void Record(const HandlerContext& context, std::string_view method, int status,
              std::chrono::steady_clock::time_point started);
  void Register(const std::shared_ptr<Connection>& c);
  void Unregister(const std::shared_ptr<Connection>& c);
  void CloseIdleConnections();

  ServerOptions options;
  std::shared_ptr<Services> services;  // May be null (bare transport).
  std::unique_ptr<ssl::context> tls;   // Set by Listen() when TLS is configured.
  std::vector<std::unique_ptr<asio::io_context>> ios;  // One per thread; never empty.
  std::size_t next_context = 0;                          // Round robin; accept loop only.
  tcp::acceptor acceptor;          // On the first context.
  asio::steady_timer drain_timer;  // On the first context.
  // Keep every run() from returning before the drain has finished: without them, a context
  // whose own connections are done could return while another context's last connection
  // still posts to it, and a posted handler that never runs keeps this Impl alive through
  // the io_context it owns. Reset together, on the first context, when the last connection
  // has closed (or the drain timed out).
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
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
      asio::post(c->socket_layer().get_executor(), [c] {
        if (c->idle) c->socket_layer().cancel();
      });
    }
  }
}

asio::awaitable<void> Server::Impl::AcceptLoop() {
  for (;;) {
    asio::io_context& io = *ios[next_context];
    next_context = (next_context + 1) % ios.size();
    auto [ec, socket] = co_await acceptor.async_accept(io.get_executor(), kNoThrow);
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
    // Small messages (co-editing updates and acks, short API answers) leave at once: with
    // Nagle's algorithm each would wait for the ACK of the previous one, tens of milliseconds
    // behind a delayed ACK. Beast writes a whole HTTP response or WebSocket message per call,
    // so turning it off does not send anything in tiny pieces.
    boost::system::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    auto connection = std::make_shared<Connection>(std::move(socket), tls.get());
    ++open_connections;
    if (Metrics* m = metrics()) m->ConnectionOpened();
    Register(connection);
    auto self = shared_from_this();
    asio::co_spawn(connection->socket_layer().get_executor(), Serve(connection),
                   [self, connection](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                         spdlog::error("connection handler failed: {}", ex.what());
                       }
                     }
                     if (Metrics* m = self->metrics()) m->ConnectionClosed();
                     self->Unregister(connection);
                     // Counted down on the first context, where the drain decides: had
                     // this thread counted down and then posted the timer's cancel, the
                     // drain could see 0 in between, let the first context's run() return,
                     // and the post would land in a context nobody runs (keeping this Impl,
                     // and the whole portal, alive to the end: a leak at exit).
                     asio::post(self->drain_timer.get_executor(), [self] {
                       if (--self->open_connections == 0 && self->stopping) {
                         self->drain_timer.cancel();
                       }
                     });
                   });
  }
}

asio::awaitable<void> Server::Impl::Serve(std::shared_ptr<Connection> connection) {
  if (auto* plain = std::get_if<beast::tcp_stream>(&connection->stream)) {
    co_await ServeRequests(*plain, *connection);
    boost::system::error_code ignored;
    plain->socket().shutdown(tcp::socket::shutdown_send, ignored);
    plain->close();
    co_return;
  }
  auto& stream = std::get<TlsStream>(connection->stream);
  // The handshake counts as reading the first request: a client that opens a connection and
  // stalls is cut off after read_timeout either way.
  connection->idle = false;
  beast::get_lowest_layer(stream).expires_after(options.read_timeout);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
  if (!hec) {
    co_await ServeRequests(stream, *connection);
    beast::get_lowest_layer(stream).expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kNoThrow);
  } else {
    spdlog::debug("TLS handshake with {} failed: {}", connection->remote_ip, hec.message());
  }
  beast::get_lowest_layer(stream).close();
}

template <class Stream>
asio::awaitable<void> Server::Impl::ServeRequests(Stream& stream, Connection& connection) {
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer(options.max_header_bytes);
  bool first = true;
  while (!stopping) {
    http::request_parser<http::empty_body> header_parser;
    header_parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    // Beast checks a Content-Length against the body limit as soon as the header is parsed,
    // but which limit applies depends on the route: decided below, once the header is here.
    header_parser.body_limit(boost::none);

    // Wait for the first byte of the next request under the idle timeout, then read the
    // whole request under the read timeout.
    connection.idle = true;
    if (!first && buffer.size() == 0) {
      transport.expires_after(options.idle_timeout);
      auto [ec, n] =
          co_await stream.async_read_some(buffer.prepare(options.max_header_bytes), kNoThrow);
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    connection.idle = false;
    const auto started = std::chrono::steady_clock::now();
    transport.expires_after(options.read_timeout);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, header_parser, kNoThrow);
    if (hec) {
      co_await AnswerReadError(stream, connection, hec, nullptr, started);
      break;
    }

    HandlerContext context;
    context.services = services.get();
    context.info.remote_ip = connection.remote_ip;
    context.info.tls = tls != nullptr;
    Response response;
    std::string method;
    bool body_unread = false;
    if (IsStreamingRoute(header_parser.get().method(), header_parser.get().target())) {
      const Request header(header_parser.get().base());
      FillRequestInfo(header, context);
      method = std::string(header.method_string());
      // No log scope around this: it suspends, and the scope is per thread, not per request.
      // ReceiveStreamed sets it around each synchronous step instead.
      response = co_await ReceiveStreamed(stream, buffer, header_parser, header, context,
                                          body_unread);
      if (body_unread) response.keep_alive(false);
      if (!response.result_int()) break;  // The connection broke mid-body: nobody to answer.
    } else {
      if (const auto length = header_parser.content_length();
          length && *length > options.max_body_bytes) {
        const Request header(header_parser.get().base());
        co_await AnswerReadError(stream, connection, http::error::body_limit, &header, started);
        break;
      }
      http::request_parser<http::string_body> parser(std::move(header_parser));
      parser.body_limit(options.max_body_bytes);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (ec) {
        co_await AnswerReadError(stream, connection, ec, &parser.get(), started);
        break;
      }
      const Request& request = parser.get();
      FillRequestInfo(request, context);
      method = std::string(request.method_string());
      if (services && services->collab && collab::IsCollabUpgrade(request)) {
        std::optional<collab::Admission> admission;
        std::optional<Response> refused;
        {
          RequestLogScope log_scope(context.info.request_id);
          refused = collab::AdmitUpgrade(request, context, admission);
        }
        if (admission) {
          // From here the connection is a WebSocket until it closes: never idle, never
          // reused for HTTP. Relay::Shutdown (from Stop) closes it on drain.
          connection.idle = false;
          Record(context, method, 101, started);
          co_await collab::Serve(stream, request, std::move(*admission), *services->collab,
                                 context.info.request_id);
          break;
        }
        response = std::move(*refused);
        response.keep_alive(false);
      } else {
        RequestLogScope log_scope(context.info.request_id);
        try {
          response = Dispatch(request, context);
        } catch (const std::exception& e) {
          // A bug: Dispatch answers bad input itself. The client sees only the request id.
          spdlog::error("request handler failed: {}", e.what());
          response = ErrorResponse(request, http::status::internal_server_error, "internal",
                                   "internal error; the server log has details");
          context.response_body.reset();
        }
      }
    }
    if (stopping) response.keep_alive(false);
    Stamp(response, context);
    transport.expires_after(options.write_timeout);
    bool written_ok = false;
    if (context.response_body) {
      written_ok = co_await SendStreamed(stream, std::move(response), *context.response_body);
      context.response_body.reset();
    } else {
      auto [wec, written] = co_await http::async_write(stream, response, kNoThrow);
      written_ok = !wec;
    }
    // Also when the write failed: the request was handled, and its id is in the log.
    Record(context, method, response.result_int(), started);
    if (written_ok && body_unread) co_await DiscardRestOfBody(stream, transport);
    if (!written_ok || !response.keep_alive()) break;
  }
}

void Server::Impl::FillRequestInfo(const Request& request, HandlerContext& context) {
  context.info.request_id = RequestIdFor(&request);
  if (const auto ua = request.find(http::field::user_agent); ua != request.end()) {
    context.info.user_agent = std::string(ua->value().substr(0, kMaxUserAgentBytes));
  }
}

template <class Stream>
asio::awaitable<void> Server::Impl::AnswerReadError(Stream& stream, Connection& connection,
                                                    boost::system::error_code ec,
                                                    const Request* partial,
                                                    std::chrono::steady_clock::time_point started) {
  if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
      ec == beast::error::timeout || ec == asio::error::connection_reset ||
      ec == asio::error::eof || IsTlsError(ec)) {
    co_return;  // Nobody to answer (or, for TLS errors, no way to).
  }
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
  } else {
    response = ErrorResponse(bare, http::status::bad_request, "bad_request", "malformed HTTP request");
  }
  HandlerContext context;
  context.info.remote_ip = connection.remote_ip;
  context.info.tls = tls != nullptr;
  // The header is complete when only the body was too large: its id can be honoured.
  context.info.request_id = RequestIdFor(partial);
  response.keep_alive(false);
  Stamp(response, context);
  beast::get_lowest_layer(stream).expires_after(options.write_timeout);
  co_await http::async_write(stream, response, kNoThrow);
  Record(context, partial != nullptr ? partial->method_string() : "other", response.result_int(),
         started);
}

template <class Stream>
asio::awaitable<Response> Server::Impl::ReceiveStreamed(
    Stream& stream, beast::flat_buffer& buffer, http::request_parser<http::empty_body>& header_parser,
    const Request& header, HandlerContext& context, bool& body_unread) {
  body_unread = true;
  Response response;
  std::unique_ptr<BodyReceiver> receiver;
  {
    RequestLogScope log_scope(context.info.request_id);
    receiver = StartStreaming(header, context, response);
  }
  if (!receiver) co_return response;
  // A client that asked to be told before it sends a large body is told now, when the
  // request has passed every check its header allows.
  if (beast::iequals(header[http::field::expect], "100-continue")) {
    http::response<http::empty_body> go_on{http::status::continue_, header.version()};
    beast::get_lowest_layer(stream).expires_after(options.write_timeout);
    if (auto [ec, n] = co_await http::async_write(stream, go_on, kNoThrow); ec) co_return Response{};
  }

  http::request_parser<http::buffer_body> parser(std::move(header_parser));
  parser.body_limit(boost::none);  // The receiver bounds what it accepts.
  std::vector<std::uint8_t> piece(kStreamPieceBytes);
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);
  // The connection's buffer is sized for headers (each read is at most its size, and each
  // read re-arms the timer): a large body goes through a buffer of its own, which takes over
  // whatever of the body already arrived, and gives back what follows it.
  beast::flat_buffer body_buffer(kStreamPieceBytes);
  // Reserved up front: Beast sizes each read by the buffer's free capacity (at least 512
  // bytes), so a buffer grown on demand reads a large body 512 bytes at a time.
  body_buffer.reserve(kStreamPieceBytes);
  body_buffer.commit(asio::buffer_copy(body_buffer.prepare(buffer.size()), buffer.data()));
  buffer.consume(buffer.size());
  struct GiveBack {
    beast::flat_buffer& from;
    beast::flat_buffer& to;
    ~GiveBack() {
      // A pipelined request too large to keep is dropped: body_unread ends the connection.
      if (from.size() > to.max_size()) return;
      to.commit(asio::buffer_copy(to.prepare(from.size()), from.data()));
    }
  };
  GiveBack give_back{body_buffer, buffer};
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    // Per piece: a large upload may take long in all, but must keep making progress.
    transport.expires_after(options.read_timeout);
    auto [ec, n] = co_await http::async_read(stream, body_buffer, parser, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return Response{};  // Broken or timed out: the receiver keeps what it has.
    const std::size_t got = piece.size() - parser.get().body().size;
    if (got == 0) continue;
    std::optional<Response> early;
    {
      RequestLogScope log_scope(context.info.request_id);
      early = receiver->Write(std::span(piece).first(got));
    }
    if (early) co_return std::move(*early);
  }
  body_unread = body_buffer.size() > buffer.max_size();  // See GiveBack.
  RequestLogScope log_scope(context.info.request_id);
  co_return receiver->Finish();
}

// An answer sent before the end of a large body (a refused upload) must reach the client:
// closing with unread bytes would make the kernel send RST, which can destroy the answer in
// the client's receive buffer. So read and drop what keeps arriving, briefly and bounded.
template <class Stream>
asio::awaitable<void> Server::Impl::DiscardRestOfBody(Stream& stream, beast::tcp_stream& transport) {
  constexpr std::size_t kMaxDiscard = std::size_t{64} << 20;
  constexpr std::chrono::seconds kMaxLinger{2};
  std::vector<std::uint8_t> sink(64 * 1024);
  std::size_t dropped = 0;
  transport.expires_after(kMaxLinger);
  while (dropped < kMaxDiscard) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
    if (ec) break;
    dropped += n;
  }
}

template <class Stream>
asio::awaitable<bool> Server::Impl::SendStreamed(Stream& stream, Response head, io::Source& body) {
  http::response<http::buffer_body> response(std::move(head.base()));
  response.body().data = nullptr;
  response.body().more = true;
  http::response_serializer<http::buffer_body> serializer(response);
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);
  if (auto [ec, n] = co_await http::async_write_header(stream, serializer, kNoThrow); ec) {
    co_return false;
  }
  std::vector<std::uint8_t> piece(kStreamPieceBytes);
  for (;;) {
    auto n = body.Read(piece);
    if (!n) {
      // Headers (and the length) are gone already: the only honest signal left is to close
      // the connection short, which every client sees as a truncated body.
      spdlog::error("streaming a response body failed: {}", n.error().message());
      co_return false;
    }
    response.body().data = *n > 0 ? piece.data() : nullptr;
    response.body().size = *n;
    response.body().more = *n > 0;
    transport.expires_after(options.write_timeout);
    auto [ec, written] = co_await http::async_write(stream, serializer, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;
    if (*n == 0) break;
  }
  co_return serializer.is_done();
}

void Server::Impl::Stamp(Response& response, const HandlerContext& context) {
  response.set("X-Request-Id", context.info.request_id);
  if (context.info.tls) response.set(http::field::strict_transport_security, kHsts);
}

void Server::Impl::Record(const HandlerContext& context, std::string_view method, int status,
                          std::chrono::steady_clock::time_point started) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (Metrics* m = metrics()) m->ObserveRequest(context.route, method, status, seconds);
  LogRequest(AccessLogEntry{
      .request_id = context.info.request_id,
      .method = method,
      .route = context.route,
      .status = status,
      .duration_ms = seconds * 1000,
      .remote_ip = context.info.remote_ip,
  });
}

Server::Server(ServerOptions options, std::shared_ptr<Services> services)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(services))) {}

Server::~Server() = default;

result<BoundEndpoint> Server::Listen(std::string* why) {
  std::string reason;
  auto fail = [&](boost::system::error_code code, std::string message) {
    if (why != nullptr) *why = std::move(message);
    return code;
  };
  const ServerOptions& options = impl_->options;
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return fail(errc::invalid_argument, "TLS needs both a certificate and a key file");
  }
  if (!options.tls_cert_file.empty()) {
    impl_->tls = MakeTlsContext(options, reason);
    if (!impl_->tls) return fail(errc::invalid_argument, reason);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options.listen_host, ec);
  if (ec) return fail(errc::invalid_argument, "'" + options.listen_host + "' is not an IP address");
  const tcp::endpoint endpoint(address, options.listen_port);
  const std::string where = "cannot listen on " + endpoint.address().to_string() + " port " +
                            std::to_string(endpoint.port()) + ": ";
  auto& acceptor = impl_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) return fail(ec, where + ec.message());
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return fail(ec, where + ec.message());
  }
  if (acceptor.bind(endpoint, ec); ec) return fail(ec, where + ec.message());
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return fail(ec, where + ec.message());
  }
  const auto local = acceptor.local_endpoint(ec);
  if (ec) return fail(ec, where + ec.message());
  return BoundEndpoint{local.address().to_string(), local.port()};
}

bool Server::tls() const {
  return impl_->tls != nullptr;
}

void Server::Run() {
  auto impl = impl_;
  asio::co_spawn(impl->acceptor.get_executor(), impl->AcceptLoop(), asio::detached);
  std::vector<std::thread> workers;
  const std::size_t n = Impl::ThreadCount(impl->options);
  for (std::size_t i = 1; i < n; ++i) workers.emplace_back([impl, i] { impl->ios[i]->run(); });
  impl->ios.front()->run();
  for (auto& t : workers) t.join();
}

void Server::Stop() {
  auto impl = impl_;
  if (impl->stopping.exchange(true)) return;
  // First, so that /readyz answers 503 to the load balancer while in-flight requests finish.
  if (impl->services) impl->services->draining = true;
  // Co-editing WebSockets are never idle: the relay tells each to close (shutting_down).
  if (impl->services && impl->services->collab) impl->services->collab->Shutdown();
  asio::post(impl->acceptor.get_executor(), [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl->CloseIdleConnections();
  // Run() returns when no work is left; the timer bounds how long stragglers may take.
  // The first context runs this after the acceptor has closed. A connection that closes
  // from here on and finds the count at 0 cancels the timer (also posted to the first
  // context, so the two are ordered either way).
  asio::post(impl->drain_timer.get_executor(), [impl] {
    if (impl->open_connections == 0) {
      impl->ReleaseContexts();  // From here on, each run() returns once its work drains.
      return;
    }
    impl->drain_timer.expires_after(impl->options.drain_timeout);
    impl->drain_timer.async_wait([impl](boost::system::error_code ec) {
      if (!ec) {
        spdlog::warn("drain timeout: closing {} connection(s)", impl->open_connections.load());
        impl->StopContexts();
        return;
      }
      impl->ReleaseContexts();  // Cancelled: the last connection closed.
    });
  });
}

}  // namespace strongroom::server
