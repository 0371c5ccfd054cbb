// CollabClient (collab.h): the receiver's and sender's rules of docs/collab.md sections 6 and 7
// on top of one WebSocket connection at a time (collab_connection.h).
#include "strongroom/client/collab.h"

#include "client/collab_connection.h"
#include "client/net_connect.h"
#include "strongroom/crypto/encoding.h"

#include <boost/asio/ssl/context.hpp>
#include <boost/throw_exception.hpp>

#include <deque>
#include <stdexcept>

namespace strongroom::client {
namespace {

using collab_detail::Clock;
using collab_detail::Connection;
using collab_detail::IoError;
using Bytes = std::vector<std::uint8_t>;

// How many epochs' keys are kept derived at once. Frames name their epoch before they are
// verified, so the cache is bounded rather than trusting them to name few.
constexpr std::size_t kMaxCachedEpochKeys = 8;
// How long a close handshake may take before the socket is simply closed.
constexpr std::chrono::milliseconds kCloseTimeout{1000};

// docs/collab.md section 10: the codes after which the server keeps the connection open.
bool IsNonFatal(collab::ErrorCode code) {
  using C = collab::ErrorCode;
  return code == C::stale_epoch || code == C::resume_unavailable ||
         code == C::snapshot_rejected || code == C::rate_limited || code == C::tail_full;
}

std::string ShortId(const collab::SessionId& id) {
  return crypto::HexEncode(std::span(id)).substr(0, 8);
}

CollabError Make(CollabFault fault, std::string message) {
  CollabError e;
  e.fault = fault;
  e.message = std::move(message);
  return e;
}

CollabError FromIo(const IoError& io) {
  CollabError e;
  switch (io.what) {
    case IoError::What::timeout: e.fault = CollabFault::timeout; break;
    case IoError::What::declined: e.fault = CollabFault::server_refused; break;
    case IoError::What::closed: e.fault = CollabFault::closed; break;
    case IoError::What::text:
    case IoError::What::too_large: e.fault = CollabFault::protocol; break;
    case IoError::What::network: e.fault = CollabFault::network; break;
  }
  e.http_status = io.http_status;
  e.message = io.message;
  if (io.what == IoError::What::declined) {
    if (io.http_status == 401) e.message += ": the session has ended; sign in again";
    if (io.http_status == 404) e.message += ": no such file, or you have no access to it";
  }
  return e;
}

// The fault an opening or order-check error stands for, when the frame claimed `head`.
CollabFault FaultOf(errc code) {
  switch (code) {
    case errc::update_gap: return CollabFault::dropped;
    case errc::reordered: return CollabFault::reordered;
    case errc::replayed: return CollabFault::replayed;
    case errc::stale_epoch: return CollabFault::stale_epoch;
    case errc::rolled_back: return CollabFault::rolled_back;
    case errc::bad_signature: return CollabFault::forged_author;
    case errc::untrusted_signer: return CollabFault::untrusted_author;
    case errc::record_mismatch: return CollabFault::undecryptable;
    default: return CollabFault::protocol;
  }
}

std::string Explain(CollabFault fault) {
  switch (fault) {
    case CollabFault::dropped:
      return "an earlier update of this author's session is missing: the server dropped or "
             "withheld it";
    case CollabFault::reordered:
      return "the server's sequence numbers went backwards: it reordered updates";
    case CollabFault::replayed:
      return "this frame was already accepted: the server replayed it";
    case CollabFault::wrong_file:
      return "the frame was sealed for another document: the server copied it here";
    case CollabFault::forged_author:
      return "the signature is not the named author's: a forged author or altered frame";
    case CollabFault::untrusted_author:
      return "the named author is not a member whose key you pinned";
    case CollabFault::stale_epoch:
      return "the frame is under an older key epoch than this document already uses";
    case CollabFault::rolled_back:
      return "the snapshot is older than, or forked from, what this client accepted";
    case CollabFault::undecryptable:
      return "authentic, but sealed under a key this client does not have (a removed member's "
             "old key, or another version's)";
    default:
      return "the frame breaks the protocol";
  }
}

struct Pending {
  collab::Sealed sealed;  // Its head is what the ack's seq is checked with.
  Bytes frame;            // Exactly what was sent first: resent byte for byte.
};

// The application's payload of one of our own sealed updates, opened again with our key (for
// MoveToEpoch: an update the server never stored is sealed again under the new epoch).
CollabResult<Bytes> PayloadOf(const Pending& p, const crypto::CollabKey& key,
                              const crypto::PublicBundle& me) {
  auto opened = crypto::OpenUpdate(p.sealed, key, me);
  if (!opened) {
    return Make(CollabFault::invalid_argument,
                "cannot open our own unacknowledged update " +
                    std::to_string(p.sealed.head.counter) + ": " + opened.error().message());
  }
  return std::move(opened->payload);
}

}  // namespace

// --- errors ---------------------------------------------------------------------------------

std::string_view CollabFaultName(CollabFault fault) noexcept {
  switch (fault) {
    case CollabFault::dropped: return "dropped";
    case CollabFault::reordered: return "reordered";
    case CollabFault::replayed: return "replayed";
    case CollabFault::wrong_file: return "wrong_file";
    case CollabFault::forged_author: return "forged_author";
    case CollabFault::untrusted_author: return "untrusted_author";
    case CollabFault::stale_epoch: return "stale_epoch";
    case CollabFault::rolled_back: return "rolled_back";
    case CollabFault::undecryptable: return "undecryptable";
    case CollabFault::protocol: return "protocol";
    case CollabFault::network: return "network";
    case CollabFault::timeout: return "timeout";
    case CollabFault::closed: return "closed";
    case CollabFault::server_refused: return "server_refused";
    case CollabFault::not_connected: return "not_connected";
    case CollabFault::read_only: return "read_only";
    case CollabFault::buffer_full: return "buffer_full";
    case CollabFault::too_large: return "too_large";
    case CollabFault::unacked_pending: return "unacked_pending";
    case CollabFault::invalid_argument: return "invalid_argument";
  }
  return "unknown";
}

bool CollabError::IsServerMisbehaviour() const noexcept {
  switch (fault) {
    case CollabFault::dropped:
    case CollabFault::reordered:
    case CollabFault::replayed:
    case CollabFault::wrong_file:
    case CollabFault::forged_author:
    case CollabFault::untrusted_author:
    case CollabFault::stale_epoch:
    case CollabFault::rolled_back:
    case CollabFault::undecryptable:
    case CollabFault::protocol:
      return true;
    default:
      return false;
  }
}

Error CollabError::ToClientError() const {
  Error e;
  e.message = message;
  e.code = std::string(CollabFaultName(fault));
  if (IsServerMisbehaviour()) {
    e.kind = Error::Kind::refused;
  } else if (fault == CollabFault::server_refused) {
    e.kind = Error::Kind::server;
    e.status = http_status;
    if (server_code) e.code = std::string(collab::ErrorCodeName(*server_code));
  } else if (fault == CollabFault::network || fault == CollabFault::timeout ||
             fault == CollabFault::closed) {
    e.kind = Error::Kind::network;
  } else {
    e.kind = Error::Kind::usage;
  }
  return e;
}

void throw_exception_from_error(const CollabError& e, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(e.message), loc);
}

