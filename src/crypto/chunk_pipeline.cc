#include "crypto/chunk_pipeline.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace strongroom::crypto {
namespace {

constexpr std::size_t kBatchBytes = kPipelineBatchBytes;

// Why more than one buffer per worker: a worker that finishes a batch before the batches ahead
// of it have been written parks it and goes on with its next buffer, instead of sleeping until
// its turn. With one buffer, two workers on two cores spent about a tenth of their time waiting
// for each other (measured: 1.78 CPUs busy of 2 and ~300 context switches on a 1 GiB
// decryption; with three, 1.9-1.95 CPUs and ~25).
constexpr std::size_t kBuffersPerWorker = kPipelineBuffersPerWorker;

constexpr std::size_t kCacheLine = 64;

// One batch buffer and the chunks it holds.
struct Batch {
  enum class State { free, parked, writing };
  std::unique_ptr<std::uint8_t[]> storage;
  std::span<std::uint8_t> buffer;
  std::vector<PipelineChunk> chunks;
  std::vector<std::size_t> lengths;  // Input lengths, then output lengths once transformed.
  std::size_t count = 0;
  std::size_t out_len = 0;
  State state = State::free;  // Guarded by the pipeline's state mutex.
};

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

  // Output order. Batches are claimed in index order, but finish in any order; the one that
  // starts at `next_write` is written next, by whichever worker finishes it, and a batch that
  // finishes early waits in `parked` for the writer to reach it. One writer at a time, outside
  // the lock, so a slow sink does not stop the other workers from parking their batches.
  std::mutex state_mutex;
  std::condition_variable changed;  // A buffer became free, or the pipeline failed.
  std::uint64_t next_write = 0;     // Guarded by state_mutex: first chunk not yet taken to write.
  bool writing = false;             // Guarded by state_mutex.
  std::map<std::uint64_t, Batch*> parked;  // Guarded by state_mutex; keyed by first chunk.
  bool failed = false;                     // Guarded by state_mutex.
  boost::system::error_code first_error;
  std::uint64_t first_error_index = std::numeric_limits<std::uint64_t>::max();

