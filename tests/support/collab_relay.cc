#include "support/collab_relay.h"

#include "strongroom/crypto/encoding.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace strongroom::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::uint64_t NowMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

Bytes Encode(const collab::Message& m) {
  auto f = collab::EncodeFrame(m);
  return f ? *f : Bytes{};
}

struct Conn {
  explicit Conn(tcp::socket socket) : ws(std::move(socket)) {}
  websocket::stream<tcp::socket> ws;
  CollabRelay::Peer peer;
  bool joined = false;
  bool writing = false;
  bool closed = false;
  std::deque<Bytes> out;
};

struct Stored {
  std::uint64_t seq = 0;
  collab::Sealed sealed;
  Bytes update_frame;  // As the author sent it: a resend must be identical.
  Bytes relay_frame;
};

}  // namespace

struct CollabRelay::State {
  Options options;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;

  // Relay state: touched on the relay thread only, under `mutex` where tests read it.
  std::mutex mutex;
  Outgoing outgoing;
  IncomingHook incoming;
  bool stalled = false;
  std::vector<std::pair<std::shared_ptr<Conn>, Bytes>> held;
  std::vector<Bytes> received_updates;
  std::vector<Stored> log;
  std::optional<collab::SnapshotRelay> snapshot;
  std::map<std::pair<std::string, collab::SessionId>, std::uint64_t> next_counter;
  std::map<int, std::shared_ptr<Conn>> conns;
  int accepted = 0;

  std::uint64_t head() const { return log.empty() ? 0 : log.back().seq; }

  void Write(const std::shared_ptr<Conn>& c, Bytes frame) {
    if (c->closed) return;
    c->out.push_back(std::move(frame));
    if (c->writing) return;
    c->writing = true;
    net::co_spawn(ioc, Writer(c), net::detached);
  }

  net::awaitable<void> Writer(std::shared_ptr<Conn> c) {
    while (!c->out.empty() && !c->closed) {
      error_code ec;
      c->ws.binary(true);
      co_await c->ws.async_write(net::buffer(c->out.front()),
                                 net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        c->closed = true;
        break;
      }
      c->out.pop_front();
    }
    c->writing = false;
  }

  // Every frame to a client goes through here: the misbehaviour hook, then the stall.
  void Send(const std::shared_ptr<Conn>& c, const collab::Message& m) {
    Bytes frame = Encode(m);
    Outgoing hook;
    {
      std::lock_guard lock(mutex);
      hook = outgoing;
    }
    std::vector<Bytes> frames = hook ? hook(c->peer, m, frame) : std::vector<Bytes>{frame};
    std::lock_guard lock(mutex);
    for (auto& f : frames) {
      if (stalled) {
        held.emplace_back(c, std::move(f));
      } else {
        Write(c, std::move(f));
      }
    }
  }

  void SendError(const std::shared_ptr<Conn>& c, collab::ErrorCode code, std::uint64_t epoch = 0,
                 const collab::SessionId& session = {}, std::uint64_t counter = 0) {
    Send(c, collab::Error{code, epoch, session, counter, ""});
  }

  void Cut(const std::shared_ptr<Conn>& c) {
    c->closed = true;
    error_code ignored;
    c->ws.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    c->ws.next_layer().close(ignored);
  }

  // Fatal errors: the frame, then the close (after what is queued).
  net::awaitable<void> Fatal(std::shared_ptr<Conn> c, collab::ErrorCode code) {
    SendError(c, code);
    while (c->writing && !c->closed) {
      net::steady_timer t(ioc, std::chrono::milliseconds(5));
      co_await t.async_wait(net::use_awaitable);
    }
    Cut(c);
  }

  void OnJoin(const std::shared_ptr<Conn>& c, const collab::Join& join) {
    if (join.epoch != options.epoch) {
      SendError(c, collab::ErrorCode::stale_epoch, options.epoch);
      return;
    }
    c->joined = true;
    std::uint64_t snapshot_seq = 0;
    std::uint64_t from = 0;
    if (join.resume_after) {
      from = *join.resume_after;
    } else if (snapshot) {
      snapshot_seq = snapshot->sealed.through_seq;
      from = snapshot_seq;
    }
    Send(c, collab::Welcome{options.file_id, options.epoch, head(), snapshot_seq});
    if (!join.resume_after && snapshot) Send(c, *snapshot);
    for (const auto& s : log) {
      if (s.seq > from) Send(c, collab::UpdateRelay{s.seq, NowMs(), s.sealed});
    }
  }

