#include "strongroom/client/http_transport.h"

#include "client/net_connect.h"
#include "strongroom/client/secret_string.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <span>
#include <vector>

namespace strongroom::client {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kMaxResponseHeader = 64 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

using net_detail::HostHeader;
using net_detail::IsLoopbackAddress;

std::string Where(const ServerUrl& url) {
  return HostHeader(url);
}

http::verb Verb(Method m) {
  switch (m) {
    case Method::get:
      return http::verb::get;
    case Method::post:
      return http::verb::post;
    case Method::put:
      return http::verb::put;
    case Method::del:
      return http::verb::delete_;
  }
  return http::verb::get;
}

// The state of one exchange, shared between the coroutine and the caller's deadline.
struct Exchange {
  const ServerUrl& url;
  const TransportOptions& options;
  ssl::context* tls;
  http::request<http::string_body> request;
  io::Sink* body_sink = nullptr;
  std::optional<Result<HttpResponse>> outcome;
  int body_status = 0;  // SendOptions::body_status.

  void Fail(std::string message) { outcome.emplace(Error::Network(std::move(message))); }
};

template <class Fields>
HttpResponse FromHeader(const http::response_header<Fields>& message) {
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  if (auto it = message.find(http::field::retry_after); it != message.end()) {
    int seconds = 0;
    const auto v = it->value();
    if (std::from_chars(v.data(), v.data() + v.size(), seconds).ec == std::errc()) {
      response.retry_after = seconds;
    }
  }
  response.etag = std::string(message[http::field::etag]);
  response.content_range = std::string(message[http::field::content_range]);
  return response;
}

// Reads a response whose 2xx body streams into x.body_sink, piece by piece.
template <class Stream>
net::awaitable<void> ReadIntoSink(Stream& stream, boost::beast::flat_buffer& buffer, Exchange& x) {
  error_code ec;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(kMaxResponseHeader);
  parser.body_limit(boost::none);
  co_await http::async_read_header(stream, buffer, parser,
                                   net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    x.Fail("reading the response from " + Where(x.url) + " failed: " + ec.message());
    co_return;
  }
  HttpResponse response = FromHeader(parser.get().base());
  const bool to_sink = response.status / 100 == 2;
  if (to_sink && x.body_status != 0 && response.status != x.body_status) {
    // Not the body the caller asked for (a whole file instead of the range that resumes it):
    // report the status and leave the body unread (the connection closes).
    x.outcome.emplace(std::move(response));
    co_return;
  }
  std::vector<std::uint8_t> piece(256 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      x.Fail("reading the response from " + Where(x.url) + " failed: " + ec.message());
      co_return;
    }
    const std::size_t got = piece.size() - parser.get().body().size;
    if (to_sink) {
      if (auto w = x.body_sink->Write(std::span(piece).first(got)); !w) {
        x.outcome.emplace(Error::Local("writing the download failed: " + w.error().message()));
        co_return;
      }
    } else if (response.body.size() + got > x.options.max_response_body) {
      x.Fail("the response from " + Where(x.url) + " is larger than the client accepts");
      co_return;
    } else {
      response.body.append(reinterpret_cast<const char*>(piece.data()), got);
    }
  }
  x.outcome.emplace(std::move(response));
}

template <class Stream>
net::awaitable<void> WriteAndRead(Stream& stream, Exchange& x) {
  error_code ec;
  co_await http::async_write(stream, x.request, net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    x.Fail("sending the request to " + Where(x.url) + " failed: " + ec.message());
    co_return;
  }
  boost::beast::flat_buffer buffer;
  if (x.body_sink != nullptr) {
    co_await ReadIntoSink(stream, buffer, x);
    co_return;
  }
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxResponseHeader);
  parser.body_limit(x.options.max_response_body);
  co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
  if (ec == http::error::body_limit) {
    x.Fail("the response from " + Where(x.url) + " is larger than the client accepts");
    co_return;
  }
  if (ec) {
    x.Fail("reading the response from " + Where(x.url) + " failed: " + ec.message());
    co_return;
  }
  auto message = parser.release();
  HttpResponse response = FromHeader(message);
  response.body = std::move(message.body());
  x.outcome.emplace(std::move(response));
}

net::awaitable<void> Run(Exchange& x) {
  auto executor = co_await net::this_coro::executor;
  error_code ec;
  tcp::resolver resolver(executor);
  auto found = co_await resolver.async_resolve(x.url.host, std::to_string(x.url.port),
                                               net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    x.Fail("cannot resolve " + x.url.host + ": " + ec.message());
    co_return;
  }
  // Plain HTTP only ever goes to this machine, even if a name resolves elsewhere.
  const std::vector<tcp::endpoint> endpoints = net_detail::AllowedEndpoints(x.url, found);
  if (endpoints.empty()) {
    x.Fail(x.url.host + " does not resolve to a loopback address; use https://");
    co_return;
  }
  tcp::socket socket(executor);
  co_await net::async_connect(socket, endpoints, net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    x.Fail("cannot connect to " + Where(x.url) + ": " + ec.message());
    co_return;
  }
  if (!x.tls) {
    co_await WriteAndRead(socket, x);
    co_return;
  }
  ssl::stream<tcp::socket> stream(std::move(socket), *x.tls);
  if (!net_detail::PrepareTls(stream, x.url.host)) {
    x.Fail("cannot set the TLS server name for " + x.url.host);
    co_return;
  }
  co_await stream.async_handshake(ssl::stream_base::client,
                                  net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    x.Fail("TLS handshake with " + Where(x.url) + " failed: " + ec.message() +
           " (is the certificate trusted? see --ca-file)");
    co_return;
  }
  co_await WriteAndRead(stream, x);
  // No TLS close_notify: the response is complete by its framing, and waiting for the peer's
  // close_notify could only add a delay.
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  const std::string h = Lower(host);
  if (h == "localhost" || h.ends_with(".localhost")) return true;
  error_code ec;
  const auto address = net::ip::make_address(h, ec);
  return !ec && IsLoopbackAddress(address);
}

