// collab_load: the co-editing load generator of bench/collab.sh (bench/README.md).
//
//   collab_load run  --server URL --path /DOC --clients K --rate R --duration D
//   collab_load idle --server URL --path /DOC --clients N [--hold SECONDS]
//
// Both read the account's password from the first line of standard input and the signed-in
// profile ("default") from STRONGROOM_HOME, as the strongroom CLI does: the bench script has
// registered and uploaded the document with the real CLI. The tool unlocks the identity and
// opens the document for co-editing with the client library (client::Room::OpenForCollab:
// the verified record, the file key, the epoch), then opens K WebSocket connections to
// /api/v1/collab/{id}, each its own crypto::CollabSession (a random session id, counters from
// 1), all joined at the document's current head.
//
// run: every connection is a sender and a receiver. Updates are REAL sealed update frames
// (AES-256-GCM under the session's update key, Ed25519-signed by the account's key), sealed
// before the timed phase; then a steady total of R updates per second goes out, round robin
// over the connections, for D seconds. A receiver decodes each update relay with the wire
// codec (collab::DecodeFrame) and finds the update by its readable head (session, counter):
// it does NOT verify signatures or decrypt (a real client would; that is client CPU, not
// server work). It parses the WebSocket frames itself, many per socket read (RawReadLoop),
// so that the generator is not the limit. Latency of an update = from the moment its frame is
// handed to the socket until the last of the K-1 other connections has it. Prints one `result` line
// (the format bench/collab/yws_load.mjs prints too).
//
// idle: opens and joins N connections, prints "all joined", then holds them for --hold
// seconds (or until SIGTERM/SIGINT) without sending anything.
//
// One thread, one io_context, everything asynchronous: the generator uses at most one core.
#include "strongroom/client/api_client.h"
#include "strongroom/client/http_transport.h"
#include "strongroom/client/profile.h"
#include "strongroom/client/room.h"
#include "strongroom/client/secret_input.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/init.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace strongroom;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "collab_load: error: " << message << "\n";
  std::exit(1);
}

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string mode;
  std::string server;
  std::string path;
  int clients = 0;
  double rate = 0;        // Updates per second, all senders together.
  double duration = 0;    // Seconds of sending.
  double drain = 10;      // Seconds to wait after the last send for deliveries still under way.
  double hold = 600;      // idle: seconds to hold the connections.
  int payload = 50;       // Plaintext bytes per update.
  int concurrency = 128;  // Connection handshakes in flight.
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  if (argc < 2) Die("usage: collab_load run|idle --server URL --path /DOC --clients N ...");
  o.mode = argv[1];
  if (o.mode != "run" && o.mode != "idle") Die("the mode is run or idle");
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Die("missing value after " + a);
    const std::string v = argv[++i];
    if (a == "--server")
      o.server = v;
    else if (a == "--path")
      o.path = v;
    else if (a == "--clients")
      o.clients = std::stoi(v);
    else if (a == "--rate")
      o.rate = std::stod(v);
    else if (a == "--duration")
      o.duration = std::stod(v);
    else if (a == "--drain")
      o.drain = std::stod(v);
    else if (a == "--hold")
      o.hold = std::stod(v);
    else if (a == "--payload")
      o.payload = std::stoi(v);
    else if (a == "--concurrency")
      o.concurrency = std::stoi(v);
    else
      Die("unknown option " + a);
  }
  if (o.server.empty() || o.path.empty()) Die("--server and --path are required");
  if (o.clients < 1) Die("--clients must be at least 1");
  if (o.mode == "run" && (o.clients < 2 || o.rate <= 0 || o.duration <= 0))
    Die("run needs --clients >= 2, --rate > 0 and --duration > 0");
  if (o.payload < 0 || static_cast<std::size_t>(o.payload) > collab::kMaxUpdatePayload)
    Die("--payload out of range");
  return o;
}

// What the account setup gives: where to connect, as whom, and the document's key.
struct Setup {
  std::string host;
  std::uint16_t port = 0;
  std::string target;  // /api/v1/collab/{id}
  std::string token;
  std::optional<crypto::Identity> identity;
  std::optional<crypto::CollabKey> key;
  collab::FileId file_id{};
  std::uint64_t epoch = 0;
};

