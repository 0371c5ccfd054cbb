// Token-bucket rate limiting keyed by a string (a client address, a user id). Internal header.
//
// Each key has a bucket of `burst` tokens refilled at `per_second`; a request takes one. Memory
// is bounded: at most `max_keys` buckets are kept; when full, buckets that have refilled
// completely (indistinguishable from new ones) are dropped first, then the least recently
// used. A limiter with per_second == 0 allows everything.
//
// Thread-safety: Allow() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

namespace strongroom::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double per_second, double burst, std::size_t max_keys = 100'000);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes a token for `key`. When none is left returns false and sets `retry_after` to the
  // time until one is.
  [[nodiscard]] bool Allow(std::string_view key, Clock::time_point now,
                           std::chrono::milliseconds* retry_after);

  // Buckets currently held (for tests of the memory bound).
  [[nodiscard]] std::size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::server