// --- the client -----------------------------------------------------------------------------

struct CollabClient::Impl {
  CollabOptions o;
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::map<std::uint64_t, crypto::CollabKey> keys;  // By epoch; at most kMaxCachedEpochKeys.
  // The file keys held before each MoveToEpoch(), by the epoch the move started: a key here
  // belongs to the epochs below its entry's (and at or above the previous entry's). The
  // checker refuses those epochs after a move anyway; with the right key such a frame opens
  // and is refused as stale_epoch, which names what happened, instead of undecryptable.
  std::map<std::uint64_t, crypto::Secret<32>> older_file_keys;
  std::optional<crypto::CollabSession> session;     // Unset: read-only.
  crypto::UpdateOrderChecker checker;

  std::deque<Pending> unacked;  // In counter order.
  std::size_t unacked_bytes = 0;
  std::optional<std::uint64_t> pending_snapshot;  // Counter of a snapshot awaiting its ack.

  std::unique_ptr<Connection> conn;
  bool joined_before = false;
  collab::Welcome welcome;
  bool expect_snapshot = false;  // The welcome announced one and it has not come yet.
  bool live = false;
  std::deque<CollabEvent> ready;          // Made by one frame, handed out one per Next().
  std::optional<CollabError> write_fault;  // A failed send, reported by the next Next().

  // --- keys ---

