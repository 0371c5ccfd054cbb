#include "server/collab/relay.h"

#include "server/api/handlers.h"
#include "server/api/json.h"
#include "server/collab/corked_stream.h"
#include "server/collab/flow.h"
#include "server/services.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/verifier.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <span>
#include <stdexcept>
#include <type_traits>

namespace strongroom::server::collab {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace wire = strongroom::collab;
using wire::ErrorCode;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kPathPrefix = "/api/v1/collab/";
constexpr std::size_t kFileIdHexSize = 32;
// Updates read from the log per catch-up step: small, so a page of the largest updates
// (256 KiB each) cannot overshoot the send queue by much.
constexpr std::size_t kCatchUpPage = 32;
// What the writer gathers before one write to the socket (corked_stream.h): enough that a
// busy connection makes one system call per hundreds of frames, small enough to stay in cache.
constexpr std::size_t kBatchBytes = 64 * 1024;
// At most this many queued frames leave in one non-blocking send from SendQueued (two
// buffers each, a header and the frame, within CorkedStream::kMaxTryWriteBuffers); more are
// the writer's, as one corked batch.
constexpr std::size_t kDirectFrames = 32;
static_assert(2 * kDirectFrames <= CorkedStream<beast::tcp_stream>::kMaxTryWriteBuffers);
// How long a close handshake (ours or the peer's) may take.
constexpr std::chrono::seconds kCloseTimeout{5};
// How stale the check that the connection's session is still valid may be: before a client
// frame, and on a timer while the connection only listens.
constexpr std::chrono::seconds kSessionRecheckOnFrame{1};
constexpr std::chrono::seconds kSessionRecheckIdle{15};

bool IsLowerHex(std::string_view s, std::size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string_view PathOf(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

void PutU64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A relay is the client's frame with the server's fields put in front of its body
// (docs/collab.md section 3): `version ‖ relay type ‖ [seq ‖] server_time ‖ body`, where body
// is every byte of the client's frame after its version and type. So the sealed part reaches
// members byte for byte as its author sent it, without decoding it again.
Frame RelayOf(const std::vector<std::uint8_t>& client_frame, wire::MessageType type,
              std::optional<std::int64_t> seq, std::int64_t time) {
  auto out = std::make_shared<std::vector<std::uint8_t>>();
  out->reserve(client_frame.size() + 16);
  out->push_back(wire::kProtocolVersion);
  out->push_back(static_cast<std::uint8_t>(type));
  if (seq) PutU64(*out, static_cast<std::uint64_t>(*seq));
  PutU64(*out, static_cast<std::uint64_t>(time));
  out->insert(out->end(), client_frame.begin() + 2, client_frame.end());
  return out;
}

Frame Encode(const wire::Message& message) {
  auto bytes = wire::EncodeFrame(message);
  // Every message the relay builds is valid by construction; a failure here is a bug.
  if (!bytes) throw std::logic_error("collab relay built an invalid frame");
  return std::make_shared<const std::vector<std::uint8_t>>(std::move(*bytes));
}

bool IsMember(const storage::RoomFile& file, std::string_view user_id) {
  return file.owner_id == user_id ||
         std::any_of(file.recipients.begin(), file.recipients.end(),
                     [&](const storage::RoomRecipient& r) { return r.user_id == user_id; });
}

}  // namespace

// What the relay needs from a connection without knowing its stream type.
class ConnectionBase : public CollabSubscriber {
 public:
  // From any thread: closes the connection with shutting_down.
  virtual void Shutdown() = 0;
};

namespace {

template <class NextLayer>
class Connection final : public ConnectionBase,
                         public std::enable_shared_from_this<Connection<NextLayer>> {
 public:
  Connection(NextLayer& next, Relay& relay, Admission admission, std::string request_id)
      : relay_(relay),
        services_(relay.services()),
        settings_(services_.config.collab),
        executor_(next.get_executor()),
        out_(next),
        ws_(std::in_place, out_),
        id_(crypto::RandomHex(16)),
        request_id_(std::move(request_id)),
        admission_(std::move(admission)),
        queue_(SendQueue::Limits{static_cast<std::size_t>(settings_.send_queue_frames),
                                 static_cast<std::size_t>(settings_.send_queue_bytes)}),
        rate_(settings_.frames_per_second, settings_.frames_burst, FrameRateLimiter::Clock::now()),
        wake_(executor_),
        join_timer_(executor_),
        write_timer_(executor_),
        session_timer_(executor_),
        writer_done_timer_(executor_),
        last_session_check_(Clock::now()) {
    const auto bytes = admission_.file_id;
    for (std::size_t i = 0; i < wire::kFileIdSize; ++i) {
      file_id_[i] = static_cast<std::uint8_t>(std::stoi(bytes.substr(2 * i, 2), nullptr, 16));
    }
  }

  asio::awaitable<void> Run(const Request& request);

  bool Accept(const CollabEvent& /*event*/) override {
    // Bounded like the send queue: a connection whose thread cannot keep up with the events
    // handed to it is a slow consumer too.
    if (inflight_.fetch_add(1) >= static_cast<std::size_t>(settings_.send_queue_frames)) {
      inflight_.fetch_sub(1);
      if (!overflowed_.exchange(true)) {
        asio::post(executor_, [self = this->shared_from_this()] {
          self->Fail(ErrorCode::slow_consumer, "too many events waiting");
        });
      }
      return false;
    }
    return true;
  }

  [[nodiscard]] const asio::any_io_executor& executor() const override { return executor_; }

  void Deliver(const std::shared_ptr<const CollabEvent>& event) override {
    inflight_.fetch_sub(1);
    HandleEvent(*event);
  }

  void Shutdown() override {
    asio::post(executor_, [self = this->shared_from_this()] {
      self->Fail(ErrorCode::shutting_down, "the server is shutting down");
    });
  }

 private:
  using Clock = std::chrono::steady_clock;

  storage::MetadataStore& store() { return *services_.store; }

  // --- the outgoing queue -----------------------------------------------------------------

  // Something was queued: get it written. While the writer is idle, SendQueued sends it,
  // posted so that it runs after whatever this thread already has to do: when events come
  // faster than the thread handles them, more frames are queued by then and leave together.
  void Wake() {
    if (!writer_waiting_) return;
    if (out_.pending_bytes() == 0 && !closing_) {
      if (!direct_send_posted_) {
        direct_send_posted_ = true;
        asio::post(executor_, [self = this->shared_from_this()] { self->SendQueued(); });
      }
      return;
    }
    wake_.cancel();
  }

  // Sends what is queued (up to kDirectFrames frames) with one CorkedStream::try_write, without waking
  // the writer. At a steady rate that is most deliveries: each would otherwise resume the
  // writer and go through a Beast write operation or a flush, which together cost more CPU
  // than the system call itself (at 200 members and 250 updates/s the server went from 77% to
  // 53% of a core). More frames than that, a layer that is not idle, or bytes the socket did
  // not take are the writer's.
  void SendQueued() {
    direct_send_posted_ = false;
    if (!writer_waiting_) return;  // The writer was woken since: it sends what is queued.
    const std::size_t count = queue_.frames();
    if (count > 0 && count <= kDirectFrames && out_.pending_bytes() == 0 && !closing_ && ws_ &&
        ws_->is_open()) {
      std::array<MessageHeader, kDirectFrames> headers;
      std::array<asio::const_buffer, 2 * kDirectFrames> message;
      for (std::size_t i = 0; i < count; ++i) {
        const std::vector<std::uint8_t>& frame = *queue_[i];
        headers[i] = MessageHeader(frame.size());
        message[2 * i] = headers[i].buffer();
        message[2 * i + 1] = asio::buffer(frame);
      }
      using TryWrite = typename CorkedStream<NextLayer>::TryWrite;
      const TryWrite sent = out_.try_write(std::span(message.data(), 2 * count));
      if (sent != TryWrite::refused) {
        for (std::size_t i = 0; i < count; ++i) (void)queue_.Pop();
        Pump();  // Room again for catch-up from the log, as the writer would after each frame.
      }
      // Buffered: the writer flushes the rest, or reports the socket's error.
      if (sent == TryWrite::sent && queue_.empty()) return;
    }
    wake_.cancel();
  }

  void Send(Frame frame) {
    if (closing_) return;
    if (!queue_.Push(std::move(frame))) {
      Fail(ErrorCode::slow_consumer, "send queue full");
      return;
    }
    Wake();
  }

  wire::Error MakeError(ErrorCode code, std::string_view text, std::int64_t epoch = 0,
                        const wire::SealedHead* head = nullptr) {
    wire::Error e;
    e.code = code;
    e.epoch = static_cast<std::uint64_t>(epoch);
    if (head != nullptr) {
      e.session_id = head->session_id;
      e.counter = head->counter;
    }
    e.message = std::string(text.substr(0, wire::kMaxErrorMessageSize));
    return e;
  }

  // A non-fatal error: the connection stays.
  void SendError(ErrorCode code, std::string_view text, std::int64_t epoch = 0,
                 const wire::SealedHead* head = nullptr) {
    Send(Encode(MakeError(code, text, epoch, head)));
  }

  // A fatal error: whatever is queued is dropped (the client resumes from what it has), the
  // error is the last frame, then the WebSocket closes.
  void Fail(ErrorCode code, std::string_view text, const wire::SealedHead* head = nullptr) {
    if (closing_) return;
    closing_ = true;
    // Routing fields only: which file, whose connection, why. Never frame contents.
    spdlog::info("collab: closing connection {} of {} to file {}: {}", id_, admission_.user_id,
                 admission_.file_id, wire::ErrorCodeName(code));
    queue_.Clear();
    (void)queue_.Push(Encode(MakeError(code, text, 0, head)));
    subscription_.reset();
    Wake();
  }

  // --- updates in seq order ---------------------------------------------------------------

  // Queues every update up to known_head_ that is not queued yet, in seq order: this
  // connection's own as acks, the rest as relays read from the log, as long as the queue has
  // room for catch-up (the writer calls this again as it drains).
  void Pump() {
    while (!closing_ && delivered_ < known_head_) {
      if (auto own = own_acks_.find(delivered_ + 1); own != own_acks_.end()) {
        Frame ack = own->second;
        own_acks_.erase(own);
        ++delivered_;
        Send(std::move(ack));
        continue;
      }
      if (!queue_.HasRoomForCatchUp()) break;
      auto page = store().ReadCollabUpdates(admission_.file_id, delivered_, kCatchUpPage);
      if (!page && page.error() == errc::conflict) {
        // A snapshot compacted what this connection still had to send. It covers those
        // updates, so it is what the member gets instead (it accepts any snapshot at or
        // after what it has: docs/collab.md 7.1).
        if (!SendNewerSnapshot()) return;
        continue;
      }
      if (!page) {
        if (page.error() == errc::not_found) {
          Fail(ErrorCode::not_found, "the file is gone");
        } else {
          Fail(ErrorCode::internal, "the log could not be read");
        }
        return;
      }
      // known_head_ ahead of the log, or a hole in it: neither can happen, but never spin.
      if (page->empty() || page->front().seq != delivered_ + 1) {
        Fail(ErrorCode::internal, "the log is not contiguous");
        return;
      }
      for (auto& entry : *page) {
        if (entry.seq != delivered_ + 1 || closing_) break;
        if (auto own = own_acks_.find(entry.seq); own != own_acks_.end()) {
          Frame ack = own->second;
          own_acks_.erase(own);
          ++delivered_;
          Send(std::move(ack));
          continue;
        }
        if (!queue_.HasRoomForCatchUp()) break;
        ++delivered_;
        Send(RelayOf(entry.frame, wire::MessageType::update_relay, entry.seq, entry.time));
      }
    }
    EmitEpochNotice();
  }

  // Sends the kept snapshot when it is past what was delivered. False when the connection
  // failed.
  bool SendNewerSnapshot() {
    auto snapshot = store().FindCollabSnapshot(admission_.file_id);
    if (!snapshot || snapshot->seq <= delivered_) {
      Fail(ErrorCode::internal, "the log changed under the connection");
      return false;
    }
    delivered_ = snapshot->seq;
    // Acks of own updates the snapshot covers are dropped: their seq is behind what the
    // member has now, and the snapshot's stream positions acknowledge them.
    own_acks_.erase(own_acks_.begin(), own_acks_.upper_bound(delivered_));
    Send(RelayOf(snapshot->frame, wire::MessageType::snapshot_relay, std::nullopt, snapshot->time));
    return !closing_;
  }

  // A new epoch is announced once every update stored before it is queued (an honest server
  // delivers every older-epoch frame before saying stale_epoch: docs/collab.md 7.1).
  void EmitEpochNotice() {
    if (!epoch_notice_ || closing_ || delivered_ < epoch_notice_->second) return;
    const std::int64_t epoch = epoch_notice_->first;
    epoch_notice_.reset();
    SendError(ErrorCode::stale_epoch, "the file has a new version", epoch);
  }

  // --- bus events -------------------------------------------------------------------------

  void HandleEvent(const CollabEvent& event) {
    if (closing_) return;
    switch (event.kind) {
      case CollabEvent::Kind::update:
        if (!joined_ || event.origin == id_) return;
        known_head_ = std::max(known_head_, event.seq);
        if (event.seq == delivered_ + 1 && event.frame) {
          // The next one: forwarded as it came (a full queue here means a slow consumer).
          ++delivered_;
          Send(event.frame);
        }
        Pump();  // Anything between (an event overtaken by a later one) comes from the log.
        return;
      case CollabEvent::Kind::presence:
        if (!joined_ || event.origin == id_ || !event.frame) return;
        if (queue_.PushLossy(event.frame)) Wake();
        return;
      case CollabEvent::Kind::new_version:
        OnNewVersion();
        return;
      case CollabEvent::Kind::deleted:
        Fail(ErrorCode::not_found, "the file was deleted");
        return;
    }
  }

  // The file has a new version: is this user still a member? Then announce the new epoch.
  void OnNewVersion() {
    if (!SessionValid()) return;
    auto file = CurrentFile();
    if (!file) return;
    if (file->version <= epoch_) return;
    epoch_ = file->version;
    if (!joined_) return;
    auto log = store().FindCollabLog(admission_.file_id);
    if (!log) {
      Fail(ErrorCode::internal, "the log could not be read");
      return;
    }
    known_head_ = std::max(known_head_, log->head_seq);
    epoch_notice_.emplace(epoch_, log->head_seq);
    Pump();
  }

  // The file, when it exists and the user may still see it; otherwise the connection fails.
  std::optional<storage::RoomFile> CurrentFile() {
    auto file = store().FindRoomFile(admission_.file_id);
    if (!file) {
      if (file.error() == errc::not_found) {
        Fail(ErrorCode::not_found, "no such file");
      } else {
        Fail(ErrorCode::internal, "the file could not be read");
      }
      return std::nullopt;
    }
    if (!IsMember(*file, admission_.user_id)) {
      Fail(ErrorCode::forbidden, "no longer a member of the file");
      return std::nullopt;
    }
    return std::move(*file);
  }

  // --- client frames ----------------------------------------------------------------------

  std::size_t LimitFor(std::uint8_t type) const {
    switch (static_cast<wire::MessageType>(type)) {
      case wire::MessageType::update:
        return static_cast<std::size_t>(settings_.max_update_frame_bytes);
      case wire::MessageType::snapshot:
        return static_cast<std::size_t>(settings_.max_snapshot_frame_bytes);
      case wire::MessageType::presence:
        return static_cast<std::size_t>(settings_.max_presence_frame_bytes);
      default:
        return 64;  // join is 35 bytes; anything else is refused once read.
    }
  }

  // Whether the session the connection was opened with still stands (not logged out,
  // revoked or expired; the account active). Fails the connection when not.
  bool SessionValid() {
    last_session_check_ = Clock::now();
    auto found = store().FindSessionWithUser(admission_.session_digest, services_.now());
    if (found && found->user.active) return true;
    if (!found && found.error() != errc::not_found) {
      Fail(ErrorCode::internal, "the session could not be checked");
    } else {
      Fail(ErrorCode::forbidden, "the session ended");
    }
    return false;
  }

  void ArmSessionTimer() {
    session_timer_.expires_after(kSessionRecheckIdle);
    session_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closing_) return;
      if (self->SessionValid()) self->ArmSessionTimer();
    });
  }

