// Private Room records, the part that needs no key: name rules, the strict parsers and the
// reader's checks. Kept apart from room.cc (sealing and opening, which use Identity) so the
// server can parse records without linking any private-key code, as public_bundle.cc does
// for bundles (a build test checks strongroomd for Identity symbols).
#include "crypto/primitives.h"
#include "crypto/room_format.h"
#include "crypto/wire.h"

#include <algorithm>

namespace strongroom::crypto {

namespace room {
namespace {

// The container's content-type rule (format.md 7), restated rather than calling
// container::IsValidContentType, which would link container.cc into every user of this.
bool IsValidContentType(std::string_view type) noexcept {
  if (type.empty() || type.size() > 255) return false;
  return std::all_of(type.begin(), type.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// str(x) = u16(len) || bytes.
bool ReadStr(ByteReader& r, std::string& out) {
  std::uint16_t len = 0;
  std::span<const std::uint8_t> bytes;
  if (!r.U16(len) || !r.View(len, bytes)) return false;
  out.assign(bytes.begin(), bytes.end());
  return true;
}

void WriteStr(ByteWriter& w, std::string_view s) {
  w.U16(static_cast<std::uint16_t>(s.size()));
  w.Raw(s);
}

bool ReadUserId(ByteReader& r, std::string& out) {
  return ReadStr(r, out) && IsValidUserId(out);
}

std::vector<std::uint8_t> SignedMessage(std::string_view label,
                                        std::span<const std::uint8_t> record) {
  ByteWriter w;
  w.Raw(label);
  w.Raw(record);
  return w.Take();
}

}  // namespace

bool IsValidRecordVersion(std::uint64_t v) noexcept {
  return v >= 1 && v <= kMaxRecordVersion;
}

bool IsValidMetadata(const FileMetadata& m) noexcept {
  return ValidateRoomName(m.name).has_value() && IsValidContentType(m.content_type);
}

result<ParsedFolderRecord> ParseFolderRecord(std::span<const std::uint8_t> bytes) {
  ByteReader r(bytes);
  if (auto ec = ReadMagicAndVersion(r, kFolderMagic, kRecordVersion); ec) return ec;
  ParsedFolderRecord p;
  FolderRecordPublic& f = p.fields;
  if (!r.Copy(f.folder_id) || !ReadUserId(r, f.owner_id)) return errc::malformed;
  const std::size_t tail = r.remaining();
  std::size_t name_len = 0;
  if (tail != kRootTailSize) {
    // Not a root: parent_id and name_hmac, then a name of 1..255 bytes.
    constexpr std::size_t kFixed = kFolderIdSize + kNameHmacSize + kRootTailSize;
    if (tail < kFixed + 1 || tail > kFixed + kMaxRoomNameSize) return errc::malformed;
    name_len = tail - kFixed;
    f.parent_id.emplace();
    f.name_hmac.emplace();
    if (!r.Copy(*f.parent_id) || !r.Copy(*f.name_hmac)) return errc::malformed;
  }
  if (!r.U64(f.revision) || !IsValidRecordVersion(f.revision)) return errc::malformed;
  if (!r.View(kNonceSize, p.nonce) || !r.View(name_len + kTagSize, p.ciphertext) || !r.done()) {
    return errc::malformed;
  }
  return p;
}

result<ParsedFileRecord> ParseFileRecord(std::span<const std::uint8_t> bytes) {
  ByteReader r(bytes);
  if (auto ec = ReadMagicAndVersion(r, kFileMagic, kRecordVersion); ec) return ec;
  ParsedFileRecord p;
  FileRecordPublic& f = p.fields;
  if (!r.Copy(f.file_id) || !ReadUserId(r, f.owner_id) || !ReadUserId(r, f.author_id) ||
      !r.Copy(f.parent_id) || !r.Copy(f.name_hmac) || !r.U64(f.version) ||
      !IsValidRecordVersion(f.version) || !r.Copy(f.header_mac) || !r.Copy(f.final_tag) ||
      !r.View(kNonceSize, p.nonce)) {
    return errc::malformed;
  }
  const std::size_t rest = r.remaining();
  if (rest < kMinMetadataSize + kTagSize || rest > kMaxMetadataSize + kTagSize) {
    return errc::malformed;
  }
  if (!r.View(rest, p.ciphertext) || !r.done()) return errc::malformed;
  return p;
}

std::vector<std::uint8_t> SerializeFolderRecordPublic(const FolderRecordPublic& f) {
  ByteWriter w;
  w.Raw(kFolderMagic);
  w.U8(kRecordVersion);
  w.Raw(f.folder_id);
  WriteStr(w, f.owner_id);
  if (f.parent_id) w.Raw(*f.parent_id);
  if (f.name_hmac) w.Raw(*f.name_hmac);
  w.U64(f.revision);
  return w.Take();
}

std::vector<std::uint8_t> SerializeFileRecordPublic(const FileRecordPublic& f) {
  ByteWriter w;
  w.Raw(kFileMagic);
  w.U8(kRecordVersion);
  w.Raw(f.file_id);
  WriteStr(w, f.owner_id);
  WriteStr(w, f.author_id);
  w.Raw(f.parent_id);
  w.Raw(f.name_hmac);
  w.U64(f.version);
  w.Raw(f.header_mac);
  w.Raw(f.final_tag);
  return w.Take();
}

std::vector<std::uint8_t> FolderRecordSignedMessage(std::span<const std::uint8_t> record) {
  return SignedMessage(kFolderRecordLabel, record);
}

std::vector<std::uint8_t> FileRecordSignedMessage(std::span<const std::uint8_t> record) {
  return SignedMessage(kFileRecordLabel, record);
}

std::vector<std::uint8_t> SerializeMetadata(const FileMetadata& m) {
  ByteWriter w;
  WriteStr(w, m.name);
  w.U64(m.plaintext_size);
  WriteStr(w, m.content_type);
  w.U64(m.modified_ms);
  return w.Take();
}

result<FileMetadata> ParseMetadata(std::span<const std::uint8_t> bytes) {
  ByteReader r(bytes);
  FileMetadata m;
  if (!ReadStr(r, m.name) || !r.U64(m.plaintext_size) || !ReadStr(r, m.content_type) ||
      !r.U64(m.modified_ms) || !r.done() || !IsValidMetadata(m)) {
    return errc::malformed;
  }
  return m;
}

}  // namespace room

// --- names ----------------------------------------------------------------------------------

result<void> ValidateRoomName(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxRoomNameSize) return errc::invalid_argument;
  if (name == "." || name == "..") return errc::invalid_argument;
  // Strict UTF-8 (RFC 3629): shortest form, no surrogates, at most U+10FFFF.
  const auto* s = reinterpret_cast<const unsigned char*>(name.data());
  const std::size_t n = name.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char b = s[i];
    std::uint32_t cp = 0;
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      cp = b & 0x1fu;
      len = 2;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0fu;
      len = 3;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07u;
      len = 4;
      min = 0x10000;
    } else {
      return errc::invalid_argument;  // A continuation byte, 0xc0/0xc1 or 0xf5..0xff.
    }
    if (n - i < len) return errc::invalid_argument;
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char c = s[i + k];
      if ((c & 0xc0u) != 0x80u) return errc::invalid_argument;
      cp = (cp << 6) | (c & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return errc::invalid_argument;
    }
    // Control characters (Unicode category Cc: C0, DEL, C1) and the path separator.
    if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp == '/') return errc::invalid_argument;
    i += len;
  }
  return {};
}

