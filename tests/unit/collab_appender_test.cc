// The relay's group commit (server/collab/appender.h) on a real SQLite store: every update is
// answered once, in order per submitter, seqs are contiguous, and updates that arrive while a
// commit syncs share the next transaction.
#include "metadata_store_conformance.h"
#include "server/collab/appender.h"
#include "server/storage/sqlite_metadata_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace strongroom::server::collab {
namespace {

using namespace storage;
using namespace storage::metadata_testing;

class CollabAppenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("collab-appender-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = SqliteMetadataStore::Open((dir_ / "metadata.db").string(), 2);
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    const UserRecord alice = MakeUser("alice-id", "alice@example.com");
    ASSERT_TRUE(store_->CreateInvitation(MakeInvitation("inv", alice.email)));
    ASSERT_TRUE(store_->RegisterUser(MakeRegistration(alice, "inv")));
    const auto audit = MakeAudit(kT0, "alice-id", "room.upload");
    ASSERT_TRUE(store_->CreateRoomFolder(MakeFolder("root", "alice-id"), audit));
    ASSERT_TRUE(store_->CreateRoomFile(MakeFile("f", "alice-id", "root"), audit));
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteMetadataStore> store_;
};

TEST_F(CollabAppenderTest, ConcurrentSubmittersAreAnsweredInOrderAndShareCommits) {
  CollabAppender appender(*store_);
  constexpr int kThreads = 4;
  constexpr int kEach = 150;
  std::mutex mutex;
  std::condition_variable all_done;
  int answered = 0;
  std::map<int, std::vector<std::int64_t>> seqs;  // Per submitter, in answer order.
  std::map<int, std::vector<std::int64_t>> counters;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i <= kEach; ++i) {
        appender.Submit(MakeCollabUpdate("f", 1, "alice-id", static_cast<std::uint8_t>(t), i),
                        [&, t](const CollabUpdate& u, const result<CollabWriteResult>& r) {
                          std::lock_guard lock(mutex);
                          EXPECT_TRUE(r) << r.error().message();
                          if (r) {
                            EXPECT_EQ(r->status, CollabWriteStatus::appended);
                            seqs[t].push_back(r->seq);
                          }
                          counters[t].push_back(u.counter);
                          if (++answered == kThreads * kEach) all_done.notify_one();
                        });
      }
    });
  }
  for (auto& th : threads) th.join();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(60),
                                  [&] { return answered == kThreads * kEach; }));
  }
  std::set<std::int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seqs[t].size(), static_cast<std::size_t>(kEach));
    EXPECT_TRUE(std::is_sorted(seqs[t].begin(), seqs[t].end())) << "submitter " << t;
    for (int i = 0; i < kEach; ++i) EXPECT_EQ(counters[t][i], i + 1);
    all.insert(seqs[t].begin(), seqs[t].end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kEach) << "contiguous";
  EXPECT_EQ(store_->FindCollabLog("f")->head_seq, kThreads * kEach);
  EXPECT_EQ(appender.updates(), static_cast<std::uint64_t>(kThreads * kEach));
  // Four submitters racing one syncing thread: commits were shared.
  EXPECT_LT(appender.batches(), appender.updates());
}

TEST_F(CollabAppenderTest, AStoppedAppenderAnswersAtOnceAndStopDrainsTheQueue) {
  CollabAppender appender(*store_);
  std::atomic<int> appended{0};
  for (int i = 1; i <= 20; ++i) {
    appender.Submit(MakeCollabUpdate("f", 1, "alice-id", 1, i),
                    [&](const CollabUpdate&, const result<CollabWriteResult>& r) {
                      if (r && r->status == CollabWriteStatus::appended) ++appended;
                    });
  }
  appender.Stop();
  EXPECT_EQ(appended, 20) << "Stop appends what was queued";
  bool refused = false;
  appender.Submit(MakeCollabUpdate("f", 1, "alice-id", 1, 21),
                  [&](const CollabUpdate&, const result<CollabWriteResult>& r) {
                    refused = !r && r.error() == errc::conflict;
                  });
  EXPECT_TRUE(refused);
  EXPECT_EQ(store_->FindCollabLog("f")->head_seq, 20);
}

}  // namespace
}  // namespace strongroom::server::collab
