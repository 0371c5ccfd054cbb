#include "server/collab/flow.h"

#include <algorithm>

namespace strongroom::server::collab {

bool SendQueue::Push(Frame frame) {
  const std::size_t size = frame->size();
  if (!frames_.empty() &&
      (frames_.size() + 1 > limits_.max_frames || bytes_ + size > limits_.max_bytes)) {
    return false;
  }
  bytes_ += size;
  frames_.push_back(std::move(frame));
  return true;
}

bool SendQueue::PushLossy(Frame frame) {
  if (!HasRoomForCatchUp()) return false;
  return Push(std::move(frame));
}

bool SendQueue::HasRoomForCatchUp() const {
  return frames_.size() * 2 < limits_.max_frames && bytes_ * 2 < limits_.max_bytes;
}

std::optional<Frame> SendQueue::Pop() {
  if (frames_.empty()) return std::nullopt;
  Frame frame = std::move(frames_.front());
  frames_.pop_front();
  bytes_ -= frame->size();
  return frame;
}

void SendQueue::Clear() {
  frames_.clear();
  bytes_ = 0;
}

FrameRateLimiter::FrameRateLimiter(std::int64_t per_second, std::int64_t burst,
                                   Clock::time_point now)
    : per_second_(static_cast<double>(per_second)),
      burst_(static_cast<double>(std::max<std::int64_t>(burst, 1))),
      tokens_(burst_),
      last_(now) {}

bool FrameRateLimiter::Allow(Clock::time_point now) {
  if (per_second_ <= 0) return true;
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
    last_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace strongroom::server::collab
