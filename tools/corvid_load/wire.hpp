// Varints and length-prefixed strings: the compact encoding of histograms and measurements
// sent between the load tool's nodes. take_* return false on truncated or malformed bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace corvid::load::wire {

inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline bool take_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (in.empty())
      return false;
    auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= std::uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

inline void put_str(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

inline bool take_str(std::string_view& in, std::string& s) {
  std::uint64_t n = 0;
  if (!take_varint(in, n) || n > in.size())
    return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

} // namespace corvid::load::wire
