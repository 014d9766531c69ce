// One step of UTF-8 decoding, shared by the validator and the log escaper.
#pragma once

#include <cstddef>

namespace corvid::live::detail {

struct utf8_unit {
  std::size_t len;  // bytes of the character, or of the maximal ill-formed subpart
  bool ok;
};

// Table 3-7 of the Unicode standard: the second byte's range depends on the first byte, which is
// what rules out overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
inline utf8_unit next_utf8_unit(const unsigned char* p, std::size_t n) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return {1, true};
  std::size_t trail;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    trail = 1;
  } else if (c == 0xE0) {
    trail = 2;
    lo = 0xA0;
  } else if (c == 0xED) {
    trail = 2;
    hi = 0x9F;
  } else if (c >= 0xE1 && c <= 0xEF) {
    trail = 2;
  } else if (c == 0xF0) {
    trail = 3;
    lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    trail = 3;
  } else if (c == 0xF4) {
    trail = 3;
    hi = 0x8F;
  } else {
    return {1, false};  // C0, C1, F5..FF, or a stray continuation byte
  }
  for (std::size_t i = 1; i <= trail; ++i) {
    if (i >= n || p[i] < lo || p[i] > hi) return {i, false};
    lo = 0x80;
    hi = 0xBF;
  }
  return {trail + 1, true};
}

}  // namespace corvid::live::detail
