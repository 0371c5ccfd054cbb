// Private Room records: what sits around a container on the server (folders, names,
// metadata, versions), made and checked on the client.
//
//   folder key  32 random bytes per folder, stored on the server only sealed for the owner's
//               X25519 key (a stanza-like construction under its own label)
//   name_hmac   HMAC of the normalised name under a key derived from the PARENT folder's key:
//               what the server enforces "no two items with one name per folder" on, without
//               learning the name
//   folder record  public fields (id, owner, parent, name_hmac, revision) and the folder's
//               name encrypted under a key derived from the folder key; signed by the owner
//   file record    public fields (id, owner, author, parent, name_hmac, version, and the
//               container's header MAC and final tag) and the metadata (name, size, content
//               type, modification time) encrypted under a key derived from the FILE key, so
//               every recipient of the container can read it; signed by the author
//
// Byte layouts, labels and the reasons: docs/private-room.md, sections 3 and 4 (the
// container itself is docs/format.md section 7, container.h here).
//
// Guarantees, when an Open* function succeeds:
//  - the record is exactly what the holder of the given signing key signed (Ed25519 over a
//    label and every record byte), and it names that key's user id as owner (folders) or
//    author (files);
//  - the encrypted part opened under the given key with the record's id and revision/version
//    as associated data, so a name or metadata cannot be moved to another item or version;
//  - every field is within its documented bounds (strict parsing: one encoding per record).
// They do NOT establish that the signer may write the item, that the record describes the
// container at hand or that it is the newest: for files that is CheckFileRecord, which a
// reader MUST call before trusting anything (private-room.md section 4); for folders the
// caller passes its own bundle as the expected owner and compares the public fields with
// what the listing said.
//
// Nothing here contacts a server. Secrets (folder keys, file keys and every key derived
// from them) live in Secret<32>; derived keys and plaintext buffers are wiped after use.
// Thread-safety: functions are reentrant.
#pragma once

#include "strongroom/crypto/container.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/secret.h"
#include "strongroom/error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::crypto {

inline constexpr std::size_t kFolderIdSize = 16;
inline constexpr std::size_t kFolderKeySize = 32;
inline constexpr std::size_t kNameHmacSize = 32;
// E (32) || AES-256-GCM of the 32-byte folder key (32 + 16-byte tag).
inline constexpr std::size_t kSealedFolderKeySize = 32 + 32 + 16;
inline constexpr std::size_t kRecordSignatureSize = 64;
inline constexpr std::size_t kMaxRoomNameSize = 255;
// Revisions and versions count from 1 and stay below 2^63 (a signed 64-bit column).
inline constexpr std::uint64_t kMaxRecordVersion = 0x7fffffffffffffffull;
// The largest well-formed records (user ids, names and content types of 255 bytes).
inline constexpr std::size_t kMaxFolderRecordSize =
    4 + 1 + 16 + (2 + 255) + 16 + 32 + 8 + 12 + (255 + 16);
inline constexpr std::size_t kMaxFileRecordSize =
    4 + 1 + 16 + 2 * (2 + 255) + 16 + 32 + 8 + 32 + 16 + 12 + (2 + 255 + 8 + 2 + 255 + 8 + 16);

using FolderId = std::array<std::uint8_t, kFolderIdSize>;
using NameHmac = std::array<std::uint8_t, kNameHmacSize>;
using SealedFolderKey = std::array<std::uint8_t, kSealedFolderKeySize>;

// A record and its signature, as the server stores them.
struct SignedRecord {
  std::vector<std::uint8_t> record;
  Signature signature{};
};

// --- folder keys ----------------------------------------------------------------------------

// 32 random bytes: the key of a new folder.
[[nodiscard]] Secret<32> GenerateFolderKey();
// 16 random bytes: the id of a new folder.
[[nodiscard]] FolderId GenerateFolderId();

// Seals `folder_key` for `owner` (their X25519 key and user id) and binds it to `folder_id`:
// E || AEAD(seal_key, 12 zero bytes, "", folder_key), with a fresh ephemeral key, seal_key as
// in private-room.md section 3. A sealed key opens only for that owner and that folder id,
// and a container stanza can never be opened as one (nor the reverse): different label.
// errc::invalid_argument for an empty bundle or one whose key is a low-order point.
[[nodiscard]] result<SealedFolderKey> SealFolderKey(const Secret<32>& folder_key,
                                                    const FolderId& folder_id,
                                                    const PublicBundle& owner);