  void HandleFrame(const std::vector<std::uint8_t>& bytes) {
    if (Clock::now() - last_session_check_ >= kSessionRecheckOnFrame && !SessionValid()) return;
    if (!rate_.Allow(Clock::now())) {
      SendError(ErrorCode::rate_limited, "too many frames; this one was dropped");
      return;
    }
    auto message = wire::DecodeFrame(bytes, wire::Direction::to_server);
    if (!message) {
      const auto ec = message.error();
      if (ec == errc::too_large) {
        Fail(ErrorCode::too_large, "a field is over its limit");
      } else if (ec == errc::unsupported_version) {
        Fail(ErrorCode::unsupported_version, "unsupported protocol version");
      } else {
        Fail(ErrorCode::malformed, "the frame does not decode");
      }
      return;
    }
    if (auto* join = std::get_if<wire::Join>(&*message)) {
      HandleJoin(*join);
      return;
    }
    if (!joined_) {
      Fail(ErrorCode::not_joined, "join first");
      return;
    }
    if (auto* update = std::get_if<wire::Update>(&*message)) {
      HandleUpdate(update->sealed.head, bytes);
    } else if (auto* snapshot = std::get_if<wire::Snapshot>(&*message)) {
      HandleSnapshot(snapshot->sealed, bytes);
    } else if (auto* presence = std::get_if<wire::Presence>(&*message)) {
      HandlePresence(presence->sealed.head, bytes);
    }
  }

