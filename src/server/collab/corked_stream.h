// CorkedStream: a stream layer under the co-editing relay's WebSocket that lets the writer
// gather many small messages into one write. Internal to strongroom_server.
//
// Why: the relay writes one small frame (about 220 bytes) per member per update. Written one
// at a time, each is a sendmsg and a packet with its own trip through the TCP stack of both
// ends; profiling the relay at saturation put half of its CPU there (bench/README.md). Corked,
// the frames the writer takes from its queue are copied into one buffer and leave together
// when it flushes: one system call, full segments.
//
// The rules, which keep the bytes on the wire in the order they were written and never let
// two writes to the next layer overlap:
//   * cork(), then writes: each write is copied into the buffer and completes at once (through
//     a post, never inline), whatever the socket's state. The caller bounds what it writes
//     before flushing (pending_bytes()).
//   * async_flush(): uncorks, and completes once everything written so far has been handed to
//     the next layer, or with the first write error. Every later write fails with that error.
//   * Uncorked and idle, a write goes straight to the next layer: the upgrade response, and
//     Beast's own control frames (pong, keep-alive ping, close) between batches. One that
//     arrives while a flush is writing is appended and written by that flush.
//   * The WebSocket's teardown flushes first, so a close frame is never cut off by the
//     shutdown that follows it.
//   * Memory: what a batch buffered is released after its flush unless it is small
//     (kRetainedCapacity), so thousands of idle connections do not each keep a burst's buffer.
//
// Not thread-safe: used only on its connection's thread, like the WebSocket above it.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace strongroom::server::collab {