  CollabResult<const crypto::CollabKey*> KeyFor(std::uint64_t epoch) {
    if (auto it = keys.find(epoch); it != keys.end()) return &it->second;
    if (keys.size() >= kMaxCachedEpochKeys) {
      // Keep the current epoch's key; older ones are derived again when needed.
      for (auto it = keys.begin(); it != keys.end();) {
        it = it->first == o.epoch ? std::next(it) : keys.erase(it);
      }
    }
    // docs/collab.md 7.3: an older epoch without a key change has the same file key. Epochs
    // below the one a MoveToEpoch() started use the file key this client held before it.
    const crypto::Secret<32>* file_key = &o.file_key;
    if (auto it = older_file_keys.upper_bound(epoch); it != older_file_keys.end()) {
      file_key = &it->second;
    }
    auto key = crypto::CollabKey::Make(*file_key, o.file_id, epoch);
    if (!key) {
      return Make(CollabFault::protocol, "a frame names key epoch " + std::to_string(epoch) +
                                             ", which is out of range");
    }
    return &keys.emplace(epoch, std::move(*key)).first->second;
  }

  [[nodiscard]] bool IsMine(const collab::SealedHead& head) const {
    return session && head.author == session->author() && head.session_id == session->session_id();
  }

  // --- faults ---

  // A frame failed a check: never delivered; the connection is closed (docs/collab.md 7.2).
  CollabError Refuse(CollabFault fault, std::optional<errc> code, std::uint64_t seq,
                     const collab::SealedHead& head, std::string_view kind) {
    CollabError e;
    e.fault = fault;
    e.code = code;
    e.seq = seq;
    e.author = head.author;
    e.message = "refused " + std::string(kind) + (seq != 0 ? " seq " + std::to_string(seq) : "") +
                " (author " + head.author + ", session " + ShortId(head.session_id) +
                ", counter " + std::to_string(head.counter) + ", epoch " +
                std::to_string(head.epoch) + "): " + Explain(fault);
    if (fault == CollabFault::dropped) {
      e.message += " (expected counter " +
                   std::to_string(checker.NextCounter(head.author, head.session_id)) + ")";
    }
    return e;
  }

  void Drop() {
    if (conn) conn->Close(Clock::now() + kCloseTimeout);
    conn.reset();
    live = false;
    expect_snapshot = false;
    ready.clear();
  }

  // --- sending ---

  // Writes a frame now; a failure is kept for the next Next() and the connection dropped.
  bool WriteNow(const Bytes& frame) {
    if (!conn) return false;
    auto w = conn->Write(frame, Clock::now() + o.write_timeout);
    if (w) return true;
    write_fault = FromIo(w.error());
    write_fault->message = "sending to the server failed: " + write_fault->message +
                           " (unacknowledged updates are kept: Connect() again)";
    Drop();
    return false;
  }

  // Caught up with what the server had at join time: resend what it has not acknowledged,
  // in counter order and byte for byte (docs/collab.md 6, step 6).
  void GoLive() {
    live = true;
    for (const auto& p : unacked) {
      if (!WriteNow(p.frame)) return;
    }
    ready.push_back(CollabLive{welcome.head_seq});
  }

  void MaybeLive(std::uint64_t seq) {
    if (!live && !expect_snapshot && seq >= welcome.head_seq) GoLive();
  }

  // --- receiving ---

  // Opens an update or presence message with the key of its epoch and its author's pin.
  template <class Open>
  CollabResult<crypto::OpenedMessage> OpenSealed(const collab::Sealed& sealed, std::uint64_t seq,
                                                 std::string_view kind, Open open) {
    const auto& head = sealed.head;
    if (head.file_id != o.file_id) {
      return Refuse(CollabFault::wrong_file, errc::record_mismatch, seq, head, kind);
    }
    const auto member = o.members.find(head.author);
    if (member == o.members.end()) {
      return Refuse(CollabFault::untrusted_author, errc::untrusted_signer, seq, head, kind);
    }
    auto key = KeyFor(head.epoch);
    if (!key) return key.error();
    auto opened = open(sealed, **key, member->second);
    if (!opened) {
      const auto code = static_cast<errc>(opened.error().value());
      return Refuse(FaultOf(code), code, seq, head, kind);
    }
    return std::move(*opened);
  }

