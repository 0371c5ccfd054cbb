// The BlobStore conformance suite: the contract in strongroom/storage/blob_store.h, as
// tests. Every BlobStore implementation runs all of it, written against `BlobStore&` only.
//
// To run it against an implementation, define a harness type and instantiate the suite in
// that implementation's test file:
//
//   struct MyHarness {
//     MyHarness();   // Fresh, empty backing storage (a new directory, bucket prefix, ...).
//     ~MyHarness();  // Removes it.
//     // A store over that storage. Called once per test, in SetUp().
//     strongroom::result<std::unique_ptr<strongroom::storage::BlobStore>> Open();
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, BlobStoreConformance, ::testing::Types<MyHarness>);
//
// This is a type-parameterized suite (TYPED_TEST_SUITE_P), so the header may be included by
// several test files of one binary, one instantiation each (gtest defines the pattern's
// symbols with internal linkage for exactly this use).
#pragma once

#include "strongroom/storage/blob_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace strongroom::storage {

// So that gtest prints ids in failure messages rather than their bytes.
inline void PrintTo(const BlobId& id, std::ostream* os) {
  *os << '"' << id.str() << '"';
}

namespace testing {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

inline Bytes PatternData(std::size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

// A valid id for tests; throws (which gtest reports as a failure) on a bad literal.
inline BlobId Id(std::string s) {
  return BlobId::Make(std::move(s)).value();
}

// A stream without random access that returns short reads of varying sizes, as pipes and
// network bodies do, so stores cannot rely on full reads or on Size().
class ShortReadSource final : public io::Source {
 public:
  explicit ShortReadSource(std::span<const std::uint8_t> data) : data_(data) {}
  result<std::size_t> Read(std::span<std::uint8_t> out) override {
    static constexpr std::size_t kSteps[] = {1, 4093, 7, 65536, 100, 20000, 3};
    const std::size_t n = std::min({out.size(), data_.size() - pos_, kSteps[step_++ % 7]});
    if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  std::size_t step_ = 0;
};

// Yields `data` in short reads, then fails with `error` instead of reporting the end: a
// client that disconnects mid-upload.
class FailingSource final : public io::Source {
 public:
  FailingSource(std::span<const std::uint8_t> data, errc error) : inner_(data), error_(error) {}
  result<std::size_t> Read(std::span<std::uint8_t> out) override {
    auto n = inner_.Read(out);
    if (n && *n == 0) return error_;
    return n;
  }

 private:
  ShortReadSource inner_;
  errc error_;
};

// A sink that accepts `limit` bytes, then fails with `error`.
class FailingSink final : public io::Sink {
 public:
  FailingSink(std::size_t limit, errc error) : limit_(limit), error_(error) {}
  result<void> Write(std::span<const std::uint8_t> data) override {
    if (data.size() > limit_) return error_;
    limit_ -= data.size();
    return {};
  }

 private:
  std::size_t limit_;
  errc error_;
};

// Lets `parties` threads start something together. Arrive() waits until all have arrived,
// or until `timeout` passes, so a store that serializes work cannot deadlock a test (the
// test then merely races less).
class Gate {
 public:
  explicit Gate(int parties) : waiting_for_(parties) {}
  void Arrive(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--waiting_for_ <= 0) {
      open_.notify_all();
      return;
    }
    open_.wait_for(lock, timeout, [&] { return waiting_for_ <= 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable open_;
  int waiting_for_;  // Guarded by mutex_.
};

// A source that waits at `gate` before its first byte: every racing Put() has started (and
// passed any early existence check) before any of them can finish.
class GatedSource final : public io::Source {
 public:
  GatedSource(std::span<const std::uint8_t> data, Gate& gate) : inner_(data), gate_(gate) {}
  result<std::size_t> Read(std::span<std::uint8_t> out) override {
    if (!arrived_) {
      arrived_ = true;
      gate_.Arrive();
    }
    return inner_.Read(out);
  }

 private:
  ShortReadSource inner_;
  Gate& gate_;
  bool arrived_ = false;
};

template <class Harness>
class BlobStoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = harness_.Open();
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
  }

  BlobStore& store() { return *store_; }

  result<void> PutBytes(const BlobId& id, const Bytes& data, std::uint64_t max = kNoLimit) {
    ShortReadSource in(data);
    return store().Put(id, in, max);
  }
  result<Bytes> GetBytes(const BlobId& id) {
    io::MemorySink out;
    if (auto r = store().Get(id, out); !r) return r.error();
    return std::move(out.data());
  }
  result<Bytes> GetRangeBytes(const BlobId& id, std::uint64_t offset, std::uint64_t length) {
    io::MemorySink out;
    if (auto r = store().GetRange(id, offset, length, out); !r) return r.error();
    return std::move(out.data());
  }
  std::vector<BlobId> ListOrFail() {
    auto ids = store().List();
    EXPECT_TRUE(ids) << ids.error().message();
    return ids ? *ids : std::vector<BlobId>{};
  }
  // The blob does not exist by every observer: Exists, Size, Get, GetRange, List.
  void ExpectAbsent(const BlobId& id) {
    auto exists = store().Exists(id);
    ASSERT_TRUE(exists);
    EXPECT_FALSE(*exists) << id.str();
    EXPECT_EQ(store().Size(id).error(), errc::not_found);
    EXPECT_EQ(GetBytes(id).error(), errc::not_found);
    EXPECT_EQ(GetRangeBytes(id, 0, 1).error(), errc::not_found);
    const auto ids = ListOrFail();
    EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 0) << id.str();
  }
  void ExpectBlob(const BlobId& id, const Bytes& data) {
    auto got = GetBytes(id);
    ASSERT_TRUE(got) << id.str() << ": " << got.error().message();
    EXPECT_TRUE(*got == data) << id.str() << ": got " << got->size() << " bytes, want "
                              << data.size();
    auto size = store().Size(id);
    ASSERT_TRUE(size);
    EXPECT_EQ(*size, data.size());
    auto exists = store().Exists(id);
    ASSERT_TRUE(exists);
    EXPECT_TRUE(*exists);
  }

  // Declared in this order so the store is destroyed before its backing storage.
  Harness harness_;
  std::unique_ptr<BlobStore> store_;
};

TYPED_TEST_SUITE_P(BlobStoreConformance);

TYPED_TEST_P(BlobStoreConformance, RoundTripsFromAShortReadingStream) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1024 * 1024 + 1}}) {
    const BlobId id = Id("blob-" + std::to_string(n));
    const Bytes data = PatternData(n, static_cast<unsigned>(n));
    ASSERT_TRUE(this->PutBytes(id, data)) << n;
    this->ExpectBlob(id, data);
  }
}