  void HandleJoin(const wire::Join& join) {
    if (joined_) {
      Fail(ErrorCode::not_joined, "already joined");
      return;
    }
    if (join.file_id != file_id_) {
      Fail(ErrorCode::wrong_file, "not this connection's file");
      return;
    }
    auto file = CurrentFile();
    if (!file) return;
    epoch_ = file->version;
    if (static_cast<std::int64_t>(join.epoch) != epoch_) {
      SendError(ErrorCode::stale_epoch, "the file has another version", epoch_);
      return;
    }
    // Subscribed before reading the log: an update appended from here on either is in what
    // is read below or arrives as an event afterwards (events run on this thread, after this).
    if (!subscription_) {
      subscription_ = relay_.bus().Subscribe(admission_.file_id, this->weak_from_this());
    }
    std::optional<storage::CollabStoredFrame> snapshot;
    if (!join.resume_after) {
      auto found = store().FindCollabSnapshot(admission_.file_id);
      if (found) {
        snapshot = std::move(*found);
      } else if (found.error() != errc::not_found) {
        Fail(ErrorCode::internal, "the log could not be read");
        return;
      }
    }
    // Read after the snapshot, so its head is at least the snapshot's through_seq.
    auto log = store().FindCollabLog(admission_.file_id);
    if (!log) {
      Fail(log.error() == errc::not_found ? ErrorCode::not_found : ErrorCode::internal,
           "the log could not be read");
      return;
    }
    wire::Welcome welcome;
    welcome.file_id = file_id_;
    welcome.epoch = static_cast<std::uint64_t>(epoch_);
    welcome.head_seq = static_cast<std::uint64_t>(log->head_seq);
    if (join.resume_after) {
      const auto after = static_cast<std::int64_t>(*join.resume_after);
      if (after < log->compacted_through || after > log->head_seq) {
        SendError(ErrorCode::resume_unavailable,
                  "the log does not hold every update after resume_after; join without resume");
        return;
      }
      delivered_ = after;
      Send(Encode(welcome));
    } else {
      welcome.snapshot_seq = snapshot ? static_cast<std::uint64_t>(snapshot->seq) : 0;
      Send(Encode(welcome));
      if (snapshot) {
        delivered_ = snapshot->seq;
        Send(RelayOf(snapshot->frame, wire::MessageType::snapshot_relay, std::nullopt,
                     snapshot->time));
      }
    }
    joined_ = true;
    join_timer_.cancel();
    known_head_ = log->head_seq;
    Pump();
  }

