// Internal: unpadded base64url (RFC 4648 section 5).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace corvid::live::detail {

std::string base64url_encode(std::string_view bytes);
/// nullopt on a character outside the alphabet, padding, or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace corvid::live::detail