TYPED_TEST_P(BlobStoreConformance, RoundTripsFromARandomAccessSource) {
  const Bytes data = PatternData(200'000);
  io::MemorySource in(data);
  ASSERT_TRUE(this->store().Put(Id("x"), in, data.size()));
  this->ExpectBlob(Id("x"), data);
}

TYPED_TEST_P(BlobStoreConformance, RefusesToReplaceAnExistingBlob) {
  const Bytes original = PatternData(5000, 1), replacement = PatternData(7000, 2);
  ASSERT_TRUE(this->PutBytes(Id("doc"), original));
  EXPECT_EQ(this->PutBytes(Id("doc"), replacement).error(), errc::already_exists);
  EXPECT_EQ(this->PutBytes(Id("doc"), original).error(), errc::already_exists);
  EXPECT_EQ(this->PutBytes(Id("doc"), {}).error(), errc::already_exists);
  this->ExpectBlob(Id("doc"), original);
  EXPECT_EQ(this->ListOrFail(), std::vector<BlobId>{Id("doc")});
}

TYPED_TEST_P(BlobStoreConformance, AcceptsExactlyMaxSize) {
  const Bytes data = PatternData(1000);
  ASSERT_TRUE(this->PutBytes(Id("exact"), data, 1000));
  this->ExpectBlob(Id("exact"), data);
  ASSERT_TRUE(this->PutBytes(Id("empty"), {}, 0));
  this->ExpectBlob(Id("empty"), {});
}

TYPED_TEST_P(BlobStoreConformance, TooLargeLeavesNothing) {
  const Bytes data = PatternData(1001);
  EXPECT_EQ(this->PutBytes(Id("big"), data, 1000).error(), errc::too_large);
  this->ExpectAbsent(Id("big"));
  // A random-access source announces its size; the result must be the same.
  io::MemorySource in(data);
  EXPECT_EQ(this->store().Put(Id("big"), in, 1000).error(), errc::too_large);
  this->ExpectAbsent(Id("big"));
  EXPECT_EQ(this->PutBytes(Id("one"), {1}, 0).error(), errc::too_large);
  this->ExpectAbsent(Id("one"));
  // Well past one buffer, so the limit is enforced while streaming, not only at the end.
  const Bytes large = PatternData(std::size_t{3} * 1024 * 1024);
  EXPECT_EQ(this->PutBytes(Id("large"), large, 1024 * 1024).error(), errc::too_large);
  this->ExpectAbsent(Id("large"));
  EXPECT_TRUE(this->ListOrFail().empty());
}

TYPED_TEST_P(BlobStoreConformance, SourceFailingMidwayLeavesNothing) {
  const Bytes data = PatternData(300'000);
  FailingSource failing(data, errc::io_error);
  EXPECT_EQ(this->store().Put(Id("upload"), failing, kNoLimit).error(), errc::io_error);
  this->ExpectAbsent(Id("upload"));
  FailingSource at_once(std::span<const std::uint8_t>(), errc::io_error);
  EXPECT_EQ(this->store().Put(Id("upload"), at_once, kNoLimit).error(), errc::io_error);
  this->ExpectAbsent(Id("upload"));
  EXPECT_TRUE(this->ListOrFail().empty());
}

TYPED_TEST_P(BlobStoreConformance, PassesSourceAndSinkErrorsThrough) {
  const Bytes data = PatternData(100'000);
  FailingSource failing(data, errc::truncated);
  EXPECT_EQ(this->store().Put(Id("a"), failing, kNoLimit).error(), errc::truncated);
  this->ExpectAbsent(Id("a"));
  ASSERT_TRUE(this->PutBytes(Id("a"), data));
  FailingSink sink(10'000, errc::payload_tampered);
  EXPECT_EQ(this->store().Get(Id("a"), sink).error(), errc::payload_tampered);
  FailingSink range_sink(10, errc::payload_tampered);
  EXPECT_EQ(this->store().GetRange(Id("a"), 5, 90'000, range_sink).error(), errc::payload_tampered);
}

TYPED_TEST_P(BlobStoreConformance, FailedPutDoesNotBlockALaterPut) {
  const Bytes data = PatternData(70'000);
  EXPECT_EQ(this->PutBytes(Id("retry"), data, 100).error(), errc::too_large);
  FailingSource failing(data, errc::io_error);
  EXPECT_FALSE(this->store().Put(Id("retry"), failing, kNoLimit));
  ASSERT_TRUE(this->PutBytes(Id("retry"), data));
  this->ExpectBlob(Id("retry"), data);
}

TYPED_TEST_P(BlobStoreConformance, MissingBlobIsNotFound) {
  io::MemorySink out;
  EXPECT_EQ(this->store().Get(Id("missing"), out).error(), errc::not_found);
  EXPECT_EQ(this->store().GetRange(Id("missing"), 0, 10, out).error(), errc::not_found);
  EXPECT_TRUE(out.data().empty());
  this->ExpectAbsent(Id("missing"));
}

TYPED_TEST_P(BlobStoreConformance, DeleteIsIdempotent) {
  EXPECT_TRUE(this->store().Delete(Id("never-existed")));
  const Bytes data = PatternData(1234);
  ASSERT_TRUE(this->PutBytes(Id("gone"), data));
  ASSERT_TRUE(this->PutBytes(Id("kept"), data));
  EXPECT_TRUE(this->store().Delete(Id("gone")));
  this->ExpectAbsent(Id("gone"));
  EXPECT_TRUE(this->store().Delete(Id("gone")));
  this->ExpectAbsent(Id("gone"));
  this->ExpectBlob(Id("kept"), data);
  // A deleted id may be used again (delete-then-write is how content is replaced).
  const Bytes again = PatternData(99, 7);
  ASSERT_TRUE(this->PutBytes(Id("gone"), again));
  this->ExpectBlob(Id("gone"), again);
}

TYPED_TEST_P(BlobStoreConformance, ReadsRanges) {
  const Bytes data = PatternData(200'000);
  const std::uint64_t size = data.size();
  ASSERT_TRUE(this->PutBytes(Id("ranged"), data));
  auto slice = [&](std::uint64_t offset, std::uint64_t length) {
    const std::uint64_t end = offset + std::min(length, size - offset);  // No overflow.
    return Bytes(data.begin() + static_cast<std::ptrdiff_t>(offset),
                 data.begin() + static_cast<std::ptrdiff_t>(end));
  };
  const std::pair<std::uint64_t, std::uint64_t> cases[] = {
      {0, 10},               // start
      {0, 1},                // one byte
      {12'345, 100'000},     // middle, spanning buffer-sized pieces
      {65'530, 20},          // across a 64 KiB boundary
      {size - 10, 10},       // end
      {size - 10, 1'000},    // clamped at the end
      {0, size},             // whole
      {0, kNoLimit},         // whole, clamped (no overflow in offset + length)
      {100, kNoLimit - 50},  // clamped, offset + length would overflow
      {500, 0},              // empty
      {size, 5},             // at the end: empty
      {size, 0},
  };
  for (const auto& [offset, length] : cases) {
    auto got = this->GetRangeBytes(Id("ranged"), offset, length);
    ASSERT_TRUE(got) << offset << "+" << length << ": " << got.error().message();
    EXPECT_TRUE(*got == slice(offset, length))
        << offset << "+" << length << ": got " << got->size() << " bytes";
  }
  EXPECT_EQ(this->GetRangeBytes(Id("ranged"), size + 1, 1).error(), errc::invalid_argument);
  EXPECT_EQ(this->GetRangeBytes(Id("ranged"), kNoLimit, 0).error(), errc::invalid_argument);

  ASSERT_TRUE(this->PutBytes(Id("empty"), {}));
  auto empty = this->GetRangeBytes(Id("empty"), 0, 100);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(this->GetRangeBytes(Id("empty"), 1, 0).error(), errc::invalid_argument);
}

TYPED_TEST_P(BlobStoreConformance, RefusesInvalidIds) {
  const std::string bad[] = {
      "",
      std::string(129, 'a'),
      "A",
      "abC",
      "a.b",
      ".",
      "..",
      "a/b",
      "/abs",
      "a\\b",
      "a b",
      "a\nb",
      "é",
      "a:b",
      "%2e%2e",
      "tmp/x",
      std::string("a\0b", 3),
      "*",
  };
  for (const std::string& s : bad) {
    EXPECT_FALSE(IsValidBlobId(s)) << s;
    auto id = BlobId::Make(s);
    ASSERT_FALSE(id) << s;
    EXPECT_EQ(id.error(), errc::invalid_argument) << s;
  }
  const std::string good[] = {"a",
                              "0",
                              "_",
                              "-",
                              "ab",
                              "tmp",
                              "lock",
                              "a-b_c-0123456789",
                              std::string(128, 'z'),
                              "abcdefghijklmnopqrstuvwxyz"};
  for (const std::string& s : good) {
    EXPECT_TRUE(IsValidBlobId(s)) << s;
    auto id = BlobId::Make(s);
    ASSERT_TRUE(id) << s;
    EXPECT_EQ(id->str(), s);
  }

  // A moved-from id is empty, and every method refuses it before touching storage.
  BlobId moved = Id("source");
  const BlobId taken = std::move(moved);
  EXPECT_EQ(taken.str(), "source");
  EXPECT_EQ(moved.str(), "");  // NOLINT(bugprone-use-after-move): the point of the test.
  const Bytes data = PatternData(10);
  io::MemorySource in(data);
  io::MemorySink out;
  EXPECT_EQ(this->store().Put(moved, in, kNoLimit).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().Get(moved, out).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().GetRange(moved, 0, 1, out).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().Size(moved).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().Exists(moved).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().Delete(moved).error(), errc::invalid_argument);
  EXPECT_TRUE(this->ListOrFail().empty());
}

TYPED_TEST_P(BlobStoreConformance, ListsExactlyTheBlobsPut) {
  EXPECT_TRUE(this->ListOrFail().empty());
  // Includes ids shaped like a store's bookkeeping names: they are ordinary blobs.
  std::vector<BlobId> ids = {Id("b"),   Id("a"),  Id("ab"),   Id("abc"),
                             Id("tmp"), Id("tm"), Id("lock"), Id("_"),
                             Id("-"),   Id("_a"), Id("zz9"),  Id(std::string(128, '7'))};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(this->PutBytes(ids[i], PatternData(i, static_cast<unsigned>(i)))) << ids[i].str();
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(this->ListOrFail(), ids);  // Sorted, each once.

  ASSERT_TRUE(this->store().Delete(Id("tmp")));
  ids.erase(std::find(ids.begin(), ids.end(), Id("tmp")));
  EXPECT_EQ(this->ListOrFail(), ids);
}

TYPED_TEST_P(BlobStoreConformance, ConcurrentPutsOfDistinctIdsAllSucceed) {
  constexpr int kThreads = 8, kPerThread = 4;
  std::vector<result<void>> results(std::size_t{kThreads} * kPerThread);
  Gate gate(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      gate.Arrive();
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        const Bytes data =
            PatternData(10'000 + static_cast<std::size_t>(n) * 1000, static_cast<unsigned>(n));
        results[static_cast<std::size_t>(n)] = this->PutBytes(Id("t" + std::to_string(n)), data);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<BlobId> want;
  for (int n = 0; n < kThreads * kPerThread; ++n) {
    EXPECT_TRUE(results[static_cast<std::size_t>(n)]) << n;
    const BlobId id = Id("t" + std::to_string(n));
    this->ExpectBlob(
        id, PatternData(10'000 + static_cast<std::size_t>(n) * 1000, static_cast<unsigned>(n)));
    want.push_back(id);
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(this->ListOrFail(), want);
}

TYPED_TEST_P(BlobStoreConformance, ConcurrentPutsOfTheSameIdHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 3; ++round) {
    const BlobId id = Id("contested-" + std::to_string(round));
    std::vector<Bytes> data;
    data.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      // Distinct contents, and sizes, so an interleaving or a mix would show.
      data.push_back(PatternData(300'000 + static_cast<std::size_t>(t) * 4099,
                                 static_cast<unsigned>(round * 100 + t)));
    }
    std::vector<result<void>> results(kThreads);
    Gate gate(kThreads);
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        GatedSource in(data[static_cast<std::size_t>(t)], gate);
        results[static_cast<std::size_t>(t)] = this->store().Put(id, in, kNoLimit);
      });
    }
    for (auto& t : threads) t.join();
    int winners = 0, winner = -1;
    for (int t = 0; t < kThreads; ++t) {
      const auto& r = results[static_cast<std::size_t>(t)];
      if (r) {
        ++winners;
        winner = t;
      } else {
        EXPECT_EQ(r.error(), errc::already_exists) << "round " << round << " thread " << t;
      }
    }
    ASSERT_EQ(winners, 1) << "round " << round;
    this->ExpectBlob(id, data[static_cast<std::size_t>(winner)]);
  }
  EXPECT_EQ(this->ListOrFail().size(), 3u);
}

TYPED_TEST_P(BlobStoreConformance, ReadersSeeAWholeBlobOrNone) {
  const Bytes data = PatternData(1024 * 1024 + 1);
  const BlobId id = Id("appearing");
  constexpr int kReaders = 4;
  std::vector<int> partial(kReaders, 0), whole(kReaders, 0);
  Gate gate(kReaders + 1);
  std::atomic<bool> put_returned{false};
  std::vector<std::thread> readers;
  readers.reserve(kReaders);
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      gate.Arrive();
      for (;;) {
        const bool last_try = put_returned.load();
        auto exists = this->store().Exists(id);
        auto got = this->GetBytes(id);
        if (got) {
          if (*got == data) {
            ++whole[static_cast<std::size_t>(r)];
          } else {
            ++partial[static_cast<std::size_t>(r)];
          }
          return;
        }
        if (got.error() != errc::not_found || (exists && *exists)) {
          // Exists() said yes, yet Get() could not read it: a visible incomplete blob.
          ++partial[static_cast<std::size_t>(r)];
          return;
        }
        if (last_try) return;  // Put() failed: counted as neither; the test fails below.
        std::this_thread::yield();
      }
    });
  }
  gate.Arrive();
  EXPECT_TRUE(this->PutBytes(id, data));
  put_returned = true;
  for (auto& t : readers) t.join();
  for (int r = 0; r < kReaders; ++r) {
    EXPECT_EQ(partial[static_cast<std::size_t>(r)], 0) << r;
    EXPECT_EQ(whole[static_cast<std::size_t>(r)], 1) << r;
  }
}

// Reads a source to its end in pieces of `piece` bytes.
inline result<Bytes> Drain(io::Source& in, std::size_t piece = 7000) {
  Bytes out, buffer(piece);
  for (;;) {
    auto n = in.Read(buffer);
    if (!n) return n.error();
    if (*n == 0) return out;
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
  }
}

TYPED_TEST_P(BlobStoreConformance, OpenRangeStreamsClampedRanges) {
  const Bytes data = PatternData(200'000);
  const BlobId id = Id("ranged");
  ASSERT_TRUE(this->PutBytes(id, data));
  struct Case {
    std::uint64_t offset, length;
  };
  for (const Case c : {Case{0, 200'000}, Case{0, kNoLimit}, Case{1, 10}, Case{199'999, 5},
                       Case{200'000, 1}, Case{12'345, 100'000}}) {
    auto source = this->store().OpenRange(id, c.offset, c.length);
    ASSERT_TRUE(source) << c.offset;
    const auto end = std::min<std::uint64_t>(data.size(), c.offset + std::min<std::uint64_t>(
                                                                           c.length, data.size()));
    ASSERT_TRUE((*source)->Size());
    EXPECT_EQ(*(*source)->Size(), end - c.offset);
    auto got = Drain(**source);
    ASSERT_TRUE(got);
    EXPECT_TRUE(*got == Bytes(data.begin() + static_cast<std::ptrdiff_t>(c.offset),
                              data.begin() + static_cast<std::ptrdiff_t>(end)))
        << c.offset << "+" << c.length;
    // Positioned reads, relative to the window and clamped to it.
    Bytes head(8);
    auto n = (*source)->ReadAt(0, head);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, std::min<std::size_t>(8, got->size()));
    EXPECT_TRUE(std::equal(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(*n),
                           got->begin()));
  }
  EXPECT_EQ(this->store().OpenRange(id, 200'001, 1).error(), errc::invalid_argument);
  EXPECT_EQ(this->store().OpenRange(Id("absent"), 0, 1).error(), errc::not_found);
}

TYPED_TEST_P(BlobStoreConformance, OpenRangeKeepsReadingABlobDeletedMeanwhile) {
  const Bytes data = PatternData(300'000, 5);
  const BlobId id = Id("vanishing");
  ASSERT_TRUE(this->PutBytes(id, data));
  auto source = this->store().OpenRange(id, 0, kNoLimit);
  ASSERT_TRUE(source);
  ASSERT_TRUE(this->store().Delete(id));
  auto got = Drain(**source);
  ASSERT_TRUE(got) << "a stream already open must finish";
  EXPECT_TRUE(*got == data);
  this->ExpectAbsent(id);
}

TYPED_TEST_P(BlobStoreConformance, StagedBlobBecomesVisibleOnlyOnCommit) {
  const Bytes data = PatternData(500'001, 9);
  const BlobId staged = Id("upload-1"), id = Id("committed");
  ASSERT_TRUE(this->store().CreateStaged(staged));
  EXPECT_EQ(this->store().CreateStaged(staged).error(), errc::already_exists);
  EXPECT_EQ(*this->store().StagedSize(staged), 0u);
  // Three appends, as three requests would make them.
  std::size_t at = 0;
  for (const std::size_t part : {std::size_t{1}, std::size_t{250'000}, std::size_t{250'000}}) {
    auto sink = this->store().AppendStaged(staged, at);
    ASSERT_TRUE(sink) << at;
    ASSERT_TRUE((*sink)->Write(std::span(data).subspan(at, part)));
    at += part;
    EXPECT_EQ(*this->store().StagedSize(staged), at);
  }
  // Staged bytes are invisible as a blob, under either name.
  this->ExpectAbsent(staged);
  this->ExpectAbsent(id);
  ASSERT_TRUE(this->store().CommitStaged(staged, id));
  this->ExpectBlob(id, Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(at)));
  EXPECT_EQ(this->store().StagedSize(staged).error(), errc::not_found);
  EXPECT_EQ(this->ListOrFail(), std::vector<BlobId>{id});
}

TYPED_TEST_P(BlobStoreConformance, StagedAppendsAreOrderedAndExclusive) {
  const BlobId staged = Id("upload-2");
  ASSERT_TRUE(this->store().CreateStaged(staged));
  EXPECT_EQ(this->store().AppendStaged(staged, 1).error(), errc::conflict);  // A gap.
  auto first = this->store().AppendStaged(staged, 0);
  ASSERT_TRUE(first);
  ASSERT_TRUE((*first)->Write(PatternData(100)));
  // One appender at a time, and no commit while it is open.
  EXPECT_EQ(this->store().AppendStaged(staged, 100).error(), errc::conflict);
  EXPECT_EQ(this->store().CommitStaged(staged, Id("x")).error(), errc::conflict);
  first->reset();  // A broken request: what was written stays.
  EXPECT_EQ(*this->store().StagedSize(staged), 100u);
  EXPECT_EQ(this->store().AppendStaged(staged, 50).error(), errc::conflict);  // An overlap.
  auto resumed = this->store().AppendStaged(staged, 100);
  ASSERT_TRUE(resumed);
  resumed->reset();
  EXPECT_EQ(this->store().AppendStaged(Id("never-created"), 0).error(), errc::not_found);
  EXPECT_EQ(this->store().CommitStaged(Id("never-created"), Id("y")).error(), errc::not_found);
}

TYPED_TEST_P(BlobStoreConformance, CommitStagedNeverReplacesABlob) {
  const Bytes old_data = PatternData(1000, 1), new_data = PatternData(2000, 2);
  const BlobId id = Id("taken"), staged = Id("upload-3");
  ASSERT_TRUE(this->PutBytes(id, old_data));
  ASSERT_TRUE(this->store().CreateStaged(staged));
  {
    auto sink = this->store().AppendStaged(staged, 0);
    ASSERT_TRUE(sink);
    ASSERT_TRUE((*sink)->Write(new_data));
  }
  EXPECT_EQ(this->store().CommitStaged(staged, id).error(), errc::already_exists);
  this->ExpectBlob(id, old_data);
  EXPECT_EQ(*this->store().StagedSize(staged), new_data.size());  // Kept for another try.
  ASSERT_TRUE(this->store().DeleteStaged(staged));
  ASSERT_TRUE(this->store().DeleteStaged(staged));  // Idempotent.
  EXPECT_EQ(this->store().StagedSize(staged).error(), errc::not_found);
  BlobId moved = Id("moved");
  const BlobId taker = std::move(moved);  // Leaves `moved` empty, hence invalid.
  EXPECT_EQ(this->store().CreateStaged(moved).error(), errc::invalid_argument);  // NOLINT
  EXPECT_EQ(this->store().StagedSize(moved).error(), errc::invalid_argument);    // NOLINT
  EXPECT_EQ(this->store().CommitStaged(taker, moved).error(), errc::invalid_argument);  // NOLINT
}

REGISTER_TYPED_TEST_SUITE_P(BlobStoreConformance, RoundTripsFromAShortReadingStream,
                            RoundTripsFromARandomAccessSource, RefusesToReplaceAnExistingBlob,
                            AcceptsExactlyMaxSize, TooLargeLeavesNothing,
                            SourceFailingMidwayLeavesNothing, PassesSourceAndSinkErrorsThrough,
                            FailedPutDoesNotBlockALaterPut, MissingBlobIsNotFound,
                            DeleteIsIdempotent, ReadsRanges, RefusesInvalidIds,
                            ListsExactlyTheBlobsPut, ConcurrentPutsOfDistinctIdsAllSucceed,
                            ConcurrentPutsOfTheSameIdHaveExactlyOneWinner,
                            ReadersSeeAWholeBlobOrNone, OpenRangeStreamsClampedRanges,
                            OpenRangeKeepsReadingABlobDeletedMeanwhile,
                            StagedBlobBecomesVisibleOnlyOnCommit,
                            StagedAppendsAreOrderedAndExclusive, CommitStagedNeverReplacesABlob);

}  // namespace testing
}  // namespace strongroom::storage
