// The property checks of the fuzz targets. A failed property aborts, so libFuzzer and the smoke
// driver both stop on it and keep the input, exactly as they do for a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace corvid_fuzz {

[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
  std::abort();
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace corvid_fuzz

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::corvid_fuzz::fail(#cond, __FILE__, __LINE__))
