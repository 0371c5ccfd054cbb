// Co-editing relay, the end-to-end part: keys, sealing and opening of updates, snapshots and
// presence, and the receiver's order checks.
//
//   CollabKey           a file key with its file id and key epoch: what every session's keys
//                       are derived from (HKDF-SHA256, salt = file id ‖ epoch ‖ session id,
//                       one label per message kind)
//   CollabSession       one author's editing session: a random session id, its three keys
//                       (update, snapshot, presence) and one counter per kind, which is also
//                       the AES-256-GCM nonce; seals = encrypts, then signs with the author's
//                       Ed25519 key over a label, the public head and the ciphertext
//   Open*               checks file id and epoch against the key, the author against the
//                       pinned bundle the caller gives, the signature, then decrypts
//   UpdateOrderChecker  what a receiver has accepted, per (author, session): refuses replays,
//                       gaps, reordering and stale epochs; a snapshot sets a new baseline
//
// The frames themselves (and their public heads) are collab/wire.h; byte layouts, labels,
// the server's rules and the reasons are docs/collab.md.
//
// Guarantees when an Open* function succeeds:
//  - the message was sealed by the holder of `author`'s signing key (the caller's pinned key
//    for the user id the head names), for this file id and this key epoch, and nothing of it
//    (head, ciphertext) was changed;
//  - the plaintext was encrypted under this file key's key for the head's session, so the
//    author held this epoch's file key when sealing;
//  - for a snapshot, its stream list is well formed (valid user ids, counters >= 1, strictly
//    ascending, at most kMaxSnapshotStreams).
// They do NOT establish that the message is new, in order, or from the current epoch: that is
// UpdateOrderChecker, which a receiver MUST run on every opened update, snapshot and presence
// message before applying it (docs/collab.md, "Receiving").
//
// Secrets (the file key and every derived key) live in Secret<32>. Plaintext buffers made
// here are wiped; the plaintext returned is the caller's to handle.
// Thread-safety: CollabKey is immutable after Make and may be shared between threads.
// CollabSession and UpdateOrderChecker are not thread-safe: one owner each.
#pragma once

#include "strongroom/collab/wire.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/secret.h"
#include "strongroom/error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strongroom::crypto {

// The most streams a snapshot may list (docs/collab.md, "Limits").
inline constexpr std::size_t kMaxSnapshotStreams = 65536;

namespace collab_detail {
struct KeyAccess;
}

// The key of one key epoch of one file. Holds a copy of the file key.
class CollabKey {
 public:
  // `file_key` is the key of the container `file_id` has at file record version `epoch`
  // (OpenFileKey, or EncryptContainer's / RekeyContainer's file_key_out); `epoch` is that
  // version, taken from a record the caller has verified (OpenFileRecord, CheckFileRecord).
  // errc::invalid_argument when epoch is 0 or above collab::kMaxU64Field.
  [[nodiscard]] static result<CollabKey> Make(const Secret<32>& file_key,
                                              const collab::FileId& file_id, std::uint64_t epoch);

  CollabKey(CollabKey&&) noexcept = default;
  CollabKey& operator=(CollabKey&&) noexcept = default;
  CollabKey(const CollabKey&) = delete;
  CollabKey& operator=(const CollabKey&) = delete;
  [[nodiscard]] CollabKey Clone() const;

  [[nodiscard]] const collab::FileId& file_id() const { return file_id_; }
  [[nodiscard]] std::uint64_t epoch() const { return epoch_; }

 private:
  friend struct collab_detail::KeyAccess;
  CollabKey(Secret<32> file_key, const collab::FileId& file_id, std::uint64_t epoch)
      : file_key_(std::move(file_key)), file_id_(file_id), epoch_(epoch) {}

  Secret<32> file_key_;
  collab::FileId file_id_{};
  std::uint64_t epoch_ = 0;
};

// How far a snapshot's state goes in one (author, session) stream of updates.
struct StreamPosition {
  std::string author;  // A valid user id.
  collab::SessionId session_id{};
  std::uint64_t last_counter = 0;  // The last update of the stream the state includes; >= 1.
  friend bool operator==(const StreamPosition&, const StreamPosition&) = default;
};

// What a snapshot carries, encrypted: the streams its state includes and the state itself
// (opaque: the CRDT's encoding).
struct SnapshotContents {
  std::vector<StreamPosition> streams;  // Any order when sealing; ascending when opened.
  std::vector<std::uint8_t> state;
  friend bool operator==(const SnapshotContents&, const SnapshotContents&) = default;
};

