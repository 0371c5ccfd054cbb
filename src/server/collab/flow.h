// Flow control of one co-editing connection (docs/collab.md section 9): the bounded outgoing
// queue and the incoming frame rate. Internal to strongroom_server.
//
// Why bounded: a member that reads slowly must not make the server hold an ever-growing
// backlog for it. The queue has a cap in frames and one in bytes; a frame that must not be
// lost (a relay, an ack, the welcome, an error) and does not fit means the connection is
// closed with slow_consumer, and the client resumes from its last sequence number on a new
// one (the log has everything it missed). A presence frame is lossy: it is dropped instead,
// and already when the queue is half full, so cursors never crowd out updates.
//
// Thread-safety: none. Each connection owns one of each, used only on its own thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace strongroom::server::collab {

// One encoded frame. Shared: a relay is encoded once and queued for every member.
using Frame = std::shared_ptr<const std::vector<std::uint8_t>>;

class SendQueue {
 public:
  struct Limits {
    std::size_t max_frames = 4096;                 // >= 1
    std::size_t max_bytes = std::size_t{8} << 20;  // >= 1
  };
  explicit SendQueue(Limits limits) : limits_(limits) {}

  // Queues a frame that must reach the client. false (and nothing queued) when it would take
  // the queue over either cap: the caller closes the connection (slow_consumer). A frame
  // larger than the byte cap is still accepted into an empty queue, so that one large
  // snapshot can reach a joiner.
  [[nodiscard]] bool Push(Frame frame);
  // Queues a frame that may be lost (presence); false (dropped) when the queue holds half its
  // cap or more in frames or bytes.
  bool PushLossy(Frame frame);
  // Whether a page of catch-up frames read from the log may be added: the queue is below
  // half of both caps. Catch-up is paced by this, so a joiner far behind is never dropped
  // for the backlog the server itself chose to send.
  [[nodiscard]] bool HasRoomForCatchUp() const;

  [[nodiscard]] std::optional<Frame> Pop();
  // The i-th frame from the front (0: the one Pop would return). i < frames().
  [[nodiscard]] const Frame& operator[](std::size_t i) const { return frames_[i]; }
  void Clear();
  [[nodiscard]] bool empty() const { return frames_.empty(); }
  [[nodiscard]] std::size_t frames() const { return frames_.size(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  Limits limits_;
  std::deque<Frame> frames_;
  std::size_t bytes_ = 0;
};

// A token bucket of client frames: `per_second` tokens a second up to `burst`; each frame
// takes one. per_second 0 turns the limit off.
class FrameRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  FrameRateLimiter(std::int64_t per_second, std::int64_t burst, Clock::time_point now);
  // Takes a token if there is one.
  [[nodiscard]] bool Allow(Clock::time_point now);

 private:
  double per_second_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace strongroom::server::collab
