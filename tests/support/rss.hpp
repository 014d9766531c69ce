#pragma once
// This process's resident memory, for tests that bound what hostile or stuck peers can cost.
// ASan keeps freed memory in quarantine (256 MiB by default) instead of reusing it, so the
// bounds only hold in plain builds; under ASan they are reported (WARN), not enforced.

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

#if defined(__SANITIZE_ADDRESS__)
#define CHECK_RSS(cond) WARN(cond)
#else
#define CHECK_RSS(cond) CHECK(cond)
#endif