// One author's editing session under one key epoch: what a client makes when it joins (and
// again whenever it moves to a new epoch). Move-only; keys are wiped on destruction.
//
// Each kind of message has its own key and counter. A counter is never used twice: it is
// the nonce, so sealing a second plaintext under a used counter would break AES-GCM. That is
// why the library, not the caller, picks session ids and counters, and why a client that
// must send an update again (no ack before its connection broke) resends the frame it kept,
// byte for byte, rather than sealing it again.
class CollabSession {
 public:
  // Starts a session of `author` under `key`: a fresh random session id, every counter at 1.
  // Derives the session's three keys now and keeps no copy of the file key.
  [[nodiscard]] static result<CollabSession> Start(const CollabKey& key, const Identity& author);

  CollabSession(CollabSession&&) noexcept = default;
  CollabSession& operator=(CollabSession&&) noexcept = default;

  [[nodiscard]] const collab::SessionId& session_id() const { return session_id_; }
  [[nodiscard]] const collab::FileId& file_id() const { return file_id_; }
  [[nodiscard]] std::uint64_t epoch() const { return epoch_; }
  [[nodiscard]] const std::string& author() const { return author_; }
  // The counter the next SealUpdate will use.
  [[nodiscard]] std::uint64_t next_update_counter() const { return next_update_; }

  // Seals `payload` (0..collab::kMaxUpdatePayload bytes: the CRDT's update) as this
  // session's next update. Errors: invalid_argument (`author` is not the identity the session
  // was started with), too_large (payload over the limit, or the counter exhausted: start a
  // new session). The counter advances only on success.
  [[nodiscard]] result<collab::Sealed> SealUpdate(const Identity& author,
                                                  std::span<const std::uint8_t> payload);

  // Seals a snapshot whose state includes exactly the updates with sequence numbers up to
  // `through_seq` and nothing else; `contents.streams` lists how far it goes in each stream
  // (UpdateOrderChecker::Positions() of the checker that accepted them). Call it only when
  // this session has no unacknowledged update (an unacknowledged one has no sequence number
  // yet, so the snapshot would include an update beyond through_seq), and let through_seq
  // cover every update of an older epoch (docs/collab.md, "Snapshots").
  // Errors: invalid_argument (wrong author; a stream with an invalid user id, a zero or
  // over-2^63 counter, or listed twice; through_seq over 2^63 - 1), too_large (more than
  // kMaxSnapshotStreams streams, a plaintext over collab::kMaxSnapshotPlaintext, or the
  // snapshot counter exhausted).
  [[nodiscard]] result<collab::SealedSnapshot> SealSnapshot(const Identity& author,
                                                            std::uint64_t through_seq,
                                                            const SnapshotContents& contents);

  // Seals a presence message (0..collab::kMaxPresencePayload bytes: cursor, selection, ...).
  // Errors as SealUpdate.
  [[nodiscard]] result<collab::Sealed> SealPresence(const Identity& author,
                                                    std::span<const std::uint8_t> payload);

 private:
  CollabSession() = default;

  collab::FileId file_id_{};
  std::uint64_t epoch_ = 0;
  std::string author_;
  Fingerprint author_fingerprint_{};
  collab::SessionId session_id_{};
  Secret<32> update_key_;
  Secret<32> snapshot_key_;
  Secret<32> presence_key_;
  std::uint64_t next_update_ = 1;
  std::uint64_t next_snapshot_ = 1;
  std::uint64_t next_presence_ = 1;
};

// An opened update or presence message.
struct OpenedMessage {
  collab::SealedHead head;            // Authentic: bound by the signature and the AEAD.
  std::vector<std::uint8_t> payload;  // The plaintext.
};

struct OpenedSnapshot {
  collab::SealedHead head;
  std::uint64_t through_seq = 0;
  SnapshotContents contents;  // Streams strictly ascending by (author, session id).
};

// Opens an update. `key` is the caller's key for epoch update.head.epoch; `author` is the
// caller's pinned bundle for the user id update.head.author names. In this order:
//  - malformed: the head or the ciphertext size breaks the wire rules (a struct that did
//    not come from collab::DecodeFrame);
//  - record_mismatch: the head's file id or epoch is not the key's (an update copied from
//    another file, or the key of another epoch);
//  - untrusted_signer: the head's author is not `author`'s user id;
//  - bad_signature: the signature does not verify under `author`'s signing key;
//  - record_mismatch: the ciphertext does not open: an authentic update sealed under
//    another file key (a member who was removed by a rekey and still holds an old key).
[[nodiscard]] result<OpenedMessage> OpenUpdate(const collab::Sealed& update, const CollabKey& key,
                                               const PublicBundle& author);

// Opens a snapshot: as OpenUpdate, then malformed when the plaintext's stream list breaks
// its rules (docs/collab.md, "Snapshot plaintext").
[[nodiscard]] result<OpenedSnapshot> OpenSnapshot(const collab::SealedSnapshot& snapshot,
                                                  const CollabKey& key, const PublicBundle& author);

