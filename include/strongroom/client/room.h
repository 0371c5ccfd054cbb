// The Private Room from the client's side: paths, folders, encrypted files, sharing.
//
// Every byte that reaches the server is ciphertext or a signed record (docs/private-room.md);
// every answer from the server is checked before it is believed:
//   - folders: the sealed key opens only for me, and the record is signed by me and sits
//     where the listing says (a folder the server injected, renamed or moved is refused);
//   - files: the container's header MAC, the author's signature (under a PINNED key), the
//     record's binding to the container (file id, header MAC, final tag), the placement in my
//     room, and the version against the highest this client has seen (rollback);
//   - keys: a file key is wrapped only for keys pinned in the profile (key_pins.h); a
//     changed key is refused until the user trusts it explicitly.
// A check that fails is Kind::refused, with a message naming the attack it stopped.
//
// Paths are "/Folder/Sub/name.docx" inside the caller's room ("/" is the room itself).
// Downloads and decryptions write through io::AtomicFile: nothing is left at the target
// unless every check passed.
#pragma once

#include "strongroom/client/api_client.h"
#include "strongroom/client/client_error.h"
#include "strongroom/client/profile.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/secret.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::client {

struct RoomRecipientInfo {
  std::string user_id;
  std::string email;        // From the pin, or "" when the user is not pinned.
  std::string fingerprint;  // Display form, computed locally from the container stanza.
};

// One item as the client verified it.
struct RoomEntry {
  bool is_folder = false;
  std::string id;        // 32 hex digits.
  std::string name;      // Decrypted and verified.
  std::string owner_id;
  std::string owner_email;  // "" when unknown.
  // Files only:
  std::string author_id;
  std::uint64_t version = 0;
  std::uint64_t plaintext_size = 0;
  std::uint64_t container_size = 0;
  std::string content_type;
  std::uint64_t modified_ms = 0;
  std::vector<RoomRecipientInfo> recipients;
  std::string created_at;
  std::string updated_at;
  // Set when the item failed verification (Kind::refused): what failed, with its code. Then
  // only `is_folder` and `id` are filled, and nothing about the item is to be believed: an
  // item the server injected into my room, or one it altered. Listings report such items
  // instead of failing as a whole, so one bad item cannot hide the rest of a folder; every
  // other operation on them is refused.
  std::string problem;
};

// What a co-editing client (collab.h) needs to join a file, every part verified.
struct CollabDocument {
  std::string id;    // 32 hex digits.
  std::string name;  // Decrypted and verified.
  collab::FileId file_id{};
  std::uint64_t epoch = 0;      // The key epoch: the verified record's version.
  crypto::Secret<32> file_key;  // The key of the container that version describes.
  // The pinned keys whose frames are accepted: mine, the record's author and every recipient
  // of the container whose pinned key is the one the container is wrapped for (pinned now on
  // first use, as for downloads). A recipient whose pin differs is left out: their frames
  // then fail as untrusted.
  std::map<std::string, crypto::PublicBundle> members;
  std::map<std::string, std::string> emails;  // User id to pinned email ("me" for mine).
};

// Progress of a transfer: bytes done and total (total 0 when unknown).
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

class Room {
 public:
  // `identity` is the signed-in user's, opened with their password (UnlockIdentity).
  Room(ApiClient& api, ProfileStore& store, const crypto::Identity& identity);

  // The items directly in folder `path`, folders first, then files, each sorted by name;
  // items that failed verification last, flagged (RoomEntry::problem).
  [[nodiscard]] Result<std::vector<RoomEntry>> List(std::string_view path);
  // Creates folder `path`; its parent must exist. Kind::server name_taken if it exists.
  [[nodiscard]] Result<RoomEntry> MakeFolder(std::string_view path);
  // Encrypts `local` while streaming (for the caller only) and uploads it into folder `dir`
  // under its own file name. Only office types (.docx, .xlsx, .pptx, and what the portal
  // allows) are accepted.
  [[nodiscard]] Result<RoomEntry> Upload(const std::string& local, std::string_view dir,
                                         const Progress& progress = {});
  // Downloads and decrypts file `path` into `local`, decrypting while it streams: plaintext
  // goes to a temporary file beside `local` that replaces it only after the final chunk, the
  // signature and the record verified (nothing is left on failure; no copy of the container
  // is written). An existing `local` is replaced only when `overwrite` (else Kind::local,
  // code already_exists, before anything is downloaded). A broken connection is resumed
  // with a Range request. `path` may also be the id of a file shared with me (32 hex
  // digits; see SharedWithMe).
  [[nodiscard]] Result<RoomEntry> Download(std::string_view path, const std::string& local,
                                           bool overwrite = false, const Progress& progress = {});
  // Moves or renames an item of my room. When `to` is an existing folder, the item keeps
  // its name and goes into it. Never onto an existing name.
  [[nodiscard]] Result<RoomEntry> Move(std::string_view from, std::string_view to);
  // Asks the server to copy a file: the Private Room refuses (Kind::server not_supported),
  // and this passes its reason on. Kept so the refusal is the server's rule, not the CLI's.
  [[nodiscard]] Result<void> Copy(std::string_view from, std::string_view to);
  // Deletes a file, or a folder and everything in it, permanently.
  [[nodiscard]] Result<void> Remove(std::string_view path);
  // Adds `email` (pinned on first use) as a recipient: a new version, payload untouched.
  [[nodiscard]] Result<RoomEntry> Share(std::string_view path, std::string_view email);
  // Denies access: re-encrypts under a new file key for the remaining recipients.
  [[nodiscard]] Result<RoomEntry> Unshare(std::string_view path, std::string_view email);
  // Decrypts file `path` (or a shared file's id) into a private working copy (a new mode
  // 0700 directory, on /dev/shm when it exists), runs `editor` on it and waits; if the file
  // changed (size or modification time), encrypts it for the same recipients and uploads it
  // as a new version signed by me. The working copy is overwritten and removed in every
  // case. `editor` returns the exit status of the application (nonzero: nothing uploaded).
  using Editor = std::function<int(const std::string& working_copy)>;
  [[nodiscard]] Result<RoomEntry> Open(std::string_view path, const Editor& editor,
                                       bool* changed = nullptr);
  // Files others shared with me; those that failed verification flagged, last.
  [[nodiscard]] Result<std::vector<RoomEntry>> SharedWithMe();
  // The item at `path` (or a shared file's id) with its recipients.
  [[nodiscard]] Result<RoomEntry> Info(std::string_view path);
  // Opens file `path` (or a shared file's id) for co-editing: its current record verified
  // (signed by a pinned author, bound to its container, not older than a version seen
  // before), the file key from its container header (the content is not fetched), and the
  // members' pinned keys.
  [[nodiscard]] Result<CollabDocument> OpenForCollab(std::string_view path);

 private:
  ApiClient& api_;
  ProfileStore& store_;
  const crypto::Identity& me_;
};

// Fetches the caller's sealed private keys and opens them with `password`; checks that they
// belong to `user_id` and to the key pinned for it. Kind::refused "wrong password" on a
// wrong password (code invalid_credentials).
[[nodiscard]] Result<crypto::Identity> UnlockIdentity(ApiClient& api, ProfileStore& store,
                                                      std::string_view user_id,
                                                      std::string_view password);

// The content type the Private Room stores a file name's extension under, or "" for an
// extension it does not know.
[[nodiscard]] std::string ContentTypeForName(std::string_view name);

}  // namespace strongroom::client
