// Co-editing from the client's side: one document, edited together through the server's relay
// at /api/v1/collab/{file_id}, end-to-end encrypted (docs/collab.md is the protocol).
//
// What a CollabClient does for its application (a CRDT such as Yjs sits on top and sees only
// opaque byte strings):
//
//   Connect()      opens a WebSocket (wss:// with the same certificate and loopback rules as
//                  HttpTransport), authenticated by the session's bearer token, and joins the
//                  file; every Connect() after the first resumes after the last update it
//                  accepted, so nothing is delivered twice and nothing is skipped
//   SendUpdate()   seals the application's update as this session's next one and sends it;
//                  the frame is kept until the server acknowledges it, and resent BYTE FOR
//                  BYTE after a reconnection (re-sealing would reuse an AES-GCM nonce)
//   SendSnapshot() seals the application's full state at last_accepted_seq()
//   SendPresence() seals a cursor/selection message (never stored, never acknowledged)
//   Next()         waits for the next event: a verified update, a snapshot to load, someone's
//                  presence, an ack of one of ours, "live" (caught up), or a server notice
//
// The trust rule: the server is a relay that is NOT trusted (docs/threat-model.md). Every frame
// it sends is opened with the file key and the author's PINNED public key
// (crypto::OpenUpdate/OpenSnapshot/OpenPresence), then run through crypto::UpdateOrderChecker,
// and only then delivered. A frame that fails is never delivered: Next() returns a
// CollabError naming what the server did (dropped, reordered, replayed, wrong_file,
// forged_author, untrusted_author, stale_epoch, rolled_back, ...) and closes the connection.
// What to do then is docs/collab.md section 7.2: Connect() again (an honest server that had a
// hiccup now delivers the missing frames); if the same failure comes back, tell the user the
// server is misbehaving and stop editing.
//
// Ordering guarantees of what Next() delivers:
//   - updates in the server's sequence order, each exactly once over the client's lifetime
//     (also across reconnections), and per author session in counter order without holes;
//   - the application's own updates are never delivered back as CollabUpdate (it applied them
//     when it made them); it sees CollabAcked instead, in sequence order with everyone else's;
//   - a CollabSnapshot replaces the application's state: it comes only first after a join
//     without resume (a late joiner), before the updates that follow it;
//   - CollabLive once per connection, when everything the server had at join time has been
//     delivered and our unacknowledged frames have been resent.
//
// I/O model: blocking, pull-based. The client does network I/O only inside its calls (each
// with a deadline); nothing runs in the background. An application calls Next() in a loop (its
// timeout bounds how long an edit waits to be sent when the loop also sends) and must call it
// regularly: the server's keep-alive pings are answered only while Next() runs.
//
// Bounds: at most max_unacked_frames / max_unacked_bytes sealed but unacknowledged updates
// (SendUpdate fails with buffer_full beyond: wait for acks); one incoming frame at a time, at
// most collab::kMaxFrameSize bytes (the WebSocket reader refuses larger).
//
// Secrets: the file key and the derived keys live in crypto::Secret; the bearer token in a
// SecretString. Errors and their messages never contain keys, tokens or document content (only
// sequence numbers, counters and user ids), so they can be logged.
//
// Thread-safety: none. One owner calls everything (move the object between threads if needed).
//
// New key epochs: when the file gets a new version the server says stale_epoch (CollabNotice,
// with the new epoch). The application verifies the new record with room.h
// (Room::OpenForCollab), which gives the epoch's file key, and calls MoveToEpoch() on the same
// client: the connection stays, and frames of older epochs are refused from then on. After a rekey (the file key changed) a member MUST
// then write a snapshot at the new epoch (docs/collab.md 6.1): members who join later hold
// only the new key.
#pragma once

#include "strongroom/client/client_error.h"
#include "strongroom/client/http_transport.h"
#include "strongroom/client/secret_string.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/secret.h"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace strongroom::client {

// --- errors ---------------------------------------------------------------------------------