  CollabResult<void> OnUpdate(collab::UpdateRelay& relay) {
    if (expect_snapshot) {
      return Make(CollabFault::protocol,
                  "the server sent updates before the snapshot its welcome announced");
    }
    auto opened = OpenSealed(relay.sealed, relay.seq, "update", crypto::OpenUpdate);
    if (!opened) return opened.error();
    if (auto r = checker.AcceptUpdate(relay.seq, opened->head); !r) {
      const auto code = static_cast<errc>(r.error().value());
      return Refuse(FaultOf(code), code, relay.seq, opened->head, "update");
    }
    if (IsMine(opened->head)) {
      // One of ours the server had stored before the connection broke (a resumed join): it
      // counts as acknowledged and must not be resent (docs/collab.md 6, step 6).
      std::erase_if(unacked, [&](const Pending& p) {
        if (p.sealed.head.counter != opened->head.counter) return false;
        unacked_bytes -= p.frame.size();
        return true;
      });
      ready.push_back(CollabAcked{collab::MessageType::update, opened->head.counter, relay.seq,
                                  relay.server_time_ms, true});
    } else {
      ready.push_back(CollabUpdate{relay.seq, relay.server_time_ms, opened->head.author,
                                   opened->head.session_id, opened->head.counter,
                                   opened->head.epoch, std::move(opened->payload)});
    }
    MaybeLive(relay.seq);
    return {};
  }

  CollabResult<void> OnSnapshot(collab::SnapshotRelay& relay) {
    const auto& sealed = relay.sealed;
    if (!expect_snapshot || sealed.through_seq != welcome.snapshot_seq) {
      return Make(CollabFault::protocol, "the server sent a snapshot its welcome did not announce");
    }
    if (sealed.head.file_id != o.file_id) {
      return Refuse(CollabFault::wrong_file, errc::record_mismatch, 0, sealed.head, "snapshot");
    }
    const auto member = o.members.find(sealed.head.author);
    if (member == o.members.end()) {
      return Refuse(CollabFault::untrusted_author, errc::untrusted_signer, 0, sealed.head,
                    "snapshot");
    }
    auto key = KeyFor(sealed.head.epoch);
    if (!key) return key.error();
    auto opened = crypto::OpenSnapshot(sealed, **key, member->second);
    if (!opened) {
      const auto code = static_cast<errc>(opened.error().value());
      return Refuse(FaultOf(code), code, 0, sealed.head, "snapshot");
    }
    if (auto r = checker.AcceptSnapshot(*opened); !r) {
      const auto code = static_cast<errc>(r.error().value());
      return Refuse(FaultOf(code), code, 0, sealed.head, "snapshot");
    }
    expect_snapshot = false;
    ready.push_back(CollabSnapshot{opened->through_seq, relay.server_time_ms, opened->head.author,
                                   opened->head.epoch, std::move(opened->contents.streams),
                                   std::move(opened->contents.state)});
    MaybeLive(opened->through_seq);
    return {};
  }

  // Presence is lossy by design: one that fails is dropped, not a fault (docs/collab.md 7.2).
  void OnPresence(collab::PresenceRelay& relay) {
    if (IsMine(relay.sealed.head)) return;
    auto opened = OpenSealed(relay.sealed, 0, "presence", crypto::OpenPresence);
    if (!opened || !checker.AcceptPresence(opened->head)) {
      ++presence_refused;
      return;
    }
    ready.push_back(CollabPresence{relay.server_time_ms, opened->head.author,
                                   opened->head.session_id, std::move(opened->payload)});
  }

  CollabResult<void> OnAck(const collab::Ack& ack) {
    if (!session || ack.session_id != session->session_id()) return {};  // Not ours: ignored.
    if (ack.of == collab::MessageType::snapshot) {
      if (pending_snapshot == ack.counter) {
        pending_snapshot.reset();
        ready.push_back(CollabAcked{ack.of, ack.counter, ack.seq, ack.server_time_ms, false});
      }
      return {};
    }
    const auto it = std::find_if(unacked.begin(), unacked.end(), [&](const Pending& p) {
      return p.sealed.head.counter == ack.counter;
    });
    if (it == unacked.end()) return {};  // No longer held (docs/collab.md 6, step 6): ignored.
    // Our own update's seq is the server's claim like any other: it must fit the order.
    if (auto r = checker.AcceptUpdate(ack.seq, it->sealed.head); !r) {
      const auto code = static_cast<errc>(r.error().value());
      return Refuse(FaultOf(code), code, ack.seq, it->sealed.head, "ack of our update");
    }
    unacked_bytes -= it->frame.size();
    unacked.erase(it);
    ready.push_back(CollabAcked{ack.of, ack.counter, ack.seq, ack.server_time_ms, false});
    MaybeLive(ack.seq);
    return {};
  }

