#pragma once
// This process's resident memory, for tests that bound what hostile or stuck peers can cost.
// ASan keeps freed memory in quarantine (256 MiB by default) instead of reusing it, and TSan
// maps shadow memory for every application page touched (several bytes per byte) plus its own
// allocator's metadata, so the bounds only hold in plain builds; under ASan and TSan they are
// reported (WARN), not enforced. scripts/test.sh enforces them in its plain build.

#include <unistd.h>

#include <cstddef>
#include <fstream>

#include <doctest/doctest.h>

namespace corvid::test {

inline size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t total = 0, resident = 0;
  f >> total >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

} // namespace corvid::test

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHECK_RSS(cond) WARN(cond)
#else
#define CHECK_RSS(cond) CHECK(cond)
#endif
