// The portal's IP allow-list (issue 6): from which addresses people may sign in and use the
// API, optionally per role.
//
// Rules are CIDR ranges (IPv4 or IPv6), each for every role or for one role. For a caller of
// role R, the rules that apply are those naming R, or, when no rule names R, those naming no
// role; the owner counts as an admin here (rules name "admin" or "user"). An empty set of
// applicable rules admits every address (so rules for admins alone restrict admins alone);
// otherwise the address must fall in one of them. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d, what a dual-stack socket reports) are matched as IPv4.
#pragma once

#include "strongroom/error.h"
#include "strongroom/storage/metadata_store.h"

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::server {

inline constexpr std::size_t kMaxIpRules = 256;

struct IpRule {
  std::string cidr;                 // Canonical text: "10.0.0.0/8", "2001:db8::/32".
  std::optional<storage::Role> role;  // admin or user; unset: every role.
  friend bool operator==(const IpRule&, const IpRule&) = default;
};

// Parses "a.b.c.d/n", "x::y/n", or a bare address (a /32 or /128). Host bits must be zero
// ("10.0.0.1/8" is refused: it is almost always a typo for a narrower range).
// errc::invalid_argument otherwise.
[[nodiscard]] result<IpRule> ParseIpRule(std::string_view cidr, std::optional<storage::Role> role);

class IpAllowList {
 public:
  IpAllowList() = default;
  explicit IpAllowList(std::vector<IpRule> rules) : rules_(std::move(rules)) {}

  [[nodiscard]] const std::vector<IpRule>& rules() const { return rules_; }
  [[nodiscard]] bool empty() const { return rules_.empty(); }

  // Whether a caller of `role` may come from `address` (see the header comment).
  [[nodiscard]] bool Admits(const boost::asio::ip::address& address, storage::Role role) const;
  // The same for an address in text form; an unparsable address is refused (unless no rule
  // applies).
  [[nodiscard]] bool Admits(std::string_view address, storage::Role role) const;

 private:
  [[nodiscard]] std::vector<const IpRule*> Applicable(storage::Role role) const;
  std::vector<IpRule> rules_;
};

}  // namespace strongroom::server
