// Private Room records: folder keys, name HMACs, and sealing/opening folder and file
// records. The keyless part (parsers, name rules, reader checks) is in room_public.cc.
#include "strongroom/crypto/room.h"
#include "crypto/primitives.h"
#include "crypto/room_format.h"
#include "crypto/wire.h"
#include "strongroom/crypto/init.h"

#include <algorithm>

namespace strongroom::crypto {

using namespace room;

namespace {

using Nonce = std::array<std::uint8_t, kAeadNonceSize>;

// Wipes a plaintext buffer (a name or metadata) on every path out of a scope.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::vector<std::uint8_t>& buffer) : buffer_(buffer) {}
  ~WipeOnExit() { Wipe(buffer_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::vector<std::uint8_t>& buffer_;
};

// seal_key = HKDF(shared, E || R, "strongroom-v1-folder-key-seal" || folder_id ||
//                 u8(len(uid)) || uid, 32)
result<void> SealKey(std::span<const std::uint8_t, 32> shared,
                     std::span<const std::uint8_t, 32> ephemeral,
                     std::span<const std::uint8_t, 32> recipient_key, const FolderId& folder_id,
                     std::string_view user_id, std::span<std::uint8_t, 32> out) {
  ByteWriter salt;
  salt.Raw(ephemeral);
  salt.Raw(recipient_key);
  ByteWriter info;
  info.Raw(kFolderKeySealLabel);
  info.Raw(folder_id);
  info.U8(static_cast<std::uint8_t>(user_id.size()));
  info.Raw(user_id);
  return HkdfSha256(shared, salt.buffer(), info.buffer(), out);
}

// HKDF(ikm = key, salt = id, info = label, 32): name_key, record_key and metadata_key.
result<void> DeriveKey(const Secret<32>& key, std::span<const std::uint8_t, 16> id,
                       std::string_view label, Secret<32>& out) {
  return HkdfSha256(key.bytes(), id, AsBytes(label), out.bytes());
}

// label || id || u64(revision or version)
std::vector<std::uint8_t> AssociatedData(std::string_view label,
                                         std::span<const std::uint8_t, 16> id,
                                         std::uint64_t version) {
  ByteWriter w;
  w.Raw(label);
  w.Raw(id);
  w.U64(version);
  return w.Take();
}

// Appends nonce || AEAD(key, nonce, ad, plaintext) to `out`, with a random nonce.
result<void> AppendSealed(std::vector<std::uint8_t>& out, const Secret<32>& key,
                          std::span<const std::uint8_t> ad,
                          std::span<const std::uint8_t> plaintext) {
  Nonce nonce{};
  RandomBytes(nonce);
  out.insert(out.end(), nonce.begin(), nonce.end());
  const std::size_t at = out.size();
  out.resize(at + plaintext.size() + kAeadTagSize);
  return AeadSeal(key.bytes(), nonce, ad, plaintext, std::span(out).subspan(at));
}

// Opens nonce/ciphertext into `plaintext` (resized); errc::record_mismatch on failure.
result<void> OpenSealed(const Secret<32>& key, std::span<const std::uint8_t> ad,
                        std::span<const std::uint8_t> nonce,
                        std::span<const std::uint8_t> ciphertext,
                        std::vector<std::uint8_t>& plaintext) {
  if (nonce.size() != kAeadNonceSize || ciphertext.size() < kAeadTagSize) return errc::internal;
  plaintext.resize(ciphertext.size() - kAeadTagSize);
  if (!AeadOpen(key.bytes(), nonce.first<kAeadNonceSize>(), ad, ciphertext, plaintext)) {
    return errc::record_mismatch;
  }
  return {};
}

result<void> CheckSignatureSize(std::span<const std::uint8_t> signature) {
  if (signature.size() != kRecordSignatureSize) return errc::malformed;
  return {};
}

}  // namespace

// --- folder keys ----------------------------------------------------------------------------

Secret<32> GenerateFolderKey() {
  (void)Init();  // RandomBytes works without it; Init only checks the CPU and library.
  Secret<32> key;
  RandomBytes(key.bytes());
  return key;
}

FolderId GenerateFolderId() {
  (void)Init();
  FolderId id{};
  RandomBytes(id);
  return id;
}

result<SealedFolderKey> SealFolderKey(const Secret<32>& folder_key, const FolderId& folder_id,
                                      const PublicBundle& owner) {
  if (auto r = Init(); !r) return r.error();
  if (owner.user_id().empty()) return errc::invalid_argument;
  SealedFolderKey sealed{};
  const auto ephemeral_public = std::span(sealed).first<32>();
  Secret<32> ephemeral;
  RandomBytes(ephemeral.bytes());
  X25519PublicFromSecret(ephemeral.bytes(), ephemeral_public);
  Secret<32> shared;
  if (!X25519(ephemeral.bytes(), owner.encryption_key(), shared.bytes())) {
    return errc::invalid_argument;  // A low-order key: not a usable owner bundle.
  }
  Secret<32> seal_key;
  if (auto r = SealKey(shared.bytes(), ephemeral_public, owner.encryption_key(), folder_id,
                       owner.user_id(), seal_key.bytes());
      !r) {
    return r.error();
  }
  // The nonce is fixed: each seal key is used once, being derived from a fresh ephemeral key.
  const Nonce zero{};
  if (auto r =
          AeadSeal(seal_key.bytes(), zero, {}, folder_key.bytes(), std::span(sealed).subspan(32));
      !r) {
    return r.error();
  }
  return sealed;
}

result<Secret<32>> OpenFolderKey(std::span<const std::uint8_t> sealed, const FolderId& folder_id,
                                 const Identity& owner) {
  if (auto r = Init(); !r) return r.error();
  if (sealed.size() != kSealedFolderKeySize) return errc::malformed;
  const auto ephemeral_public = sealed.first<32>();
  Secret<32> shared;
  if (!owner.Agree(ephemeral_public, shared.bytes())) return errc::header_tampered;
  Secret<32> seal_key;
  if (auto r = SealKey(shared.bytes(), ephemeral_public, owner.public_bundle().encryption_key(),
                       folder_id, owner.user_id(), seal_key.bytes());
      !r) {
    return r.error();
  }
  Secret<32> folder_key;
  const Nonce zero{};
  if (!AeadOpen(seal_key.bytes(), zero, {}, sealed.subspan(32), folder_key.bytes())) {
    return errc::header_tampered;
  }
  return folder_key;
}

// --- names ----------------------------------------------------------------------------------

result<NameHmac> ComputeNameHmac(const Secret<32>& parent_key, const FolderId& parent_id,
                                 std::string_view name) {
  if (auto r = Init(); !r) return r.error();
  if (auto r = ValidateRoomName(name); !r) return r.error();
  Secret<32> name_key;
  if (auto r = DeriveKey(parent_key, parent_id, kNameHmacLabel, name_key); !r) return r.error();
  std::string normalised = NormaliseRoomName(name);
  const NameHmac mac = HmacSha256(name_key.bytes(), AsBytes(normalised));
  Wipe(std::span(reinterpret_cast<std::uint8_t*>(normalised.data()), normalised.size()));
  return mac;
}

// --- folder records -------------------------------------------------------------------------

result<SignedRecord> SealFolderRecord(const FolderRecord& record, const Secret<32>& folder_key,
                                      const Identity& owner) {
  if (auto r = Init(); !r) return r.error();
  const bool root = !record.parent_id.has_value();
  if (record.owner_id != owner.user_id() || !IsValidUserId(record.owner_id) ||
      !IsValidRecordVersion(record.revision) || record.name_hmac.has_value() == root) {
    return errc::invalid_argument;
  }
  if (root ? !record.name.empty() : !ValidateRoomName(record.name)) return errc::invalid_argument;

  Secret<32> record_key;
  if (auto r = DeriveKey(folder_key, record.folder_id, kFolderRecordLabel, record_key); !r) {
    return r.error();
  }
  SignedRecord out;
  out.record = SerializeFolderRecordPublic(record);
  const auto ad = AssociatedData(kFolderNameLabel, record.folder_id, record.revision);
  if (auto r = AppendSealed(out.record, record_key, ad, AsBytes(record.name)); !r) {
    return r.error();
  }
  out.signature = owner.Sign(FolderRecordSignedMessage(out.record));
  return out;
}

result<FolderRecord> OpenFolderRecord(std::span<const std::uint8_t> record,
                                      std::span<const std::uint8_t> signature,
                                      const Secret<32>& folder_key,
                                      const PublicBundle& expected_owner) {
  if (auto r = Init(); !r) return r.error();
  auto parsed = ParseFolderRecord(record);
  if (!parsed) return parsed.error();
  if (auto r = CheckSignatureSize(signature); !r) return r.error();
  if (expected_owner.user_id().empty() || parsed->fields.owner_id != expected_owner.user_id()) {
    return errc::untrusted_signer;
  }
  if (!expected_owner.VerifySignature(FolderRecordSignedMessage(record),
                                      signature.first<kRecordSignatureSize>())) {
    return errc::bad_signature;
  }
  Secret<32> record_key;
  if (auto r = DeriveKey(folder_key, parsed->fields.folder_id, kFolderRecordLabel, record_key);
      !r) {
    return r.error();
  }
  const auto ad =
      AssociatedData(kFolderNameLabel, parsed->fields.folder_id, parsed->fields.revision);
  std::vector<std::uint8_t> name;
  WipeOnExit wipe(name);
  if (auto r = OpenSealed(record_key, ad, parsed->nonce, parsed->ciphertext, name); !r) {
    return r.error();
  }
  FolderRecord out;
  static_cast<FolderRecordPublic&>(out) = std::move(parsed->fields);
  out.name.assign(name.begin(), name.end());
  // The parser fixed the name's length (0 for the root, 1..255 otherwise); its content is
  // checked here, since only now is it known.
  if (out.parent_id && !ValidateRoomName(out.name)) return errc::malformed;
  return out;
}

// --- file records ---------------------------------------------------------------------------

result<SignedRecord> SealFileRecord(const FileRecord& record, const Secret<32>& file_key,
                                    const Identity& author) {
  if (auto r = Init(); !r) return r.error();
  if (record.author_id != author.user_id() || !IsValidUserId(record.author_id) ||
      !IsValidUserId(record.owner_id) || !IsValidRecordVersion(record.version) ||
      !IsValidMetadata(record.metadata)) {
    return errc::invalid_argument;
  }
  Secret<32> metadata_key;
  if (auto r = DeriveKey(file_key, record.file_id, kFileMetadataLabel, metadata_key); !r) {
    return r.error();
  }
  SignedRecord out;
  out.record = SerializeFileRecordPublic(record);
  const auto ad = AssociatedData(kFileMetadataLabel, record.file_id, record.version);
  std::vector<std::uint8_t> metadata = SerializeMetadata(record.metadata);
  WipeOnExit wipe(metadata);
  if (auto r = AppendSealed(out.record, metadata_key, ad, metadata); !r) return r.error();
  out.signature = author.Sign(FileRecordSignedMessage(out.record));
  return out;
}

result<FileRecord> OpenFileRecord(std::span<const std::uint8_t> record,
                                  std::span<const std::uint8_t> signature,
                                  const Secret<32>& file_key, const PublicBundle& author) {
  if (auto r = Init(); !r) return r.error();
  auto parsed = ParseFileRecord(record);
  if (!parsed) return parsed.error();
  if (auto r = CheckSignatureSize(signature); !r) return r.error();
  if (author.user_id().empty() || parsed->fields.author_id != author.user_id()) {
    return errc::untrusted_signer;
  }
  if (!author.VerifySignature(FileRecordSignedMessage(record),
                              signature.first<kRecordSignatureSize>())) {
    return errc::bad_signature;
  }
  Secret<32> metadata_key;
  if (auto r = DeriveKey(file_key, parsed->fields.file_id, kFileMetadataLabel, metadata_key); !r) {
    return r.error();
  }
  const auto ad =
      AssociatedData(kFileMetadataLabel, parsed->fields.file_id, parsed->fields.version);
  std::vector<std::uint8_t> plaintext;
  WipeOnExit wipe(plaintext);
  if (auto r = OpenSealed(metadata_key, ad, parsed->nonce, parsed->ciphertext, plaintext); !r) {
    return r.error();
  }
  auto metadata = ParseMetadata(plaintext);
  if (!metadata) return metadata.error();
  FileRecord out;
  static_cast<FileRecordPublic&>(out) = std::move(parsed->fields);
  out.metadata = std::move(*metadata);
  return out;
}

}  // namespace strongroom::crypto