  CollabResult<void> OnError(const collab::Error& error) {
    if (IsNonFatal(error.code)) {
      if (error.code == collab::ErrorCode::snapshot_rejected && pending_snapshot == error.counter) {
        pending_snapshot.reset();
      }
      CollabNotice notice{error.code, error.epoch, error.counter, Printable(error.message)};
      const bool ours = session && error.session_id == session->session_id();
      const bool dropped_update =
          ours && error.code == collab::ErrorCode::rate_limited &&
          std::any_of(unacked.begin(), unacked.end(),
                      [&](const Pending& p) { return p.sealed.head.counter == error.counter; });
      if (dropped_update) {
        // The server dropped one of our updates: the ones after it would now be out of order.
        // Closing keeps them unsent; the next Connect() resends them all, in order.
        Drop();
      }
      ready.push_back(std::move(notice));
      return {};
    }
    CollabError e = Make(CollabFault::server_refused,
                         "the server ended the session: " +
                             std::string(collab::ErrorCodeName(error.code)) +
                             (error.message.empty() ? "" : " (" + Printable(error.message) + ")"));
    e.server_code = error.code;
    return e;
  }

  CollabResult<void> Process(const Bytes& frame) {
    auto decoded = collab::DecodeFrame(frame, collab::Direction::to_client);
    if (!decoded) {
      CollabError e = Make(CollabFault::protocol, "the server sent a frame that does not decode (" +
                                                      decoded.error().message() + ")");
      e.code = static_cast<errc>(decoded.error().value());
      return e;
    }
    if (auto* u = std::get_if<collab::UpdateRelay>(&*decoded)) return OnUpdate(*u);
    if (auto* s = std::get_if<collab::SnapshotRelay>(&*decoded)) return OnSnapshot(*s);
    if (auto* p = std::get_if<collab::PresenceRelay>(&*decoded)) {
      OnPresence(*p);
      return {};
    }
    if (auto* a = std::get_if<collab::Ack>(&*decoded)) return OnAck(*a);
    if (auto* e = std::get_if<collab::Error>(&*decoded)) return OnError(*e);
    return Make(CollabFault::protocol, "the server sent a second welcome");
  }

  std::size_t presence_refused = 0;
};

CollabClient::CollabClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CollabClient::CollabClient(CollabClient&&) noexcept = default;
CollabClient& CollabClient::operator=(CollabClient&&) noexcept = default;
CollabClient::~CollabClient() {
  if (impl_) impl_->Drop();
}

CollabResult<CollabClient> CollabClient::Create(CollabOptions options) {
  const auto bad = [](std::string message) {
    return Make(CollabFault::invalid_argument, std::move(message));
  };
  if (options.epoch == 0 || options.epoch > collab::kMaxU64Field) return bad("bad key epoch");
  if (options.resume_after.value_or(0) != 0) {
    // A checker that starts after N knows no stream: it could not check the updates after N.
    return bad("a new client resumes after 0 or joins without resume");
  }
  if (options.identity != nullptr) {
    const auto& me = options.identity->public_bundle();
    const auto [it, added] = options.members.emplace(me.user_id(), me);
    if (!added && !(it->second == me)) return bad("the identity is not the pinned key of its user");
  }
  if (options.members.empty()) return bad("no members: no frame could be verified");
  auto impl = std::make_unique<Impl>();
  if (options.server.tls) {
    auto tls = net_detail::MakeTlsContext(options.ca_file);
    if (!tls) return Make(CollabFault::network, tls.error().message);
    impl->tls = std::move(*tls);
  }
  impl->o = std::move(options);
  auto key = impl->KeyFor(impl->o.epoch);
  if (!key) return key.error();
  if (impl->o.identity != nullptr) {
    auto session = crypto::CollabSession::Start(**key, *impl->o.identity);
    if (!session) return bad("cannot start a session: " + session.error().message());
    impl->session.emplace(std::move(*session));
  }
  return CollabClient(std::move(impl));
}