std::string NormaliseRoomName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// --- public parsing and the reader's checks --------------------------------------------------

result<FolderRecordPublic> ParseFolderRecordPublic(std::span<const std::uint8_t> record) {
  auto p = room::ParseFolderRecord(record);
  if (!p) return p.error();
  return std::move(p->fields);
}

result<FileRecordPublic> ParseFileRecordPublic(std::span<const std::uint8_t> record) {
  auto p = room::ParseFileRecord(record);
  if (!p) return p.error();
  return std::move(p->fields);
}

result<void> CheckFileRecord(const FileRecord& record, const PublicBundle& author,
                             const ContainerInfo& container,
                             std::optional<std::uint64_t> highest_version_seen) {
  if (!container.final_tag) return errc::invalid_argument;
  // 1. The signer may write this file: the owner, or a current recipient by user id AND
  //    fingerprint (a recipient with the same user id but another key is someone else).
  if (author.user_id().empty() || author.user_id() != record.author_id) {
    return errc::untrusted_signer;
  }
  if (record.author_id != record.owner_id) {
    const bool recipient = std::any_of(
        container.recipients.begin(), container.recipients.end(), [&](const RecipientEntry& e) {
          return e.user_id == record.author_id && e.fingerprint == author.fingerprint();
        });
    if (!recipient) return errc::untrusted_signer;
  }
  // 2. The record describes this container. Both comparisons always run (no early exit
  //    between the MAC and the tag).
  const bool mac_ok = ConstantTimeEqual(record.header_mac, container.header_mac);
  const bool tag_ok = ConstantTimeEqual(record.final_tag, *container.final_tag);
  if (record.file_id != container.file_id || !(mac_ok & tag_ok)) return errc::record_mismatch;
  // 3. Not older than what this reader has seen.
  if (highest_version_seen && record.version < *highest_version_seen) return errc::rolled_back;
  return {};
}

result<void> CheckFilePlacement(const FileRecordPublic& record, std::string_view my_user_id,
                                const FolderId& listed_parent_id,
                                const NameHmac& listed_name_hmac) {
  if (my_user_id.empty() || record.owner_id != my_user_id) return errc::untrusted_signer;
  if (record.parent_id != listed_parent_id || record.name_hmac != listed_name_hmac) {
    return errc::record_mismatch;
  }
  return {};
}

}  // namespace strongroom::crypto
