// The co-editing relay's in-process pieces (src/server/collab): the bounded send queue, the
// frame rate limiter and the in-process bus. The relay as a whole, over real WebSockets, is
// tests/integration/collab_test.cc.
#include "server/collab/bus.h"
#include "server/collab/flow.h"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <thread>

namespace strongroom::server::collab {
namespace {

Frame MakeFrame(std::size_t size, std::uint8_t fill = 0) {
  return std::make_shared<const std::vector<std::uint8_t>>(size, fill);
}

TEST(SendQueueTest, KeepsOrderAndCountsFramesAndBytes) {
  SendQueue q({10, 1000});
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.Push(MakeFrame(100, 1)));
  EXPECT_TRUE(q.Push(MakeFrame(200, 2)));
  EXPECT_EQ(q.frames(), 2u);
  EXPECT_EQ(q.bytes(), 300u);
  EXPECT_EQ((*q.Pop())->front(), 1);
  EXPECT_EQ((*q.Pop())->front(), 2);
  EXPECT_FALSE(q.Pop().has_value());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(SendQueueTest, RefusesAFrameOverEitherCap) {
  SendQueue frames({3, 1000});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(frames.Push(MakeFrame(1)));
  EXPECT_FALSE(frames.Push(MakeFrame(1))) << "a fourth frame";
  EXPECT_EQ(frames.frames(), 3u) << "a refused frame is not queued";

  SendQueue bytes({100, 1000});
  ASSERT_TRUE(bytes.Push(MakeFrame(600)));
  EXPECT_FALSE(bytes.Push(MakeFrame(401)));
  EXPECT_TRUE(bytes.Push(MakeFrame(400)));
  EXPECT_FALSE(bytes.Push(MakeFrame(1)));
  bytes.Clear();
  EXPECT_TRUE(bytes.empty());
  EXPECT_EQ(bytes.bytes(), 0u);
}

TEST(SendQueueTest, OneLargeFrameStillFitsAnEmptyQueue) {
  SendQueue q({10, 1000});
  EXPECT_TRUE(q.Push(MakeFrame(5000))) << "a snapshot larger than the cap, for a joiner";
  EXPECT_FALSE(q.Push(MakeFrame(1))) << "but nothing after it until it is sent";
  (void)q.Pop();
  EXPECT_TRUE(q.Push(MakeFrame(1)));
}

TEST(SendQueueTest, PresenceIsDroppedAndCatchUpPausesFromHalfFull) {
  SendQueue q({8, 1000});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.Push(MakeFrame(10)));
  EXPECT_TRUE(q.HasRoomForCatchUp());
  EXPECT_TRUE(q.PushLossy(MakeFrame(10)));  // 4 of 8 now.
  EXPECT_FALSE(q.HasRoomForCatchUp());
  EXPECT_FALSE(q.PushLossy(MakeFrame(10))) << "presence gives way to updates";
  EXPECT_EQ(q.frames(), 4u);
  EXPECT_TRUE(q.Push(MakeFrame(10))) << "lossless frames still fit up to the cap";

  SendQueue by_bytes({100, 1000});
  ASSERT_TRUE(by_bytes.Push(MakeFrame(500)));
  EXPECT_FALSE(by_bytes.HasRoomForCatchUp());
  EXPECT_FALSE(by_bytes.PushLossy(MakeFrame(1)));
}

TEST(FrameRateLimiterTest, AllowsABurstThenTheRate) {
  const auto t0 = FrameRateLimiter::Clock::now();
  FrameRateLimiter limiter(10, 3, t0);
  EXPECT_TRUE(limiter.Allow(t0));
  EXPECT_TRUE(limiter.Allow(t0));
  EXPECT_TRUE(limiter.Allow(t0));
  EXPECT_FALSE(limiter.Allow(t0));
  EXPECT_FALSE(limiter.Allow(t0 + std::chrono::milliseconds(50)));
  EXPECT_TRUE(limiter.Allow(t0 + std::chrono::milliseconds(110)));
  EXPECT_FALSE(limiter.Allow(t0 + std::chrono::milliseconds(110)));
  // Never more than the burst, however long the pause.
  const auto later = t0 + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow(later));
  EXPECT_FALSE(limiter.Allow(later));
}

TEST(FrameRateLimiterTest, ZeroTurnsItOff) {
  const auto t0 = FrameRateLimiter::Clock::now();
  FrameRateLimiter limiter(0, 1, t0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Allow(t0));
}

// Records what the bus delivers, on the executor it was given.
struct Recorder : CollabSubscriber {
  explicit Recorder(boost::asio::io_context::executor_type e, bool accept = true)
      : io_executor_(e), executor_(e), accept_(accept) {}
  bool Accept(const CollabEvent&) override {
    ++accepted;
    return accept_;
  }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const override { return executor_; }
  void Deliver(const std::shared_ptr<const CollabEvent>& event) override {
    EXPECT_TRUE(io_executor_.running_in_this_thread()) << "delivered off its executor";
    seqs.push_back(event->seq);
  }
  boost::asio::io_context::executor_type io_executor_;
  boost::asio::any_io_executor executor_;
  bool accept_;
  std::atomic<int> accepted{0};
  std::vector<std::int64_t> seqs;
};

