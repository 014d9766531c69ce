// application/x-www-form-urlencoded, as the client sends form events.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corvid/live/result.hpp"

namespace corvid::live {

/// Ordered key/value pairs; repeated keys are kept, bracket keys like `user[name]` are left verbatim.
using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Decodes "a=1&b=x+y%21" ('+' is a space); a bad or truncated %-escape is an errc::bad_encoding error.
/// Escapes that do not spell UTF-8 become U+FFFD (as in URLSearchParams), so every value is valid UTF-8.
result<form_fields> decode_urlencoded(std::string_view body);

/// Percent-decodes one component ('+' becomes a space); invalid UTF-8 becomes U+FFFD.
result<std::string> decode_url_component(std::string_view text);

}  // namespace corvid::live