  // Returns false when the connection must end (a fatal error was sent).
  bool OnUpdate(const std::shared_ptr<Conn>& c, const collab::Update& u, const Bytes& frame,
                Incoming decision) {
    const auto& h = u.sealed.head;
    const auto key = std::make_pair(h.author, h.session_id);
    std::uint64_t& next = next_counter.try_emplace(key, 1).first->second;
    if (h.counter < next) {
      for (const auto& s : log) {
        if (s.sealed.head.author == h.author && s.sealed.head.session_id == h.session_id &&
            s.sealed.head.counter == h.counter) {
          if (s.update_frame != frame) return false;  // duplicate
          Send(c, collab::Ack{collab::MessageType::update, h.session_id, h.counter, s.seq, NowMs()});
          return true;
        }
      }
      return false;
    }
    if (h.counter > next) return false;  // out_of_order
    next = h.counter + 1;
    Stored s;
    s.seq = head() + 1;
    s.sealed = u.sealed;
    s.update_frame = frame;
    {
      std::lock_guard lock(mutex);
      log.push_back(s);
    }
    if (decision == Incoming::store_and_cut) {
      Cut(c);
    } else {
      Send(c, collab::Ack{collab::MessageType::update, h.session_id, h.counter, s.seq, NowMs()});
    }
    for (auto& [id, other] : conns) {
      if (other != c && other->joined && !other->closed) {
        Send(other, collab::UpdateRelay{s.seq, NowMs(), s.sealed});
      }
    }
    return true;
  }

