#include "server/portal_settings.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <set>
#include <sstream>

namespace strongroom::server {

namespace json = boost::json;

namespace {

constexpr std::string_view kRoomEnabled = "room.enabled";
constexpr std::string_view kRoomAllowedTypes = "room.allowed_types";
constexpr std::string_view kRequire2fa = "auth.require_2fa";
constexpr std::string_view kPasswordMinLength = "password.min_length";
constexpr std::string_view kPasswordClasses = "password.required_classes";
constexpr std::string_view kPasswordNotEmail = "password.not_email";
constexpr std::string_view kIpAllowlist = "access.ip_allowlist";
constexpr std::string_view kTrustedDomainsEnabled = "registration.trusted_domains_enabled";
constexpr std::string_view kTrustedDomains = "registration.trusted_domains";
constexpr std::string_view kSessionLifetime = "session.lifetime_s";
constexpr std::string_view kSessionIdle = "session.idle_timeout_s";

constexpr std::size_t kMaxListItems = 256;
constexpr std::int64_t kMinSessionLifetime = 300;
constexpr std::int64_t kMaxSessionLifetime = 365LL * 24 * 3600;
constexpr std::int64_t kMinIdleTimeout = 60;
constexpr std::int64_t kDefaultIdleTimeout = 7LL * 24 * 3600;

constexpr std::array<std::string_view, 3> kDefaultAllowedTypes = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation"};

// Printable ASCII without spaces, as a container's content type may be (format.md).
bool IsValidContentType(std::string_view t) {
  return !t.empty() && t.size() <= 255 &&
         std::all_of(t.begin(), t.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// A domain name: dot-separated labels of a-z, 0-9 and '-' (not at a label's ends), 1..63
// characters each, at most 253 in all. Lower-cased by the caller.
bool IsValidDomain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const auto end = std::min(d.find('.', start), d.size());
    const auto label = d.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        })) {
      return false;
    }
    if (end == d.size()) return true;
    start = end + 1;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A list of strings, each checked and canonicalised by `item` (which returns false to
// refuse); duplicates removed, order kept.
template <class Item>
bool StringList(const json::value& v, Item item, json::array& canonical) {
  if (!v.is_array() || v.as_array().size() > kMaxListItems) return false;
  std::set<std::string> seen;
  for (const auto& e : v.as_array()) {
    if (!e.is_string() || e.as_string().size() > 255) return false;
    std::string text(e.as_string());
    if (!item(text)) return false;
    if (seen.insert(text).second) canonical.emplace_back(text);
  }
  return true;
}

bool Integer(const json::value& v, std::int64_t min, std::int64_t max, std::int64_t& out) {
  if (!v.is_int64() && !v.is_uint64()) return false;
  if (v.is_uint64() && v.as_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return false;
  const std::int64_t n = v.is_int64() ? v.as_int64() : static_cast<std::int64_t>(v.as_uint64());
  if (n < min || n > max) return false;
  out = n;
  return true;
}

// Applies `value` for `key` to `s` and sets `canonical` to the form stored and shown.
// False, with `error` saying what the key takes, when the value is not acceptable.
bool Apply(std::string_view key, const json::value& value, PortalSettings& s,
           json::value& canonical, std::string& error) {
  const auto fail = [&](std::string what) {
    // Through a stream: GCC 12 warns falsely (-Wstringop-overflow) on string concatenation
    // of a string_view here.
    std::ostringstream message;
    message << "'" << key << "' takes " << what;
    error = message.str();
    return false;
  };
  const auto boolean = [&](bool& field) {
    if (!value.is_bool()) return fail("true or false");
    field = value.as_bool();
    canonical = field;
    return true;
  };
  if (key == kRoomEnabled) return boolean(s.room_enabled);
  if (key == kRequire2fa) return boolean(s.require_2fa);
  if (key == kPasswordNotEmail) return boolean(s.password.not_email);
  if (key == kTrustedDomainsEnabled) return boolean(s.trusted_domains_enabled);
  if (key == kRoomAllowedTypes) {
    json::array list;
    if (!StringList(value, [](std::string& t) { return IsValidContentType(t); }, list)) {
      return fail("a list of at most 256 content types (printable ASCII, no spaces)");
    }
    s.room_allowed_types.clear();
    for (const auto& t : list) s.room_allowed_types.emplace_back(t.as_string());
    canonical = std::move(list);
    return true;
  }
  if (key == kPasswordMinLength) {
    std::int64_t n = 0;
    if (!Integer(value, kPasswordMinLengthFloor, kPasswordMinLengthCeiling, n)) {
      return fail("a whole number from " + std::to_string(kPasswordMinLengthFloor) + " to " +
                  std::to_string(kPasswordMinLengthCeiling));
    }
    s.password.min_length = static_cast<std::size_t>(n);
    canonical = n;
    return true;
  }
  if (key == kPasswordClasses) {
    json::array list;
    std::vector<CharacterClass> classes;
    const bool ok = StringList(value, [&](std::string& name) {
      CharacterClass c{};
      if (!ParseCharacterClass(name, c)) return false;
      if (std::find(classes.begin(), classes.end(), c) == classes.end()) classes.push_back(c);
      return true;
    }, list);
    if (!ok) return fail("a list of character classes: lower, upper, digit, symbol");
    s.password.required_classes = std::move(classes);
    canonical = std::move(list);
    return true;
  }
  if (key == kIpAllowlist) {
    json::array list;
    std::vector<IpRule> rules;
    const bool ok = StringList(value, [&](std::string& text) {
      std::optional<storage::Role> role;
      std::string_view cidr = text;
      for (const auto r : {storage::Role::admin, storage::Role::user}) {
        const std::string prefix = std::string(storage::RoleName(r)) + ":";
        if (cidr.starts_with(prefix)) {
          role = r;
          cidr.remove_prefix(prefix.size());
        }
      }
      auto rule = ParseIpRule(cidr, role);
      if (!rule) return false;
      text = (rule->role ? std::string(storage::RoleName(*rule->role)) + ":" : std::string()) +
             rule->cidr;
      rules.push_back(std::move(*rule));
      return true;
    }, list);
    if (!ok) {
      return fail("a list of CIDR ranges or addresses (\"10.0.0.0/8\", \"::1\"), each optionally "
                  "for one role (\"admin:10.0.0.0/8\", \"user:192.0.2.0/24\"), host bits zero");
    }
    s.ip_allowlist = IpAllowList(std::move(rules));
    canonical = std::move(list);
    return true;
  }
  if (key == kTrustedDomains) {
    json::array list;
    const bool ok = StringList(value, [](std::string& d) {
      d = Lower(d);
      return IsValidDomain(d);
    }, list);
    if (!ok) return fail("a list of domain names (\"example.com\")");
    s.trusted_domains.clear();
    for (const auto& d : list) s.trusted_domains.emplace_back(d.as_string());
    canonical = std::move(list);
    return true;
  }
  if (key == kSessionLifetime) {
    std::int64_t n = 0;
    if (!Integer(value, kMinSessionLifetime, kMaxSessionLifetime, n)) {
      return fail("seconds from " + std::to_string(kMinSessionLifetime) + " to " +
                  std::to_string(kMaxSessionLifetime));
    }
    s.session_lifetime_s = n;
    canonical = n;
    return true;
  }
  if (key == kSessionIdle) {
    std::int64_t n = 0;
    if (!Integer(value, 0, kMaxSessionLifetime, n) || (n != 0 && n < kMinIdleTimeout)) {
      return fail("seconds: 0 (no idle timeout) or from " + std::to_string(kMinIdleTimeout) +
                  " to " + std::to_string(kMaxSessionLifetime));
    }
    s.session_idle_timeout_s = n;
    canonical = n;
    return true;
  }
  std::string known;
  for (const auto k : PortalSettingKeys()) known += (known.empty() ? "" : ", ") + std::string(k);
  error = "unknown setting '" + std::string(key) + "'; known: " + known;
  return false;
}

PortalSettings Defaults(const Config& config) {
  PortalSettings s;
  s.room_allowed_types.assign(kDefaultAllowedTypes.begin(), kDefaultAllowedTypes.end());
  s.session_lifetime_s = config.auth.session_lifetime_s;
  s.session_idle_timeout_s = kDefaultIdleTimeout;
  return s;
}

}  // namespace

const std::vector<std::string_view>& PortalSettingKeys() {
  static const std::vector<std::string_view> keys = {
      kRoomEnabled,      kRoomAllowedTypes,     kRequire2fa,           kPasswordMinLength,
      kPasswordClasses,  kPasswordNotEmail,     kIpAllowlist,          kTrustedDomainsEnabled,
      kTrustedDomains,   kSessionLifetime,      kSessionIdle};
  return keys;
}

result<PortalSettings> ReadPortalSettings(storage::MetadataStore& store, const Config& config) {
  PortalSettings s = Defaults(config);
  for (const auto key : PortalSettingKeys()) {
    auto stored = store.GetSetting(key);
    if (!stored) return stored.error();
    if (!*stored) continue;
    boost::system::error_code ec;
    json::value value = json::parse(**stored, ec);
    if (ec && key == kRoomAllowedTypes) {
      // The first form of this setting: one content type per line.
      json::array list;
      std::size_t start = 0;
      const std::string& text = **stored;
      while (start < text.size()) {
        const auto end = std::min(text.find('\n', start), text.size());
        if (end > start) list.emplace_back(text.substr(start, end - start));
        start = end + 1;
      }
      value = std::move(list);
      ec = {};
    }
    json::value canonical;
    std::string error;
    if (ec || !Apply(key, value, s, canonical, error)) return errc::malformed;
  }
  return s;
}

json::object PortalSettingsJson(const PortalSettings& s) {
  json::object o;
  const auto strings = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& x : v) a.emplace_back(x);
    return a;
  };
  o[kRoomEnabled] = s.room_enabled;
  o[kRoomAllowedTypes] = strings(s.room_allowed_types);
  o[kRequire2fa] = s.require_2fa;
  o[kPasswordMinLength] = static_cast<std::int64_t>(s.password.min_length);
  json::array classes;
  for (const auto c : s.password.required_classes) classes.emplace_back(CharacterClassName(c));
  o[kPasswordClasses] = std::move(classes);
  o[kPasswordNotEmail] = s.password.not_email;
  json::array rules;
  for (const auto& r : s.ip_allowlist.rules()) {
    rules.emplace_back((r.role ? std::string(storage::RoleName(*r.role)) + ":" : std::string()) +
                       r.cidr);
  }
  o[kIpAllowlist] = std::move(rules);
  o[kTrustedDomainsEnabled] = s.trusted_domains_enabled;
  o[kTrustedDomains] = strings(s.trusted_domains);
  o[kSessionLifetime] = s.session_lifetime_s;
  o[kSessionIdle] = s.session_idle_timeout_s;
  return o;
}