  // The readable head of a client frame: this connection's file and user.
  bool CheckHead(const wire::SealedHead& head) {
    if (head.file_id != file_id_) {
      Fail(ErrorCode::wrong_file, "not this connection's file", &head);
      return false;
    }
    if (head.author != admission_.user_id) {
      Fail(ErrorCode::wrong_author, "the author is not the signed-in user", &head);
      return false;
    }
    return true;
  }

  // An update to append: checked here, stored by the relay's appender (group commit) while
  // the read loop waits (Run), so this connection's frames stay in order.
  struct PendingAppend {
    storage::CollabUpdate update;
    wire::SealedHead head;
  };

  void HandleUpdate(const wire::SealedHead& head, const std::vector<std::uint8_t>& bytes) {
    if (!CheckHead(head)) return;
    PendingAppend p;
    p.head = head;
    storage::CollabUpdate& update = p.update;
    update.file_id = admission_.file_id;
    update.epoch = static_cast<std::int64_t>(head.epoch);
    update.author = head.author;
    update.session_id.assign(head.session_id.begin(), head.session_id.end());
    update.counter = static_cast<std::int64_t>(head.counter);
    update.frame = bytes;
    update.time = services_.now();
    update.max_tail = settings_.max_tail;
    pending_append_.emplace(std::move(p));
  }

