#include "server/ip_allowlist.h"

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <algorithm>

namespace strongroom::server {

namespace ip = boost::asio::ip;

namespace {

storage::Role Effective(storage::Role r) {
  return r == storage::Role::owner ? storage::Role::admin : r;
}

ip::address Unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  }
  return a;
}

bool Contains(const IpRule& rule, const ip::address& a) {
  boost::system::error_code ec;
  if (a.is_v4()) {
    const auto net = ip::make_network_v4(rule.cidr, ec);
    if (ec) return false;
    const auto host = ip::network_v4(a.to_v4(), 32);
    return host == net || host.is_subnet_of(net);
  }
  const auto net = ip::make_network_v6(rule.cidr, ec);
  if (ec) return false;
  const auto host = ip::network_v6(a.to_v6(), 128);
  return host == net || host.is_subnet_of(net);
}

}  // namespace

result<IpRule> ParseIpRule(std::string_view text, std::optional<storage::Role> role) {
  if (role && *role == storage::Role::owner) role = storage::Role::admin;
  if (text.empty() || text.size() > 64) return errc::invalid_argument;
  const std::string s(text);
  boost::system::error_code ec;
  if (s.find('/') == std::string::npos) {
    const auto a = ip::make_address(s, ec);
    if (ec) return errc::invalid_argument;
    const auto u = Unmapped(a);
    return IpRule{u.is_v4() ? ip::network_v4(u.to_v4(), 32).to_string()
                            : ip::network_v6(u.to_v6(), 128).to_string(),
                  role};
  }
  if (s.find(':') == std::string::npos) {
    const auto net = ip::make_network_v4(s, ec);
    if (ec || net.network() != net.address()) return errc::invalid_argument;
    return IpRule{net.to_string(), role};
  }
  const auto net = ip::make_network_v6(s, ec);
  if (ec || net.network() != net.address()) return errc::invalid_argument;
  return IpRule{net.to_string(), role};
}

bool IpAllowList::Admits(const ip::address& address, storage::Role role) const {
  const ip::address a = Unmapped(address);
  bool applicable = false;
  for (const IpRule* rule : Applicable(role)) {
    applicable = true;
    if (Contains(*rule, a)) return true;
  }
  return !applicable;
}

bool IpAllowList::Admits(std::string_view address, storage::Role role) const {
  boost::system::error_code ec;
  const auto a = ip::make_address(std::string(address), ec);
  if (ec) return Applicable(role).empty();  // No address to match.
  return Admits(a, role);
}

std::vector<const IpRule*> IpAllowList::Applicable(storage::Role role) const {
  const storage::Role r = Effective(role);
  const bool named = std::any_of(rules_.begin(), rules_.end(),
                                 [r](const IpRule& x) { return x.role && *x.role == r; });
  std::vector<const IpRule*> out;
  for (const IpRule& rule : rules_) {
    if (named ? (rule.role && *rule.role == r) : !rule.role) out.push_back(&rule);
  }
  return out;
}

}  // namespace strongroom::server