template <class NextLayer>
class CorkedStream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  // `next` must outlive this object.
  explicit CorkedStream(NextLayer& next) : next_(next), idle_(next.get_executor()) {
    idle_.expires_at(boost::asio::steady_timer::time_point::max());
  }
  CorkedStream(const CorkedStream&) = delete;
  CorkedStream& operator=(const CorkedStream&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }

  // Writes from now on are buffered until async_flush.
  void cork() noexcept { corked_ = true; }
  [[nodiscard]] bool corked() const noexcept { return corked_; }
  // Bytes written and not yet handed to the next layer (being written by a flush excluded).
  [[nodiscard]] std::size_t pending_bytes() const noexcept { return pending_.size(); }
  // Buffer memory held now (capacity). After a flush, at most 2 * kRetainedCapacity.
  [[nodiscard]] std::size_t buffer_capacity() const noexcept {
    return pending_.capacity() + flight_.capacity();
  }
  static constexpr std::size_t kRetainedCapacity = 16 * 1024;

  // Appends `buffers` to the batch as a corked write would, but at once and without an
  // operation (the caller's own framing, for a writer that has many small messages). Only while
  // corked, with no error and no write of the next layer in progress: a direct write may be
  // part-way through a message. Returns whether it appended; if not, write through the layer
  // above as usual.
  template <class ConstBuffers>
  bool append(const ConstBuffers& buffers) {
    if (!corked_ || busy_ || error_) return false;
    Buffer(buffers);
    return true;
  }

  enum class TryWrite {
    sent,      // All of it is on the socket.
    buffered,  // Some or none went out; the rest is buffered: flush (async_flush) to send it.
    refused,   // Not idle (corked, a write in progress, bytes buffered) or a sticky error:
               // nothing was taken; write through the layer above as usual.
  };
  // Sends `buffers` (at most kMaxTryWriteBuffers of them, e.g. a header and a payload per
  // message) with one non-blocking sendmsg, without an operation, a handler or a wait: for a
  // writer with a few small messages to send and an idle connection, which is most deliveries
  // at a steady rate. A socket error sticks like a failed write; the bytes are buffered so the
  // flush reports it.
  static constexpr std::size_t kMaxTryWriteBuffers = 64;
  // Only over plain TCP (the next layer is the socket's own stream): under TLS the bytes must
  // go through the TLS layer, and this always refuses.
  template <class ConstBuffers>
  TryWrite try_write(const ConstBuffers& buffers) {
    if constexpr (!kPlainSocket) {
      return TryWrite::refused;
    }
    if (corked_ || busy_ || error_ || !pending_.empty()) return TryWrite::refused;
    std::array<iovec, kMaxTryWriteBuffers> iov{};
    std::size_t count = 0;
    std::size_t total = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      const boost::asio::const_buffer b(*it);
      if (b.size() == 0) continue;
      if (count == iov.size()) return TryWrite::refused;
      iov[count++] = iovec{const_cast<void*>(b.data()), b.size()};
      total += b.size();
    }
    if (total == 0) return TryWrite::sent;
    msghdr message{};
    message.msg_iov = iov.data();
    message.msg_iovlen = count;
    ssize_t n;
    do {
      n = ::sendmsg(NativeHandle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        error_ = boost::system::error_code(errno, boost::system::system_category());
      }
      n = 0;
    }
    if (static_cast<std::size_t>(n) == total) return TryWrite::sent;
    // The rest, from the first byte the socket did not take, waits for the flush.
    Buffer(buffers, static_cast<std::size_t>(n));
    return TryWrite::buffered;
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  // Signature void(error_code, std::size_t): all of `buffers` is taken, or none on an error.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        WriteOp<ConstBuffers>{this, buffers}, token, next_);
  }

  // Signature void(error_code).
  template <class Token>
  auto async_flush(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(FlushOp{this}, token,
                                                                              next_);
  }

 private:
  // Copies `buffers`, less their first `skip` bytes, to the end of pending_; returns how many
  // bytes it copied.
  template <class ConstBuffers>
  std::size_t Buffer(const ConstBuffers& buffers, std::size_t skip = 0) {
    boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
    rest.consume(skip);
    const std::size_t size = boost::asio::buffer_size(rest);
    const std::size_t at = pending_.size();
    pending_.resize(at + size);
    return boost::asio::buffer_copy(boost::asio::buffer(pending_.data() + at, size), rest);
  }

  // Whether the next layer writes straight to its socket (no TLS or other layer between).
  static constexpr bool kPlainSocket =
      std::is_same_v<boost::beast::lowest_layer_type<NextLayer>, NextLayer>;

  int NativeHandle() {
    auto& lowest = boost::beast::get_lowest_layer(next_);
    if constexpr (requires { lowest.socket(); }) {
      return lowest.socket().native_handle();
    } else {
      return lowest.native_handle();
    }
  }

  template <class ConstBuffers>
  struct WriteOp {
    CorkedStream* stream;
    ConstBuffers buffers;
    enum class State { start, buffered, direct } state = State::start;
    boost::system::error_code error{};
    std::size_t taken = 0;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
      CorkedStream& s = *stream;
      switch (state) {
        case State::start:
          if (s.error_) {
            error = s.error_;
          } else if (!s.corked_ && !s.busy_ && s.pending_.empty()) {
            // Whole, not some: a write the layer above split in two could have another
            // writer's bytes land between its parts.
            state = State::direct;
            s.busy_ = true;
            boost::asio::async_write(s.next_, buffers, std::move(self));
            return;
          } else {
            taken = s.Buffer(buffers);
          }
          state = State::buffered;
          boost::asio::post(s.get_executor(), std::move(self));
          return;
        case State::buffered:
          self.complete(error, taken);
          return;
        case State::direct:
          s.busy_ = false;
          if (ec && !s.error_) s.error_ = ec;
          s.idle_.cancel();  // A flush may be waiting for this write.
          self.complete(ec, n);
          return;
      }
    }
  };

  struct FlushOp {
    CorkedStream* stream;
    enum class State { start, waiting, writing, posted } state = State::start;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t /*n*/ = 0) {
      CorkedStream& s = *stream;
      const bool first = state == State::start;
      switch (state) {
        case State::start:
          s.corked_ = false;
          break;
        case State::waiting:  // The idle signal (a cancellation) or the timer's end.
          break;
        case State::writing:
          s.busy_ = false;
          s.flight_.clear();
          // An idle connection must not keep a burst's buffer: with thousands of connections
          // that would add up. Small batches keep theirs (no allocation per batch).
          if (s.flight_.capacity() > kRetainedCapacity) std::vector<std::uint8_t>().swap(s.flight_);
          if (ec && !s.error_) s.error_ = ec;
          s.idle_.cancel();
          break;
        case State::posted:
          self.complete(s.error_);
          return;
      }
      if (!s.error_) {
        if (s.busy_) {  // A direct write (a control frame) is on the wire: after it.
          state = State::waiting;
          s.idle_.async_wait(std::move(self));
          return;
        }
        if (!s.pending_.empty()) {
          state = State::writing;
          s.busy_ = true;
          s.flight_.swap(s.pending_);  // pending_ keeps flight_'s old capacity.
          boost::asio::async_write(s.next_, boost::asio::buffer(s.flight_), std::move(self));
          return;
        }
      }
      if (first) {  // Nothing to do: complete, but never inline.
        state = State::posted;
        boost::asio::post(s.get_executor(), std::move(self));
        return;
      }
      self.complete(s.error_);
    }
  };

  NextLayer& next_;
  // Cancelled whenever a write to the next layer ends: wakes flushes waiting for their turn.
  // Its expiry stays at the end of time, so waiting never cancels another waiter.
  boost::asio::steady_timer idle_;
  bool corked_ = false;
  bool busy_ = false;  // A write to next_ is in progress (direct or a flush).
  boost::system::error_code error_;
  std::vector<std::uint8_t> pending_;  // Written, not yet handed to a flush.
  std::vector<std::uint8_t> flight_;   // Being written by a flush.
};

// The WebSocket's teardown (after the close handshake), found by argument-dependent lookup:
// flush, then the next layer's own teardown.
template <class NextLayer, class TeardownHandler>
void async_teardown(boost::beast::role_type role, CorkedStream<NextLayer>& stream,
                    TeardownHandler&& handler) {
  auto executor = boost::asio::get_associated_executor(handler, stream.get_executor());
  stream.async_flush(boost::asio::bind_executor(
      executor, [role, &stream, handler = std::forward<TeardownHandler>(handler)](
                    boost::system::error_code /*flush*/) mutable {
        // A failed flush leaves the connection to the next layer's teardown, which reports
        // the socket's state itself.
        using boost::beast::websocket::async_teardown;
        async_teardown(role, stream.next_layer(), std::move(handler));
      }));
}

template <class NextLayer>
void teardown(boost::beast::role_type role, CorkedStream<NextLayer>& stream,
              boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

}  // namespace strongroom::server::collab