enum class CollabFault {
  // The server broke a guarantee of docs/collab.md (an attack, or a server bug). The frame was
  // not delivered and the connection is closed; Connect() resumes after the last good update.
  dropped,           // An update is missing from an author's session (errc::update_gap).
  reordered,         // Sequence numbers went backwards (errc::reordered).
  replayed,          // An update, presence or snapshot already accepted came again.
  wrong_file,        // A frame sealed for another document (copied from another file).
  forged_author,     // The signature is not the named author's (errc::bad_signature).
  untrusted_author,  // The named author is not a member whose key is pinned.
  stale_epoch,       // A frame of an older key epoch than this client already uses.
  rolled_back,       // A snapshot older than, or forked from, what this client accepted.
  undecryptable,     // Authentic, but sealed under a key this client does not have (a member
                     // removed by a rekey, or an epoch whose key the caller did not give).
  protocol,          // A frame that does not decode, a text message, a frame that does not
                     // belong here (a welcome twice, a snapshot after updates, an ack of
                     // nothing).
  // The connection.
  network,         // Resolve, connect, TLS, WebSocket handshake (with its HTTP status), I/O.
  timeout,         // A deadline passed (connect, join, write).
  closed,          // The server closed the connection (with `server_code` when it said why).
  server_refused,  // The server sent a fatal error frame (`server_code`), or refused the
                   // upgrade (`http_status`: 401 signed out, 404 no such file or no access).
  // The caller.
  not_connected,     // Connect() first (or again, after an error).
  read_only,         // The client was made without an identity: it cannot send.
  buffer_full,       // Too many unacknowledged updates; wait for acks (Next) and retry.
  too_large,         // A payload over its limit (docs/collab.md, "Limits").
  unacked_pending,   // SendSnapshot while own updates are unacknowledged (docs/collab.md 6.1).
  invalid_argument,  // Options that cannot work (no members, bad epoch, ...).
};

// The stable name of a fault ("dropped"), for JSON, logs and Error::code.
[[nodiscard]] std::string_view CollabFaultName(CollabFault fault) noexcept;

struct CollabError {
  CollabFault fault = CollabFault::protocol;
  // The library error under the fault, when there is one (errc::update_gap, bad_signature...).
  std::optional<errc> code;
  // The server's error frame code, for closed / server_refused.
  std::optional<collab::ErrorCode> server_code;
  int http_status = 0;    // server_refused / network during the upgrade: the HTTP status.
  std::uint64_t seq = 0;  // The offending relay's sequence number, when it had one.
  std::string author;     // The user id the offending frame claimed (unverified), or "".
  std::string message;    // For people and logs: what happened, with seq and author.

  // True for the faults that mean the server misbehaved (section 7.2 applies).
  [[nodiscard]] bool IsServerMisbehaviour() const noexcept;
  // The CLI's form: Kind::refused for misbehaviour, network/server/usage for the others;
  // Error::code is CollabFaultName(fault).
  [[nodiscard]] Error ToClientError() const;
};

template <class T>
using CollabResult = boost::system::result<T, CollabError>;

// Found by argument-dependent lookup when `.value()` is called on a failed CollabResult.
[[noreturn]] void throw_exception_from_error(const CollabError& e,
                                             const boost::source_location& loc);

// --- events ---------------------------------------------------------------------------------

// Someone else's update, verified and in order: apply `payload` to the document.
struct CollabUpdate {
  std::uint64_t seq = 0;             // The server's sequence number (checked increasing).
  std::uint64_t server_time_ms = 0;  // The server's claim; display only.
  std::string author;                // Verified: signed with this user id's pinned key.
  collab::SessionId session_id{};
  std::uint64_t counter = 0;  // Position in the author's session (1, 2, 3, ...).
  std::uint64_t epoch = 0;
  std::vector<std::uint8_t> payload;
};

// A verified snapshot: REPLACE the document state with `state`; the updates that follow
// continue from it. Only after a join without resume.
struct CollabSnapshot {
  std::uint64_t through_seq = 0;
  std::uint64_t server_time_ms = 0;
  std::string author;
  std::uint64_t epoch = 0;
  std::vector<crypto::StreamPosition> streams;
  std::vector<std::uint8_t> state;
};