Setup OpenDocument(const Options& o) {
  auto password = client::ReadSecretFromStdin("the password");
  if (!password) Die("password: " + password.error().ToString());
  auto store = client::ProfileStore::Open(client::kDefaultProfile);
  if (!store) Die("profile: " + store.error().ToString());
  auto profile = store->LoadProfile();
  if (!profile || !*profile) Die("no signed-in profile in STRONGROOM_HOME");
  auto session = store->LoadSession();
  if (!session || !*session) Die("no session in STRONGROOM_HOME (strongroom login)");
  auto url = client::ServerUrl::Parse(o.server);
  if (!url) Die("--server: " + url.error().ToString());
  if (url->tls) Die("collab_load speaks plain ws:// to a loopback server only");
  auto transport = client::HttpTransport::Create(*url, client::TransportOptions{});
  if (!transport) Die("transport: " + transport.error().ToString());
  client::ApiClient api(std::move(*transport));
  Setup s;
  s.token = std::string((*session)->view());
  api.set_token(std::move(**session));
  auto identity = client::UnlockIdentity(api, *store, (*profile)->user_id, password->view());
  if (!identity) Die("unlocking the identity: " + identity.error().ToString());
  s.identity.emplace(std::move(*identity));
  client::Room room(api, *store, *s.identity);
  auto doc = room.OpenForCollab(o.path);
  if (!doc) Die("opening " + o.path + " for co-editing: " + doc.error().ToString());
  auto key = crypto::CollabKey::Make(doc->file_key, doc->file_id, doc->epoch);
  if (!key) Die("CollabKey::Make failed");
  s.key.emplace(std::move(*key));
  s.file_id = doc->file_id;
  s.epoch = doc->epoch;
  s.host = url->host;
  s.port = url->port;
  s.target = url->base_path + "/api/v1/collab/" + doc->id;
  return s;
}

// One connection: a WebSocket, its session, its pre-sealed frames and a write queue.
struct Conn {
  explicit Conn(asio::io_context& io) : ws(io) {}
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buffer;
  std::optional<crypto::CollabSession> session;
  std::vector<std::vector<std::uint8_t>> frames;  // Sealed update frames, counter 1, 2, ...
  std::size_t next_frame = 0;
  std::deque<std::size_t> queue;  // Indices into frames waiting to be written.
  bool writing = false;
  bool open = false;
  std::size_t index = 0;
};

struct Bench {
  asio::io_context io{1};
  Options opt;
  Setup setup;
  std::vector<std::unique_ptr<Conn>> conns;

  // Joining.
  std::uint64_t resume_after = 0;
  std::size_t next_to_connect = 0;
  std::size_t joined = 0;
  std::size_t failed = 0;
  std::int64_t connect_start_ns = 0;

  // The timed phase. Update u = base(sender) + counter - 1.
  bool running = false;
  std::size_t per_sender = 0;
  std::unordered_map<std::uint64_t, std::size_t> sender_of;  // First 8 session-id bytes.
  std::vector<std::int64_t> sent_ns;
  std::vector<std::int64_t> done_ns;   // When the last of the other clients had it.
  std::vector<std::int64_t> first_ns;  // When the first of them had it.
  std::vector<std::int64_t> ack_ns;    // When its author had the server's ack.
  std::vector<std::uint32_t> received;
  std::uint64_t sent = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t unknown = 0;  // Relays of updates this run did not send.
  std::uint64_t acks = 0;
  std::uint64_t errors = 0;
  std::uint64_t closed = 0;
  std::int64_t first_send_ns = 0, last_send_ns = 0, last_delivery_ns = 0;
  std::size_t frame_bytes = 0;

  static std::uint64_t SessionKey(const collab::SessionId& id) {
    std::uint64_t k;
    std::memcpy(&k, id.data(), sizeof k);
    return k;
  }

  void OnFrame(Conn& c, const std::uint8_t* data, std::size_t size) {
    auto message = collab::DecodeFrame({data, size}, collab::Direction::to_client);
    if (!message) {
      ++errors;
      std::cerr << "collab_load: a frame that does not decode: " << message.error().message()
                << "\n";
      return;
    }
    if (const auto* relay = std::get_if<collab::UpdateRelay>(&*message)) {
      const auto it = sender_of.find(SessionKey(relay->sealed.head.session_id));
      if (!running || it == sender_of.end() || it->second == c.index ||
          relay->sealed.head.counter > per_sender) {
        ++unknown;
        return;
      }
      const std::size_t u = it->second * per_sender + (relay->sealed.head.counter - 1);
      const std::int64_t now = NowNs();
      ++deliveries;
      last_delivery_ns = now;
      if (received[u] == 0) first_ns[u] = now;
      if (++received[u] == conns.size() - 1) done_ns[u] = now;
    } else if (const auto* ack = std::get_if<collab::Ack>(&*message)) {
      ++acks;
      const auto it = sender_of.find(SessionKey(ack->session_id));
      if (running && it != sender_of.end() && it->second == c.index && ack->counter >= 1 &&
          ack->counter <= per_sender)
        ack_ns[it->second * per_sender + (ack->counter - 1)] = NowNs();
    } else if (const auto* error = std::get_if<collab::Error>(&*message)) {
      if (++errors <= 5)
        std::cerr << "collab_load: connection " << c.index << ": server error "
                  << static_cast<int>(error->code) << ": " << error->message << "\n";
    }
  }