  // Appends the pending update: committed (and synced) before the answer comes back, and
  // published on the bus from the appender's thread right after its commit, in seq order.
  asio::awaitable<void> AppendPending() {
    PendingAppend p = std::move(*pending_append_);
    pending_append_.reset();
    auto r = co_await AsyncAppend(std::move(p.update));
    if (closing_) co_return;
    const wire::SealedHead& head = p.head;
    if (!r) {
      Fail(r.error() == errc::not_found ? ErrorCode::not_found : ErrorCode::internal,
           "the update could not be stored", &head);
      co_return;
    }
    auto ack = [&](std::int64_t seq, std::int64_t time) {
      return Encode(wire::Ack{wire::MessageType::update, head.session_id, head.counter,
                              static_cast<std::uint64_t>(seq), static_cast<std::uint64_t>(time)});
    };
    switch (r->status) {
      case storage::CollabWriteStatus::appended:
        own_acks_[r->seq] = ack(r->seq, r->time);
        known_head_ = std::max(known_head_, r->seq);
        Pump();
        co_return;
      case storage::CollabWriteStatus::resent:
        Send(ack(r->seq, r->time));
        co_return;
      case storage::CollabWriteStatus::stale_epoch:
        SendError(ErrorCode::stale_epoch, "the file has another version", r->epoch, &head);
        co_return;
      case storage::CollabWriteStatus::out_of_order:
        Fail(ErrorCode::out_of_order, "the counter is not the session's next", &head);
        co_return;
      case storage::CollabWriteStatus::duplicate:
        Fail(ErrorCode::duplicate, "stored with other bytes", &head);
        co_return;
      case storage::CollabWriteStatus::covered:
        SendError(ErrorCode::resume_unavailable,
                  "a snapshot covers this update; join without resume", 0, &head);
        co_return;
      case storage::CollabWriteStatus::tail_full:
        SendError(ErrorCode::tail_full, "too many updates since the snapshot; post one", 0, &head);
        co_return;
      case storage::CollabWriteStatus::no_file:
        Fail(ErrorCode::not_found, "the file is gone", &head);
        co_return;
      default:
        Fail(ErrorCode::internal, "unexpected store answer", &head);
        co_return;
    }
  }

