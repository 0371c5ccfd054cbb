// The ordered parallel chunk pipeline under the container code: output order whatever order
// batches finish in, the memory bound, and which error is reported.
#include "crypto/chunk_pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace strongroom::crypto {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::size_t kChunk = 4096;
constexpr std::size_t kExtra = 16;  // What "sealing" a chunk adds, like a GCM tag.
constexpr std::size_t kBatch = kPipelineBatchBytes / kChunk;  // Chunks per batch.

// A stand-in for AES-GCM with the same shape: "seal" XORs each byte and appends the chunk's
// index as a 16-byte trailer; "open" checks and strips that trailer. Both work in place (each
// input byte is read before that output byte is written) or between separate buffers.
enum class Direction { seal, open };

void PutIndex(std::uint64_t index, std::uint8_t* out) {
  std::memset(out, 0, kExtra);
  std::memcpy(out, &index, sizeof index);
}

Bytes RandomBytes(std::size_t n, unsigned seed) {
  Bytes b(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& v : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v = static_cast<std::uint8_t>(x);
  }
  return b;
}

// Seals `plain` chunk by chunk, serially: the reference output.
Bytes SealSerially(const Bytes& plain) {
  Bytes out;
  const std::size_t chunks = plain.empty() ? 1 : (plain.size() + kChunk - 1) / kChunk;
  for (std::size_t i = 0; i < chunks; ++i) {
    const std::size_t n = std::min(kChunk, plain.size() - i * kChunk);
    for (std::size_t j = 0; j < n; ++j) out.push_back(plain[i * kChunk + j] ^ 0x5a);
    std::uint8_t tail[kExtra];
    PutIndex(i, tail);
    out.insert(out.end(), tail, tail + kExtra);
  }
  return out;
}

struct PipelineRun {
  Direction direction = Direction::seal;
  unsigned threads = 2;
  bool positional = true;
  // Called in the transform before it works on a chunk; may sleep, or return an error.
  std::function<result<void>(std::uint64_t index)> before_transform;
  // Called in the write callback with the first chunk of a batch; may return an error.
  std::function<result<void>(std::uint64_t first)> before_write;
};

struct Outcome {
  result<void> status;
  Bytes output;
  std::vector<std::uint64_t> write_firsts;  // `first` of every write call, in call order.
  std::size_t written_chunks = 0;
  std::size_t max_in_flight = 0;  // Most chunks decided (read) but not yet written, at once.
};

Outcome RunOver(const Bytes& input, const PipelineRun& r) {
  const bool seal = r.direction == Direction::seal;
  const std::size_t in_cap = seal ? kChunk : kChunk + kExtra;
  const std::size_t out_cap = seal ? kChunk + kExtra : kChunk;
  const std::size_t chunks = input.empty() ? 1 : (input.size() + in_cap - 1) / in_cap;
  Outcome o;
  std::atomic<std::size_t> decided{0};
  std::atomic<std::size_t> written{0};
  std::atomic<std::size_t> max_in_flight{0};
  std::mutex write_mutex;  // Guards the outcome; the pipeline calls write one at a time anyway.

  auto length_of = [&](std::uint64_t index) {
    return std::min<std::size_t>(in_cap, input.size() - index * in_cap);
  };
  auto note_decided = [&] {
    const std::size_t in_flight = ++decided - written.load();
    std::size_t seen = max_in_flight.load();
    while (in_flight > seen && !max_in_flight.compare_exchange_weak(seen, in_flight)) {
    }
  };
  PipelineRead read = [&](std::uint64_t index, std::span<std::uint8_t> buffer,
                          bool& final) -> result<std::size_t> {
    if (index >= chunks) return errc::internal;
    final = index + 1 == chunks;
    const std::size_t n = length_of(index);
    if (!r.positional && n > 0) std::memcpy(buffer.data(), input.data() + index * in_cap, n);
    note_decided();
    return n;
  };
  PipelineFill fill = [&](const PipelineChunk& c, std::span<std::uint8_t> buffer) -> result<void> {
    if (!buffer.empty()) std::memcpy(buffer.data(), input.data() + c.index * in_cap, buffer.size());
    return {};
  };
  PipelineTransform transform = [&](unsigned, const PipelineChunk& c,
                                    std::span<const std::uint8_t> in,
                                    std::span<std::uint8_t> out) -> result<std::size_t> {
    if (r.before_transform) {
      if (auto e = r.before_transform(c.index); !e) return e.error();
    }
    if (seal) {
      for (std::size_t j = 0; j < in.size(); ++j) out[j] = in[j] ^ 0x5a;
      PutIndex(c.index, out.data() + in.size());
      return in.size() + kExtra;
    }
    if (in.size() < kExtra) return errc::truncated;
    const std::size_t n = in.size() - kExtra;
    std::uint8_t expected[kExtra];
    PutIndex(c.index, expected);
    if (std::memcmp(in.data() + n, expected, kExtra) != 0) return errc::payload_tampered;
    for (std::size_t j = 0; j < n; ++j) out[j] = in[j] ^ 0x5a;
    return n;
  };
  PipelineWrite write = [&](std::uint64_t first, std::size_t count,
                            std::span<const std::uint8_t> out) -> result<void> {
    std::lock_guard lock(write_mutex);
    if (r.before_write) {
      if (auto e = r.before_write(first); !e) return e;
    }
    o.write_firsts.push_back(first);
    o.output.insert(o.output.end(), out.begin(), out.end());
    o.written_chunks += count;
    written += count;
    return {};
  };
  o.status = RunPipeline(r.threads, in_cap, out_cap, read, transform, write,
                         r.positional ? fill : PipelineFill{});
  o.max_in_flight = max_in_flight.load();
  return o;
}