  void OnClosed(Conn& c, const std::string& why) {
    if (c.open) ++closed;
    c.open = false;
    if (running && closed <= 5)
      std::cerr << "collab_load: connection " << c.index << " closed: " << why << "\n";
  }

  asio::awaitable<void> ReadLoop(Conn& c) {
    for (;;) {
      auto [ec, n] = co_await c.ws.async_read(c.buffer, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        OnClosed(c, ec.message());
        co_return;
      }
      OnFrame(c, static_cast<const std::uint8_t*>(c.buffer.data().data()), c.buffer.size());
      c.buffer.consume(c.buffer.size());
    }
  }

  // The run mode's reader. A server-to-client WebSocket frame is unmasked, so the frames are
  // parsed straight from the socket's bytes, as many per read as arrived, instead of one Beast
  // read (a composed operation and a coroutine resumption) per message: with Beast's reads
  // the generator's one thread, not the server, was the limit at K = 50 (bench/README.md).
  // Every update relay is still decoded with the wire codec (OnFrame). Right after the join
  // nothing else is in flight (the connection resumes at the head and nobody sends before
  // all have joined), so Beast holds no unread bytes when this takes over the socket; any
  // mistake here shows as frames that do not decode or as lost updates. Pings are not
  // answered: the server only pings a connection that has been silent for half its idle
  // timeout, longer than a run.
  asio::awaitable<void> RawReadLoop(Conn& c) {
    auto& socket = beast::get_lowest_layer(c.ws).socket();
    std::vector<std::uint8_t> in(256 * 1024);
    std::size_t have = 0;
    std::vector<std::uint8_t> message;  // A fragmented message being put together.
    for (;;) {
      if (have == in.size()) in.resize(in.size() * 2);  // One frame larger than the buffer.
      auto [ec, n] = co_await socket.async_read_some(
          asio::buffer(in.data() + have, in.size() - have), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        OnClosed(c, ec.message());
        co_return;
      }
      have += n;
      std::size_t at = 0;
      for (;;) {
        const std::size_t left = have - at;
        if (left < 2) break;
        const std::uint8_t* p = in.data() + at;
        const bool fin = (p[0] & 0x80) != 0;
        const unsigned opcode = p[0] & 0x0f;
        if ((p[1] & 0x80) != 0) Die("the server sent a masked frame");
        std::size_t header = 2;
        std::uint64_t length = p[1] & 0x7f;
        if (length == 126) {
          if (left < 4) break;
          length = (std::uint64_t{p[2]} << 8) | p[3];
          header = 4;
        } else if (length == 127) {
          if (left < 10) break;
          length = 0;
          for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
          header = 10;
        }
        if (length > collab::kMaxFrameSize)
          Die("the server sent a frame over the protocol's limit");
        if (left < header + length) break;
        const std::uint8_t* payload = p + header;
        at += header + static_cast<std::size_t>(length);
        if (opcode == 0x8) {
          OnClosed(c, "a close frame");
          co_return;
        }
        if (opcode >= 0x8) continue;  // Ping, pong.
        if (opcode == 0x0 || !fin) {  // A fragment.
          message.insert(message.end(), payload, payload + length);
          if (!fin) continue;
          OnFrame(c, message.data(), message.size());
          message.clear();
          continue;
        }
        OnFrame(c, payload, static_cast<std::size_t>(length));
      }
      std::memmove(in.data(), in.data() + at, have - at);
      have -= at;
    }
  }