  // Hands `update` to the appender and resumes on this connection's thread with the store's
  // answer. The pending answer counts as work of the connection's io_context, so the server
  // does not stop running it while an append is in flight.
  asio::awaitable<result<storage::CollabWriteResult>> AsyncAppend(storage::CollabUpdate update) {
    using Answer = result<storage::CollabWriteResult>;
    auto initiate = [this](auto handler, storage::CollabUpdate u) {
      auto work = asio::prefer(asio::get_associated_executor(handler, executor_),
                               asio::execution::outstanding_work.tracked);
      auto shared = std::make_shared<decltype(handler)>(std::move(handler));
      CollabBus& bus = relay_.bus();
      relay_.appender().Submit(
          std::move(u), [shared, work, &bus, origin = id_](const storage::CollabUpdate& stored,
                                                           const Answer& answer) {
            if (answer && answer->status == storage::CollabWriteStatus::appended) {
              auto event = std::make_shared<CollabEvent>();
              event->kind = CollabEvent::Kind::update;
              event->file_id = stored.file_id;
              event->origin = origin;
              event->seq = answer->seq;
              event->epoch = stored.epoch;
              event->frame =
                  RelayOf(stored.frame, wire::MessageType::update_relay, answer->seq, answer->time);
              bus.Publish(std::move(event));
            }
            asio::post(work, [shared, answer]() mutable { (*shared)(answer); });
          });
    };
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Answer)>(
        initiate, asio::use_awaitable, std::move(update));
  }

  void HandleSnapshot(const wire::SealedSnapshot& sealed, const std::vector<std::uint8_t>& bytes) {
    const wire::SealedHead& head = sealed.head;
    if (!CheckHead(head)) return;
    storage::CollabSnapshotWrite write;
    write.file_id = admission_.file_id;
    write.epoch = static_cast<std::int64_t>(head.epoch);
    write.through_seq = static_cast<std::int64_t>(sealed.through_seq);
    write.frame = bytes;
    write.time = services_.now();
    auto r = store().StoreCollabSnapshot(write);
    if (!r) {
      Fail(r.error() == errc::not_found ? ErrorCode::not_found : ErrorCode::internal,
           "the snapshot could not be stored", &head);
      return;
    }
    switch (r->status) {
      case storage::CollabWriteStatus::stored:
        Send(Encode(wire::Ack{wire::MessageType::snapshot, head.session_id, head.counter,
                              sealed.through_seq, static_cast<std::uint64_t>(r->time)}));
        return;
      case storage::CollabWriteStatus::stale_epoch:
        SendError(ErrorCode::stale_epoch, "the file has another version", r->epoch, &head);
        return;
      default:
        SendError(ErrorCode::snapshot_rejected,
                  "beyond the head, older than the kept one, or not covering an older epoch", 0,
                  &head);
        return;
    }
  }

  void HandlePresence(const wire::SealedHead& head, const std::vector<std::uint8_t>& bytes) {
    if (!CheckHead(head)) return;
    if (static_cast<std::int64_t>(head.epoch) != epoch_) {
      SendError(ErrorCode::stale_epoch, "the file has another version", epoch_, &head);
      return;
    }
    auto event = std::make_shared<CollabEvent>();
    event->kind = CollabEvent::Kind::presence;
    event->file_id = admission_.file_id;
    event->origin = id_;
    event->epoch = epoch_;
    event->frame = RelayOf(bytes, wire::MessageType::presence_relay, std::nullopt, services_.now());
    relay_.bus().Publish(std::move(event));
  }

  // --- I/O --------------------------------------------------------------------------------

  // Reads one message into `out`, refusing it as soon as it is over its type's limit (so an
  // oversized frame is never buffered whole). Returns false when the connection ended or
  // the frame was refused (the connection is then failing).
  asio::awaitable<bool> ReadFrame(std::vector<std::uint8_t>& out) {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws_->async_read_some(buffer, 64 * 1024, kNoThrow);
      if (ec) co_return false;
      if (buffer.size() >= 2) {
        const auto* data = static_cast<const std::uint8_t*>(buffer.data().data());
        if (buffer.size() > LimitFor(data[1])) {
          Fail(ErrorCode::too_large, "the frame is over this server's limit");
          co_return false;
        }
      }
      if (ws_->is_message_done()) break;
    }
    if (ws_->got_text()) {
      Fail(ErrorCode::malformed, "text messages are not frames");
      co_return false;
    }
    const auto* data = static_cast<const std::uint8_t*>(buffer.data().data());
    out.assign(data, data + buffer.size());
    co_return true;
  }

  // A peer that stops reading cannot hold the writer (and its queue's memory) forever: a
  // batch that has not been written within write_timeout closes the socket. The timer is armed
  // once for many batches (a batch checks in by its start time), not set and cancelled around
  // each: at a few hundred frames a second per member that was a visible share of the relay.
  void WatchWrites() {
    if (watchdog_armed_) return;
    watchdog_armed_ = true;
    write_timer_.expires_at(batch_started_ + services_.config.server.write_timeout);
    write_timer_.async_wait([this, self = this->shared_from_this()](boost::system::error_code ec) {
      watchdog_armed_ = false;
      if (ec || !batch_in_progress_ || writer_done_) return;
      if (Clock::now() - batch_started_ >= services_.config.server.write_timeout) {
        beast::get_lowest_layer(*ws_).socket().close();
        return;
      }
      WatchWrites();  // Another batch started since: watch that one.
    });
  }

  // The header of a server's WebSocket binary message of `size` bytes, in one frame
  // (RFC 6455 5.2: FIN, opcode 2, the payload length; a server's frames are not masked).
  struct MessageHeader {
    std::array<std::uint8_t, 10> bytes{};
    std::size_t size = 2;

    MessageHeader() = default;
    explicit MessageHeader(std::uint64_t payload) {
      bytes[0] = 0x82;
      if (payload < 126) {
        bytes[1] = static_cast<std::uint8_t>(payload);
      } else if (payload <= 0xffff) {
        bytes[1] = 126;
        bytes[2] = static_cast<std::uint8_t>(payload >> 8);
        bytes[3] = static_cast<std::uint8_t>(payload);
        size = 4;
      } else {
        bytes[1] = 127;
        for (int i = 0; i < 8; ++i)
          bytes[2 + i] = static_cast<std::uint8_t>(payload >> (56 - 8 * i));
        size = 10;
      }
    }
    [[nodiscard]] asio::const_buffer buffer() const { return asio::buffer(bytes.data(), size); }
  };

  // Appends `frame` to the corked batch as one WebSocket binary message of our own framing,
  // with no Beast write operation per frame: at a full batch, those were most of the writer's
  // CPU. Only while Beast's stream is open and the corked layer takes it; false otherwise, and
  // the frame goes through Beast. Beast's own frames (pong, close) are whole writes into the
  // same buffer, so messages never interleave.
  bool AppendMessage(const std::vector<std::uint8_t>& frame) {
    if (!ws_->is_open()) return false;
    const MessageHeader header(frame.size());
    const std::array<asio::const_buffer, 2> message{header.buffer(), asio::buffer(frame)};
    return out_.append(message);
  }

  asio::awaitable<void> WriteLoop() {
    auto self = this->shared_from_this();
    bool broken = false;
    for (;;) {
      if (queue_.empty() && out_.pending_bytes() == 0) {
        if (closing_) break;
        wake_.expires_at(Clock::time_point::max());
        writer_waiting_ = true;
        co_await wake_.async_wait(kNoThrow);
        writer_waiting_ = false;
        continue;
      }
      // A batch: what is queued now, and what Pump adds, up to kBatchBytes. More than one
      // frame is written corked (corked_stream.h), so that they leave in one write instead of
      // one each; a lone frame goes straight to the socket. Bytes a SendQueued left buffered
      // go first, in the same flush.
      batch_started_ = Clock::now();
      batch_in_progress_ = true;
      WatchWrites();
      const bool cork = queue_.frames() > 1 || out_.pending_bytes() > 0;
      if (cork) out_.cork();
      std::size_t batch_bytes = 0;
      while (!queue_.empty() && batch_bytes < kBatchBytes) {
        Frame frame = *queue_.Pop();
        batch_bytes += frame->size();
        if (!cork || !AppendMessage(*frame)) {
          auto [ec, n] = co_await ws_->async_write(asio::buffer(*frame), kNoThrow);
          if (ec) {
            broken = true;
            break;
          }
        }
        Pump();
      }
      if (cork) {
        auto [flush_ec] = co_await out_.async_flush(kNoThrow);
        if (flush_ec) broken = true;
      }
      batch_in_progress_ = false;
      if (broken) break;
    }
    if (!broken && ws_->is_open()) {
      write_timer_.expires_after(kCloseTimeout);
      write_timer_.async_wait([this, self](boost::system::error_code ec) {
        if (!ec) beast::get_lowest_layer(*ws_).socket().close();
      });
      co_await ws_->async_close(websocket::close_code::normal, kNoThrow);
    }
    write_timer_.cancel();
    closing_ = true;
    writer_done_ = true;
    writer_done_timer_.cancel();
  }

  Relay& relay_;
  Services& services_;
  const CollabSettings& settings_;
  // The connection's thread. Kept apart from the stream: events may still be posted after the
  // session ended and the stream is gone.
  asio::any_io_executor executor_;
  // Between the WebSocket and the connection's stream: batches the writer's frames.
  CorkedStream<NextLayer> out_;
  // Reset when the session ends, while the stream it wraps still exists.
  std::optional<websocket::stream<CorkedStream<NextLayer>&>> ws_;
  const std::string id_;  // Random: names this connection on every node (CollabEvent::origin).
  const std::string request_id_;
  Admission admission_;
  wire::FileId file_id_{};
  SendQueue queue_;
  FrameRateLimiter rate_;
  asio::steady_timer wake_;
  asio::steady_timer join_timer_;
  asio::steady_timer write_timer_;
  asio::steady_timer session_timer_;
  asio::steady_timer writer_done_timer_;
  std::unique_ptr<CollabBus::Subscription> subscription_;
  std::atomic<std::size_t> inflight_{0};
  std::atomic<bool> overflowed_{false};
  // Everything below is touched only on the connection's thread.
  bool joined_ = false;
  bool closing_ = false;
  bool writer_done_ = false;
  bool writer_waiting_ = false;      // The writer waits on wake_ for a frame.
  bool direct_send_posted_ = false;  // A SendQueued is posted and has not run yet.
  bool watchdog_armed_ = false;      // WatchWrites' timer is running.
  bool batch_in_progress_ = false;   // The writer is writing the batch started at batch_started_.
  Clock::time_point batch_started_;
  std::int64_t epoch_ = 0;       // The file's version as this connection last saw it.
  std::int64_t delivered_ = 0;   // The highest seq queued (as a relay, an ack or a snapshot).
  std::int64_t known_head_ = 0;  // The highest seq known to exist.
  std::map<std::int64_t, Frame> own_acks_;  // Acks of own updates, waiting for their turn.
  std::optional<std::pair<std::int64_t, std::int64_t>> epoch_notice_;  // (epoch, after seq)
  std::optional<PendingAppend> pending_append_;  // Set by HandleUpdate, taken by Run.
  Clock::time_point last_session_check_;
};

