#include "corvid/live/utf8.hpp"

#include "utf8_unit.hpp"

namespace corvid::live {

namespace {

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
    auto u = detail::next_utf8_unit(p + i, n - i);
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
    auto u = detail::next_utf8_unit(p + i, n - i);
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
    auto u = detail::next_utf8_unit(p + i, s.size() - i);
    if (i + u.len > max_bytes) break;
    i += u.len;
  }
  return s.substr(0, i);
}

}  // namespace corvid::live
