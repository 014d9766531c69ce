// application/x-www-form-urlencoded bodies as a form event carries them, and single URL components
// (query strings of the page render and of live navigation).
#include <algorithm>

#include "corvid/live/urlencoded.hpp"
#include "corvid/live/utf8.hpp"
#include "fuzz_check.hpp"

using namespace corvid::live;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view text = corvid_fuzz::as_text(data, size);
  const bool has_escape = text.find('%') != std::string_view::npos;

  auto fields = decode_urlencoded(text);
  if (fields) {
    for (auto& [k, v] : *fields) FUZZ_CHECK(valid_utf8(k) && valid_utf8(v));
    // Separators never survive decoding unescaped, so there are at most as many fields as pieces.
    FUZZ_CHECK(fields->size() <= static_cast<std::size_t>(std::count(text.begin(), text.end(), '&')) + 1);
  } else {
    // Only a %-escape can be bad; everything else decodes.
    FUZZ_CHECK(fields.error().code == errc::bad_encoding && has_escape && !fields.error().message.empty());
  }

  auto component = decode_url_component(text);
  if (component) {
    FUZZ_CHECK(valid_utf8(*component));
    // Already valid UTF-8 without escapes: only '+' changes.
    if (!has_escape && valid_utf8(text)) {
      std::string expect(text);
      std::replace(expect.begin(), expect.end(), '+', ' ');
      FUZZ_CHECK(*component == expect);
    }
  } else {
    FUZZ_CHECK(component.error().code == errc::bad_encoding && has_escape);
  }
  // A body without separators is a single key: it decodes exactly when the component does.
  if (text.find_first_of("&=") == std::string_view::npos) FUZZ_CHECK(fields.ok() == component.ok());
  return 0;
}
