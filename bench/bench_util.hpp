// Helpers shared by the benchmarks: resident memory, a spin barrier for warm-up.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>

namespace corio_bench {

/// Resident set size of this process in bytes (VmRSS from /proc/self/status), 0 if unknown.
inline std::size_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  std::size_t kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      unsigned long v = 0;
      if (std::sscanf(line + 6, "%lu", &v) == 1) kb = v;
      break;
    }
  }
  std::fclose(f);
  return kb * 1024;
}

}  // namespace corio_bench
