#include "client/net_connect.h"

namespace strongroom::client::net_detail {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

bool IsLoopbackAddress(const net::ip::address& a) {
  if (a.is_v4()) return a.is_loopback();
  const auto v6 = a.to_v6();
  return v6.is_loopback() ||
         (v6.is_v4_mapped() && net::ip::make_address_v4(net::ip::v4_mapped, v6).is_loopback());
}

std::string HostHeader(const ServerUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? 443 : 80)) host += ":" + std::to_string(url.port);
  return host;
}

std::vector<net::ip::tcp::endpoint> AllowedEndpoints(
    const ServerUrl& url, const net::ip::tcp::resolver::results_type& found) {
  std::vector<net::ip::tcp::endpoint> endpoints;
  for (const auto& entry : found) {
    if (url.tls || IsLoopbackAddress(entry.endpoint().address())) {
      endpoints.push_back(entry.endpoint());
    }
  }
  return endpoints;
}

Result<std::unique_ptr<ssl::context>> MakeTlsContext(const std::string& ca_file) {
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_client);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  error_code ec;
  if (!ca_file.empty()) {
    tls->load_verify_file(ca_file, ec);
    if (ec) return Error::Usage("cannot load CA file '" + ca_file + "': " + ec.message());
  } else {
    tls->set_default_verify_paths(ec);
    if (ec) return Error::Local("cannot load the system's trusted certificates: " + ec.message());
  }
  return tls;
}

}  // namespace strongroom::client::net_detail
