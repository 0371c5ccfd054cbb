#include "server/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace strongroom::server {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

// A fixed origin: every test drives time explicitly.
const Clock::time_point kT0 = Clock::time_point{} + 1000h;

TEST(RateLimiter, AllowsTheBurstThenRefuses) {
  RateLimiter limiter(1, 3);
  std::chrono::milliseconds retry{};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("10.0.0.1", kT0, &retry)) << i;
  EXPECT_FALSE(limiter.Allow("10.0.0.1", kT0, &retry));
  // Another key has its own bucket.
  EXPECT_TRUE(limiter.Allow("10.0.0.2", kT0, &retry));
}

TEST(RateLimiter, RefillsAtTheRate) {
  RateLimiter limiter(2, 2);  // One token every 500 ms.
  std::chrono::milliseconds retry{};
  ASSERT_TRUE(limiter.Allow("k", kT0, &retry));
  ASSERT_TRUE(limiter.Allow("k", kT0, &retry));
  EXPECT_FALSE(limiter.Allow("k", kT0 + 499ms, &retry));
  EXPECT_TRUE(limiter.Allow("k", kT0 + 500ms, &retry));
  EXPECT_FALSE(limiter.Allow("k", kT0 + 500ms, &retry));
  // A long pause refills to the burst, not beyond it.
  const auto later = kT0 + 1h;
  EXPECT_TRUE(limiter.Allow("k", later, &retry));
  EXPECT_TRUE(limiter.Allow("k", later, &retry));
  EXPECT_FALSE(limiter.Allow("k", later, &retry));
}

TEST(RateLimiter, RetryAfterIsTheTimeUntilTheNextToken) {
  RateLimiter limiter(4, 1);  // One token every 250 ms.
  std::chrono::milliseconds retry{};
  ASSERT_TRUE(limiter.Allow("k", kT0, &retry));
  ASSERT_FALSE(limiter.Allow("k", kT0, &retry));
  EXPECT_EQ(retry, 250ms);
  ASSERT_FALSE(limiter.Allow("k", kT0 + 100ms, &retry));
  EXPECT_EQ(retry, 150ms);
  // Waiting exactly that long is enough.
  EXPECT_TRUE(limiter.Allow("k", kT0 + 250ms, &retry));
}

TEST(RateLimiter, RetryAfterRoundsUpAndIsNeverZero) {
  RateLimiter limiter(3, 1);  // A token every 333.33... ms.
  std::chrono::milliseconds retry{};
  ASSERT_TRUE(limiter.Allow("k", kT0, &retry));
  ASSERT_FALSE(limiter.Allow("k", kT0, &retry));
  EXPECT_EQ(retry, 334ms);
  ASSERT_FALSE(limiter.Allow("k", kT0 + 333ms, &retry));  // 0.333 ms short.
  EXPECT_EQ(retry, 1ms);
}

TEST(RateLimiter, RateZeroAllowsEverythingAndKeepsNothing) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.Allow("k" + std::to_string(i % 7), kT0, nullptr));
  }
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimiter, TimeGoingBackwardsRefillsNothing) {
  RateLimiter limiter(1, 1);
  std::chrono::milliseconds retry{};
  ASSERT_TRUE(limiter.Allow("k", kT0, &retry));
  EXPECT_FALSE(limiter.Allow("k", kT0 - 10s, &retry));
  EXPECT_FALSE(limiter.Allow("k", kT0, &retry));
  EXPECT_TRUE(limiter.Allow("k", kT0 + 1s, &retry));
}

TEST(RateLimiter, MemoryStaysBoundedUnderTenTimesMaxKeysDistinctKeys) {
  constexpr std::size_t kMaxKeys = 1000;
  RateLimiter limiter(1, 5, kMaxKeys);
  for (std::size_t i = 0; i < 10 * kMaxKeys; ++i) {
    // All at the same instant: nothing refills, so eviction must fall back to LRU.
    ASSERT_TRUE(limiter.Allow("198.51.100." + std::to_string(i), kT0, nullptr));
    ASSERT_LE(limiter.size(), kMaxKeys) << i;
  }
  EXPECT_GT(limiter.size(), kMaxKeys / 2);  // The bound is used, not thrown away.
}

TEST(RateLimiter, TinyMaxKeysIsStillABound) {
  RateLimiter limiter(1, 1, 3);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter.Allow(std::to_string(i), kT0, nullptr));
  EXPECT_LE(limiter.size(), 3u);
}

TEST(RateLimiter, DropsRefilledBucketsWhenFull) {
  constexpr std::size_t kMaxKeys = 64;  // 16 shards of 4.
  RateLimiter limiter(1, 2, kMaxKeys);
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(limiter.Allow("old" + std::to_string(i), kT0, nullptr));
  ASSERT_EQ(limiter.size(), kMaxKeys);
  // Ten seconds later every bucket has refilled: the full shard that receives a new key drops
  // all of its (refilled) buckets rather than just the least recently used one.
  ASSERT_TRUE(limiter.Allow("new", kT0 + 10s, nullptr));
  EXPECT_EQ(limiter.size(), kMaxKeys - 4 + 1);
}

TEST(RateLimiter, ADroppedRefilledBucketBehavesLikeTheOriginal) {
  RateLimiter limiter(1, 2, 16);  // 16 shards of 1: every new key evicts.
  std::chrono::milliseconds retry{};
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter.Allow(std::to_string(i), kT0, nullptr));
  // Whether or not "7" was evicted meanwhile, it has its full burst again after 10 s.
  EXPECT_TRUE(limiter.Allow("7", kT0 + 10s, &retry));
  EXPECT_TRUE(limiter.Allow("7", kT0 + 10s, &retry));
  EXPECT_FALSE(limiter.Allow("7", kT0 + 10s, &retry));
}

TEST(RateLimiter, ConcurrentCallersShareOneBucketExactly) {
  RateLimiter limiter(1, 1000);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.Allow("shared", kT0, nullptr)) ++allowed;
        // Other keys in parallel, to contend on the shards too.
        (void)limiter.Allow("t" + std::to_string(t) + "-" + std::to_string(i), kT0, nullptr);
      }
    });
  }
  for (auto& th : threads) th.join();
  // 4000 attempts at one instant on a burst of 1000: exactly the burst succeeds.
  EXPECT_EQ(allowed.load(), 1000);
  EXPECT_EQ(limiter.size(), 1u + 8 * 500);
}

}  // namespace
}  // namespace strongroom::server
