// The settings administrators change while the portal runs (docs/api.md, "Settings"): one
// table of keys, each with its JSON type, bounds, default and meaning. Internal header.
//
// Storage: the settings table holds, per key that was ever set, the canonical JSON text of
// its value; an unset key has its default. (room.allowed_types was once stored as lines; that
// form is still read.) Every change goes through EncodeSetting, so what is stored is valid.
//
// Reading: every request needs some of these (the IP allow-list, the Private Room switch), so
// they are read through PortalSettingsCache: one snapshot, re-read at most once per `ttl`
// and at once after a change made through this process. Another node's change takes effect
// here within `ttl`.
#pragma once

#include "server/ip_allowlist.h"
#include "strongroom/error.h"
#include "strongroom/password_policy.h"
#include "strongroom/server/config.h"
#include "strongroom/storage/metadata_store.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::server {

struct PortalSettings {
  // room.enabled, room.allowed_types
  bool room_enabled = true;
  std::vector<std::string> room_allowed_types;
  // auth.require_2fa: users without two-factor sign-in must enrol before anything else.
  bool require_2fa = false;
  // password.min_length, password.required_classes, password.not_email
  PasswordPolicy password;
  // access.ip_allowlist: ["CIDR" | "ROLE:CIDR", ...]
  IpAllowList ip_allowlist;
  // registration.trusted_domains_enabled, registration.trusted_domains: people with an email
  // in one of these domains may register without an invitation, as users.
  bool trusted_domains_enabled = false;
  std::vector<std::string> trusted_domains;
  // session.lifetime_s: a new session's life; session.idle_timeout_s: a session unused this
  // long ends (0: never).
  std::int64_t session_lifetime_s = 0;
  std::int64_t session_idle_timeout_s = 0;
};

// Every key, in the order GET /api/v1/admin/settings lists them.
[[nodiscard]] const std::vector<std::string_view>& PortalSettingKeys();

// Reads every setting; unset keys get their defaults (some come from `config`). A stored
// value that does not parse (edited by hand) is errc::malformed: refusing to guess is safer
// than silently dropping, say, an IP allow-list.
[[nodiscard]] result<PortalSettings> ReadPortalSettings(storage::MetadataStore& store,
                                                        const Config& config);

// The JSON object GET /api/v1/admin/settings answers: {key: value, ...}.
[[nodiscard]] boost::json::object PortalSettingsJson(const PortalSettings& settings);

// Checks `value` for `key` against the key's type and bounds and returns the canonical text
// to store. On a refusal, `error` says what the key takes (for the 400 message). When `into`
// is not null, the value is also applied to *into (to see the settings it would make).
[[nodiscard]] std::optional<std::string> EncodeSetting(std::string_view key,
                                                       const boost::json::value& value,
                                                       std::string& error,
                                                       PortalSettings* into = nullptr);

class PortalSettingsCache {
 public:
  PortalSettingsCache(storage::MetadataStore& store, const Config& config,
                      std::chrono::milliseconds ttl = std::chrono::seconds(1));
  // The current snapshot (shared: it stays valid while held, even across a refresh).
  [[nodiscard]] result<std::shared_ptr<const PortalSettings>> Get();
  // After a change: the next Get reads the store again.
  void Invalidate();

 private:
  storage::MetadataStore& store_;
  const Config& config_;
  std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::shared_ptr<const PortalSettings> current_;
  std::chrono::steady_clock::time_point read_at_{};
  std::uint64_t generation_ = 0;  // Counts Invalidate() calls.
};

}  // namespace strongroom::server
