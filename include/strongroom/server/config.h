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

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./var";
  // Plain HTTP is refused on a non-loopback address unless this is set: sessions and auth
  // keys would cross the network in the clear.
  bool allow_insecure_http = false;
  std::string log_level = "info";  // trace, debug, info, warn, error
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