CollabResult<collab::Welcome> CollabClient::Connect() {
  Impl& m = *impl_;
  m.Drop();
  m.write_fault.reset();
  const auto deadline = Clock::now() + m.o.connect_timeout;
  std::optional<std::uint64_t> resume_after = m.o.resume_after;
  if (m.joined_before) resume_after = m.checker.Reconnect();
  const bool resumed = resume_after.has_value();

  collab_detail::ConnectRequest request;
  request.url = &m.o.server;
  request.tls = m.tls.get();
  request.target = m.o.server.base_path + "/api/v1/collab/" + crypto::HexEncode(std::span(m.o.file_id));
  request.bearer = m.o.token.view();
  request.user_agent = m.o.user_agent;
  request.max_message = collab::kMaxFrameSize;
  auto conn = Connection::Open(request, deadline);
  if (!conn) return FromIo(conn.error());
  m.conn = std::move(*conn);

  auto join = collab::EncodeFrame(collab::Join{m.o.file_id, m.o.epoch, resume_after});
  if (!join) return Make(CollabFault::invalid_argument, "cannot encode the join");
  if (auto w = m.conn->Write(*join, deadline); !w) {
    m.Drop();
    return FromIo(w.error());
  }
  auto frame = m.conn->Read(deadline);
  if (!frame || !*frame) {
    CollabError e = frame ? Make(CollabFault::timeout, "the server did not answer the join in time")
                          : FromIo(frame.error());
    m.Drop();
    return e;
  }
  auto decoded = collab::DecodeFrame(**frame, collab::Direction::to_client);
  const auto fail = [&](CollabError e) {
    m.Drop();
    return e;
  };
  if (!decoded) return fail(Make(CollabFault::protocol, "the server's answer to the join does not decode"));
  if (auto* error = std::get_if<collab::Error>(&*decoded)) {
    CollabError e = Make(CollabFault::server_refused,
                         "the server refused the join: " + std::string(collab::ErrorCodeName(error->code)) +
                             (error->message.empty() ? "" : " (" + Printable(error->message) + ")"));
    e.server_code = error->code;
    if (error->code == collab::ErrorCode::stale_epoch) {
      e.message += ": the file has a newer version (epoch " + std::to_string(error->epoch) +
                   "); open it again";
    }
    return fail(e);
  }
  auto* welcome = std::get_if<collab::Welcome>(&*decoded);
  if (welcome == nullptr) return fail(Make(CollabFault::protocol, "the server did not welcome the join"));
  if (welcome->file_id != m.o.file_id) {
    return fail(Make(CollabFault::protocol, "the server welcomed the join to another file"));
  }
  if (welcome->epoch != m.o.epoch) {
    CollabError e = Make(CollabFault::server_refused,
                         "the file is at epoch " + std::to_string(welcome->epoch) +
                             ", not " + std::to_string(m.o.epoch) + ": open it again");
    e.server_code = collab::ErrorCode::stale_epoch;
    return fail(e);
  }
  if (welcome->head_seq < m.checker.last_accepted_seq()) {
    // The server claims fewer updates than this client already accepted from it.
    CollabError e = Make(CollabFault::rolled_back,
                         "the server's history ends at seq " + std::to_string(welcome->head_seq) +
                             ", before seq " + std::to_string(m.checker.last_accepted_seq()) +
                             " which it delivered earlier: it rolled the document back");
    e.seq = welcome->head_seq;
    return fail(e);
  }
  m.joined_before = true;
  m.welcome = *welcome;
  m.expect_snapshot = !resumed && welcome->snapshot_seq != 0;
  m.MaybeLive(m.checker.last_accepted_seq());
  if (m.write_fault) {
    CollabError e = *m.write_fault;
    m.write_fault.reset();
    return e;
  }
  return *welcome;
}

void CollabClient::Disconnect() {
  impl_->Drop();
}