// Opens a sealed folder key as `owner` for folder `folder_id`.
// Errors: malformed (not exactly 80 bytes); header_tampered when it does not open: sealed
// for someone else or for another folder id, or altered (like a container stanza that does
// not open; a sealed key names no recipient, so "not for me" and "altered" look the same).
[[nodiscard]] result<Secret<32>> OpenFolderKey(std::span<const std::uint8_t> sealed,
                                               const FolderId& folder_id, const Identity& owner);

// --- names ----------------------------------------------------------------------------------

// A file or folder name: 1..255 bytes of well-formed UTF-8 (shortest form, no surrogates,
// at most U+10FFFF) containing no '/' and no control character (U+0000..U+001F,
// U+007F..U+009F, which includes NUL), and not "." or "..". Anything else (spaces,
// backslashes, other Unicode) is allowed. errc::invalid_argument otherwise.
[[nodiscard]] result<void> ValidateRoomName(std::string_view name) noexcept;

// The form names are compared in: ASCII A-Z lower-cased, every other byte unchanged (no
// Unicode case folding or normalisation). Does not validate.
[[nodiscard]] std::string NormaliseRoomName(std::string_view name);

// name_hmac = HMAC-SHA256(name_key, NormaliseRoomName(name)) with
// name_key = HKDF(ikm = parent_key, salt = parent_id, info = "strongroom-v1-name-hmac", 32),
// where parent_key/parent_id are the key and id of the folder the item is (or goes) in.
// Validates `name` first (errc::invalid_argument).
[[nodiscard]] result<NameHmac> ComputeNameHmac(const Secret<32>& parent_key,
                                               const FolderId& parent_id, std::string_view name);

// --- folder records -------------------------------------------------------------------------

// What anyone can read from a folder record without a key. Unauthenticated until
// OpenFolderRecord succeeds.
struct FolderRecordPublic {
  FolderId folder_id{};
  std::string owner_id;               // A valid user id.
  std::optional<FolderId> parent_id;  // Unset exactly for the owner's root folder.
  std::optional<NameHmac> name_hmac;  // Set exactly when parent_id is.
  std::uint64_t revision = 1;         // 1..kMaxRecordVersion; +1 on every move or rename.
  friend bool operator==(const FolderRecordPublic&, const FolderRecordPublic&) = default;
};

struct FolderRecord : FolderRecordPublic {
  // Empty exactly for the root (which has no name: it is "the room"); otherwise a name
  // ValidateRoomName accepts.
  std::string name;
  friend bool operator==(const FolderRecord&, const FolderRecord&) = default;
};

// Encodes `record`, encrypts its name under record_key (from `folder_key`) with a random
// nonce, and signs it as `owner`. errc::invalid_argument when owner.user_id() differs from
// record.owner_id, revision is 0 or above kMaxRecordVersion, parent_id and name_hmac are
// not both set or both unset, or the name does not fit (empty exactly for the root, else
// valid).
[[nodiscard]] result<SignedRecord> SealFolderRecord(const FolderRecord& record,
                                                    const Secret<32>& folder_key,
                                                    const Identity& owner);

// Parses the public fields, no key needed and nothing verified: to learn who claims to own
// the folder (whose pinned key to verify with) before OpenFolderRecord.
// Errors: malformed (wrong magic, a field out of bounds, a length that fits neither the
// root's form nor a child's), unsupported_version (version byte other than 1). The
// ciphertext is the rest of the record, so bytes added to or cut from it are found only by
// the signature (OpenFolderRecord: bad_signature).
[[nodiscard]] result<FolderRecordPublic> ParseFolderRecordPublic(
    std::span<const std::uint8_t> record);

// Parses, checks that the record names `expected_owner` as owner, verifies the signature
// under expected_owner's signing key and decrypts the name with `folder_key`, in that order.
// Errors: malformed / unsupported_version (as ParseFolderRecordPublic; also a signature
// that is not 64 bytes, or a decrypted name that breaks the rules), untrusted_signer (the
// record's owner_id is not expected_owner's user id), bad_signature, record_mismatch (the
// name does not open under `folder_key`: another folder's key, or a record of another
// folder).
[[nodiscard]] result<FolderRecord> OpenFolderRecord(std::span<const std::uint8_t> record,
                                                    std::span<const std::uint8_t> signature,
                                                    const Secret<32>& folder_key,
                                                    const PublicBundle& expected_owner);

// --- file records ---------------------------------------------------------------------------

