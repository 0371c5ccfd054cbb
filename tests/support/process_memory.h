// Reads another process's memory (/proc/PID/maps and /proc/PID/mem) looking for byte strings:
// the "memory dump" of the zero-knowledge tests. The test process may read its own children
// (same user, no Yama restriction on this machine kind; the scan says so when it cannot).
//
// Every readable mapping up to kMaxMappingBytes is read, in chunks that overlap by the longest
// needle, so a needle across a chunk border is found. Larger mappings are the sanitizers'
// shadow and allocator reservations (terabytes, almost all of it never touched) and are
// skipped; a test pairs a needle that must not be found with a control needle that must (a
// ciphertext the server relayed), which proves the scan reached the memory that matters.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace strongroom::testing {

inline constexpr std::uint64_t kMaxMappingBytes = std::uint64_t{1} << 30;

struct MemoryScan {
  bool readable = false;           // /proc/PID/mem could be opened.
  std::string error;               // Why not, when it could not.
  std::uint64_t bytes_read = 0;    // Bytes actually read.
  std::uint64_t mappings_read = 0;
  std::uint64_t mappings_skipped = 0;  // Over kMaxMappingBytes.
  std::vector<bool> found;         // Per needle, in the order given.
};

// Scans process `pid` for each of `needles` (non-empty byte strings).
MemoryScan ScanProcessMemory(pid_t pid, const std::vector<std::string>& needles);

}  // namespace strongroom::testing
