#include "support/process_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace strongroom::testing {
namespace {

struct Mapping {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// The readable mappings of /proc/PID/maps ("begin-end perms offset dev inode path").
std::vector<Mapping> ReadableMappings(pid_t pid) {
  std::vector<Mapping> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    if (perms.empty() || perms[0] != 'r') continue;
    // The kernel's pages: not the process's data, and [vvar] faults on read.
    if (path == "[vvar]" || path == "[vsyscall]" || path == "[vdso]") continue;
    const auto dash = range.find('-');
    if (dash == std::string::npos) continue;
    out.push_back(Mapping{std::stoull(range.substr(0, dash), nullptr, 16),
                          std::stoull(range.substr(dash + 1), nullptr, 16)});
  }
  return out;
}

}  // namespace

MemoryScan ScanProcessMemory(pid_t pid, const std::vector<std::string>& needles) {
  MemoryScan scan;
  scan.found.assign(needles.size(), false);
  const std::string mem_path = "/proc/" + std::to_string(pid) + "/mem";
  const int fd = ::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    scan.error = mem_path + ": " + std::strerror(errno);
    return scan;
  }
  scan.readable = true;
  std::size_t overlap = 0;
  for (const auto& n : needles) overlap = std::max(overlap, n.size());
  overlap = overlap > 0 ? overlap - 1 : 0;

  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::string buffer;
  for (const Mapping& m : ReadableMappings(pid)) {
    if (m.end - m.begin > kMaxMappingBytes) {
      ++scan.mappings_skipped;
      continue;
    }
    ++scan.mappings_read;
    std::string carry;  // The last `overlap` bytes of the previous chunk of this mapping.
    for (std::uint64_t at = m.begin; at < m.end; at += kChunk) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, m.end - at));
      buffer.assign(carry);
      buffer.resize(carry.size() + want);
      const ssize_t n =
          ::pread(fd, buffer.data() + carry.size(), want, static_cast<off_t>(at));
      if (n <= 0) {  // A page that cannot be read (guard pages): the rest of this mapping.
        break;
      }
      buffer.resize(carry.size() + static_cast<std::size_t>(n));
      scan.bytes_read += static_cast<std::uint64_t>(n);
      for (std::size_t i = 0; i < needles.size(); ++i) {
        if (!scan.found[i] && buffer.find(needles[i]) != std::string::npos) scan.found[i] = true;
      }
      carry = buffer.size() > overlap ? buffer.substr(buffer.size() - overlap) : buffer;
    }
  }
  ::close(fd);
  return scan;
}

}  // namespace strongroom::testing
