// An ordered, parallel chunk pipeline. Internal to strongroom_crypto.
//
// Workers repeatedly take a batch of consecutive chunks: decide them under a lock (so
// streamed input is read in order), fill and transform each chunk in parallel (this is where
// AES-GCM runs, in place; each chunk is filled then transformed while it is still in cache),
// then write
// the batch in order. Batching keeps lock hand-offs to one per ~1 MiB. Memory is bounded by
// the batch buffers of each worker, whatever the input size. The first failure stops every
// worker; the error reported is the one of the lowest chunk index, so it is deterministic.
#pragma once

#include "strongroom/error.h"

#include <cstdint>
#include <functional>
#include <span>

namespace strongroom::crypto {

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
// `in` and `out` start at the same address: the transform works in place (AES-GCM allows
// exact overlap), so it must read each input byte before writing that output byte.
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