std::optional<std::string> EncodeSetting(std::string_view key, const json::value& value,
                                         std::string& error, PortalSettings* into) {
  PortalSettings scratch;
  json::value canonical;
  if (!Apply(key, value, into != nullptr ? *into : scratch, canonical, error)) return std::nullopt;
  return json::serialize(canonical);
}

PortalSettingsCache::PortalSettingsCache(storage::MetadataStore& store, const Config& config,
                                         std::chrono::milliseconds ttl)
    : store_(store), config_(config), ttl_(ttl) {}

result<std::shared_ptr<const PortalSettings>> PortalSettingsCache::Get() {
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (current_ && now - read_at_ < ttl_) return current_;
    generation = generation_;
  }
  // Read outside the lock: a slow store must not serialise every request behind it.
  auto fresh = ReadPortalSettings(store_, config_);
  if (!fresh) return fresh.error();
  auto snapshot = std::make_shared<const PortalSettings>(std::move(*fresh));
  std::lock_guard lock(mutex_);
  // A change since the read began may be missing from it: then it is not kept for others.
  if (generation == generation_) {
    current_ = snapshot;
    read_at_ = now;
  }
  return snapshot;
}

void PortalSettingsCache::Invalidate() {
  std::lock_guard lock(mutex_);
  current_.reset();
  ++generation_;
}

}  // namespace strongroom::server