CollabResult<std::size_t> CollabClient::MoveToEpoch(std::uint64_t epoch,
                                                   const crypto::Secret<32>& file_key) {
  Impl& m = *impl_;
  if (epoch <= m.o.epoch || epoch > collab::kMaxU64Field) {
    return Make(CollabFault::invalid_argument,
                "epoch " + std::to_string(epoch) + " is not after the current epoch " +
                    std::to_string(m.o.epoch));
  }
  auto new_key = crypto::CollabKey::Make(file_key, m.o.file_id, epoch);
  if (!new_key) return Make(CollabFault::invalid_argument, "bad key epoch");
  // Everything below needs only memory: from here the move cannot fail half-way.
  std::vector<Bytes> payloads;
  if (m.session) {
    auto old_key = m.KeyFor(m.o.epoch);
    if (!old_key) return old_key.error();
    for (const Pending& p : m.unacked) {
      auto payload = PayloadOf(p, **old_key, m.o.identity->public_bundle());
      if (!payload) {
        for (auto& b : payloads) crypto::Wipe(b);
        return payload.error();
      }
      payloads.push_back(std::move(*payload));
    }
  }
  m.older_file_keys.emplace(epoch, m.o.file_key.Clone());
  m.o.file_key = file_key.Clone();
  m.o.epoch = epoch;
  // Cached keys of this epoch or later were derived from the old file key.
  m.keys.erase(m.keys.lower_bound(epoch), m.keys.end());
  m.keys.emplace(epoch, std::move(*new_key));
  m.checker.RaiseEpochFloor(epoch);
  m.pending_snapshot.reset();
  m.unacked.clear();
  m.unacked_bytes = 0;
  if (!m.session) return std::size_t{0};
  // A new session: one session is one epoch (docs/collab.md 5).
  auto session = crypto::CollabSession::Start(m.keys.at(epoch), *m.o.identity);
  if (!session) {
    for (auto& b : payloads) crypto::Wipe(b);
    m.Drop();
    return Make(CollabFault::invalid_argument,
                "cannot start a session: " + session.error().message());
  }
  m.session.emplace(std::move(*session));
  std::size_t resealed = 0;
  for (auto& payload : payloads) {
    auto sent = SendUpdate(payload);
    crypto::Wipe(payload);
    if (!sent && sent.error().fault != CollabFault::network &&
        sent.error().fault != CollabFault::timeout) {
      return sent.error();
    }
    ++resealed;
  }
  return resealed;
}

CollabResult<std::uint64_t> CollabClient::SendUpdate(std::span<const std::uint8_t> payload) {
  Impl& m = *impl_;
  if (!m.session) return Make(CollabFault::read_only, "this collaboration client is read-only");
  if (payload.size() > collab::kMaxUpdatePayload) {
    return Make(CollabFault::too_large, "an update is at most 256 KiB");
  }
  if (m.unacked.size() >= m.o.max_unacked_frames ||
      m.unacked_bytes + payload.size() > m.o.max_unacked_bytes) {
    return Make(CollabFault::buffer_full,
                "too many updates are waiting for the server's acknowledgement");
  }
  auto sealed = m.session->SealUpdate(*m.o.identity, payload);
  if (!sealed) {
    return Make(sealed.error() == errc::too_large ? CollabFault::too_large
                                                  : CollabFault::invalid_argument,
                "cannot seal the update: " + sealed.error().message());
  }
  auto frame = collab::EncodeFrame(collab::Update{*sealed});
  if (!frame) return Make(CollabFault::invalid_argument, "cannot encode the update");
  const std::uint64_t counter = sealed->head.counter;
  m.unacked_bytes += frame->size();
  m.unacked.push_back(Pending{std::move(*sealed), std::move(*frame)});
  // Sent now when live; otherwise GoLive() sends it after the frames before it.
  if (m.live) m.WriteNow(m.unacked.back().frame);
  return counter;
}

CollabResult<void> CollabClient::SendSnapshot(std::span<const std::uint8_t> state) {
  Impl& m = *impl_;
  if (!m.session) return Make(CollabFault::read_only, "this collaboration client is read-only");
  if (!m.live) return Make(CollabFault::not_connected, "not connected and caught up");
  if (!m.unacked.empty()) {
    return Make(CollabFault::unacked_pending,
                "a snapshot waits until every update of ours is acknowledged");
  }
  crypto::SnapshotContents contents;
  contents.streams = m.checker.Positions();
  contents.state.assign(state.begin(), state.end());
  auto sealed =
      m.session->SealSnapshot(*m.o.identity, m.checker.last_accepted_seq(), contents);
  crypto::Wipe(contents.state);
  if (!sealed) {
    return Make(sealed.error() == errc::too_large ? CollabFault::too_large
                                                  : CollabFault::invalid_argument,
                "cannot seal the snapshot: " + sealed.error().message());
  }
  auto frame = collab::EncodeFrame(collab::Snapshot{*sealed});
  if (!frame) return Make(CollabFault::invalid_argument, "cannot encode the snapshot");
  m.pending_snapshot = sealed->head.counter;
  if (!m.WriteNow(*frame)) {
    CollabError e = *m.write_fault;
    m.write_fault.reset();
    return e;
  }
  return {};
}

