// CorkedStream (src/server/collab/corked_stream.h) under a real Beast WebSocket on a real
// loopback TCP connection: corked writes leave only at the flush, in order; Beast's own control
// frames keep their place; a write error sticks; the close handshake flushes what is buffered.
#include "server/collab/corked_stream.h"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace strongroom::server::collab {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// A connected pair: the server side is a WebSocket over a CorkedStream, the client side a plain
// Beast WebSocket, both on one io_context (one thread, like a relay connection).
class CorkedStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io_);
    client.connect(acceptor.local_endpoint());
    server_tcp_.emplace(acceptor.accept());
    client_.emplace(std::move(client));
    corked_.emplace(*server_tcp_);
    server_.emplace(*corked_);
    server_->binary(true);
    client_->binary(true);
  }

  // Runs `server` and `client` as coroutines until both end (or 10 s pass: a failure).
  void Run(std::function<asio::awaitable<void>()> server,
           std::function<asio::awaitable<void>()> client) {
    int done = 0;
    asio::co_spawn(io_, Handshake(std::move(server), false), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      ++done;
    });
    asio::co_spawn(io_, Handshake(std::move(client), true), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      ++done;
    });
    io_.run_for(10s);
    EXPECT_EQ(done, 2) << "a side did not finish in time";
  }

  asio::awaitable<void> Handshake(std::function<asio::awaitable<void>()> body, bool client) {
    if (client) {
      auto [ec] = co_await client_->async_handshake("127.0.0.1", "/", kNoThrow);
      EXPECT_FALSE(ec) << ec.message();
    } else {
      // The upgrade response goes through the uncorked stream, straight to the socket.
      auto [ec] = co_await server_->async_accept(kNoThrow);
      EXPECT_FALSE(ec) << ec.message();
    }
    co_await body();
  }

  asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(io_, d);
    co_await t.async_wait(kNoThrow);
  }

  // Bytes the client's kernel has received and nobody has read yet.
  std::size_t ClientUnread() { return beast::get_lowest_layer(*client_).socket().available(); }

  asio::awaitable<std::string> ClientRead() {
    beast::flat_buffer buffer;
    auto [ec, n] = co_await client_->async_read(buffer, kNoThrow);
    EXPECT_FALSE(ec) << ec.message();
    co_return beast::buffers_to_string(buffer.data());
  }

  // The client's side of a peer that is gone: it closes with a reset.
  asio::awaitable<void> ClientResets() {
    auto& socket = beast::get_lowest_layer(*client_).socket();
    socket.set_option(asio::socket_base::linger(true, 0));
    socket.close();
    co_return;
  }

  asio::awaitable<boost::system::error_code> ServerWrite(const std::string& text) {
    auto [ec, n] = co_await server_->async_write(asio::buffer(text), kNoThrow);
    if (!ec) {
      EXPECT_EQ(n, text.size());
    }
    co_return ec;
  }

  asio::io_context io_;
  std::optional<beast::tcp_stream> server_tcp_;
  std::optional<CorkedStream<beast::tcp_stream>> corked_;
  std::optional<websocket::stream<CorkedStream<beast::tcp_stream>&>> server_;
  std::optional<websocket::stream<beast::tcp_stream>> client_;
};

TEST_F(CorkedStreamTest, UncorkedWritesGoStraightToTheSocket) {
  Run(
      [&]() -> asio::awaitable<void> {
        EXPECT_FALSE(co_await ServerWrite("hello"));
        EXPECT_EQ(corked_->pending_bytes(), 0u) << "nothing is held back when uncorked";
      },
      [&]() -> asio::awaitable<void> { EXPECT_EQ(co_await ClientRead(), "hello"); });
}

TEST_F(CorkedStreamTest, CorkedWritesLeaveAtTheFlushInOrder) {
  constexpr int kMessages = 100;
  Run(
      [&]() -> asio::awaitable<void> {
        corked_->cork();
        std::size_t written = 0;
        for (int i = 0; i < kMessages; ++i) {
          const std::string text = "message " + std::to_string(i);
          EXPECT_FALSE(co_await ServerWrite(text));
          written += text.size();
        }
        EXPECT_GE(corked_->pending_bytes(), written) << "payloads plus frame headers";
        co_await Sleep(50ms);
        EXPECT_EQ(ClientUnread(), 0u) << "a corked write reached the socket";
        auto [ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_FALSE(corked_->corked());
        EXPECT_EQ(corked_->pending_bytes(), 0u);
      },
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < kMessages; ++i) {
          EXPECT_EQ(co_await ClientRead(), "message " + std::to_string(i));
        }
      });
}

