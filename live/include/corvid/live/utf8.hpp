// UTF-8 checks for text that crosses the wire. A browser closes a websocket on a text frame that is
// not valid UTF-8, so input is repaired when decoded and frames are repaired when encoded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace corvid::live {

/// True if `s` is well-formed UTF-8: no overlong forms, surrogates, code points past U+10FFFF or cut sequences.
bool valid_utf8(std::string_view s) noexcept;

/// `s` with each ill-formed sequence (each maximal subpart, as the WHATWG decoder counts) replaced by U+FFFD.
std::string repair_utf8(std::string_view s);

/// The longest prefix of `s` of at most `max_bytes` bytes that does not end inside a character.
std::string_view truncate_utf8(std::string_view s, std::size_t max_bytes) noexcept;

}  // namespace corvid::live
