// An ordered, parallel chunk pipeline. Internal to strongroom_crypto.
//
// Workers repeatedly take a batch of consecutive chunks: decide them under a lock (so
// streamed input is read in order), fill and transform each chunk in parallel (this is where
// AES-GCM runs; each chunk is filled then transformed while it is still in cache), then the
// batch is written in order. Batching keeps lock hand-offs to one per ~1 MiB. A worker whose
// batch is done before the batches ahead of it parks it and goes on with another of its
// buffers, so workers do not wait for each other's turn to write. Memory is bounded by the
// batch buffers of each worker (kPipelineBuffersPerWorker of about kPipelineBatchBytes),
// whatever the input size. The first failure stops every worker; the error reported is the
// one of the lowest chunk index, so it is deterministic.
#pragma once

#include "strongroom/error.h"

#include <cstdint>
#include <functional>
#include <span>

namespace strongroom::crypto {

// Input bytes a worker claims at once (at least one chunk).
inline constexpr std::size_t kPipelineBatchBytes = std::size_t{1024} * 1024;
// Batches each worker may hold at once: one being transformed, the others finished and
// waiting to be written.
inline constexpr std::size_t kPipelineBuffersPerWorker = 3;

struct PipelineChunk {
  std::uint64_t index = 0;
  bool final = false;
};

// Decides the next chunk, under the read lock and in index order: returns its input length
// and whether it is the last. Streaming readers also fill `buffer` here.
using PipelineRead = std::function<result<std::size_t>(
    std::uint64_t index, std::span<std::uint8_t> buffer, bool& final)>;
// Optional: fills the buffer for a chunk outside the read lock (positional reads, so several
// workers read at once).
using PipelineFill =
    std::function<result<void>(const PipelineChunk& chunk, std::span<std::uint8_t> buffer)>;
// Transforms input into output; returns the output length. `worker` is in [0, threads).
// `in` and `out` either start at the same address (the transform works in place; AES-GCM
// allows exact overlap, so it must read each input byte before writing that output byte) or
// do not overlap at all.
using PipelineTransform = std::function<result<std::size_t>(
    unsigned worker, const PipelineChunk& chunk, std::span<const std::uint8_t> in,
    std::span<std::uint8_t> out)>;
// Consumes the output of `count` consecutive chunks starting at `first`, in index order.
using PipelineWrite = std::function<result<void>(std::uint64_t first, std::size_t count,
                                                 std::span<const std::uint8_t> out)>;

[[nodiscard]] result<void> RunPipeline(unsigned threads, std::size_t in_capacity,
                                       std::size_t out_capacity, const PipelineRead& read,
                                       const PipelineTransform& transform,
                                       const PipelineWrite& write,
                                       const PipelineFill& fill = nullptr);

// The number of workers to use for `requested` (0 = one per core).
[[nodiscard]] unsigned WorkerCount(unsigned requested) noexcept;

}  // namespace strongroom::crypto
