// A portal is one data directory: the metadata database (`strongroom.db`) and the blob
// directory (`blobs/`). These functions are what strongroomd's subcommands do with one.
#pragma once

#include "strongroom/error.h"
#include "strongroom/server/config.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace strongroom::server {

struct Services;  // Internal (src/server/services.h); handed to Server.

struct OpenedPortal {
  std::shared_ptr<Services> services;
  // Set only on the first start of an empty data directory: the one-time token with which
  // the first person registers as the portal's owner. Printed once, stored only hashed.
  std::optional<std::string> owner_setup_token;
};

// Creates the data directory if needed (mode 0700), opens and migrates the database, opens
// the blob store, and creates the portal if it does not exist yet. On failure `*why` (if
// given) says what went wrong, without secrets.
[[nodiscard]] result<OpenedPortal> OpenPortal(const Config& config, std::string* why);

enum class InviteRole { user, admin };

struct Invitation {
  std::string token;  // Shown once; the database keeps its SHA-256.
  std::int64_t expires_at_ms = 0;
};

// Makes an invitation for `email` in the portal at config.data_dir (which must exist and
// hold a portal). Safe while the server runs on the same directory.
[[nodiscard]] result<Invitation> InviteFromCommandLine(const Config& config,
                                                       const std::string& email, InviteRole role,
                                                       std::string* why);

// Checks the data directory: database integrity and foreign keys, blobs without rows, rows
// without blobs. Returns the problems found (empty: healthy). Fails only when the check
// itself cannot run (no database, unreadable directory).
[[nodiscard]] result<std::vector<std::string>> CheckPortal(const Config& config,
                                                           std::string* why);

}  // namespace strongroom::server
