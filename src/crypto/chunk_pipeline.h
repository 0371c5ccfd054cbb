// An ordered, parallel chunk pipeline. Internal to strongroom_crypto.
//
// Workers repeatedly: read the next chunk (under a lock, so reads happen in index order),
// transform it (in parallel: this is where AES-GCM runs), then write it (in index order).
// Memory is two buffers per worker, whatever the input size. The first failure stops every
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

// Fills `buffer` with the next chunk's input; returns its length and whether it is the last.
using PipelineRead =
    std::function<result<std::size_t>(std::uint64_t index, std::span<std::uint8_t> buffer,
                                      bool& final)>;
// Optional: fills the buffer for a chunk outside the read lock (positional reads, so several
// workers read at once). When given, PipelineRead only decides length and finality.
using PipelineFill = std::function<result<void>(const PipelineChunk& chunk,
                                                std::span<std::uint8_t> buffer)>;
// Transforms input into output; returns the output length. `worker` is in [0, threads).
using PipelineTransform = std::function<result<std::size_t>(
    unsigned worker, const PipelineChunk& chunk, std::span<const std::uint8_t> in,
    std::span<std::uint8_t> out)>;
// Consumes the output of one chunk, in index order.
using PipelineWrite =
    std::function<result<void>(const PipelineChunk& chunk, std::span<const std::uint8_t> out)>;

[[nodiscard]] result<void> RunPipeline(unsigned threads, std::size_t in_capacity,
                                       std::size_t out_capacity, const PipelineRead& read,
                                       const PipelineTransform& transform,
                                       const PipelineWrite& write,
                                       const PipelineFill& fill = nullptr);

// The number of workers to use for `requested` (0 = one per core).
[[nodiscard]] unsigned WorkerCount(unsigned requested) noexcept;

}  // namespace strongroom::crypto
