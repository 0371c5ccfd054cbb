// Profiles: which server and account a command talks to, and what the client trusts.
//
// On disk (docs/cli.md, "Files"):
//
//   $STRONGROOM_HOME/                   default $XDG_CONFIG_HOME/strongroom, else
//     profiles/NAME/                    ~/.config/strongroom; directories mode 0700
//       profile.json   {"server": URL, "email": E, "user_id": ID}
//       session        the bearer token alone on one line (mode 0600)
//       pins.json      {USER_ID: {"email", "fingerprint", "public_bundle"}}
//       versions.json  {FILE_ID: highest version seen, "folder-" FOLDER_ID: highest revision}
//                      (Private Room rollback protection)
//
// Every file is mode 0600 and replaced atomically (temporary file, fsync, rename), so a crash
// never leaves a half-written profile or pin set. A profile holds no key material: private
// keys live on the server, sealed under the password, and are opened only in memory.
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/client/secret_string.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::client {

inline constexpr std::string_view kDefaultProfile = "default";

struct Profile {
  std::string server;  // Normalised URL (ServerUrl::ToString).
  std::string email;
  std::string user_id;
};

// A public key the user has accepted for a user id (trust on first use; see key_pins.h).
struct Pin {
  std::string email;
  std::string fingerprint;  // Display form, computed locally from the bundle.
  std::vector<std::uint8_t> public_bundle;
};
using Pins = std::map<std::string, Pin>;  // By user id.

// The highest version of each Private Room file this client has seen, by file id (32 hex
// digits): what lets it refuse a server that serves an older version (rollback).
using SeenVersions = std::map<std::string, std::uint64_t>;

class ProfileStore {
 public:
  // The store for profile `name` (letters, digits, '.', '_', '-'; at most 64; not starting
  // with '.'), under the home directory from the environment. Creates nothing yet.
  // Kind::usage for a bad name, Kind::local when no home directory can be found.
  [[nodiscard]] static Result<ProfileStore> Open(std::string_view name);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& directory() const { return dir_; }

  // nullopt when the profile does not exist yet.
  [[nodiscard]] Result<std::optional<Profile>> LoadProfile() const;
  [[nodiscard]] Result<void> SaveProfile(const Profile& profile);

  // nullopt when signed out.
  [[nodiscard]] Result<std::optional<SecretString>> LoadSession() const;
  [[nodiscard]] Result<void> SaveSession(std::string_view token);
  // Succeeds when there is no session file.
  [[nodiscard]] Result<void> DeleteSession();

  // Empty when there is no pin file yet.
  [[nodiscard]] Result<Pins> LoadPins() const;
  [[nodiscard]] Result<void> SavePins(const Pins& pins);
  // Empty when there is no versions file yet.
  [[nodiscard]] Result<SeenVersions> LoadSeenVersions() const;
  [[nodiscard]] Result<void> SaveSeenVersions(const SeenVersions& seen);

 private:
  ProfileStore(std::string name, std::string dir) : name_(std::move(name)), dir_(std::move(dir)) {}
  [[nodiscard]] Result<void> MakeDirectories();
  [[nodiscard]] Result<void> WriteFile(const std::string& file, std::string_view content);

  std::string name_;
  std::string dir_;
};

}  // namespace strongroom::client
