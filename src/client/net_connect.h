// What every connection the client makes shares (HTTP in http_transport.cc, WebSocket in
// collab_connection.cc), so the security rules live in one place:
//   - plain http:// / ws:// only ever reaches a loopback address, even when a name resolves
//     elsewhere (a bearer token must not cross a network in clear);
//   - TLS verifies the peer against the system store or the caller's CA file, checks the
//     certificate names the host (DNS name or IP address) and sends SNI for names.
// Internal to strongroom_client.
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/client/http_transport.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include <memory>
#include <string>
#include <vector>

namespace strongroom::client::net_detail {

[[nodiscard]] bool IsLoopbackAddress(const boost::asio::ip::address& a);

// The Host header value: the host (bracketed for IPv6) and the port unless it is the default.
[[nodiscard]] std::string HostHeader(const ServerUrl& url);

// The resolved endpoints `url` may be connected to: all of them for TLS, only loopback ones
// for plain text. Empty means none is allowed.
[[nodiscard]] std::vector<boost::asio::ip::tcp::endpoint> AllowedEndpoints(
    const ServerUrl& url, const boost::asio::ip::tcp::resolver::results_type& found);

// A TLS 1.2+ client context trusting `ca_file` (PEM), or the system's store when empty.
[[nodiscard]] Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(
    const std::string& ca_file);

// Sets SNI (for a host name; RFC 6066 allows no IP address there) and peer verification with
// the host-name check on a TLS stream before its handshake. False when SNI cannot be set.
template <class SslStream>
[[nodiscard]] bool PrepareTls(SslStream& stream, const std::string& host) {
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(host, not_ip);
  if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) return false;
  stream.set_verify_mode(boost::asio::ssl::verify_peer);
  stream.set_verify_callback(boost::asio::ssl::host_name_verification(host));
  return true;
}

}  // namespace strongroom::client::net_detail
