// Co-editing relay, wire format: the binary WebSocket messages of /api/v1/collab/{file_id}.
//
// Every WebSocket binary message is exactly one frame:
//
//   frame   version (0x01) ‖ type ‖ body        fixed-size big-endian integers, u8-length-
//                                               prefixed user ids, u32-length-prefixed
//                                               ciphertexts, no trailing bytes
//
// Clients send join, update, snapshot and presence; the server sends welcome, the relayed
// forms of update, snapshot and presence (with the fields it assigns: sequence number and
// time), ack and error. Updates, snapshots and presence carry a *sealed* part made by the
// author's client (AES-256-GCM under a key only members have, signed with the author's
// Ed25519 key); this codec reads and writes its public head (file id, key epoch, author,
// session id, counter, and for snapshots the sequence number covered) and treats the
// ciphertext and signature as opaque bytes. Sealing and opening are crypto/collab.h.
//
// The byte grammar, the limits, the error codes and the server's rules are normative in
// docs/collab.md; this header follows it.
//
// This is the part the server links: no key, no crypto library, no I/O. Decoding is strict
// (every field within its bounds, one encoding per message: EncodeFrame(DecodeFrame(b)) == b)
// and total: any input gives a message or a typed error (malformed, truncated, too_large,
// unsupported_version), never a crash or an allocation larger than the input.
//
// Nothing a decoder returns is authenticated: a relay's sequence number and time are what the
// server claims, and a sealed head is what someone claims until crypto::OpenUpdate (or
// OpenSnapshot, OpenPresence) verifies it.
//
// Thread-safety: functions are reentrant.
#pragma once

#include "strongroom/error.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace strongroom::collab {

inline constexpr std::uint8_t kProtocolVersion = 1;

inline constexpr std::size_t kFileIdSize = 16;
inline constexpr std::size_t kSessionIdSize = 16;
inline constexpr std::size_t kSignatureSize = 64;
inline constexpr std::size_t kTagSize = 16;  // AES-256-GCM tag, the end of every ciphertext.
inline constexpr std::size_t kMaxUserIdSize = 255;
inline constexpr std::size_t kMaxErrorMessageSize = 255;

// Every u64 on the wire (epochs, counters, sequence numbers, times) is at most 2^63 - 1, so
// a server can keep them in signed 64-bit columns.
inline constexpr std::uint64_t kMaxU64Field = 0x7fffffffffffffffull;

// Plaintext limits (docs/collab.md, "Limits"). A ciphertext is the plaintext plus the tag.
inline constexpr std::size_t kMaxUpdatePayload = std::size_t{256} * 1024;
inline constexpr std::size_t kMaxPresencePayload = std::size_t{4} * 1024;
// The whole snapshot plaintext: its stream list and the document state.
inline constexpr std::size_t kMaxSnapshotPlaintext = std::size_t{16} * 1024 * 1024;
// The smallest snapshot plaintext is its u32 stream count (no streams, empty state).
inline constexpr std::size_t kMinSnapshotPlaintext = 4;

// The largest head: file id, epoch, author (u8 length and 255 bytes), session id, counter.
inline constexpr std::size_t kMaxHeadSize =
    kFileIdSize + 8 + 1 + kMaxUserIdSize + kSessionIdSize + 8;
// The largest frame of any type: a relayed snapshot (version, type, time, head,
// through_seq, ct_len, ciphertext, signature). A server sets its WebSocket message limit to
// this (or lower: see docs/collab.md).
inline constexpr std::size_t kMaxFrameSize =
    2 + 8 + kMaxHeadSize + 8 + 4 + (kMaxSnapshotPlaintext + kTagSize) + kSignatureSize;

using FileId = std::array<std::uint8_t, kFileIdSize>;
using SessionId = std::array<std::uint8_t, kSessionIdSize>;
using Signature = std::array<std::uint8_t, kSignatureSize>;

enum class MessageType : std::uint8_t {
  // Client to server.
  join = 0x01,
  update = 0x02,
  snapshot = 0x03,
  presence = 0x04,
  // Server to client.
  welcome = 0x11,
  update_relay = 0x12,
  snapshot_relay = 0x13,
  presence_relay = 0x14,
  ack = 0x15,
  error = 0x16,
};

