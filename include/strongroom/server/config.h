// strongroomd configuration: defaults, then a TOML file, then STRONGROOM_* environment
// variables, then command-line flags, each overriding the one before.
//
// Every setting has one name in each source, from one table (config.cc, kKeys), which
// docs/configuration.md mirrors:
//
//   TOML                      environment                      flag
//   [server] listen           STRONGROOM_LISTEN                --listen
//   [server] data_dir         STRONGROOM_DATA_DIR              --data-dir
//   ...
//
// Unknown keys, wrong types and out-of-range values are errors with a message naming the
// key and its source: a typo in a security setting must not be silently ignored.
#pragma once

#include "strongroom/error.h"
#include "strongroom/server/server.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace strongroom::server {

// Sign-in policy: sessions, invitations, backoff and lockout. Lockouts are always
// time-limited (see docs/api.md, "Backoff and lockout").
struct AuthSettings {
  std::int64_t session_lifetime_s = 30 * 24 * 3600;  // A session token is valid this long.
  std::int64_t invitation_lifetime_s = 7 * 24 * 3600;
  // Per account: after `account_lockout_threshold` failures within `lockout_window_s`
  // (counted since the last success), sign-in is refused for lockout_base_s, doubling with
  // each further failure up to lockout_max_s.
  std::int64_t account_lockout_threshold = 5;
  // Per IP address: the same, with its own threshold (successes do not reset it).
  std::int64_t ip_lockout_threshold = 20;
  std::int64_t lockout_window_s = 15 * 60;
  std::int64_t lockout_base_s = 60;
  std::int64_t lockout_max_s = 15 * 60;
  // How long a node may answer from memory for a session it looked up (0: always ask the
  // database). Revocations made through this node apply at once regardless; this bounds how
  // long one made elsewhere (another node, another process) can lag. 0..60000 ms.
  std::int64_t session_cache_ms = 1000;
  // The value the portal setting auth.require_2fa gets when this data directory's portal is
  // created (its first start), and only then: afterwards administrators change it through the
  // admin settings API, and this is not read again. On by default, as a new portal should be;
  // `make run` and the tests create their portals with it off.
  bool require_2fa_default = true;
};

// Token buckets on every API request: per client address, and per signed-in account.
// A rate of 0 disables that limiter.
struct RateLimitSettings {
  std::int64_t per_ip_per_second = 50;
  std::int64_t per_ip_burst = 200;
  std::int64_t per_account_per_second = 50;
  std::int64_t per_account_burst = 200;
};

// The Private Room's storage limits (docs/private-room.md). Whether it is on, and which
// content types it accepts, are portal settings that administrators change at run time.
struct RoomSettings {
  std::int64_t max_upload_bytes = std::int64_t{4} << 30;  // One container, all pieces.
  std::int64_t upload_ttl_s = 24 * 3600;  // An unfinished upload is removed after this.
};

// The co-editing relay (docs/collab.md section 9; [collab] in docs/configuration.md). Every
// limit is per WebSocket connection unless it says otherwise. Frame limits may only lower the
// protocol's own (collab/wire.h); a frame over its limit is refused with error too_large.
struct CollabSettings {
  std::int64_t max_update_frame_bytes = 262534;      // The protocol's largest update frame.
  std::int64_t max_snapshot_frame_bytes = 16777614;  // ... snapshot frame (16 MiB plaintext).
  std::int64_t max_presence_frame_bytes = 4486;      // ... presence frame.
  std::int64_t frames_per_second = 100;  // Token refill rate for client frames; over it:
  std::int64_t frames_burst = 400;       // rate_limited (the frame is dropped).
  // The outgoing queue: over either cap the connection is closed with slow_consumer (the
  // client resumes). A frame larger than the byte cap still goes into an empty queue.
  std::int64_t send_queue_frames = 4096;
  std::int64_t send_queue_bytes = std::int64_t{8} << 20;
  std::int64_t max_tail = 10000;  // Updates after the snapshot before tail_full (0: no cap).
  std::int64_t max_connections_per_file = 64;  // On this node; over it: 429.
  std::int64_t max_connections_per_user = 16;  // On this node; over it: 429.
  std::int64_t join_timeout_ms = 10000;        // From the upgrade to the join frame.
  std::int64_t idle_timeout_ms = 60000;        // Silence before a ping; as long again to answer it.
};

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./var";
  // Plain HTTP is refused on a non-loopback address unless this is set: sessions and auth
  // keys would cross the network in the clear.
  bool allow_insecure_http = false;
  // TLS: both set, or neither. With TLS the server sends Strict-Transport-Security.
  std::string tls_cert_file;  // PEM certificate chain.
  std::string tls_key_file;   // PEM private key.
  std::string log_level = "info";   // trace, debug, info, warn, error
  std::string log_format = "text";  // text, json (one JSON object per line)
  bool metrics_enabled = true;      // Serve /metrics (Prometheus text format).
  AuthSettings auth;
  RateLimitSettings rate_limits;
  RoomSettings room;
  CollabSettings collab;
  ServerOptions server;            // Limits, timeouts, threads; listen_* filled from `listen`.
};

struct ConfigSources {
  std::optional<std::string> file;                 // Path of a TOML file, if any.
  std::map<std::string, std::string> environment;  // Only STRONGROOM_* entries are read.
  std::map<std::string, std::string> flags;        // Key name (as in TOML) -> value.
};

// Builds the configuration. On failure, `*error` (if given) says what is wrong and where.
[[nodiscard]] result<Config> LoadConfig(const ConfigSources& sources, std::string* error);

// The STRONGROOM_* variables of this process's environment.
[[nodiscard]] std::map<std::string, std::string> ProcessEnvironment();

// Parses "HOST:PORT" or "[V6]:PORT".
[[nodiscard]] bool ParseListenAddress(const std::string& text, std::string& host,
                                      std::uint16_t& port);

}  // namespace strongroom::server
