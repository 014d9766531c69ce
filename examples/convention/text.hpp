// Text typed into the pages (names, motions), made safe to keep and show.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace convention {

/// `typed` without surrounding white space, cut to `max_bytes` at a character boundary;
/// "" if nothing is left or it is not valid UTF-8.
std::string clean_text(std::string_view typed, std::size_t max_bytes);

}  // namespace convention