std::shared_ptr<const CollabEvent> Event(const std::string& file, std::int64_t seq) {
  auto e = std::make_shared<CollabEvent>();
  e->file_id = file;
  e->seq = seq;
  return e;
}

// Runs what was posted to `io` until nothing is left; returns how many handlers ran.
std::size_t Drain(boost::asio::io_context& io) {
  io.restart();
  return io.run();
}

TEST(InProcessCollabBusTest, DeliversToTheFilesSubscribersUntilUnsubscribed) {
  boost::asio::io_context io;
  InProcessCollabBus bus;
  auto a = std::make_shared<Recorder>(io.get_executor());
  auto b = std::make_shared<Recorder>(io.get_executor());
  auto other = std::make_shared<Recorder>(io.get_executor());
  auto sa = bus.Subscribe("f", a);
  auto sb = bus.Subscribe("f", b);
  auto so = bus.Subscribe("g", other);
  EXPECT_EQ(bus.subscribers("f"), 2u);
  bus.Publish(Event("f", 1));
  bus.Publish(Event("g", 2));
  bus.Publish(Event("nobody", 3));
  EXPECT_TRUE(a->seqs.empty()) << "delivered on the publisher's thread";
  Drain(io);
  EXPECT_EQ(a->seqs, std::vector<std::int64_t>{1});
  EXPECT_EQ(b->seqs, std::vector<std::int64_t>{1});
  EXPECT_EQ(other->seqs, std::vector<std::int64_t>{2});
  sb.reset();
  bus.Publish(Event("f", 4));
  Drain(io);
  EXPECT_EQ(a->seqs, (std::vector<std::int64_t>{1, 4}));
  EXPECT_EQ(b->seqs, std::vector<std::int64_t>{1});
  EXPECT_EQ(bus.subscribers("f"), 1u);
  sa.reset();
  EXPECT_EQ(bus.subscribers("f"), 0u);
}

TEST(InProcessCollabBusTest, OnePostPerExecutorInPublishOrder) {
  boost::asio::io_context one;
  boost::asio::io_context two;
  InProcessCollabBus bus;
  std::vector<std::shared_ptr<Recorder>> members;
  std::vector<std::unique_ptr<CollabBus::Subscription>> subs;
  for (int i = 0; i < 10; ++i) {
    members.push_back(std::make_shared<Recorder>(i % 2 ? two.get_executor() : one.get_executor()));
    subs.push_back(bus.Subscribe("f", members.back()));
  }
  bus.Publish(Event("f", 1));
  EXPECT_EQ(Drain(one), 1u) << "five members on one executor, one handler";
  EXPECT_EQ(Drain(two), 1u);
  for (int seq = 2; seq <= 5; ++seq) bus.Publish(Event("f", seq));
  EXPECT_EQ(Drain(one), 4u);
  EXPECT_EQ(Drain(two), 4u);
  for (const auto& m : members) EXPECT_EQ(m->seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
}

TEST(InProcessCollabBusTest, AnEventASubscriberRefusesIsNotDeliveredToIt) {
  boost::asio::io_context io;
  InProcessCollabBus bus;
  auto full = std::make_shared<Recorder>(io.get_executor(), /*accept=*/false);
  auto fine = std::make_shared<Recorder>(io.get_executor());
  auto s1 = bus.Subscribe("f", full);
  auto s2 = bus.Subscribe("f", fine);
  bus.Publish(Event("f", 1));
  Drain(io);
  EXPECT_EQ(full->accepted, 1);
  EXPECT_TRUE(full->seqs.empty());
  EXPECT_EQ(fine->seqs, std::vector<std::int64_t>{1});
}

TEST(InProcessCollabBusTest, ASubscriberThatIsGoneIsSkipped) {
  boost::asio::io_context io;
  InProcessCollabBus bus;
  auto gone = std::make_shared<Recorder>(io.get_executor());
  auto sub = bus.Subscribe("f", gone);
  gone.reset();
  bus.Publish(Event("f", 1));  // Must not crash.
  EXPECT_EQ(Drain(io), 0u);
  sub.reset();
  EXPECT_EQ(bus.subscribers("f"), 0u);
}

TEST(InProcessCollabBusTest, ConcurrentPublishersAndSubscribersAreSafe) {
  boost::asio::io_context io;
  InProcessCollabBus bus;
  auto counter = std::make_shared<Recorder>(io.get_executor());
  auto sub = bus.Subscribe("f", counter);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        bus.Publish(Event("f", i));
        // Accept may run on several publishers at once (bus.h): subscribers come and go
        // meanwhile.
        auto churner = std::make_shared<Recorder>(io.get_executor());
        auto churn = bus.Subscribe("f", churner);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter->accepted, 4000);
  Drain(io);
  EXPECT_EQ(counter->seqs.size(), 4000u);
}

}  // namespace
}  // namespace strongroom::server::collab