TEST_F(CorkedStreamTest, ABurstsBufferIsNotKeptAfterTheFlush) {
  constexpr int kMessages = 16;
  const std::string big(64 * 1024, 'b');
  Run(
      [&]() -> asio::awaitable<void> {
        corked_->cork();
        for (int i = 0; i < kMessages; ++i) EXPECT_FALSE(co_await ServerWrite(big));
        EXPECT_GE(corked_->buffer_capacity(), kMessages * big.size());
        auto [ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_LE(corked_->buffer_capacity(),
                  2 * CorkedStream<beast::tcp_stream>::kRetainedCapacity)
            << "an idle connection keeps a burst's memory";
      },
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < kMessages; ++i) EXPECT_EQ(co_await ClientRead(), big);
      });
}

// append: the caller's own framing, in order with the writes around it, only while corked.
TEST_F(CorkedStreamTest, AppendedBytesKeepTheirPlaceAndNeedTheCork) {
  const auto framed = [](const std::string& text) {  // A server's binary message, RFC 6455 5.2.
    std::string bytes = {'\x82', static_cast<char>(text.size())};
    return bytes + text;
  };
  Run(
      [&]() -> asio::awaitable<void> {
        EXPECT_FALSE(corked_->append(asio::buffer(framed("refused")))) << "uncorked";
        corked_->cork();
        EXPECT_FALSE(co_await ServerWrite("one"));
        EXPECT_TRUE(corked_->append(asio::buffer(framed("two"))));
        EXPECT_FALSE(co_await ServerWrite("three"));
        auto [ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_FALSE(ec) << ec.message();
      },
      [&]() -> asio::awaitable<void> {
        EXPECT_EQ(co_await ClientRead(), "one");
        EXPECT_EQ(co_await ClientRead(), "two");
        EXPECT_EQ(co_await ClientRead(), "three");
      });
}

TEST_F(CorkedStreamTest, AFlushWithNothingWrittenCompletes) {
  Run(
      [&]() -> asio::awaitable<void> {
        corked_->cork();
        auto [ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_FALSE(corked_->corked());
      },
      []() -> asio::awaitable<void> { co_return; });
}

// Beast answers a ping from inside a read: while corked, the pong is buffered like any write
// and goes out at the flush, before the message written after it.
TEST_F(CorkedStreamTest, APongAnsweredWhileCorkedKeepsItsPlace) {
  std::vector<std::string> seen;  // What the client got, in order.
  bool server_read_ended = false;
  Run(
      [&]() -> asio::awaitable<void> {
        corked_->cork();
        beast::flat_buffer buffer;
        // Reads until the client's "done" message; the ping arrives first and is answered.
        auto [ec, n] = co_await server_->async_read(buffer, kNoThrow);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(beast::buffers_to_string(buffer.data()), "done");
        server_read_ended = true;
        EXPECT_GT(corked_->pending_bytes(), 0u) << "the pong waits for the flush";
        EXPECT_FALSE(co_await ServerWrite("after the pong"));
        auto [flush_ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_FALSE(flush_ec) << flush_ec.message();
      },
      [&]() -> asio::awaitable<void> {
        client_->control_callback([&](websocket::frame_type kind, beast::string_view payload) {
          if (kind == websocket::frame_type::pong) seen.push_back("pong:" + std::string(payload));
        });
        auto [ping_ec] = co_await client_->async_ping("p1", kNoThrow);
        EXPECT_FALSE(ping_ec) << ping_ec.message();
        auto [ec, n] = co_await client_->async_write(asio::buffer(std::string("done")), kNoThrow);
        EXPECT_FALSE(ec) << ec.message();
        seen.push_back(co_await ClientRead());
      });
  EXPECT_TRUE(server_read_ended);
  EXPECT_EQ(seen, (std::vector<std::string>{"pong:p1", "after the pong"}));
}

// The peer starts the close handshake while the server has a message buffered: Beast's close
// reply is buffered behind it, and the teardown flushes both before shutting the socket down,
// so the client's close completes cleanly instead of timing out.
TEST_F(CorkedStreamTest, TheCloseHandshakeFlushesWhatIsBuffered) {
  Run(
      [&]() -> asio::awaitable<void> {
        corked_->cork();
        EXPECT_FALSE(co_await ServerWrite("last words"));
        beast::flat_buffer buffer;
        auto [ec, n] = co_await server_->async_read(buffer, kNoThrow);
        EXPECT_EQ(ec, websocket::error::closed) << ec.message();
        EXPECT_EQ(corked_->pending_bytes(), 0u);
      },
      [&]() -> asio::awaitable<void> {
        beast::get_lowest_layer(*client_).expires_after(5s);
        auto [ec] = co_await client_->async_close(websocket::close_code::normal, kNoThrow);
        EXPECT_FALSE(ec) << "the close reply never came: " << ec.message();
      });
}

// Once a write to the socket fails, every later write fails with the same error at once.
TEST_F(CorkedStreamTest, AWriteErrorSticks) {
  Run(
      [&]() -> asio::awaitable<void> {
        const std::string big(256 * 1024, 'x');
        boost::system::error_code failure;
        // The peer is gone; the kernel takes some bytes before it reports the reset.
        for (int i = 0; i < 200 && !failure; ++i) {
          corked_->cork();
          if (auto ec = co_await ServerWrite(big)) failure = ec;
          auto [flush_ec] = co_await corked_->async_flush(kNoThrow);
          if (flush_ec) failure = flush_ec;
          co_await Sleep(1ms);
        }
        EXPECT_TRUE(failure) << "writing to a closed peer never failed";
        if (!failure) co_return;
        corked_->cork();
        auto [ec, n] = co_await corked_->async_write_some(asio::buffer(big), kNoThrow);
        EXPECT_EQ(ec, failure);
        EXPECT_EQ(n, 0u);
        EXPECT_FALSE(corked_->append(asio::buffer(big))) << "after an error";
        auto [flush_ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_EQ(flush_ec, failure);
      },
      [&]() { return ClientResets(); });
}

// A server's binary message of our own framing (RFC 6455 5.2), as the relay sends them.
std::string Framed(const std::string& text) {
  std::string bytes = {'\x82'};
  if (text.size() < 126) {
    bytes += static_cast<char>(text.size());
  } else {
    bytes += '\x7e';
    bytes += static_cast<char>(text.size() >> 8);
    bytes += static_cast<char>(text.size() & 0xff);
  }
  return bytes + text;
}

using TryWrite = CorkedStream<beast::tcp_stream>::TryWrite;

// try_write on an idle stream: on the socket at once, no flush needed; refused whenever the
// stream is not idle, so the caller writes through Beast and nothing lands mid-message.
TEST_F(CorkedStreamTest, TryWriteSendsAtOnceWhenIdleAndIsRefusedOtherwise) {
  Run(
      [&]() -> asio::awaitable<void> {
        const std::string one = Framed("one");
        EXPECT_EQ(corked_->try_write(asio::buffer(one)), TryWrite::sent);
        EXPECT_EQ(corked_->pending_bytes(), 0u);
        const std::string head = "\x82\x03", body = "two";  // Header and payload apart.
        const std::array<asio::const_buffer, 2> two{asio::buffer(head), asio::buffer(body)};
        EXPECT_EQ(corked_->try_write(two), TryWrite::sent);
        corked_->cork();
        EXPECT_EQ(corked_->try_write(asio::buffer(Framed("refused"))), TryWrite::refused)
            << "corked";
        EXPECT_FALSE(co_await ServerWrite("three"));
        auto [ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_FALSE(ec) << ec.message();
        const std::string four = Framed("four");
        EXPECT_EQ(corked_->try_write(asio::buffer(four)), TryWrite::sent);
      },
      [&]() -> asio::awaitable<void> {
        EXPECT_EQ(co_await ClientRead(), "one");
        EXPECT_EQ(co_await ClientRead(), "two");
        EXPECT_EQ(co_await ClientRead(), "three");
        EXPECT_EQ(co_await ClientRead(), "four");
      });
}

// Several messages in one try_write (a header and a payload buffer each), as the relay sends
// what queued up for an idle member; more buffers than the limit are refused, not cut.
TEST_F(CorkedStreamTest, TryWriteSendsManyMessagesAtOnceUpToItsBufferLimit) {
  constexpr std::size_t kMessages = CorkedStream<beast::tcp_stream>::kMaxTryWriteBuffers / 2;
  std::vector<std::string> headers, bodies;
  for (std::size_t i = 0; i < kMessages + 1; ++i) {
    bodies.push_back("message " + std::to_string(i));
    headers.push_back({'\x82', static_cast<char>(bodies.back().size())});
  }
  const auto buffers = [&](std::size_t count) {
    std::vector<asio::const_buffer> b;
    for (std::size_t i = 0; i < count; ++i) {
      b.push_back(asio::buffer(headers[i]));
      b.push_back(asio::buffer(bodies[i]));
    }
    return b;
  };
  Run(
      [&]() -> asio::awaitable<void> {
        EXPECT_EQ(corked_->try_write(buffers(kMessages + 1)), TryWrite::refused);
        EXPECT_EQ(corked_->try_write(buffers(kMessages)), TryWrite::sent);
        co_return;
      },
      [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < kMessages; ++i) EXPECT_EQ(co_await ClientRead(), bodies[i]);
      });
}

// A peer that does not read: the socket fills, try_write buffers what it did not take (part
// of a message, then whole ones are refused), and the flush sends the rest in order.
TEST_F(CorkedStreamTest, WhatTryWriteCouldNotSendLeavesAtTheFlushInOrder) {
  const std::string payload(1000, 'p');
  int sent = 0;
  Run(
      [&]() -> asio::awaitable<void> {
        TryWrite last = TryWrite::sent;
        for (; sent < 100000 && last == TryWrite::sent; ++sent) {
          const std::string message = Framed(std::to_string(sent) + ":" + payload);
          last = corked_->try_write(asio::buffer(message));
        }
        EXPECT_EQ(last, TryWrite::buffered) << "the socket never filled";
        if (last != TryWrite::buffered) co_return;
        EXPECT_GT(corked_->pending_bytes(), 0u);
        EXPECT_EQ(corked_->try_write(asio::buffer(Framed("x"))), TryWrite::refused)
            << "bytes are waiting: a new message would overtake them";
        auto [ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(corked_->pending_bytes(), 0u);
      },
      [&]() -> asio::awaitable<void> {
        co_await Sleep(100ms);  // Let the server fill the socket first.
        for (int i = 0; i < 100000; ++i) {
          const std::string got = co_await ClientRead();
          EXPECT_EQ(got, std::to_string(i) + ":" + payload);
          if (got != std::to_string(i) + ":" + payload || i + 1 == sent) break;
        }
      });
  EXPECT_GT(sent, 1);
}

TEST_F(CorkedStreamTest, ASocketErrorInTryWriteSticks) {
  Run(
      [&]() -> asio::awaitable<void> {
        const std::string message = Framed(std::string(100, 'x'));
        TryWrite last = TryWrite::sent;
        // The peer is gone; the kernel takes some bytes before it reports the reset.
        for (int i = 0; i < 2000 && last == TryWrite::sent; ++i) {
          last = corked_->try_write(asio::buffer(message));
          if (last == TryWrite::sent) co_await Sleep(1ms);
        }
        EXPECT_EQ(last, TryWrite::buffered) << "writing to a closed peer never failed";
        auto [ec] = co_await corked_->async_flush(kNoThrow);
        EXPECT_TRUE(ec) << "the flush must report the socket's error";
        EXPECT_EQ(corked_->try_write(asio::buffer(message)), TryWrite::refused);
        auto [wec, n] = co_await corked_->async_write_some(asio::buffer(message), kNoThrow);
        EXPECT_EQ(wec, ec);
      },
      [&]() { return ClientResets(); });
}

}  // namespace
}  // namespace strongroom::server::collab