  // Connects, upgrades and joins; returns the welcome's head_seq, or nullopt.
  asio::awaitable<std::optional<std::uint64_t>> Join(Conn& c, bool resume) {
    auto& sock = beast::get_lowest_layer(c.ws);
    sock.expires_after(std::chrono::seconds(30));
    tcp::endpoint ep(asio::ip::make_address(setup.host == "localhost" ? "127.0.0.1" : setup.host),
                     setup.port);
    auto [ec] = co_await sock.async_connect(ep, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      std::cerr << "collab_load: connect: " << ec.message() << "\n";
      co_return std::nullopt;
    }
    sock.socket().set_option(tcp::no_delay(true));
    const std::string bearer = "Bearer " + setup.token;
    c.ws.set_option(websocket::stream_base::decorator(
        [bearer](websocket::request_type& r) { r.set(http::field::authorization, bearer); }));
    c.ws.read_message_max(collab::kMaxFrameSize);
    websocket::response_type response;
    std::tie(ec) = co_await c.ws.async_handshake(response, setup.host, setup.target,
                                                 asio::as_tuple(asio::use_awaitable));
    if (ec) {
      std::cerr << "collab_load: upgrade refused: HTTP " << response.result_int() << " "
                << response.body() << " (" << ec.message() << ")\n";
      co_return std::nullopt;
    }
    c.ws.binary(true);
    collab::Join join{setup.file_id, setup.epoch, std::nullopt};
    if (resume) join.resume_after = resume_after;
    auto bytes = collab::EncodeFrame(join);
    if (!bytes) Die("encoding a join failed");
    std::size_t n = 0;
    std::tie(ec, n) =
        co_await c.ws.async_write(asio::buffer(*bytes), asio::as_tuple(asio::use_awaitable));
    if (!ec)
      std::tie(ec, n) = co_await c.ws.async_read(c.buffer, asio::as_tuple(asio::use_awaitable));
    sock.expires_never();
    if (ec) {
      std::cerr << "collab_load: join: " << ec.message() << "\n";
      co_return std::nullopt;
    }
    auto message = collab::DecodeFrame(
        {static_cast<const std::uint8_t*>(c.buffer.data().data()), c.buffer.size()},
        collab::Direction::to_client);
    c.buffer.consume(c.buffer.size());
    if (!message || !std::holds_alternative<collab::Welcome>(*message)) {
      if (message) {
        if (const auto* e = std::get_if<collab::Error>(&*message))
          std::cerr << "collab_load: join refused: error " << static_cast<int>(e->code) << " "
                    << e->message << "\n";
      }
      std::cerr << "collab_load: the answer to a join is not a welcome\n";
      co_return std::nullopt;
    }
    c.open = true;
    co_return std::get<collab::Welcome>(*message).head_seq;
  }

  // One of opt.concurrency workers: joins connections until none is left.
  asio::awaitable<void> ConnectWorker() {
    while (next_to_connect < conns.size()) {
      Conn& c = *conns[next_to_connect++];
      auto head = co_await Join(c, true);
      if (!head) {
        ++failed;
        continue;
      }
      ++joined;
      if (opt.mode == "run") {
        asio::co_spawn(io, RawReadLoop(c), asio::detached);
      } else {
        asio::co_spawn(io, ReadLoop(c), asio::detached);
      }
    }
  }

  // The document's head: one connection joins without resume, reads the welcome and leaves
  // (the backlog the server starts sending it is dropped with it). The bench connections
  // then resume after it, so they are sent no history.
  asio::awaitable<void> Probe() {
    Conn probe(io);
    auto head = co_await Join(probe, false);
    if (!head) Die("the probe connection could not join the document");
    resume_after = *head;
    beast::get_lowest_layer(probe.ws).close();
    connect_start_ns = NowNs();
    const int workers = std::min<int>(opt.concurrency, static_cast<int>(conns.size()));
    for (int i = 0; i < workers; ++i) asio::co_spawn(io, ConnectWorker(), asio::detached);
  }

  void ConnectAll() {
    for (int i = 0; i < opt.clients; ++i) {
      conns.push_back(std::make_unique<Conn>(io));
      conns.back()->index = conns.size() - 1;
    }
    asio::co_spawn(io, Probe(), asio::detached);
    asio::steady_timer poll(io);
    std::function<void()> check;
    bool done = false;
    check = [&] {
      if (joined + failed == conns.size() && connect_start_ns != 0) {
        done = true;
        return;
      }
      poll.expires_after(std::chrono::milliseconds(5));
      poll.async_wait([&](boost::system::error_code) { check(); });
    };
    check();
    while (!done && io.run_one() > 0) {
    }
    if (failed > 0)
      Die(std::to_string(failed) + " of " + std::to_string(conns.size()) +
          " connections could not join");
    std::printf("all joined: %zu connections in %.2f s\n", joined,
                static_cast<double>(NowNs() - connect_start_ns) / 1e9);
    std::fflush(stdout);
  }

