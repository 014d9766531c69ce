// Websocket frames as a client writes them, for tests that send what a well-behaved client would
// not (unmasked frames, reserved bits, fragments cut anywhere).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace corvid::live::test {

/// A client frame: masked with `key` unless `masked` is false, any FIN, opcode and RSV bits.
inline std::string client_frame(unsigned op, std::string_view payload, bool fin = true, bool masked = true,
                                unsigned rsv = 0, std::uint32_t key = 0x37fa213d) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | op);
  const unsigned char m = masked ? 0x80 : 0;
  const auto n = payload.size();
  if (n < 126) {
    f += static_cast<char>(m | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(m | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(m | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((std::uint64_t{n} >> (8 * i)) & 0xff);
  }
  const unsigned char k[4] = {static_cast<unsigned char>(key >> 24), static_cast<unsigned char>(key >> 16),
                              static_cast<unsigned char>(key >> 8), static_cast<unsigned char>(key)};
  if (masked) f.append(reinterpret_cast<const char*>(k), 4);
  for (std::size_t i = 0; i < n; ++i)
    f += masked ? static_cast<char>(static_cast<unsigned char>(payload[i]) ^ k[i & 3]) : payload[i];
  return f;
}

}  // namespace corvid::live::test