template <class NextLayer>
asio::awaitable<void> Connection<NextLayer>::Run(const Request& request) {
  auto self = this->shared_from_this();
  // The WebSocket keeps its own time: the HTTP timer must not cut a long session.
  beast::get_lowest_layer(*ws_).expires_never();
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = kCloseTimeout;
  timeout.idle_timeout = std::chrono::milliseconds(settings_.idle_timeout_ms);
  timeout.keep_alive_pings = true;
  ws_->set_option(timeout);
  ws_->set_option(
      websocket::stream_base::decorator([id = request_id_](websocket::response_type& response) {
        response.set("X-Request-Id", id);
      }));
  ws_->binary(true);
  ws_->read_message_max(wire::kMaxFrameSize);
  if (auto [ec] = co_await ws_->async_accept(request, kNoThrow); ec) co_return;

  relay_.Register(self);
  join_timer_.expires_after(std::chrono::milliseconds(settings_.join_timeout_ms));
  join_timer_.async_wait([this, self](boost::system::error_code ec) {
    if (!ec && !joined_) Fail(ErrorCode::not_joined, "no join in time");
  });
  if (relay_.shutting_down()) Fail(ErrorCode::shutting_down, "the server is shutting down");
  ArmSessionTimer();
  asio::co_spawn(executor_, WriteLoop(), [self](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("collab writer failed: {}", ex.what());
      }
      self->writer_done_ = true;
      self->writer_done_timer_.cancel();
    }
  });

  std::vector<std::uint8_t> frame;
  while (co_await ReadFrame(frame)) {
    if (closing_) continue;  // Draining until the close handshake ends the read.
    try {
      HandleFrame(frame);
      if (pending_append_) co_await AppendPending();
    } catch (const std::exception& e) {
      spdlog::error("collab frame handler failed: {}", e.what());
      pending_append_.reset();
      Fail(ErrorCode::internal, "internal error");
    }
  }
  // The read side ended (peer closed, error, or our close completed): stop the writer too.
  if (!closing_) {
    closing_ = true;
    queue_.Clear();
  }
  subscription_.reset();
  join_timer_.cancel();
  session_timer_.cancel();
  Wake();
  while (!writer_done_) {
    writer_done_timer_.expires_at(Clock::time_point::max());
    co_await writer_done_timer_.async_wait(kNoThrow);
  }
  relay_.Unregister(this);
  ws_.reset();
}

template <class Stream>
asio::awaitable<void> ServeOn(Stream& stream, const Request& request, Admission admission,
                              Relay& relay, std::string request_id) {
  auto connection = std::make_shared<Connection<Stream>>(stream, relay, std::move(admission),
                                                         std::move(request_id));
  co_await connection->Run(request);
}

}  // namespace

// --- Relay --------------------------------------------------------------------------------------

Relay::Ticket::Ticket(Relay& relay, std::string file_id, std::string user_id)
    : relay_(relay), file_id_(std::move(file_id)), user_id_(std::move(user_id)) {}

Relay::Ticket::~Ticket() {
  std::lock_guard lock(relay_.mutex_);
  if (--relay_.per_file_[file_id_] <= 0) relay_.per_file_.erase(file_id_);
  if (--relay_.per_user_[user_id_] <= 0) relay_.per_user_.erase(user_id_);
}

