#include "strongroom/server/config.h"

#include <toml++/toml.h>
#include <boost/asio/ip/address.hpp>

#include <array>
#include <charconv>
#include <functional>
#include <sstream>

extern char** environ;

namespace strongroom::server {
namespace {

enum class value_kind { string, boolean, integer };

// One row per setting. `apply` parses and stores a value given as text (environment and
// flags) or as the TOML node's text; it returns false with `why` set when the value is bad.
struct Key {
  std::string_view section;  // TOML table
  std::string_view name;     // TOML key and flag key
  std::string_view env;      // Environment variable
  value_kind kind;
  std::int64_t min = 0, max = 0;  // For integers.
  std::function<void(Config&, const std::string&)> set;
};

template <class T>
auto Field(T Config::*member) {
  return [member](Config& c, const std::string& v) {
    if constexpr (std::is_same_v<T, bool>) {
      c.*member = v == "true";
    } else {
      c.*member = v;
    }
  };
}

auto Milliseconds(std::chrono::milliseconds ServerOptions::*member) {
  return [member](Config& c, const std::string& v) {
    c.server.*member = std::chrono::milliseconds(std::stoll(v));
  };
}

auto Size(std::size_t ServerOptions::*member) {
  return [member](Config& c, const std::string& v) { c.server.*member = std::stoull(v); };
}

auto Int(std::int64_t AuthSettings::*member) {
  return [member](Config& c, const std::string& v) { c.auth.*member = std::stoll(v); };
}

auto Int(std::int64_t RateLimitSettings::*member) {
  return [member](Config& c, const std::string& v) { c.rate_limits.*member = std::stoll(v); };
}

auto Int(std::int64_t RoomSettings::*member) {
  return [member](Config& c, const std::string& v) { c.room.*member = std::stoll(v); };
}

auto Int(std::int64_t CollabSettings::*member) {
  return [member](Config& c, const std::string& v) { c.collab.*member = std::stoll(v); };
}

constexpr std::int64_t kYear = 366LL * 24 * 3600;

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      {"server", "listen", "STRONGROOM_LISTEN", value_kind::string, 0, 0, Field(&Config::listen)},
      {"server", "data_dir", "STRONGROOM_DATA_DIR", value_kind::string, 0, 0,
       Field(&Config::data_dir)},
      {"server", "allow_insecure_http", "STRONGROOM_ALLOW_INSECURE_HTTP", value_kind::boolean, 0, 0,
       Field(&Config::allow_insecure_http)},
      {"server", "threads", "STRONGROOM_THREADS", value_kind::integer, 0, 256,
       Size(&ServerOptions::threads)},
      {"limits", "max_header_bytes", "STRONGROOM_MAX_HEADER_BYTES", value_kind::integer, 1024,
       1 << 20, Size(&ServerOptions::max_header_bytes)},
      {"limits", "max_body_bytes", "STRONGROOM_MAX_BODY_BYTES", value_kind::integer, 1024,
       std::int64_t{1} << 40, Size(&ServerOptions::max_body_bytes)},
      {"limits", "max_connections", "STRONGROOM_MAX_CONNECTIONS", value_kind::integer, 1, 1'000'000,
       Size(&ServerOptions::max_connections)},
      {"limits", "read_timeout_ms", "STRONGROOM_READ_TIMEOUT_MS", value_kind::integer, 100,
       3'600'000, Milliseconds(&ServerOptions::read_timeout)},
      {"limits", "idle_timeout_ms", "STRONGROOM_IDLE_TIMEOUT_MS", value_kind::integer, 100,
       3'600'000, Milliseconds(&ServerOptions::idle_timeout)},
      {"limits", "write_timeout_ms", "STRONGROOM_WRITE_TIMEOUT_MS", value_kind::integer, 100,
       3'600'000, Milliseconds(&ServerOptions::write_timeout)},
      {"limits", "drain_timeout_ms", "STRONGROOM_DRAIN_TIMEOUT_MS", value_kind::integer, 0, 600'000,
       Milliseconds(&ServerOptions::drain_timeout)},
      {"server", "tls_cert_file", "STRONGROOM_TLS_CERT_FILE", value_kind::string, 0, 0,
       Field(&Config::tls_cert_file)},
      {"server", "tls_key_file", "STRONGROOM_TLS_KEY_FILE", value_kind::string, 0, 0,
       Field(&Config::tls_key_file)},
      {"server", "metrics", "STRONGROOM_METRICS", value_kind::boolean, 0, 0,
       Field(&Config::metrics_enabled)},
      {"log", "level", "STRONGROOM_LOG_LEVEL", value_kind::string, 0, 0, Field(&Config::log_level)},
      {"log", "format", "STRONGROOM_LOG_FORMAT", value_kind::string, 0, 0,
       Field(&Config::log_format)},
      {"auth", "session_lifetime_s", "STRONGROOM_SESSION_LIFETIME_S", value_kind::integer, 60,
       kYear, Int(&AuthSettings::session_lifetime_s)},
      {"auth", "session_cache_ms", "STRONGROOM_SESSION_CACHE_MS", value_kind::integer, 0, 60000,
       Int(&AuthSettings::session_cache_ms)},
      {"auth", "invitation_lifetime_s", "STRONGROOM_INVITATION_LIFETIME_S", value_kind::integer,
       60, kYear, Int(&AuthSettings::invitation_lifetime_s)},
      {"auth", "require_2fa_default", "STRONGROOM_REQUIRE_2FA_DEFAULT", value_kind::boolean, 0, 0,
       [](Config& c, const std::string& v) { c.auth.require_2fa_default = v == "true"; }},
      {"auth", "account_lockout_threshold", "STRONGROOM_ACCOUNT_LOCKOUT_THRESHOLD",
       value_kind::integer, 1, 1000, Int(&AuthSettings::account_lockout_threshold)},
      {"auth", "ip_lockout_threshold", "STRONGROOM_IP_LOCKOUT_THRESHOLD", value_kind::integer, 1,
       100000, Int(&AuthSettings::ip_lockout_threshold)},
      {"auth", "lockout_window_s", "STRONGROOM_LOCKOUT_WINDOW_S", value_kind::integer, 1, 86400,
       Int(&AuthSettings::lockout_window_s)},
      {"auth", "lockout_base_s", "STRONGROOM_LOCKOUT_BASE_S", value_kind::integer, 1, 86400,
       Int(&AuthSettings::lockout_base_s)},
      {"auth", "lockout_max_s", "STRONGROOM_LOCKOUT_MAX_S", value_kind::integer, 1, 86400,
       Int(&AuthSettings::lockout_max_s)},
      {"rate_limits", "per_ip_per_second", "STRONGROOM_RATE_PER_IP", value_kind::integer, 0,
       10'000'000, Int(&RateLimitSettings::per_ip_per_second)},
      {"rate_limits", "per_ip_burst", "STRONGROOM_RATE_PER_IP_BURST", value_kind::integer, 1,
       10'000'000, Int(&RateLimitSettings::per_ip_burst)},
      {"rate_limits", "per_account_per_second", "STRONGROOM_RATE_PER_ACCOUNT", value_kind::integer,
       0, 10'000'000, Int(&RateLimitSettings::per_account_per_second)},
      {"rate_limits", "per_account_burst", "STRONGROOM_RATE_PER_ACCOUNT_BURST",
       value_kind::integer, 1, 10'000'000, Int(&RateLimitSettings::per_account_burst)},
      {"room", "max_upload_bytes", "STRONGROOM_ROOM_MAX_UPLOAD_BYTES", value_kind::integer, 1024,
       std::int64_t{1} << 44, Int(&RoomSettings::max_upload_bytes)},
      {"room", "upload_ttl_s", "STRONGROOM_ROOM_UPLOAD_TTL_S", value_kind::integer, 60, kYear,
       Int(&RoomSettings::upload_ttl_s)},
      {"collab", "max_update_frame_bytes", "STRONGROOM_COLLAB_MAX_UPDATE_FRAME_BYTES",
       value_kind::integer, 152, 262534, Int(&CollabSettings::max_update_frame_bytes)},
      {"collab", "max_snapshot_frame_bytes", "STRONGROOM_COLLAB_MAX_SNAPSHOT_FRAME_BYTES",
       value_kind::integer, 156, 16777614, Int(&CollabSettings::max_snapshot_frame_bytes)},
      {"collab", "max_presence_frame_bytes", "STRONGROOM_COLLAB_MAX_PRESENCE_FRAME_BYTES",
       value_kind::integer, 136, 4486, Int(&CollabSettings::max_presence_frame_bytes)},
      {"collab", "frames_per_second", "STRONGROOM_COLLAB_FRAMES_PER_SECOND", value_kind::integer, 0,
       1'000'000, Int(&CollabSettings::frames_per_second)},
      {"collab", "frames_burst", "STRONGROOM_COLLAB_FRAMES_BURST", value_kind::integer, 1,
       1'000'000, Int(&CollabSettings::frames_burst)},
      {"collab", "send_queue_frames", "STRONGROOM_COLLAB_SEND_QUEUE_FRAMES", value_kind::integer,
       16, 1'000'000, Int(&CollabSettings::send_queue_frames)},
      {"collab", "send_queue_bytes", "STRONGROOM_COLLAB_SEND_QUEUE_BYTES", value_kind::integer,
       65536, std::int64_t{1} << 32, Int(&CollabSettings::send_queue_bytes)},
      {"collab", "max_tail", "STRONGROOM_COLLAB_MAX_TAIL", value_kind::integer, 0, 100'000'000,
       Int(&CollabSettings::max_tail)},
      {"collab", "max_connections_per_file", "STRONGROOM_COLLAB_MAX_CONNECTIONS_PER_FILE",
       value_kind::integer, 1, 1'000'000, Int(&CollabSettings::max_connections_per_file)},
      {"collab", "max_connections_per_user", "STRONGROOM_COLLAB_MAX_CONNECTIONS_PER_USER",
       value_kind::integer, 1, 1'000'000, Int(&CollabSettings::max_connections_per_user)},
      {"collab", "join_timeout_ms", "STRONGROOM_COLLAB_JOIN_TIMEOUT_MS", value_kind::integer, 100,
       600'000, Int(&CollabSettings::join_timeout_ms)},
      {"collab", "idle_timeout_ms", "STRONGROOM_COLLAB_IDLE_TIMEOUT_MS", value_kind::integer, 1000,
       3'600'000, Int(&CollabSettings::idle_timeout_ms)},
  };
  return keys;
}

// Checks `text` against the key's kind and range; on success stores it.
bool Apply(const Key& key, const std::string& text, Config& config, std::string& why) {
  switch (key.kind) {
    case value_kind::string:
      if (text.empty()) {
        why = "must not be empty";
        return false;
      }
      break;
    case value_kind::boolean:
      if (text != "true" && text != "false") {
        why = "must be true or false, not '" + text + "'";
        return false;
      }
      break;
    case value_kind::integer: {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) {
        why = "must be a whole number, not '" + text + "'";
        return false;
      }
      if (v < key.min || v > key.max) {
        why = "must be between " + std::to_string(key.min) + " and " + std::to_string(key.max);
        return false;
      }
      break;
    }
  }
  key.set(config, text);
  return true;
}

