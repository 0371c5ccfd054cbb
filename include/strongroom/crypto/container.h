// Container format v1: every Private Room document, at rest and in transit.
//
//   header   magic, version, file id, chunk size, content type, author's public bundle,
//            one recipient stanza per user with access (the file key wrapped for them),
//            and an HMAC over all of it under a key derived from the file key
//   payload  STREAM: fixed-size chunks, each AES-256-GCM, nonce = prefix ‖ counter ‖ last flag
//   trailer  Ed25519 signature by the author of this version over (header MAC ‖ final tag)
//
// The byte-level grammar, every label and the reasons are in docs/format.md, "Container".
//
// Guarantees for a reader holding a recipient identity, when an operation succeeds:
//  - the header is exactly what someone holding the file key wrote (MAC, which also commits
//    to the file key, so every recipient decrypts the same plaintext);
//  - every chunk is authentic and in its place, and the payload is complete: truncation,
//    reordering, duplication and extension all fail;
//  - the author named in the header signed this header and this payload's end.
// On failure nothing is promised about bytes already written to the sink: callers that
// write files use io::AtomicFile and commit only on success (the CLI does).
//
// Thread-safety: functions are reentrant. `threads` = 0 uses one worker per core.
#pragma once

#include "strongroom/crypto/identity.h"
#include "strongroom/error.h"
#include "strongroom/io.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace strongroom::crypto {

inline constexpr std::uint8_t kContainerVersion = 1;
// Chosen by measurement (bench/README.md): on 1 GiB, 64 KiB beat 16 KiB (per-chunk locking
// and GCM setup) and 256 KiB (input and output buffers no longer fit in L2 together).
// Small chunks also make range reads cheap.
inline constexpr std::uint32_t kDefaultChunkSize = 64 * 1024;
inline constexpr std::uint32_t kMinChunkSize = 4 * 1024;
inline constexpr std::uint32_t kMaxChunkSize = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxRecipients = 2048;
inline constexpr std::size_t kMaxHeaderSize = std::size_t{1024} * 1024;
inline constexpr std::size_t kMaxContentTypeSize = 255;
inline constexpr std::size_t kFileIdSize = 16;
inline constexpr std::size_t kContainerSignatureSize = 64;
inline constexpr std::size_t kHeaderMacSize = 32;
inline constexpr std::size_t kFinalTagSize = 16;

using FileId = std::array<std::uint8_t, kFileIdSize>;
// The header's HMAC (its last 32 bytes) and the final chunk's GCM tag: together what the
// container signature signs, and what a Private Room file record binds (private-room.md 4).
using HeaderMac = std::array<std::uint8_t, kHeaderMacSize>;
using FinalTag = std::array<std::uint8_t, kFinalTagSize>;

struct RecipientEntry {
  std::string user_id;
  Fingerprint fingerprint{};
};

// What a container says about itself. From InspectContainer nothing here is authenticated;
// from the other operations all of it is.
struct ContainerInfo {
  std::uint8_t version = 0;
  FileId file_id{};
  std::uint32_t chunk_size = 0;
  std::string content_type;
  PublicBundle author;  // Self-signature verified.
  std::vector<RecipientEntry> recipients;
  std::uint64_t header_size = 0;
  std::optional<std::uint64_t> plaintext_size;  // Known when the container size is known.
  // The header's last 32 bytes. Authenticated (MAC verified under the file key) from every
  // operation but InspectContainer.
  HeaderMac header_mac{};
  // The last 16 bytes of the final chunk. Set by every operation that reaches the end of the
  // payload (Encrypt, Decrypt, DecryptRange, Add/RemoveRecipients, Rekey: the final chunk
  // opened, or was copied, under a verified signature) and by InspectContainer when the
  // source has a known size (then read from offset size - 80, unauthenticated). Unset from
  // OpenFileKey (header only) and from InspectContainer on a stream.
  std::optional<FinalTag> final_tag;
};

struct EncryptOptions {
  std::string content_type = "application/octet-stream";  // Printable ASCII, <= 255 bytes.
  std::uint32_t chunk_size = kDefaultChunkSize;           // Power of two in [4 KiB, 16 MiB].
  unsigned threads = 0;
  // Unset: a new random file id (a new document). Set: the id of the document this is a new
  // version of (new content under a new file key; a Private Room file keeps its id).
  std::optional<FileId> file_id;
};