Relay::Relay(Services& services, std::unique_ptr<CollabBus> bus)
    : services_(services), bus_(std::move(bus)) {}

Relay::~Relay() = default;

CollabAppender& Relay::appender() {
  std::call_once(appender_once_,
                 [this] { appender_ = std::make_unique<CollabAppender>(*services_.store); });
  return *appender_;
}

std::unique_ptr<Relay::Ticket> Relay::Admit(const std::string& file_id,
                                            const std::string& user_id) {
  const CollabSettings& s = services_.config.collab;
  std::lock_guard lock(mutex_);
  auto& file = per_file_[file_id];
  auto& user = per_user_[user_id];
  if (file >= s.max_connections_per_file || user >= s.max_connections_per_user) {
    if (file == 0) per_file_.erase(file_id);
    if (user == 0) per_user_.erase(user_id);
    return nullptr;
  }
  ++file;
  ++user;
  return std::make_unique<Ticket>(*this, file_id, user_id);
}

void Relay::FileChanged(std::string_view file_id, std::int64_t version) {
  auto event = std::make_shared<CollabEvent>();
  event->kind = CollabEvent::Kind::new_version;
  event->file_id = std::string(file_id);
  event->epoch = version;
  bus_->Publish(std::move(event));
}

void Relay::FileDeleted(std::string_view file_id) {
  auto event = std::make_shared<CollabEvent>();
  event->kind = CollabEvent::Kind::deleted;
  event->file_id = std::string(file_id);
  bus_->Publish(std::move(event));
}

void Relay::Shutdown() {
  if (shutting_down_.exchange(true)) return;
  std::vector<std::shared_ptr<ConnectionBase>> open;
  {
    std::lock_guard lock(mutex_);
    for (auto& weak : connections_) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  for (auto& c : open) c->Shutdown();
}

void Relay::Register(const std::shared_ptr<ConnectionBase>& connection) {
  std::lock_guard lock(mutex_);
  connections_.push_back(connection);
}

void Relay::Unregister(const ConnectionBase* connection) {
  std::lock_guard lock(mutex_);
  connections_.remove_if([&](const std::weak_ptr<ConnectionBase>& weak) {
    auto c = weak.lock();
    return !c || c.get() == connection;
  });
}

// --- the upgrade
// ----------------------------------------------------------------------------------

bool IsCollabUpgrade(const Request& request) {
  return PathOf(request.target()).starts_with(kPathPrefix) && websocket::is_upgrade(request);
}

std::optional<Response> AdmitUpgrade(const Request& request, HandlerContext& context,
                                     std::optional<Admission>& admission) {
  context.route = kRoutePattern;
  try {
    Services& s = api::Svc(context);
    if (!s.collab || s.collab->shutting_down()) {
      throw api::ApiError(boost::beast::http::status::service_unavailable, "unavailable",
                          "the server is shutting down");
    }
    const api::Caller caller = api::Authenticate(request, context);
    if (!api::CurrentSettings(s)->room_enabled) {
      throw api::ApiError(
          http::status::forbidden, "private_room_disabled",
          "the Private Room is turned off on this portal; an administrator can turn it on");
    }
    const std::string_view id = PathOf(request.target()).substr(kPathPrefix.size());
    const api::ApiError not_found(http::status::not_found, "not_found", "no such file");
    if (!IsLowerHex(id, kFileIdHexSize)) throw not_found;
    auto file = s.store->FindRoomFile(id);
    if (!file && file.error() == errc::not_found) throw not_found;
    const storage::RoomFile f = api::Must(std::move(file));
    if (!IsMember(f, caller.user.id)) throw not_found;
    auto ticket = s.collab->Admit(f.id, caller.user.id);
    if (!ticket) {
      api::ApiError e(http::status::too_many_requests, "too_many_connections",
                      "too many co-editing connections to this file or of this account");
      e.retry_after_s = 5;
      throw e;
    }
    admission = Admission{f.id, caller.user.id, caller.session.token_digest, std::move(ticket)};
    return std::nullopt;
  } catch (const api::ApiError& e) {
    Response response = ErrorResponse(request, e.status, e.code, e.what());
    if (e.retry_after_s > 0) {
      response.set(http::field::retry_after, std::to_string(e.retry_after_s));
    }
    return response;
  } catch (const std::exception& e) {
    spdlog::error("collab upgrade failed: {}", e.what());
    return ErrorResponse(request, http::status::internal_server_error, "internal",
                         "internal error; the server log has details under this request id");
  }
}

asio::awaitable<void> Serve(beast::tcp_stream& stream, const Request& request, Admission admission,
                            Relay& relay, std::string request_id) {
  co_await ServeOn(stream, request, std::move(admission), relay, std::move(request_id));
}

asio::awaitable<void> Serve(beast::ssl_stream<beast::tcp_stream>& stream, const Request& request,
                            Admission admission, Relay& relay, std::string request_id) {
  co_await ServeOn(stream, request, std::move(admission), relay, std::move(request_id));
}

}  // namespace strongroom::server::collab

namespace strongroom::server::api {

// A GET of the collab route without the WebSocket upgrade.
Response CollabUpgradeRequired(const Request& request, HandlerContext& context) {
  (void)Authenticate(request, context);
  Response response = ErrorResponse(request, http::status::upgrade_required, "upgrade_required",
                                    "this endpoint speaks WebSocket only (docs/collab.md)");
  response.set(http::field::upgrade, "websocket");
  return response;
}

}  // namespace strongroom::server::api
