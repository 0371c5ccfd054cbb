// Co-editing relay, the end-to-end encoding: labels, key derivation, nonces, associated data,
// signed messages and the snapshot plaintext. Internal to strongroom_crypto; exposed to the
// unit tests, the vector generator and the fuzzers. Grammar: docs/collab.md, "Cryptography".
#pragma once

#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/secret.h"

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace strongroom::crypto::collab_detail {

enum class Kind : std::uint8_t { update, snapshot, presence };

// HKDF info of the kind's session key, and the prefix of its associated data.
inline constexpr std::string_view kUpdateLabel = "strongroom-v1-collab-update";
inline constexpr std::string_view kSnapshotLabel = "strongroom-v1-collab-snapshot";
inline constexpr std::string_view kPresenceLabel = "strongroom-v1-collab-presence";
// Prefix of the kind's signed message.
inline constexpr std::string_view kUpdateSignatureLabel = "strongroom-v1-collab-update-signature";
inline constexpr std::string_view kSnapshotSignatureLabel =
    "strongroom-v1-collab-snapshot-signature";
inline constexpr std::string_view kPresenceSignatureLabel =
    "strongroom-v1-collab-presence-signature";

[[nodiscard]] std::string_view Label(Kind kind) noexcept;
[[nodiscard]] std::string_view SignatureLabel(Kind kind) noexcept;

struct KeyAccess {
  static const Secret<32>& FileKey(const CollabKey& key) { return key.file_key_; }
};

// key = HKDF(ikm = file key, salt = file_id ‖ u64(epoch) ‖ session_id, info = Label(kind), 32)
[[nodiscard]] result<void> DeriveSessionKey(const CollabKey& key, Kind kind,
                                            const collab::SessionId& session_id, Secret<32>& out);

// nonce = 4 zero bytes ‖ u64(counter)
[[nodiscard]] std::array<std::uint8_t, 12> Nonce(std::uint64_t counter) noexcept;

// ad = Label(kind) ‖ head bytes (collab::EncodeHead)
[[nodiscard]] std::vector<std::uint8_t> AssociatedData(Kind kind,
                                                       std::span<const std::uint8_t> head);

// SignatureLabel(kind) ‖ head bytes ‖ u32(len(ciphertext)) ‖ ciphertext: the sealed message's
// bytes before its signature, under a label.
[[nodiscard]] std::vector<std::uint8_t> SignedMessage(Kind kind, std::span<const std::uint8_t> head,
                                                      std::span<const std::uint8_t> ciphertext);

// Snapshot plaintext: u32(stream_count) ‖ stream* ‖ state, with
// stream = u8(len(author)) ‖ author ‖ session_id[16] ‖ u64(last_counter), strictly ascending.
// SortStreams validates, sorts and refuses duplicates (invalid_argument) or too many
// (too_large); EncodeSnapshotPlaintext expects its output. ParseSnapshotPlaintext is strict
// (malformed).
[[nodiscard]] result<std::vector<StreamPosition>> SortStreams(std::vector<StreamPosition> streams);
[[nodiscard]] std::vector<std::uint8_t> EncodeSnapshotPlaintext(
    std::span<const StreamPosition> sorted_streams, std::span<const std::uint8_t> state);
[[nodiscard]] result<SnapshotContents> ParseSnapshotPlaintext(std::span<const std::uint8_t> bytes);

// Sealing at an explicit session id and counter: what CollabSession does with its own, for the
// vector generator and tests (sealing is deterministic: AES-GCM under a counter nonce, Ed25519
// signatures). Production code never calls these: a (session, counter) pair sealed twice with
// different plaintexts reuses a nonce. Errors as the CollabSession methods, plus
// invalid_argument for a counter of 0 or over 2^63 - 1.
[[nodiscard]] result<collab::Sealed> SealUpdateAt(const CollabKey& key, const Identity& author,
                                                  const collab::SessionId& session_id,
                                                  std::uint64_t counter,
                                                  std::span<const std::uint8_t> payload);
[[nodiscard]] result<collab::Sealed> SealPresenceAt(const CollabKey& key, const Identity& author,
                                                    const collab::SessionId& session_id,
                                                    std::uint64_t counter,
                                                    std::span<const std::uint8_t> payload);
[[nodiscard]] result<collab::SealedSnapshot> SealSnapshotAt(
    const CollabKey& key, const Identity& author, const collab::SessionId& session_id,
    std::uint64_t counter, std::uint64_t through_seq, const SnapshotContents& contents);
// As SealSnapshotAt with the plaintext given as bytes, unchecked: to test the parser.
[[nodiscard]] result<collab::SealedSnapshot> SealSnapshotPlaintextAt(
    const CollabKey& key, const Identity& author, const collab::SessionId& session_id,
    std::uint64_t counter, std::uint64_t through_seq, std::span<const std::uint8_t> plaintext);

}  // namespace strongroom::crypto::collab_detail