// Someone's presence (cursor, selection): show it, never apply it to the document.
struct CollabPresence {
  std::uint64_t server_time_ms = 0;
  std::string author;
  collab::SessionId session_id{};
  std::vector<std::uint8_t> payload;
};

// The server stored one of our frames durably. For an update, `seq` is its place in the
// document's order (checked like everyone else's); `resumed` when the acknowledgement was the
// update coming back among the relays of a resumed join.
struct CollabAcked {
  collab::MessageType of = collab::MessageType::update;
  std::uint64_t counter = 0;
  std::uint64_t seq = 0;
  std::uint64_t server_time_ms = 0;
  bool resumed = false;
};

// Everything the server had when we joined is delivered and our unacknowledged updates are
// resent: from here on, events are live.
struct CollabLive {
  std::uint64_t head_seq = 0;
};

// A non-fatal error frame: rate_limited (a frame was dropped; when it was one of our updates
// the connection is closed after this notice, as the updates after it would be out of order:
// Connect() again, later, resends them), tail_full (write a snapshot), snapshot_rejected,
// stale_epoch (the file moved to `epoch`: refresh, make a new client), resume_unavailable.
// Nothing was applied.
struct CollabNotice {
  collab::ErrorCode code = collab::ErrorCode::internal;
  std::uint64_t epoch = 0;
  std::uint64_t counter = 0;  // Of the refused frame of ours, or 0.
  std::string message;        // The server's text, made printable.
};

using CollabEvent =
    std::variant<CollabUpdate, CollabSnapshot, CollabPresence, CollabAcked, CollabLive, CollabNotice>;

// --- the client -----------------------------------------------------------------------------

struct CollabOptions {
  ServerUrl server;
  std::string ca_file;  // PEM CAs to trust for wss://; empty: the system's store.
  SecretString token;   // The session's bearer token (Authorization header of the upgrade).
  std::string user_agent;

  collab::FileId file_id{};
  // The file's current key epoch (its verified record's version) and that container's file
  // key (room.h: Room::OpenForCollab). Frames of older epochs are opened with the same file
  // key (docs/collab.md 7.3); if it is not theirs, they fail as `undecryptable`.
  std::uint64_t epoch = 0;
  crypto::Secret<32> file_key;
  // The pinned public keys of everyone whose frames this client accepts, by user id (the
  // identity's own key included when it has one). A frame naming anyone else is
  // untrusted_author.
  std::map<std::string, crypto::PublicBundle> members;
  // The signing identity; nullptr makes a read-only client (it joins and receives only). Not
  // owned: it must outlive the client.
  const crypto::Identity* identity = nullptr;

  // How the FIRST Connect() joins (later ones always resume after last_accepted_seq()):
  // nullopt joins without resume (the kept snapshot, then the updates after it: a late
  // joiner); 0 resumes after 0, i.e. every update the server still has (`strongroom collab
  // log`; the server answers resume_unavailable when it discarded some behind a snapshot).
  // Nothing else: a new client knows no stream, so it could not check updates after N > 0.
  std::optional<std::uint64_t> resume_after;

  std::chrono::milliseconds connect_timeout{30000};  // Resolve, TCP, TLS, upgrade, welcome.
  std::chrono::milliseconds write_timeout{30000};    // One frame.
  std::size_t max_unacked_frames = 1024;
  std::size_t max_unacked_bytes = std::size_t{32} << 20;
};

class CollabClient {
 public:
  // Checks the options and derives this epoch's key; starts a new random session when there
  // is an identity. No connection yet. invalid_argument (no members, epoch 0, an identity
  // that is not among the members), network (the CA file does not load).
  [[nodiscard]] static CollabResult<CollabClient> Create(CollabOptions options);

  CollabClient(CollabClient&&) noexcept;
  CollabClient& operator=(CollabClient&&) noexcept;
  ~CollabClient();

  // Connects and joins; returns the server's welcome. Closes a previous connection first. The
  // first call joins as CollabOptions::resume_after says; every later one resumes after
  // last_accepted_seq(). Faults: network, timeout, closed, protocol (a welcome for another
  // file), server_refused (an error frame instead of a welcome; server_code stale_epoch, also
  // for a welcome at another epoch, means the file has a newer version: refresh the record and
  // make a new client).
  [[nodiscard]] CollabResult<collab::Welcome> Connect();