// The encrypted part of a file record.
struct FileMetadata {
  std::string name;                  // ValidateRoomName accepts it.
  std::uint64_t plaintext_size = 0;  // As the author states it; the container has the truth.
  std::string content_type;          // 1..255 bytes of 0x20..0x7E, like the container's.
  std::uint64_t modified_ms = 0;     // Unix milliseconds.
  friend bool operator==(const FileMetadata&, const FileMetadata&) = default;
};

// What anyone can read from a file record without a key. Unauthenticated until
// OpenFileRecord succeeds.
struct FileRecordPublic {
  FileId file_id{};           // The container's file id.
  std::string owner_id;       // A valid user id: whose room the file is in.
  std::string author_id;      // A valid user id: who wrote (and signed) this version.
  FolderId parent_id{};       // Where the file is in the owner's room.
  NameHmac name_hmac{};       // Under the parent folder's name key.
  std::uint64_t version = 1;  // 1..kMaxRecordVersion; +1 for every change.
  HeaderMac header_mac{};     // Of the container this version describes.
  FinalTag final_tag{};       // Of the container this version describes.
  friend bool operator==(const FileRecordPublic&, const FileRecordPublic&) = default;
};

struct FileRecord : FileRecordPublic {
  FileMetadata metadata;
  friend bool operator==(const FileRecord&, const FileRecord&) = default;
};

// Encodes `record`, encrypts its metadata under metadata_key (from `file_key`, the key of
// the container the record describes: EncryptContainer's / RekeyContainer's file_key_out,
// or OpenFileKey) with a random nonce, and signs it as `author`. The caller copies file_id,
// header_mac and final_tag from that container's ContainerInfo.
// errc::invalid_argument when author.user_id() differs from record.author_id, owner_id is
// not a valid user id, version is 0 or above kMaxRecordVersion, or the name or content type
// breaks its rule.
[[nodiscard]] result<SignedRecord> SealFileRecord(const FileRecord& record,
                                                  const Secret<32>& file_key,
                                                  const Identity& author);

// Parses the public fields, no key needed and nothing verified: to learn who claims to be
// the author (whose pinned key to verify with) and the version before OpenFileRecord.
// Errors: malformed, unsupported_version (as ParseFolderRecordPublic).
[[nodiscard]] result<FileRecordPublic> ParseFileRecordPublic(std::span<const std::uint8_t> record);

// Parses, checks that the record names `author` as author, verifies the signature under
// author's signing key and decrypts the metadata with `file_key`, in that order.
// Errors: malformed / unsupported_version (also a signature that is not 64 bytes, or
// metadata that breaks its rules), untrusted_signer (author_id is not author's user id),
// bad_signature, record_mismatch (the metadata does not open under `file_key`: the record
// was made for another container key).
// Success says only who wrote the record: call CheckFileRecord next.
[[nodiscard]] result<FileRecord> OpenFileRecord(std::span<const std::uint8_t> record,
                                                std::span<const std::uint8_t> signature,
                                                const Secret<32>& file_key,
                                                const PublicBundle& author);

// The checks private-room.md section 4 says a reader MUST make of an opened record before
// trusting anything, for the container `container` it describes. `author` is the pinned
// bundle OpenFileRecord verified the signature with; `container` comes from an operation
// that authenticated the container's end (DecryptContainer, DecryptContainerRange, ...):
// its final_tag must be set. In this order:
//  1. untrusted_signer: author.user_id() is not record.author_id, or the author is not the
//     owner and no recipient of `container` has both the author's user id and the author's
//     fingerprint;
//  2. record_mismatch: file_id, header_mac or final_tag differ from the container's (the
//     MAC and tag compared in constant time);
//  3. rolled_back: `highest_version_seen` is set and record.version is lower (equal is
//     accepted: the same version read again).
// errc::invalid_argument when container.final_tag is unset (OpenFileKey, or InspectContainer
// of a stream). The caller then remembers max(highest_version_seen, record.version).
[[nodiscard]] result<void> CheckFileRecord(const FileRecord& record, const PublicBundle& author,
                                           const ContainerInfo& container,
                                           std::optional<std::uint64_t> highest_version_seen);

// The last check of section 4, for a file listed in the reader's own room: the owner is the
// reader (`my_user_id`; otherwise untrusted_signer: someone put a file in my room) and
// parent_id and name_hmac are where the listing put it (otherwise record_mismatch).
[[nodiscard]] result<void> CheckFilePlacement(const FileRecordPublic& record,
                                              std::string_view my_user_id,
                                              const FolderId& listed_parent_id,
                                              const NameHmac& listed_name_hmac);

}  // namespace strongroom::crypto