// Reads the header without any key; from a source of known size (random access) also the
// final tag, with one positioned read near the end. Nothing is authenticated.
// Errors: malformed, truncated, unsupported_version, too_large, bad_signature (author
// bundle), io_error.
[[nodiscard]] result<ContainerInfo> InspectContainer(io::Source& in);

// Encrypts `plaintext` for `recipients` (1..kMaxRecipients, duplicates removed), signed by
// `author`. The author is not added implicitly. Streams with memory independent of size.
// When `file_key_out` is not null it receives the new file key, only on success (it is left
// untouched on failure): what a Private Room file record's metadata key is derived from
// (SealFileRecord in room.h). The author need not be a recipient to get it.
[[nodiscard]] result<ContainerInfo> EncryptContainer(io::Source& plaintext, io::Sink& out,
                                                     const Identity& author,
                                                     std::span<const PublicBundle> recipients,
                                                     const EncryptOptions& options = {},
                                                     Secret<32>* file_key_out = nullptr);

// The file key and header of a container, opened by a recipient.
struct ContainerKey {
  // Every header field MAC-verified under file_key (the container's signature is not checked
  // here); final_tag and plaintext_size unset.
  ContainerInfo info;
  Secret<32> file_key;
};

// Reads exactly the header from `in` (header_len bytes, nothing after it), finds
// `identity`'s stanza, unwraps the file key and verifies the header MAC: steps 1-4 of
// format.md 7.4. The key is authentic for this header (the MAC commits the header to it),
// which is all a file record needs (OpenFileRecord in room.h). It does NOT check the
// payload or the signature: the container's author, final tag and content are unverified
// until DecryptContainer or DecryptContainerRange succeeds.
// Errors: not_a_recipient, header_tampered, truncated, malformed, unsupported_version,
// too_large, bad_signature (author bundle), io_error.
[[nodiscard]] result<ContainerKey> OpenFileKey(io::Source& in, const Identity& identity);

// Decrypts and verifies. Plaintext reaches `plaintext` only chunk by chunk after each chunk
// authenticates; success is known only when this returns. Errors: not_a_recipient,
// header_tampered, payload_tampered, truncated, bad_signature, malformed,
// unsupported_version, io_error.
[[nodiscard]] result<ContainerInfo> DecryptContainer(io::Source& in, io::Sink& plaintext,
                                                     const Identity& identity,
                                                     unsigned threads = 0);

// Decrypts plaintext bytes [offset, offset + length) (clamped to the end) from a
// random-access source, verifying the header, the signature (through the final chunk) and
// every chunk it reads. errc::invalid_argument when offset is past the end. A zero-length
// read at offset 0 is the cheapest way to get an authenticated `final_tag` (it reads the
// header and the final chunk only).
[[nodiscard]] result<ContainerInfo> DecryptContainerRange(io::Source& in, std::uint64_t offset,
                                                          std::uint64_t length, io::Sink& plaintext,
                                                          const Identity& identity);

// Adds recipient stanzas; the payload is copied untouched. `signer` must be a recipient and
// becomes the signer of the new version (after checking the old signature).
[[nodiscard]] result<ContainerInfo> AddRecipients(io::Source& in, io::Sink& out,
                                                  const Identity& signer,
                                                  std::span<const PublicBundle> recipients);

// Removes the stanzas with these fingerprints; the payload is copied untouched. This does
// NOT revoke access to a copy someone already has (they may have kept the file key): to deny
// access, use RekeyContainer. errc::not_found if a fingerprint is not a recipient;
// errc::invalid_argument if no recipient would remain.
[[nodiscard]] result<ContainerInfo> RemoveRecipients(io::Source& in, io::Sink& out,
                                                     const Identity& signer,
                                                     std::span<const Fingerprint> removed);

// Re-encrypts the payload under a new file key for exactly `recipients`, signed by `signer`
// (who must be a current recipient). Keeps the file id, content type and chunk size.
// `file_key_out`, when not null, receives the new file key on success (as EncryptContainer).
[[nodiscard]] result<ContainerInfo> RekeyContainer(io::Source& in, io::Sink& out,
                                                   const Identity& signer,
                                                   std::span<const PublicBundle> recipients,
                                                   unsigned threads = 0,
                                                   Secret<32>* file_key_out = nullptr);

}  // namespace strongroom::crypto