  // Closes the connection (a WebSocket close). Unacknowledged updates stay kept for the next
  // Connect().
  void Disconnect();

  // Moves to key epoch `epoch` (above epoch()) whose container file key is `file_key`, after
  // the server said stale_epoch and the application verified that version (see the top of
  // this file). Starts a new session (one session is one epoch), raises the receiver's epoch
  // floor (a frame of an older epoch is refused from then on), and seals again,
  // in order, every update of ours the server has not acknowledged (an honest server refused
  // them with stale_epoch): returns how many. Stays connected; a Connect() later joins at the
  // new epoch. Faults: invalid_argument (an epoch not above the current one).
  [[nodiscard]] CollabResult<std::size_t> MoveToEpoch(std::uint64_t epoch,
                                                      const crypto::Secret<32>& file_key);

  // Seals `payload` (the CRDT update, up to collab::kMaxUpdatePayload bytes) as the next
  // update and sends it, or, while catching up after a (re)connection or when disconnected,
  // queues it to be sent once live. Returns its counter. Faults: read_only, too_large,
  // buffer_full; network/timeout when the write fails (the frame stays kept: Connect() again).
  [[nodiscard]] CollabResult<std::uint64_t> SendUpdate(std::span<const std::uint8_t> payload);

  // Seals `state` (the document with exactly the updates up to last_accepted_seq() applied) as
  // a snapshot listing the streams the checker accepted, and sends it; the server's ack comes
  // as CollabAcked{of = snapshot}. Faults: read_only, not_connected (and not live),
  // unacked_pending, too_large, network, timeout.
  [[nodiscard]] CollabResult<void> SendSnapshot(std::span<const std::uint8_t> state);

  // Seals and sends a presence message (up to collab::kMaxPresencePayload bytes). Lossy: while
  // not live it is dropped (returns false), never queued. Faults: read_only, too_large,
  // network, timeout.
  [[nodiscard]] CollabResult<bool> SendPresence(std::span<const std::uint8_t> payload);

  // Waits up to `timeout` for the next event; nullopt when none came in time (nothing is
  // lost: call again). A fault closes the connection (see the top of this file).
  [[nodiscard]] CollabResult<std::optional<CollabEvent>> Next(std::chrono::milliseconds timeout);

  [[nodiscard]] bool connected() const;
  [[nodiscard]] bool live() const;  // Connected and caught up (CollabLive delivered).
  [[nodiscard]] std::uint64_t epoch() const;
  // The highest sequence number accepted: where the next Connect() resumes.
  [[nodiscard]] std::uint64_t last_accepted_seq() const;
  // This session's id (zero for a read-only client) and the count of unacknowledged updates.
  [[nodiscard]] const collab::SessionId& session_id() const;
  [[nodiscard]] std::size_t unacked() const;

 private:
  struct Impl;
  explicit CollabClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// --- reading a document's history -----------------------------------------------------------

// What ReadHistory saw: every verified update up to the live edge.
struct HistoryEnd {
  std::uint64_t head_seq = 0;  // The welcome's head, which was reached.
  std::size_t updates = 0;     // How many updates were delivered to `on_update`.
  bool from_snapshot = false;  // The server started from a snapshot (older updates discarded).
};

// Connects `client` (made read-only, with resume_after = 0 to get every stored update, or
// nullopt to start at the kept snapshot) and calls `on_update` for each verified update, in
// order, until the welcome's head_seq is reached; a snapshot is passed to `on_snapshot` (may
// be empty). Stops at the first fault after one resumed retry (docs/collab.md 7.2: a second
// failure is the server misbehaving), or with `timeout` when the live edge is not reached in
// time (the server stalls). `timeout` bounds the whole read.
[[nodiscard]] CollabResult<HistoryEnd> ReadHistory(
    CollabClient& client, std::chrono::milliseconds timeout,
    const std::function<void(const CollabUpdate&)>& on_update,
    const std::function<void(const CollabSnapshot&)>& on_snapshot = {});

}  // namespace strongroom::client