  void StartWrite(Conn& c) {
    if (c.writing || c.queue.empty() || !c.open) return;
    c.writing = true;
    const auto& frame = c.frames[c.queue.front()];
    c.ws.async_write(asio::buffer(frame), [this, &c](boost::system::error_code ec, std::size_t) {
      c.writing = false;
      c.queue.pop_front();
      if (ec) {
        ++errors;
        c.open = false;
        return;
      }
      StartWrite(c);
    });
  }

  void Send(std::size_t s) {
    Conn& c = *conns[s];
    if (c.next_frame >= c.frames.size()) Die("ran out of sealed frames");
    const std::size_t u = s * per_sender + c.next_frame;
    const std::int64_t now = NowNs();
    sent_ns[u] = now;
    if (sent == 0) first_send_ns = now;
    last_send_ns = now;
    ++sent;
    c.queue.push_back(c.next_frame++);
    StartWrite(c);
  }

  void SealAll() {
    const std::size_t k = conns.size();
    const auto total = static_cast<std::uint64_t>(std::llround(opt.rate * opt.duration));
    per_sender = static_cast<std::size_t>((total + k - 1) / k);
    std::mt19937_64 rng(std::random_device{}());
    std::vector<std::uint8_t> payload(static_cast<std::size_t>(opt.payload));
    const auto start = NowNs();
    for (std::size_t s = 0; s < k; ++s) {
      Conn& c = *conns[s];
      auto session = crypto::CollabSession::Start(*setup.key, *setup.identity);
      if (!session) Die("CollabSession::Start failed");
      c.session.emplace(std::move(*session));
      if (!sender_of.emplace(SessionKey(c.session->session_id()), s).second)
        Die("two sessions share their first 8 bytes");
      c.frames.reserve(per_sender);
      for (std::size_t i = 0; i < per_sender; ++i) {
        for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
        auto sealed = c.session->SealUpdate(*setup.identity, payload);
        if (!sealed) Die("SealUpdate failed");
        auto frame = collab::EncodeFrame(collab::Update{std::move(*sealed)});
        if (!frame) Die("EncodeFrame failed");
        frame_bytes = frame->size();
        c.frames.push_back(std::move(*frame));
      }
    }
    sent_ns.assign(k * per_sender, 0);
    done_ns.assign(k * per_sender, 0);
    first_ns.assign(k * per_sender, 0);
    ack_ns.assign(k * per_sender, 0);
    received.assign(k * per_sender, 0);
    std::printf("sealed: %zu update frames of %zu bytes (%d bytes of plaintext) in %.2f s\n",
                k * per_sender, frame_bytes, opt.payload,
                static_cast<double>(NowNs() - start) / 1e9);
    std::fflush(stdout);
  }

  void Run() {
    SealAll();
    const std::size_t k = conns.size();
    const auto total = static_cast<std::uint64_t>(std::llround(opt.rate * opt.duration));
    const double interval_ns = 1e9 / opt.rate;
    running = true;
    const std::int64_t t0 = NowNs() + 1'000'000;  // 1 ms from now.
    std::uint64_t next = 0;
    asio::steady_timer tick(io);
    bool sending_done = false;
    std::function<void()> pace = [&] {
      const std::int64_t now = NowNs();
      while (next < total && t0 + static_cast<std::int64_t>(next * interval_ns) <= now) {
        Send(next % k);
        ++next;
      }
      if (next >= total) {
        sending_done = true;
        return;
      }
      const auto due = t0 + static_cast<std::int64_t>(next * interval_ns);
      tick.expires_at(Clock::time_point(std::chrono::nanoseconds(due)));
      tick.async_wait([&](boost::system::error_code) { pace(); });
    };
    pace();
    while (!sending_done && io.run_one() > 0) {
    }
    // Drain: wait until every delivery arrived or opt.drain seconds passed.
    const std::uint64_t expected = sent * (k - 1);
    const std::int64_t drain_end = NowNs() + static_cast<std::int64_t>(opt.drain * 1e9);
    asio::steady_timer poll(io);
    bool drained = false;
    std::function<void()> check = [&] {
      if (deliveries >= expected || NowNs() >= drain_end) {
        drained = true;
        return;
      }
      poll.expires_after(std::chrono::milliseconds(2));
      poll.async_wait([&](boost::system::error_code) { check(); });
    };
    check();
    while (!drained && io.run_one() > 0) {
    }
    running = false;
    Report(expected);
  }

