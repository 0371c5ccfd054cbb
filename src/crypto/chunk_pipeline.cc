#include "crypto/chunk_pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace strongroom::crypto {

unsigned WorkerCount(unsigned requested) noexcept {
  if (requested != 0) return std::min(requested, 64u);
  return std::clamp(std::thread::hardware_concurrency(), 1u, 64u);
}

result<void> RunPipeline(unsigned threads, std::size_t in_capacity, std::size_t out_capacity,
                         const PipelineRead& read, const PipelineTransform& transform,
                         const PipelineWrite& write, const PipelineFill& fill) {
  threads = WorkerCount(threads);

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

  auto worker = [&](unsigned id) {
    std::vector<std::uint8_t> in(in_capacity);
    std::vector<std::uint8_t> out(out_capacity);
    for (;;) {
      PipelineChunk chunk;
      std::size_t in_len = 0;
      {
        std::lock_guard lock(read_mutex);
        if (input_done || has_failed()) return;
        chunk.index = next_read++;
        auto r = read(chunk.index, in, chunk.final);
        if (!r) {
          input_done = true;
          fail(chunk.index, r.error());
          return;
        }
        in_len = *r;
        if (chunk.final) input_done = true;
      }
      if (fill) {
        if (auto f = fill(chunk, std::span(in.data(), in_len)); !f) {
          fail(chunk.index, f.error());
          return;
        }
      }
      auto t = transform(id, chunk, std::span(in.data(), in_len), out);
      if (!t) {
        fail(chunk.index, t.error());
        return;
      }
      std::unique_lock lock(state_mutex);
      turn.wait(lock, [&] { return failed || next_write == chunk.index; });
      if (failed) return;
      // Writing under the lock keeps output in order; other workers keep transforming.
      if (auto w = write(chunk, std::span(out.data(), *t)); !w) {
        fail_locked(chunk.index, w.error());
        return;
      }
      ++next_write;
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