// Records the message for the caller and gives the code every configuration error has.
boost::system::error_code Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return errc::invalid_argument;
}

std::string Where(const Key& key) {
  return "[" + std::string(key.section) + "] " + std::string(key.name);
}

result<void> ApplyToml(const std::string& path, Config& config, std::string* error) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return Fail(error, msg.str());
  }
  for (const auto& [section, node] : root) {
    const auto* table = node.as_table();
    if (table == nullptr) {
      return Fail(error, path + ": '" + std::string(section.str()) + "' must be a [table]");
    }
    for (const auto& [name, value] : *table) {
      const Key* key = nullptr;
      for (const Key& k : Keys()) {
        if (k.section == section.str() && k.name == name.str()) key = &k;
      }
      if (key == nullptr) {
        return Fail(error, path + ": unknown setting [" + std::string(section.str()) + "] " +
                               std::string(name.str()));
      }
      std::string text;
      if (const auto* s = value.as_string()) {
        if (key->kind != value_kind::string) {
          return Fail(error, path + ": " + Where(*key) + " must not be a string");
        }
        text = s->get();
      } else if (const auto* b = value.as_boolean()) {
        if (key->kind != value_kind::boolean) {
          return Fail(error, path + ": " + Where(*key) + " must not be true/false");
        }
        text = b->get() ? "true" : "false";
      } else if (const auto* i = value.as_integer()) {
        if (key->kind != value_kind::integer) {
          return Fail(error, path + ": " + Where(*key) + " must not be a number");
        }
        text = std::to_string(i->get());
      } else {
        return Fail(error, path + ": " + Where(*key) + " has an unsupported type");
      }
      std::string why;
      if (!Apply(*key, text, config, why))
        return Fail(error, path + ": " + Where(*key) + " " + why);
    }
  }
  return {};
}

