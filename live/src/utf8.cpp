#include "corvid/live/utf8.hpp"

namespace corvid::live {

namespace {

struct unit {
  std::size_t len;  // bytes of the character, or of the maximal ill-formed subpart
  bool ok;
};

// Table 3-7 of the Unicode standard: the second byte's range depends on the first byte, which is
// what rules out overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
unit next_unit(const unsigned char* p, std::size_t n) noexcept {
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

const unsigned char* bytes(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

bool valid_utf8(std::string_view s) noexcept {
  const auto* p = bytes(s);
  std::size_t i = 0, n = s.size();
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    auto u = next_unit(p + i, n - i);
    if (!u.ok) return false;
    i += u.len;
  }
  return true;
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  const auto* p = bytes(s);
  std::size_t i = 0, n = s.size();
  while (i < n) {
    auto u = next_unit(p + i, n - i);
    if (u.ok) out.append(s.data() + i, u.len);
    else out += "\xEF\xBF\xBD";
    i += u.len;
  }
  return out;
}

std::string_view truncate_utf8(std::string_view s, std::size_t max_bytes) noexcept {
  if (s.size() <= max_bytes) return s;
  const auto* p = bytes(s);
  std::size_t i = 0;
  while (i < max_bytes) {
    auto u = next_unit(p + i, s.size() - i);
    if (i + u.len > max_bytes) break;
    i += u.len;
  }
  return s.substr(0, i);
}

}  // namespace corvid::live
