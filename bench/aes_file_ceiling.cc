// What a file encryptor can reach on this machine, and why: every worker takes 64 KiB chunks
// of FILE and seals them with AES-256-GCM, on N threads, with no format, no output and no
// ordering. `openssl speed` encrypts one hot 16 KiB buffer and never touches a file; these
// modes add the file back one piece at a time.
//
//   aes_file_ceiling FILE [THREADS [MODE]]   ->   prints "<bytes per second>"
//
//   file    pread each chunk into an aligned buffer, seal it in place (the default). Any file
//           encryptor must at least get the bytes in and through the cipher, so this bounds
//           what `strongroom encrypt FILE -o /dev/null` can reach.
//   read    the preads alone, no cipher: what getting the file's bytes into the process costs.
//   memory  the whole file is first read into anonymous memory (untimed), then sealed chunk
//           by chunk from there: the cipher alone over the same bytes, cold in memory.
//           Needs as much free memory as the file is large.
//   mmap    map the file once and seal each chunk straight from the mapping into a buffer:
//           the page-cache copy is gone, the kernel maps every page instead. Timed including
//           the munmap.
//
// Each core does its share of the reading and of the cipher one after the other, so
// 1 / (1 / read + 1 / memory) estimates `file` (the benchmark prints it).
#include "crypto/primitives.h"
#include "strongroom/io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace strongroom::crypto;

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kAlign = 4096;

enum class Mode { file, read, memory, mmap };

bool ParseMode(std::string_view name, Mode& mode) {
  if (name == "file") mode = Mode::file;
  else if (name == "read") mode = Mode::read;
  else if (name == "memory") mode = Mode::memory;
  else if (name == "mmap") mode = Mode::mmap;
  else return false;
  return true;
}

// Page-aligned, so the kernel's copy into it and the cipher's reads from it start on a line.
struct AlignedFree {
  void operator()(std::uint8_t* p) const noexcept { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<std::uint8_t[], AlignedFree>;
AlignedBuffer AllocateAligned(std::size_t size) {
  const std::size_t rounded = (std::max<std::size_t>(size, 1) + kAlign - 1) / kAlign * kAlign;
  return AlignedBuffer(static_cast<std::uint8_t*>(std::aligned_alloc(kAlign, rounded)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: aes_file_ceiling FILE [THREADS [file|read|memory|mmap]]\n");
    return 2;
  }
  Mode mode = Mode::file;
  if (argc > 3 && !ParseMode(argv[3], mode)) {
    std::fprintf(stderr, "aes_file_ceiling: unknown mode '%s' (file, read, memory or mmap)\n",
                 argv[3]);
    return 2;
  }
  const int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  // The positional reads strongroom's own encryption uses (a pread loop).
  strongroom::io::FdSource file(fd);
  if (!file.Size()) {
    std::fprintf(stderr, "aes_file_ceiling: %s is not a regular file\n", argv[1]);
    return 1;
  }
  const unsigned threads = argc > 2 && std::atoi(argv[2]) > 0
                               ? static_cast<unsigned>(std::atoi(argv[2]))
                               : std::max(1u, std::thread::hardware_concurrency());
  const std::uint64_t size = *file.Size();
  std::array<std::uint8_t, 32> key{};
  RandomBytes(key);

  AlignedBuffer whole;  // Mode::memory: the file's bytes, read before the clock starts.
  if (mode == Mode::memory) {
    whole = AllocateAligned(static_cast<std::size_t>(size));
    if (!whole) {
      std::fprintf(stderr, "aes_file_ceiling: no memory for a copy of %s\n", argv[1]);
      return 1;
    }
    const auto read = file.ReadAt(0, std::span(whole.get(), static_cast<std::size_t>(size)));
    if (!read || *read != size) {
      std::fprintf(stderr, "aes_file_ceiling: could not read %s into memory\n", argv[1]);
      return 1;
    }
  }

  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  const std::uint8_t* mapped = nullptr;
  if (mode == Mode::mmap && size > 0) {
    void* m = mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
      std::perror("mmap");
      return 1;
    }
    mapped = static_cast<const std::uint8_t*>(m);
  }
  auto work = [&] {
    AeadContext ctx(key);
    AlignedBuffer buf = AllocateAligned(kChunk + kAeadTagSize);
    if (!buf) {
      failed = true;
      return;
    }
    const std::span<std::uint8_t> out(buf.get(), kChunk + kAeadTagSize);
    std::array<std::uint8_t, 12> nonce{};
    for (;;) {
      const std::uint64_t off = next.fetch_add(kChunk);
      if (off >= size) return;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - off));
      const std::uint8_t* in = buf.get();
      switch (mode) {
        case Mode::file:
        case Mode::read:
          if (auto r = file.ReadAt(off, std::span(buf.get(), n)); !r || *r != n) failed = true;
          if (mode == Mode::read) continue;
          break;
        case Mode::memory:
          in = whole.get() + off;
          break;
        case Mode::mmap:
          in = mapped + off;
          break;
      }
      const std::uint64_t index = off / kChunk;
      for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(index >> (8 * i));
      if (!ctx.Seal(nonce, std::span(in, n), out.first(n + kAeadTagSize))) failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (mapped != nullptr) munmap(const_cast<std::uint8_t*>(mapped), static_cast<std::size_t>(size));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) {
    std::fprintf(stderr, "aes_file_ceiling: read or cipher failure\n");
    return 1;
  }
  std::printf("%.0f\n", static_cast<double>(size) / seconds);
  return 0;
}
