// Private Room record encoding: labels and the strict parsers shared by room_public.cc (no
// keys) and room.cc (sealing and opening). Internal to strongroom_crypto; exposed to the
// fuzzers and unit tests. Grammar: docs/private-room.md, sections 3 and 4.
#pragma once

#include "strongroom/crypto/room.h"

#include <span>
#include <string_view>
#include <vector>

namespace strongroom::crypto::room {

inline constexpr std::string_view kFolderMagic = "SRFD";
inline constexpr std::string_view kFileMagic = "SRFL";
inline constexpr std::uint8_t kRecordVersion = 1;

// HKDF info of the folder-key seal (followed by folder_id || u8(len(uid)) || uid).
inline constexpr std::string_view kFolderKeySealLabel = "strongroom-v1-folder-key-seal";
// HKDF info of name_key.
inline constexpr std::string_view kNameHmacLabel = "strongroom-v1-name-hmac";
// HKDF info of record_key, and the prefix of the folder record's signed message.
inline constexpr std::string_view kFolderRecordLabel = "strongroom-v1-folder-record";
// Prefix of the AEAD associated data of a folder's name.
inline constexpr std::string_view kFolderNameLabel = "strongroom-v1-folder-name";
// Prefix of the file record's signed message.
inline constexpr std::string_view kFileRecordLabel = "strongroom-v1-file-record";
// HKDF info of metadata_key, and the prefix of the metadata's AEAD associated data.
inline constexpr std::string_view kFileMetadataLabel = "strongroom-v1-file-metadata";

inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kTagSize = 16;

// After str(owner_id), a root folder record has exactly u64(revision) || nonce || the
// 16-byte tag of an empty name left; any other folder record has parent_id and name_hmac
// before those and a name of 1..255 bytes. The two ranges do not overlap, which is how a
// parser tells them apart (private-room.md section 3).
inline constexpr std::size_t kRootTailSize = 8 + kNonceSize + kTagSize;
// Metadata: str(name) || u64(size) || str(content_type) || u64(modified_ms).
inline constexpr std::size_t kMinMetadataSize = 2 + 1 + 8 + 2 + 1 + 8;
inline constexpr std::size_t kMaxMetadataSize = 2 + kMaxRoomNameSize + 8 + 2 + 255 + 8;

// A record split into its public fields, nonce and ciphertext (views into the input).
struct ParsedFolderRecord {
  FolderRecordPublic fields;
  std::span<const std::uint8_t> nonce;       // 12 bytes.
  std::span<const std::uint8_t> ciphertext;  // The name's AEAD: name || tag.
};
struct ParsedFileRecord {
  FileRecordPublic fields;
  std::span<const std::uint8_t> nonce;
  std::span<const std::uint8_t> ciphertext;  // The metadata's AEAD: metadata || tag.
};

// Strict parsers: errc::malformed or errc::unsupported_version. Nothing is verified.
[[nodiscard]] result<ParsedFolderRecord> ParseFolderRecord(std::span<const std::uint8_t> bytes);
[[nodiscard]] result<ParsedFileRecord> ParseFileRecord(std::span<const std::uint8_t> bytes);

// The bytes before the nonce. The caller has checked the fields are within bounds.
[[nodiscard]] std::vector<std::uint8_t> SerializeFolderRecordPublic(const FolderRecordPublic& f);
[[nodiscard]] std::vector<std::uint8_t> SerializeFileRecordPublic(const FileRecordPublic& f);

// The message a record's signature signs: label || record.
[[nodiscard]] std::vector<std::uint8_t> FolderRecordSignedMessage(
    std::span<const std::uint8_t> record);
[[nodiscard]] std::vector<std::uint8_t> FileRecordSignedMessage(
    std::span<const std::uint8_t> record);

// Metadata encoding. ParseMetadata is strict (errc::malformed), including the name and
// content-type rules.
[[nodiscard]] std::vector<std::uint8_t> SerializeMetadata(const FileMetadata& m);
[[nodiscard]] result<FileMetadata> ParseMetadata(std::span<const std::uint8_t> bytes);

// Field rules shared by sealing (invalid_argument) and parsing (malformed).
[[nodiscard]] bool IsValidRecordVersion(std::uint64_t v) noexcept;
[[nodiscard]] bool IsValidMetadata(const FileMetadata& m) noexcept;

}  // namespace strongroom::crypto::room