Result<ServerUrl> ServerUrl::Parse(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Error::Usage("bad server URL '" + Printable(text, 200) + "': " + std::string(why));
  };
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) return bad("expected https://host[:port][/path]");
  ServerUrl url;
  const std::string scheme = Lower(parsed->scheme());
  if (scheme == "https") {
    url.tls = true;
  } else if (scheme == "http") {
    url.tls = false;
  } else {
    return bad("the scheme must be https or http");
  }
  if (parsed->has_userinfo()) return bad("user names and passwords do not belong in the URL");
  if (parsed->has_query() || parsed->has_fragment()) return bad("no query or fragment allowed");
  url.host = Lower(parsed->encoded_host_address());
  if (url.host.size() >= 2 && url.host.front() == '[') {
    url.host = url.host.substr(1, url.host.size() - 2);
  }
  if (url.host.empty()) return bad("no host");
  if (url.host.find('%') != std::string::npos) return bad("the host must not be percent-encoded");
  if (parsed->has_port()) {
    if (parsed->port_number() == 0) return bad("bad port");
    url.port = parsed->port_number();
  } else {
    url.port = url.tls ? 443 : 80;
  }
  std::string path(parsed->encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  url.base_path = path;
  if (!url.tls && !IsLoopbackHost(url.host)) {
    return Error::Usage("refusing http:// to " + url.host +
                        ": keys derived from your password and session tokens would cross the "
                        "network unencrypted; use https:// (plain http is allowed only to "
                        "localhost)");
  }
  return url;
}

std::string ServerUrl::ToString() const {
  return std::string(tls ? "https://" : "http://") + HostHeader(*this) + base_path;
}

struct HttpTransport::Impl {
  ServerUrl url;
  TransportOptions options;
  std::unique_ptr<ssl::context> tls;
};

HttpTransport::HttpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpTransport::HttpTransport(HttpTransport&&) noexcept = default;
HttpTransport& HttpTransport::operator=(HttpTransport&&) noexcept = default;
HttpTransport::~HttpTransport() = default;

const ServerUrl& HttpTransport::url() const {
  return impl_->url;
}

Result<HttpTransport> HttpTransport::Create(const ServerUrl& url, TransportOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->url = url;
  if (url.tls) {
    auto tls = net_detail::MakeTlsContext(options.ca_file);
    if (!tls) return tls.error();
    impl->tls = std::move(*tls);
  }
  impl->options = std::move(options);
  return HttpTransport(std::move(impl));
}

Result<HttpResponse> HttpTransport::Send(Method method, std::string_view target,
                                         std::string_view body, std::string_view bearer,
                                         const SendOptions& send) {
  Exchange x{impl_->url, impl_->options, impl_->tls.get(), {}, send.body_sink, std::nullopt};
  x.request.version(11);
  x.request.method(Verb(method));
  x.request.target(impl_->url.base_path + std::string(target));
  x.request.set(http::field::host, HostHeader(impl_->url));
  x.request.set(http::field::user_agent, impl_->options.user_agent);
  x.request.set(http::field::accept, "application/json");
  x.request.set(http::field::connection, "close");
  if (!bearer.empty()) {
    std::string value = "Bearer " + std::string(bearer);
    x.request.set(http::field::authorization, value);
    WipeString(value);
  }
  if (method == Method::post || method == Method::put || !body.empty()) {
    x.request.set(http::field::content_type, send.content_type);
    x.request.body() = body;
  }
  if (!send.range.empty()) x.request.set(http::field::range, send.range);
  if (!send.if_range.empty()) x.request.set(http::field::if_range, send.if_range);
  x.body_status = send.body_status;
  x.request.prepare_payload();

  net::io_context ioc;
  net::co_spawn(ioc, Run(x), [&x](std::exception_ptr e) {
    if (e && !x.outcome) x.Fail("internal error in the HTTP client");
  });
  // One deadline for the whole exchange, resolving included.
  const auto timeout = send.timeout.count() > 0 ? send.timeout : impl_->options.timeout;
  ioc.run_for(timeout);
  const bool finished = x.outcome.has_value();
  if (!finished) ioc.stop();
  // The body may hold an auth key. (The token's copy in Beast's header storage is freed
  // without a wipe: Beast offers no hook for it.)
  WipeString(x.request.body());
  if (!finished) {
    return Error::Network("no answer from " + Where(impl_->url) + " within " +
                          std::to_string(timeout.count()) + " s");
  }
  return std::move(*x.outcome);
}

}  // namespace strongroom::client