CollabResult<bool> CollabClient::SendPresence(std::span<const std::uint8_t> payload) {
  Impl& m = *impl_;
  if (!m.session) return Make(CollabFault::read_only, "this collaboration client is read-only");
  if (payload.size() > collab::kMaxPresencePayload) {
    return Make(CollabFault::too_large, "a presence message is at most 4 KiB");
  }
  if (!m.live) return false;
  auto sealed = m.session->SealPresence(*m.o.identity, payload);
  if (!sealed) return Make(CollabFault::invalid_argument, "cannot seal the presence message");
  auto frame = collab::EncodeFrame(collab::Presence{*sealed});
  if (!frame) return Make(CollabFault::invalid_argument, "cannot encode the presence message");
  return m.WriteNow(*frame);
}

CollabResult<std::optional<CollabEvent>> CollabClient::Next(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (!m.ready.empty()) {
      CollabEvent event = std::move(m.ready.front());
      m.ready.pop_front();
      return std::optional<CollabEvent>(std::move(event));
    }
    if (m.write_fault) {
      CollabError e = *m.write_fault;
      m.write_fault.reset();
      return e;
    }
    if (!m.conn) return Make(CollabFault::not_connected, "not connected: Connect() first");
    auto frame = m.conn->Read(deadline);
    if (!frame) {
      CollabError e = FromIo(frame.error());
      m.Drop();
      return e;
    }
    if (!*frame) return std::optional<CollabEvent>();
    if (auto r = m.Process(**frame); !r) {
      m.Drop();
      return r.error();
    }
  }
}

bool CollabClient::connected() const {
  return impl_->conn != nullptr;
}
bool CollabClient::live() const {
  return impl_->live;
}
std::uint64_t CollabClient::epoch() const {
  return impl_->o.epoch;
}
std::uint64_t CollabClient::last_accepted_seq() const {
  return impl_->checker.last_accepted_seq();
}
const collab::SessionId& CollabClient::session_id() const {
  static const collab::SessionId kNone{};
  return impl_->session ? impl_->session->session_id() : kNone;
}
std::size_t CollabClient::unacked() const {
  return impl_->unacked.size();
}

// --- history --------------------------------------------------------------------------------

CollabResult<HistoryEnd> ReadHistory(CollabClient& client, std::chrono::milliseconds timeout,
                                     const std::function<void(const CollabUpdate&)>& on_update,
                                     const std::function<void(const CollabSnapshot&)>& on_snapshot) {
  const auto deadline = Clock::now() + timeout;
  HistoryEnd end;
  bool retried = false;
  auto welcome = client.Connect();
  if (!welcome) return welcome.error();
  end.head_seq = welcome->head_seq;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      client.Disconnect();
      CollabError e = Make(CollabFault::timeout,
                           "the server did not deliver the history up to seq " +
                               std::to_string(end.head_seq) + " in time (it stopped at seq " +
                               std::to_string(client.last_accepted_seq()) + ")");
      return e;
    }
    auto event = client.Next(left);
    if (!event) {
      // docs/collab.md 7.2: once more on a new connection, from the last good update; an
      // honest server that lost a frame delivers it now, a misbehaving one fails again.
      if (retried || !(event.error().IsServerMisbehaviour() ||
                       event.error().fault == CollabFault::closed)) {
        return event.error();
      }
      retried = true;
      welcome = client.Connect();
      if (!welcome) return welcome.error();
      end.head_seq = welcome->head_seq;
      continue;
    }
    if (!*event) continue;
    if (const auto* u = std::get_if<CollabUpdate>(&**event)) {
      ++end.updates;
      if (on_update) on_update(*u);
    } else if (const auto* s = std::get_if<CollabSnapshot>(&**event)) {
      end.from_snapshot = true;
      if (on_snapshot) on_snapshot(*s);
    } else if (std::holds_alternative<CollabLive>(**event)) {
      client.Disconnect();
      return end;
    }
  }
}

}  // namespace strongroom::client