  auto fail_locked = [&](std::uint64_t index, boost::system::error_code ec) {
    if (index < first_error_index) {
      first_error_index = index;
      first_error = ec;
    }
    failed = true;
    changed.notify_all();
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
  const std::size_t buffer_size = (batch - 1) * stride + slot_capacity;
  // A positional fill whose slots do not start on a cache line (encryption: the stride is a
  // chunk plus its tag) reads into an aligned scratch buffer instead, and the transform runs
  // from there into the slot. The kernel copies a file's pages to an aligned destination
  // much faster (measured: _copy_to_iter took 22% of an encryption's samples into the
  // unaligned slots, 15% of a decryption's into aligned ones).
  const bool use_scratch = fill && stride % kCacheLine != 0;

  // Writes one batch in order; called by the current writer, without the lock.
  auto write_batch = [&](const Batch& b) -> result<void> {
    if (contiguous) {
      if (auto w = write(b.chunks[0].index, b.count, b.buffer.first(b.out_len)); !w) {
        fail(b.chunks[0].index, w.error());
        return w;
      }
      return {};
    }
    for (std::size_t i = 0; i < b.count; ++i) {
      const auto out = b.buffer.subspan(i * stride, b.lengths[i]);
      if (auto w = write(b.chunks[i].index, 1, out); !w) {
        fail(b.chunks[i].index, w.error());
        return w;
      }
    }
    return {};
  };

  // Called with the lock held by a worker whose batch `b` starts at next_write and with no
  // other writer: writes it and every parked batch that follows, releasing the lock while
  // writing. Returns with the lock held.
  auto write_in_order = [&](std::unique_lock<std::mutex>& lock, Batch* b) {
    writing = true;
    while (b != nullptr) {
      b->state = Batch::State::writing;
      next_write += b->count;
      lock.unlock();
      const bool ok = static_cast<bool>(write_batch(*b));
      lock.lock();
      b->state = Batch::State::free;
      changed.notify_all();
      if (!ok || failed) break;
      b = nullptr;
      if (auto it = parked.find(next_write); it != parked.end()) {
        b = it->second;
        parked.erase(it);
      }
    }
    writing = false;
  };

  auto worker = [&](unsigned id) {
    // Not zero-filled: every byte is written (read or fill) before it is used.
    std::array<Batch, kBuffersPerWorker> buffers;
    for (Batch& b : buffers) {
      b.storage = std::make_unique_for_overwrite<std::uint8_t[]>(buffer_size);
      b.buffer = std::span(b.storage.get(), buffer_size);
      b.chunks.resize(batch);
      b.lengths.resize(batch);
    }
    std::unique_ptr<std::uint8_t[]> scratch_storage;
    std::span<std::uint8_t> scratch;
    if (use_scratch) {
      // Over-allocated by a cache line and aligned by hand: new[] only promises 16 bytes.
      scratch_storage = std::make_unique_for_overwrite<std::uint8_t[]>(in_capacity + kCacheLine);
      const auto address = reinterpret_cast<std::uintptr_t>(scratch_storage.get());
      const std::size_t skip = (kCacheLine - address % kCacheLine) % kCacheLine;
      scratch = std::span(scratch_storage.get() + skip, in_capacity);
    }
    auto free_buffer = [&]() -> Batch* {
      for (Batch& b : buffers)
        if (b.state == Batch::State::free) return &b;
      return nullptr;
    };

    for (;;) {
      Batch* b = nullptr;
      {
        std::unique_lock lock(state_mutex);
        changed.wait(lock, [&] { return failed || (b = free_buffer()) != nullptr; });
        if (failed) break;
      }
      auto slot = [&](std::size_t j) { return b->buffer.subspan(j * stride, slot_capacity); };
      std::size_t count = 0;
      std::uint64_t read_error_index = 0;
      boost::system::error_code read_error;
      {
        std::lock_guard lock(read_mutex);
        if (input_done || has_failed()) break;
        while (count < batch && !input_done) {
          PipelineChunk& c = b->chunks[count];
          c.index = next_read++;
          auto r = read(c.index, slot(count).first(in_capacity), c.final);
          if (!r) {
            input_done = true;
            read_error = r.error();
            read_error_index = c.index;
            break;
          }
          b->lengths[count] = *r;
          ++count;
          if (c.final) input_done = true;
        }
      }
      // Chunks before a read error still run: one of them may hold the lowest-index error.
      bool ok = true;
      b->out_len = 0;
      for (std::size_t i = 0; ok && i < count; ++i) {
        const PipelineChunk& c = b->chunks[i];
        const auto input = (use_scratch ? scratch : slot(i)).first(b->lengths[i]);
        if (fill) {
          if (auto f = fill(c, input); !f) {
            fail(c.index, f.error());
            ok = false;
            break;
          }
        }
        auto t = transform(id, c, input, slot(i));
        if (!t) {
          fail(c.index, t.error());
          ok = false;
        } else if (!c.final && *t != out_capacity) {
          fail(c.index, errc::internal);
          ok = false;
        } else {
          b->lengths[i] = *t;
          b->out_len += *t;
        }
      }
      if (!ok) break;
      if (read_error) {
        fail(read_error_index, read_error);
        break;
      }
      if (count == 0) break;
      b->count = count;
      std::unique_lock lock(state_mutex);
      if (failed) break;
      if (writing || b->chunks[0].index != next_write) {
        b->state = Batch::State::parked;
        parked.emplace(b->chunks[0].index, b);
        continue;
      }
      write_in_order(lock, b);
    }
    // Another worker may be writing one of these buffers, or will write a parked one: wait
    // for it before they go out of scope. After a failure, parked batches are never written.
    std::unique_lock lock(state_mutex);
    changed.wait(lock, [&] {
      return std::all_of(buffers.begin(), buffers.end(), [&](const Batch& b) {
        return b.state == Batch::State::free || (failed && b.state == Batch::State::parked);
      });
    });
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