// Which way a frame travels. A decoder is told which way it reads, so a client frame sent to
// a client (or the reverse) is malformed rather than misread.
enum class Direction { to_server, to_client };

// The public head of a sealed update, snapshot or presence message: what the server routes
// by and what the AEAD's associated data and the signature bind.
struct SealedHead {
  FileId file_id{};           // The container's file id (docs/format.md section 7).
  std::uint64_t epoch = 0;    // Key epoch: the file record version the key comes from; 1..2^63-1.
  std::string author;         // The author's user id: 1..255 bytes of 0x21..0x7E.
  SessionId session_id{};     // Random per session, made by the author's client.
  std::uint64_t counter = 0;  // Per session and message kind, from 1; 1..2^63-1.
  friend bool operator==(const SealedHead&, const SealedHead&) = default;
};

// A sealed update or presence message.
struct Sealed {
  SealedHead head;
  std::vector<std::uint8_t> ciphertext;  // kTagSize.. bytes; the upper bound depends on the kind.
  Signature signature{};
  friend bool operator==(const Sealed&, const Sealed&) = default;
};

// A sealed snapshot: the document state covering every update up to server sequence number
// `through_seq` (0: none, a starting state).
struct SealedSnapshot {
  SealedHead head;  // head.counter counts this session's snapshots.
  std::uint64_t through_seq = 0;
  std::vector<std::uint8_t> ciphertext;
  Signature signature{};
  friend bool operator==(const SealedSnapshot&, const SealedSnapshot&) = default;
};

// --- client to server -----------------------------------------------------------------------

// The first frame on a connection. Without `resume_after` the server sends the newest
// snapshot (if any) and every update after it; with it, every update with a larger sequence
// number (0: all it has), or error resume_unavailable when it no longer has them all.
struct Join {
  FileId file_id{};
  std::uint64_t epoch = 0;  // The key epoch the client holds; 1..2^63-1.
  std::optional<std::uint64_t> resume_after;
  friend bool operator==(const Join&, const Join&) = default;
};

struct Update {
  Sealed sealed;
  friend bool operator==(const Update&, const Update&) = default;
};

