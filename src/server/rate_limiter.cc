#include "server/rate_limiter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace strongroom::server {
namespace {

// Independent locks, so that threads serving different clients rarely wait on each other.
// 16 is a few times the thread count the server runs with (one per core).
constexpr std::size_t kShards = 16;

// How often a full shard may scan all its buckets for completely refilled ones. Between
// scans a full shard evicts its least recently used bucket instead, so a flood of new keys
// costs O(1) per key rather than a scan each.
constexpr std::chrono::seconds kSweepInterval{1};

struct Bucket {
  std::string key;
  double tokens = 0;
  RateLimiter::Clock::time_point updated;
};

// Hash and equality that accept string_view, so lookups need no std::string.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct Shard {
  std::mutex mutex;
  // Most recently used first. The map's keys view the strings inside the list nodes, which
  // never move.
  std::list<Bucket> lru;
  std::unordered_map<std::string_view, std::list<Bucket>::iterator, KeyHash, std::equal_to<>> index;
  RateLimiter::Clock::time_point last_sweep{};
  bool swept_once = false;
};

}  // namespace

struct RateLimiter::Impl {
  Impl(double rate, double capacity, std::size_t max_keys)
      : per_second(rate),
        burst(std::max(1.0, capacity)),
        // Each shard holds an equal share, so the total never exceeds max_keys; a tiny
        // max_keys uses fewer shards rather than rounding a share up.
        shard_count(std::clamp<std::size_t>(max_keys, 1, kShards)),
        per_shard(std::max<std::size_t>(1, max_keys / shard_count)) {}

  // Tokens `b` has at `now`, capped at the burst. Time going backwards (a caller mixing
  // clocks) refills nothing rather than draining the bucket.
  double TokensAt(const Bucket& b, Clock::time_point now) const {
    if (now <= b.updated) return b.tokens;
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    return std::min(burst, b.tokens + elapsed * per_second);
  }

  // Frees room for one bucket in a full shard: every completely refilled bucket if a sweep
  // is due (they behave exactly like absent ones), otherwise the least recently used.
  void MakeRoom(Shard& shard, Clock::time_point now) {
    if (!shard.swept_once || now - shard.last_sweep >= kSweepInterval) {
      shard.swept_once = true;
      shard.last_sweep = now;
      for (auto it = shard.lru.begin(); it != shard.lru.end();) {
        if (TokensAt(*it, now) >= burst) {
          shard.index.erase(it->key);
          it = shard.lru.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (shard.lru.size() >= per_shard) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
    }
  }

  const double per_second;
  const double burst;
  const std::size_t shard_count;
  const std::size_t per_shard;
  std::array<Shard, kShards> shards;
};

RateLimiter::RateLimiter(double per_second, double burst, std::size_t max_keys)
    : impl_(std::make_unique<Impl>(per_second, burst, max_keys)) {}

RateLimiter::~RateLimiter() = default;

bool RateLimiter::Allow(std::string_view key, Clock::time_point now,
                        std::chrono::milliseconds* retry_after) {
  Impl& m = *impl_;
  if (!(m.per_second > 0)) return true;

  const std::size_t hash = KeyHash{}(key);
  // A multiplicative remix picks the shard, so that the shard is not simply the low bits the
  // map inside also buckets by.
  Shard& shard = m.shards[((hash * 0x9E3779B97F4A7C15ULL) >> 32) % m.shard_count];
  std::lock_guard lock(shard.mutex);

  auto found = shard.index.find(key);
  if (found == shard.index.end()) {
    if (shard.lru.size() >= m.per_shard) m.MakeRoom(shard, now);
    shard.lru.push_front(Bucket{std::string(key), m.burst, now});
    found = shard.index.emplace(shard.lru.front().key, shard.lru.begin()).first;
  } else if (found->second != shard.lru.begin()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
  }

  Bucket& bucket = *found->second;
  bucket.tokens = m.TokensAt(bucket, now);
  bucket.updated = std::max(bucket.updated, now);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return true;
  }
  if (retry_after != nullptr) {
    const double seconds = (1 - bucket.tokens) / m.per_second;
    // Rounded up: a client that waits exactly this long finds a token.
    *retry_after =
        std::max(std::chrono::milliseconds(1), std::chrono::milliseconds(static_cast<std::int64_t>(
                                                   std::ceil(std::min(seconds, 1e9) * 1000))));
  }
  return false;
}

std::size_t RateLimiter::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < impl_->shard_count; ++i) {
    Shard& shard = impl_->shards[i];
    std::lock_guard lock(shard.mutex);
    total += shard.lru.size();
  }
  return total;
}

}  // namespace strongroom::server
