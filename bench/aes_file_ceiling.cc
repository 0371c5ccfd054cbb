// The practical ceiling for encrypting a file: every worker preads 64 KiB chunks of FILE and
// seals them with AES-256-GCM in place, on N threads, with no format, no output and no
// ordering. Any file encryptor must at least get the bytes in and through the cipher, so
// this bounds what `strongroom encrypt FILE -o /dev/null` can reach on this machine; the
// `openssl speed` ceiling encrypts one hot 16 KiB buffer and never touches a file.
//
//   aes_file_ceiling FILE [THREADS]   ->   prints "<bytes per second>"
#include "crypto/primitives.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  using namespace strongroom::crypto;
  if (argc < 2) {
    std::fprintf(stderr, "usage: aes_file_ceiling FILE [THREADS]\n");
    return 2;
  }
  const int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  const unsigned threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2]))
                                    : std::max(1u, std::thread::hardware_concurrency());
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  constexpr std::size_t kChunk = 64 * 1024;
  std::array<std::uint8_t, 32> key{};
  RandomBytes(key);
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  auto work = [&] {
    AeadContext ctx(key);
    std::vector<std::uint8_t> buf(kChunk + kAeadTagSize);
    std::array<std::uint8_t, 12> nonce{};
    for (;;) {
      const std::uint64_t off = next.fetch_add(kChunk);
      if (off >= size) return;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - off));
      if (pread(fd, buf.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n))
        failed = true;
      const std::uint64_t index = off / kChunk;
      for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(index >> (8 * i));
      if (!ctx.Seal(nonce, std::span(buf).first(n), std::span(buf).first(n + kAeadTagSize)))
        failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) {
    std::fprintf(stderr, "aes_file_ceiling: read or cipher failure\n");
    return 1;
  }
  std::printf("%.0f\n", static_cast<double>(size) / seconds);
  return 0;
}