struct Snapshot {
  SealedSnapshot sealed;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// Never stored, never acknowledged: relayed to the file's other connections, or dropped.
struct Presence {
  Sealed sealed;
  friend bool operator==(const Presence&, const Presence&) = default;
};

// --- server to client -----------------------------------------------------------------------

// The answer to a join: where the file's history stands. What follows it is the snapshot
// covering `snapshot_seq` (when not 0 and the join did not resume), then update relays.
struct Welcome {
  FileId file_id{};
  std::uint64_t epoch = 0;         // The file's current key epoch (record version); >= 1.
  std::uint64_t head_seq = 0;      // The highest sequence number assigned so far (0: none).
  std::uint64_t snapshot_seq = 0;  // through_seq of the snapshot that follows; 0: none follows.
  friend bool operator==(const Welcome&, const Welcome&) = default;
};

struct UpdateRelay {
  std::uint64_t seq = 0;             // Assigned by the server: 1.., strictly increasing per file.
  std::uint64_t server_time_ms = 0;  // When the server stored it (Unix ms). Informational only.
  Sealed sealed;                     // Byte for byte what the author sent.
  friend bool operator==(const UpdateRelay&, const UpdateRelay&) = default;
};

struct SnapshotRelay {
  std::uint64_t server_time_ms = 0;
  SealedSnapshot sealed;
  friend bool operator==(const SnapshotRelay&, const SnapshotRelay&) = default;
};

struct PresenceRelay {
  std::uint64_t server_time_ms = 0;
  Sealed sealed;
  friend bool operator==(const PresenceRelay&, const PresenceRelay&) = default;
};

// Sent to the author once its update or snapshot is durably stored.
struct Ack {
  MessageType of = MessageType::update;  // update or snapshot.
  SessionId session_id{};
  std::uint64_t counter = 0;  // The acknowledged frame's head.counter; >= 1.
  std::uint64_t seq = 0;      // update: its sequence number (>= 1); snapshot: its through_seq.
  std::uint64_t server_time_ms = 0;
  friend bool operator==(const Ack&, const Ack&) = default;
};

// Error codes of the error message (docs/collab.md, "Errors"). A decoder accepts any value,
// so an older client can still show a newer server's code as a number.
enum class ErrorCode : std::uint16_t {
  malformed = 1,            // fatal: a frame that does not decode
  unsupported_version = 2,  // fatal
  too_large = 3,            // fatal: a frame or field over its limit
  not_joined = 4,           // fatal: a frame before join, or a second join
  wrong_file = 5,           // fatal: a file id other than the connection's
  stale_epoch = 6,          // the file is at another epoch (in `epoch`): refresh, join again
  forbidden = 7,            // fatal: not (or no longer) a member of the file
  not_found = 8,            // fatal: no such file
  resume_unavailable = 9,   // the server no longer has every update after resume_after
  wrong_author = 10,        // fatal: a head whose author is not the signed-in user
  bad_signature = 11,       // fatal: the server checked the signature and it failed
  duplicate = 12,           // fatal: that (author, session, counter) is stored with other bytes
  out_of_order = 13,        // fatal: a counter that is not its session's next one
  snapshot_rejected = 14,   // a snapshot beyond the head, or older than the kept one
  rate_limited = 15,        // the frame was dropped; slow down
  tail_full = 16,           // too many updates since the last snapshot: post a snapshot
  slow_consumer = 17,       // fatal: the send queue overflowed; resume on a new connection
  shutting_down = 18,       // fatal
  internal = 19,            // fatal
};

// The code's stable name as docs/collab.md section 10 spells it ("stale_epoch"), for logs,
// JSON and messages; "unknown" for a value outside the enumeration.
[[nodiscard]] std::string_view ErrorCodeName(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::uint64_t epoch = 0;  // stale_epoch: the file's current epoch; otherwise 0.
  SessionId session_id{};   // The refused frame's session and counter; zero when none.
  std::uint64_t counter = 0;
  std::string message;  // 0..255 bytes of 0x20..0x7E, for logs; never user content.
  friend bool operator==(const Error&, const Error&) = default;
};

using Message = std::variant<Join, Update, Snapshot, Presence, Welcome, UpdateRelay, SnapshotRelay,
                             PresenceRelay, Ack, Error>;

[[nodiscard]] MessageType TypeOf(const Message& message) noexcept;
[[nodiscard]] Direction DirectionOf(MessageType type) noexcept;

// Decodes one frame travelling in `direction`. Errors, in the order they are checked:
//  - too_large: the frame is longer than kMaxFrameSize;
//  - truncated: the frame is empty;
//  - unsupported_version: a version byte other than 1;
//  - truncated: no type byte;
//  - malformed: an unknown type, or one that travels the other way;
//  - then field by field, in frame order: truncated when the frame ends inside a field
//    (also a ciphertext shorter than its declared length, or a missing signature);
//    malformed for a value out of its bounds (a zero or over-2^63 counter, an invalid user
//    id, a join flag other than 0 or 1, a ciphertext length under its minimum, an error
//    message byte outside 0x20..0x7E, ...); too_large for a ciphertext length over its
//    kind's limit;
//  - malformed: bytes after the last field.
[[nodiscard]] result<Message> DecodeFrame(std::span<const std::uint8_t> frame, Direction direction);

// Encodes a message. errc::invalid_argument when a field breaks a rule DecodeFrame checks
// (the encoder never writes what the decoder would refuse).
[[nodiscard]] result<std::vector<std::uint8_t>> EncodeFrame(const Message& message);

// The head's bytes as they appear in a frame:
//   file_id[16] ‖ u64 epoch ‖ u8 len(author) ‖ author ‖ session_id[16] ‖ u64 counter
// and for a snapshot followed by u64 through_seq. What the associated data and the signature
// of a sealed message bind (crypto/collab.h). The caller has checked the head (IsValidHead).
[[nodiscard]] std::vector<std::uint8_t> EncodeHead(const SealedHead& head);
[[nodiscard]] std::vector<std::uint8_t> EncodeHead(const SealedSnapshot& snapshot);

// Field rules shared by encoding and decoding.
// A user id: 1..255 bytes of 0x21..0x7E (docs/format.md section 1).
[[nodiscard]] bool IsValidUserId(std::string_view id) noexcept;
// A valid user id, epoch and counter in 1..kMaxU64Field.
[[nodiscard]] bool IsValidHead(const SealedHead& head) noexcept;

}  // namespace strongroom::collab