// Slows a few chunks so that batches finish out of order.
result<void> Jitter(std::uint64_t index) {
  if (index % 97 == 3) std::this_thread::sleep_for(std::chrono::microseconds(300));
  return {};
}

TEST(ChunkPipelineTest, OutputIsTheSerialOutputForAnyWorkersAndBatchBoundaries) {
  const std::size_t sizes[] = {0,
                               1,
                               kChunk,
                               kBatch * kChunk - 1,
                               kBatch * kChunk,
                               kBatch * kChunk + 1,
                               7 * kBatch * kChunk + 3 * kChunk + 5};
  for (const std::size_t size : sizes) {
    const Bytes plain = RandomBytes(size, static_cast<unsigned>(size));
    const Bytes sealed = SealSerially(plain);
    for (const unsigned threads : {1u, 2u, 3u, 8u}) {
      for (const bool positional : {true, false}) {
        SCOPED_TRACE(testing::Message() << "size " << size << ", threads " << threads
                                        << (positional ? ", positional" : ", streaming"));
        PipelineRun run{Direction::seal, threads, positional, Jitter, nullptr};
        const Outcome s = RunOver(plain, run);
        ASSERT_TRUE(s.status) << s.status.error().message();
        EXPECT_EQ(s.output, sealed);

        run.direction = Direction::open;
        const Outcome p = RunOver(sealed, run);
        ASSERT_TRUE(p.status) << p.status.error().message();
        EXPECT_EQ(p.output, plain);
        // Every write starts where the one before it ended.
        EXPECT_TRUE(std::is_sorted(p.write_firsts.begin(), p.write_firsts.end()));
      }
    }
  }
}

// While the first batch is slow, the other workers go on and park what they finish, up to
// their buffers, and no further: then the first batch and everything parked is written in
// order.
TEST(ChunkPipelineTest, WorkersGoOnPastASlowBatchUpToTheirBuffers) {
  constexpr unsigned kThreads = 4;
  const Bytes plain = RandomBytes(40 * kBatch * kChunk, 7);
  PipelineRun run{Direction::seal, kThreads, true,
                  [](std::uint64_t index) -> result<void> {
                    if (index == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
                    return {};
                  },
                  nullptr};
  const Outcome o = RunOver(plain, run);
  ASSERT_TRUE(o.status);
  EXPECT_EQ(o.output, SealSerially(plain));
  // With one buffer each, at most kThreads batches could be decided and unwritten at once.
  EXPECT_GT(o.max_in_flight, kThreads * kBatch) << "no worker went on past its first batch";
  EXPECT_LE(o.max_in_flight, kThreads * kPipelineBuffersPerWorker * kBatch)
      << "more batches held than the workers have buffers";
}

TEST(ChunkPipelineTest, TheLowestIndexErrorIsReportedWhicheverFailsFirst) {
  const Bytes plain = RandomBytes(12 * kBatch * kChunk, 9);
  const std::uint64_t early = kBatch + 5;  // Fails late in time...
  const std::uint64_t late = 6 * kBatch;   // ...after this one has already failed.
  for (const unsigned threads : {2u, 4u}) {
    PipelineRun run{Direction::seal, threads, true,
                    [&](std::uint64_t index) -> result<void> {
                      if (index == early) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(100));
                        return errc::payload_tampered;
                      }
                      if (index == late) return errc::malformed;
                      return {};
                    },
                    nullptr};
    const Outcome o = RunOver(plain, run);
    ASSERT_FALSE(o.status);
    EXPECT_EQ(o.status.error(), errc::payload_tampered) << threads;
    EXPECT_LE(o.written_chunks, early) << "output written at or past the failed chunk";
  }
}

TEST(ChunkPipelineTest, AWriteErrorStopsThePipelineAndNothingIsWrittenAfterIt) {
  const Bytes plain = RandomBytes(30 * kBatch * kChunk, 11);
  std::atomic<int> writes_after_error{0};
  std::atomic<bool> errored{false};
  PipelineRun run{Direction::seal, 3, true, Jitter, [&](std::uint64_t first) -> result<void> {
                    if (errored) ++writes_after_error;
                    if (first >= 3 * kBatch) {
                      errored = true;
                      return errc::io_error;
                    }
                    return {};
                  }};
  const Outcome o = RunOver(plain, run);
  ASSERT_FALSE(o.status);
  EXPECT_EQ(o.status.error(), errc::io_error);
  EXPECT_EQ(writes_after_error.load(), 0);
  EXPECT_EQ(o.written_chunks, 3 * kBatch);
}

TEST(ChunkPipelineTest, TamperedInputFailsWithTheTransformError) {
  const Bytes plain = RandomBytes(5 * kBatch * kChunk + 100, 13);
  Bytes sealed = SealSerially(plain);
  sealed[(2 * kBatch + 1) * (kChunk + kExtra) - 1] ^= 1;  // The trailer of chunk 2*kBatch.
  for (const bool positional : {true, false}) {
    const Outcome o = RunOver(sealed, PipelineRun{Direction::open, 2, positional, Jitter, nullptr});
    ASSERT_FALSE(o.status);
    EXPECT_EQ(o.status.error(), errc::payload_tampered);
    EXPECT_LE(o.written_chunks, 2 * kBatch);
  }
}

}  // namespace
}  // namespace strongroom::crypto