  net::awaitable<void> Session(tcp::socket socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    error_code ec;
    co_await http::async_read(socket, buffer, request, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    const std::string target = "/api/v1/collab/" + crypto::HexEncode(std::span(options.file_id));
    std::string user_id;
    const std::string auth(request[http::field::authorization]);
    for (const auto& u : options.users) {
      if (auth == "Bearer " + u.token) user_id = u.user_id;
    }
    const auto refuse = [&](http::status status) -> net::awaitable<void> {
      http::response<http::string_body> r{status, 11};
      r.set(http::field::content_type, "application/json");
      r.body() = "{\"error\":{\"code\":\"refused\",\"message\":\"refused\"}}";
      r.prepare_payload();
      error_code ignored;
      co_await http::async_write(socket, r, net::redirect_error(net::use_awaitable, ignored));
    };
    if (user_id.empty()) {
      co_await refuse(http::status::unauthorized);
      co_return;
    }
    if (std::string(request.target()) != target || !websocket::is_upgrade(request)) {
      co_await refuse(http::status::not_found);
      co_return;
    }
    auto c = std::make_shared<Conn>(std::move(socket));
    c->ws.read_message_max(collab::kMaxFrameSize);
    co_await c->ws.async_accept(request, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    {
      std::lock_guard lock(mutex);
      c->peer = Peer{++accepted, user_id};
      conns[c->peer.connection] = c;
    }
    co_await Serve(c);
    c->closed = true;
    std::lock_guard lock(mutex);
    conns.erase(c->peer.connection);
  }

  net::awaitable<void> Serve(std::shared_ptr<Conn> c) {
    beast::flat_buffer buffer;
    while (!c->closed) {
      error_code ec;
      buffer.clear();
      co_await c->ws.async_read(buffer, net::redirect_error(net::use_awaitable, ec));
      if (ec || c->closed) co_return;
      const auto data = buffer.cdata();
      const auto* p = static_cast<const std::uint8_t*>(data.data());
      const Bytes frame(p, p + data.size());
      auto m = collab::DecodeFrame(frame, collab::Direction::to_server);
      if (!m) {
        co_await Fatal(c, collab::ErrorCode::malformed);
        co_return;
      }
      if (std::holds_alternative<collab::Update>(*m)) {
        std::lock_guard lock(mutex);
        received_updates.push_back(frame);
      }
      IncomingHook hook;
      {
        std::lock_guard lock(mutex);
        hook = incoming;
      }
      const Incoming decision = hook ? hook(c->peer, *m) : Incoming::process;
      if (decision == Incoming::swallow) continue;
      if (decision == Incoming::swallow_and_cut) {
        Cut(c);
        co_return;
      }
      if (auto* join = std::get_if<collab::Join>(&*m)) {
        if (c->joined) {
          co_await Fatal(c, collab::ErrorCode::not_joined);
          co_return;
        }
        if (join->file_id != options.file_id) {
          co_await Fatal(c, collab::ErrorCode::wrong_file);
          co_return;
        }
        OnJoin(c, *join);
        continue;
      }
      if (!c->joined) {
        co_await Fatal(c, collab::ErrorCode::not_joined);
        co_return;
      }
      const collab::SealedHead* h = nullptr;
      if (auto* u = std::get_if<collab::Update>(&*m)) h = &u->sealed.head;
      if (auto* s = std::get_if<collab::Snapshot>(&*m)) h = &s->sealed.head;
      if (auto* p2 = std::get_if<collab::Presence>(&*m)) h = &p2->sealed.head;
      if (h->file_id != options.file_id) {
        co_await Fatal(c, collab::ErrorCode::wrong_file);
        co_return;
      }
      if (h->author != c->peer.user_id) {
        co_await Fatal(c, collab::ErrorCode::wrong_author);
        co_return;
      }
      if (h->epoch != options.epoch) {
        SendError(c, collab::ErrorCode::stale_epoch, options.epoch, h->session_id, h->counter);
        continue;
      }
      if (auto* u = std::get_if<collab::Update>(&*m)) {
        if (!OnUpdate(c, *u, frame, decision)) {
          co_await Fatal(c, collab::ErrorCode::out_of_order);
          co_return;
        }
      } else if (auto* s = std::get_if<collab::Snapshot>(&*m)) {
        const std::uint64_t kept = snapshot ? snapshot->sealed.through_seq : 0;
        if (s->sealed.through_seq > head() || s->sealed.through_seq < kept) {
          SendError(c, collab::ErrorCode::snapshot_rejected, 0, h->session_id, h->counter);
          continue;
        }
        snapshot = collab::SnapshotRelay{NowMs(), s->sealed};
        Send(c, collab::Ack{collab::MessageType::snapshot, h->session_id, h->counter,
                            s->sealed.through_seq, NowMs()});
      } else if (auto* p3 = std::get_if<collab::Presence>(&*m)) {
        for (auto& [id, other] : conns) {
          if (other != c && other->joined && !other->closed) {
            Send(other, collab::PresenceRelay{NowMs(), p3->sealed});
          }
        }
      }
      if (decision == Incoming::store_and_cut) co_return;
    }
  }

  net::awaitable<void> Accept() {
    while (true) {
      error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
      net::co_spawn(ioc, Session(std::move(socket)), net::detached);
    }
  }

  // Runs `f` on the relay thread and waits for it.
  void OnThread(std::function<void()> f) {
    std::promise<void> done;
    net::post(ioc, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
};

CollabRelay::CollabRelay(Options options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  s.acceptor.open(endpoint.protocol());
  s.acceptor.set_option(tcp::acceptor::reuse_address(true));
  s.acceptor.bind(endpoint);
  s.acceptor.listen();
  port_ = s.acceptor.local_endpoint().port();
  net::co_spawn(s.ioc, s.Accept(), net::detached);
  s.thread = std::thread([&s] { s.ioc.run(); });
}

CollabRelay::~CollabRelay() {
  State& s = *state_;
  s.OnThread([&s] {
    error_code ignored;
    s.acceptor.close(ignored);
    for (auto& [id, c] : s.conns) s.Cut(c);
  });
  s.ioc.stop();
  s.thread.join();
}

void CollabRelay::SetOutgoing(Outgoing hook) {
  std::lock_guard lock(state_->mutex);
  state_->outgoing = std::move(hook);
}

void CollabRelay::SetIncoming(IncomingHook hook) {
  std::lock_guard lock(state_->mutex);
  state_->incoming = std::move(hook);
}

void CollabRelay::Stall(bool stalled) {
  State& s = *state_;
  s.OnThread([&s, stalled] {
    std::lock_guard lock(s.mutex);
    s.stalled = stalled;
    if (stalled) return;
    for (auto& [c, frame] : s.held) s.Write(c, std::move(frame));
    s.held.clear();
  });
}

void CollabRelay::CutAll() {
  State& s = *state_;
  s.OnThread([&s] {
    std::vector<std::shared_ptr<Conn>> all;
    {
      std::lock_guard lock(s.mutex);
      for (auto& [id, c] : s.conns) all.push_back(c);
    }
    for (auto& c : all) s.Cut(c);
  });
}

std::vector<Bytes> CollabRelay::ReceivedUpdates() {
  std::lock_guard lock(state_->mutex);
  return state_->received_updates;
}

std::uint64_t CollabRelay::head_seq() {
  std::lock_guard lock(state_->mutex);
  return state_->head();
}

int CollabRelay::connections_accepted() {
  std::lock_guard lock(state_->mutex);
  return state_->accepted;
}

std::vector<Bytes> CollabRelay::StoredRelays() {
  std::lock_guard lock(state_->mutex);
  std::vector<Bytes> out;
  for (const auto& s : state_->log) {
    out.push_back(Encode(collab::UpdateRelay{s.seq, 0, s.sealed}));
  }
  return out;
}

}  // namespace strongroom::testing