bool IsLoopback(const std::string& host) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

}  // namespace

bool ParseListenAddress(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  boost::system::error_code bad;
  boost::asio::ip::make_address(host, bad);
  return !host.empty() && !bad;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (!entry.starts_with("STRONGROOM_")) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

result<Config> LoadConfig(const ConfigSources& sources, std::string* error) {
  Config config;
  if (sources.file) {
    if (auto r = ApplyToml(*sources.file, config, error); !r) return r.error();
  }
  for (const auto& [name, value] : sources.environment) {
    const Key* key = nullptr;
    for (const Key& k : Keys()) {
      if (k.env == name) key = &k;
    }
    // STRONGROOM_HOME and friends belong to the client; only server names are checked.
    if (key == nullptr) continue;
    std::string why;
    if (!Apply(*key, value, config, why)) {
      return Fail(error, "environment " + name + " " + why);
    }
  }
  for (const auto& [name, value] : sources.flags) {
    const Key* key = nullptr;
    for (const Key& k : Keys()) {
      if (k.name == name) key = &k;
    }
    if (key == nullptr) {
      return Fail(error, "unknown setting '" + name + "'");
    }
    std::string why;
    if (!Apply(*key, value, config, why)) {
      return Fail(error, "--" + name + " " + why);
    }
  }
  if (!ParseListenAddress(config.listen, config.server.listen_host, config.server.listen_port)) {
    return Fail(error,
                "listen address must be HOST:PORT with a numeric IP, not '" + config.listen + "'");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return Fail(error, "[server] tls_cert_file and tls_key_file must be set together");
  }
  const bool tls = !config.tls_cert_file.empty();
  if (!tls && !IsLoopback(config.server.listen_host) && !config.allow_insecure_http) {
    return Fail(error, "refusing plain HTTP on the non-loopback address " +
                           config.server.listen_host +
                           ": sessions would cross the network unencrypted. Listen on 127.0.0.1 "
                           "behind a TLS proxy, configure [server] tls_cert_file and tls_key_file, "
                           "or set [server] allow_insecure_http = true if the network is trusted");
  }
  static constexpr std::array kLevels = {"trace", "debug", "info", "warn", "error"};
  if (std::find(kLevels.begin(), kLevels.end(), config.log_level) == kLevels.end()) {
    return Fail(error, "[log] level must be trace, debug, info, warn or error, not '" +
                           config.log_level + "'");
  }
  if (config.log_format != "text" && config.log_format != "json") {
    return Fail(error, "[log] format must be text or json, not '" + config.log_format + "'");
  }
  if (config.auth.lockout_max_s < config.auth.lockout_base_s) {
    return Fail(error, "[auth] lockout_max_s must not be below lockout_base_s");
  }
  return config;
}

}  // namespace strongroom::server
