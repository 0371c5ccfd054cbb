#include "crypto/chunk_pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace strongroom::crypto {
namespace {

// Bytes of input a worker claims per lock round trip.
constexpr std::size_t kBatchBytes = std::size_t{1024} * 1024;

}  // namespace

unsigned WorkerCount(unsigned requested) noexcept {
  if (requested != 0) return std::min(requested, 64u);
  return std::clamp(std::thread::hardware_concurrency(), 1u, 64u);
}

result<void> RunPipeline(unsigned threads, std::size_t in_capacity, std::size_t out_capacity,
                         const PipelineRead& read, const PipelineTransform& transform,
                         const PipelineWrite& write, const PipelineFill& fill) {
  threads = WorkerCount(threads);
  const std::size_t batch =
      std::max<std::size_t>(1, kBatchBytes / std::max<std::size_t>(1, in_capacity));

  std::mutex read_mutex;
  bool input_done = false;      // Guarded by read_mutex.
  std::uint64_t next_read = 0;  // Guarded by read_mutex.

  std::mutex state_mutex;
  std::condition_variable turn;
  std::uint64_t next_write = 0;  // Guarded by state_mutex.
  bool failed = false;           // Guarded by state_mutex.
  boost::system::error_code first_error;
  std::uint64_t first_error_index = std::numeric_limits<std::uint64_t>::max();

  auto fail_locked = [&](std::uint64_t index, boost::system::error_code ec) {
    if (index < first_error_index) {
      first_error_index = index;
      first_error = ec;
    }
    failed = true;
    turn.notify_all();
  };
  auto fail = [&](std::uint64_t index, boost::system::error_code ec) {
    std::lock_guard lock(state_mutex);
    fail_locked(index, ec);
  };
  auto has_failed = [&] {
    std::lock_guard lock(state_mutex);
    return failed;
  };

  // Chunks are transformed in place. Positional fills happen one chunk at a time, just
  // before its transform, so chunk j can live at j * out_capacity with room for the larger of
  // its input and output: each chunk's input is consumed before the next overwrites its tail,
  // every chunk but the batch's last produces exactly out_capacity bytes, and the batch's
  // output is contiguous. Streaming reads fill every slot first, under the lock, so there
  // slots must not overlap: the stride is the larger capacity and output is written per chunk.
  const std::size_t slot_capacity = std::max(in_capacity, out_capacity);
  const std::size_t stride = fill ? out_capacity : slot_capacity;
  const bool contiguous = stride == out_capacity;

  auto worker = [&](unsigned id) {
    // Not zero-filled: every byte is written (read or fill) before it is used.
    const std::size_t buffer_size = (batch - 1) * stride + slot_capacity;
    const auto storage = std::make_unique_for_overwrite<std::uint8_t[]>(buffer_size);
    const std::span<std::uint8_t> buffer(storage.get(), buffer_size);
    std::vector<PipelineChunk> chunks(batch);
    std::vector<std::size_t> lengths(batch);
    auto slot = [&](std::size_t j) { return buffer.subspan(j * stride, slot_capacity); };
    for (;;) {
      std::size_t count = 0;
      std::uint64_t read_error_index = 0;
      boost::system::error_code read_error;
      {
        std::lock_guard lock(read_mutex);
        if (input_done || has_failed()) return;
        while (count < batch && !input_done) {
          PipelineChunk& c = chunks[count];
          c.index = next_read++;
          auto r = read(c.index, slot(count).first(in_capacity), c.final);
          if (!r) {
            input_done = true;
            read_error = r.error();
            read_error_index = c.index;
            break;
          }
          lengths[count] = *r;
          ++count;
          if (c.final) input_done = true;
        }
      }
      // Chunks before a read error still run: one of them may hold the lowest-index error.
      std::size_t out_len = 0;
      std::vector<std::size_t>& produced = lengths;  // Reused: input lengths become output.
      for (std::size_t i = 0; i < count; ++i) {
        const auto input = slot(i).first(lengths[i]);
        if (fill) {
          if (auto f = fill(chunks[i], input); !f) {
            fail(chunks[i].index, f.error());
            return;
          }
        }
        auto t = transform(id, chunks[i], input, slot(i));
        if (!t) {
          fail(chunks[i].index, t.error());
          return;
        }
        if (!chunks[i].final && *t != out_capacity) {
          fail(chunks[i].index, errc::internal);
          return;
        }
        produced[i] = *t;
        out_len += *t;
      }
      if (read_error) {
        fail(read_error_index, read_error);
        return;
      }
      if (count == 0) return;
      std::unique_lock lock(state_mutex);
      turn.wait(lock, [&] { return failed || next_write == chunks[0].index; });
      if (failed) return;
      // Writing under the lock keeps output in order; other workers keep transforming.
      if (contiguous) {
        if (auto w = write(chunks[0].index, count, buffer.first(out_len)); !w) {
          fail_locked(chunks[0].index, w.error());
          return;
        }
      } else {
        for (std::size_t i = 0; i < count; ++i) {
          if (auto w = write(chunks[i].index, 1, slot(i).first(produced[i])); !w) {
            fail_locked(chunks[i].index, w.error());
            return;
          }
        }
      }
      next_write += count;
      turn.notify_all();
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(worker, i);
  worker(0);
  for (auto& t : pool) t.join();
  if (failed) return first_error;
  return {};
}

}  // namespace strongroom::crypto