  // The p-th percentile (nearest rank) of `v`, which is sorted; -1 when empty.
  static double Percentile(const std::vector<double>& v, double p) {
    if (v.empty()) return -1.0;
    const auto i = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::min(i == 0 ? 0 : i - 1, v.size() - 1)];
  }

  void Report(std::uint64_t expected) {
    const std::size_t k = conns.size();
    // Over the updates every other client got: send -> last of them (the latency judged),
    // and for finding where it goes, send -> first of them and send -> the author's ack.
    std::vector<double> latencies_ms, first_ms, ack_ms;
    latencies_ms.reserve(sent);
    first_ms.reserve(sent);
    ack_ms.reserve(sent);
    std::uint64_t incomplete = 0;
    for (std::size_t s = 0; s < k; ++s) {
      for (std::size_t i = 0; i < conns[s]->next_frame; ++i) {
        const std::size_t u = s * per_sender + i;
        if (received[u] == k - 1) {
          latencies_ms.push_back(static_cast<double>(done_ns[u] - sent_ns[u]) / 1e6);
          first_ms.push_back(static_cast<double>(first_ns[u] - sent_ns[u]) / 1e6);
          if (ack_ns[u] != 0) ack_ms.push_back(static_cast<double>(ack_ns[u] - sent_ns[u]) / 1e6);
        } else {
          ++incomplete;
        }
      }
    }
    for (auto* v : {&latencies_ms, &first_ms, &ack_ms}) std::sort(v->begin(), v->end());
    const double p50 = Percentile(latencies_ms, 50), p99 = Percentile(latencies_ms, 99);
    const double max = latencies_ms.empty() ? -1.0 : latencies_ms.back();
    const double span_s =
        static_cast<double>(std::max(last_delivery_ns, last_send_ns) - first_send_ns) / 1e9;
    const double send_span_s = static_cast<double>(last_send_ns - first_send_ns) / 1e9;
    std::printf(
        "result server=strongroomd clients=%zu rate=%.0f duration=%.1f sent=%llu "
        "send_rate=%.0f expected=%llu deliveries=%llu lost=%llu incomplete_updates=%llu "
        "errors=%llu closed=%llu offered_per_s=%.0f deliveries_per_s=%.0f p50_ms=%.3f "
        "p99_ms=%.3f max_ms=%.3f frame_bytes=%zu payload_bytes=%d first_p50_ms=%.3f "
        "first_p99_ms=%.3f ack_p50_ms=%.3f ack_p99_ms=%.3f\n",
        k, opt.rate, opt.duration, static_cast<unsigned long long>(sent),
        send_span_s > 0 ? static_cast<double>(sent - 1) / send_span_s : 0.0,
        static_cast<unsigned long long>(expected), static_cast<unsigned long long>(deliveries),
        static_cast<unsigned long long>(expected - std::min(expected, deliveries)),
        static_cast<unsigned long long>(incomplete), static_cast<unsigned long long>(errors),
        static_cast<unsigned long long>(closed), opt.rate * static_cast<double>(k - 1),
        span_s > 0 ? static_cast<double>(deliveries) / span_s : 0.0, p50, p99, max, frame_bytes,
        opt.payload, Percentile(first_ms, 50), Percentile(first_ms, 99), Percentile(ack_ms, 50),
        Percentile(ack_ms, 99));
    std::fflush(stdout);
  }

  void Idle() {
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer hold(io);
    bool done = false;
    signals.async_wait([&](boost::system::error_code, int) {
      done = true;
      hold.cancel();
    });
    hold.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(opt.hold * 1000)));
    hold.async_wait([&](boost::system::error_code) { done = true; });
    while (!done && io.run_one() > 0) {
    }
    std::printf("idle: %zu connections held, %llu closed by the server\n", conns.size(),
                static_cast<unsigned long long>(closed));
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (!crypto::Init()) Die("libsodium failed to initialise");
  auto bench = std::make_unique<Bench>();
  bench->opt = ParseArgs(argc, argv);
  bench->setup = OpenDocument(bench->opt);
  bench->ConnectAll();
  if (bench->opt.mode == "run") {
    bench->Run();
  } else {
    bench->Idle();
  }
  // Connections are not closed one by one: the process exit closes every socket at once.
  std::_Exit(0);
}