// Opens a presence message, as OpenUpdate. A presence message never opens as an update or
// the reverse (separate keys and labels): bad_signature.
[[nodiscard]] result<OpenedMessage> OpenPresence(const collab::Sealed& presence,
                                                 const CollabKey& key, const PublicBundle& author);

// What a receiver has accepted of one file's updates, and the checks that keep a server from
// dropping, reordering, replaying or injecting updates (or serving stale-epoch ones) unseen.
// One per document a client has open; it spans connections (call Reconnect() on each new one).
//
// Streams are (author, session id); in each, counters must arrive 1, 2, 3, ... Sequence
// numbers are the server's claim and unauthenticated, but they must strictly increase over
// everything the server delivers on a connection, acks included. Key epochs never decrease
// along the sequence (the server refuses older-epoch frames once the file's version moved).
//
// Only authentic heads go in: of updates OpenUpdate accepted, and of this client's own updates
// (the head it sealed) when the server acknowledges them. An error means the frame must not be
// applied; what to do next is docs/collab.md, "Receiving" (in short: resume on a new
// connection after last_accepted_seq(); if it happens again, tell the user the server
// misbehaves).
class UpdateOrderChecker {
 public:
  // Checks an update with sequence number `seq` (a relay's, or the ack's for this client's
  // own update), in this order:
  //  - replayed: the counter is below the stream's next (accepted before, or included in the
  //    snapshot the checker started from);
  //  - reordered: seq is not above every sequence number delivered on this connection;
  //  - stale_epoch: the epoch is below epoch_floor();
  //  - update_gap: the counter is above the stream's next (an earlier update of the stream
  //    was dropped or withheld; a new stream starts at 1).
  // On success the stream advances, seq becomes last_accepted_seq() and the floor rises to
  // the update's epoch. After stale_epoch or update_gap, seq still counts as delivered.
  // errc::invalid_argument for seq 0 or an invalid head (never from a decoded frame).
  [[nodiscard]] result<void> AcceptUpdate(std::uint64_t seq, const collab::SealedHead& head);

  // Adopts a snapshot as the new baseline: the streams become the snapshot's (next counter =
  // last_counter + 1), everything up to through_seq counts as delivered and accepted, and the
  // floor rises to the snapshot's epoch. In this order:
  //  - stale_epoch: the snapshot's epoch is below epoch_floor();
  //  - rolled_back: through_seq is below last_accepted_seq(), or the snapshot leaves out an
  //    update this checker accepted (a stream's counter below what was accepted): the server
  //    serves an older state, or the snapshot's author saw a different history (a fork).
  // A fresh checker (a late joiner) accepts any opened snapshot.
  [[nodiscard]] result<void> AcceptSnapshot(const OpenedSnapshot& snapshot);

  // Checks a presence message (opened by OpenPresence): stale_epoch below the floor;
  // replayed when its counter is not above the last accepted for its stream. Presence is
  // lossy by design (the server may drop it), so a gap is not an error.
  [[nodiscard]] result<void> AcceptPresence(const collab::SealedHead& head);

  // Raises the floor: frames of older epochs are refused from now on. Call it when the server
  // says the file moved to `epoch` (error stale_epoch), having verified that version's file
  // record; an honest server has delivered every older-epoch update before saying so.
  void RaiseEpochFloor(std::uint64_t epoch) noexcept;

  // Forgets sequence numbers delivered but not accepted on the previous connection and
  // returns the sequence number to resume after (Join::resume_after).
  std::uint64_t Reconnect() noexcept;

  [[nodiscard]] std::uint64_t last_accepted_seq() const noexcept { return last_accepted_seq_; }
  [[nodiscard]] std::uint64_t epoch_floor() const noexcept { return floor_; }
  // The next counter expected from a stream (1 for a stream not seen).
  [[nodiscard]] std::uint64_t NextCounter(std::string_view author,
                                          const collab::SessionId& session_id) const;
  // Every stream's last accepted counter, ascending by (author, session id): what a snapshot
  // of the state this checker describes lists.
  [[nodiscard]] std::vector<StreamPosition> Positions() const;

 private:
  using StreamKey = std::pair<std::string, collab::SessionId>;
  struct Stream {
    std::uint64_t next_counter = 1;
    std::uint64_t last_seq = 0;  // Sequence number of its last accepted update (or snapshot).
  };

  std::map<StreamKey, Stream> streams_;
  std::map<StreamKey, std::uint64_t> presence_;  // Last presence counter.
  std::uint64_t floor_ = 0;
  std::uint64_t last_seen_seq_ = 0;      // Highest seq delivered on this connection.
  std::uint64_t last_accepted_seq_ = 0;  // Highest seq accepted (or covered by the snapshot).
};

}  // namespace strongroom::crypto
