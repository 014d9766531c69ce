#include "corvid/live/urlencoded.hpp"

#include "corvid/live/utf8.hpp"

namespace corvid::live {

namespace {
int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

result<std::string> decode_url_component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      int hi = i + 2 < text.size() ? hex(text[i + 1]) : -1;
      int lo = hi >= 0 ? hex(text[i + 2]) : -1;
      if (lo < 0) return error{errc::bad_encoding, "bad percent-escape at byte " + std::to_string(i)};
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  // %-escapes can spell any byte; replaced as URLSearchParams does, so views only ever see UTF-8
  if (!valid_utf8(out)) out = repair_utf8(out);
  return out;
}

result<form_fields> decode_urlencoded(std::string_view body) {
  form_fields out;
  std::size_t i = 0;
  while (i <= body.size()) {
    auto amp = body.find('&', i);
    if (amp == std::string_view::npos) amp = body.size();
    auto pair = body.substr(i, amp - i);
    i = amp + 1;
    if (pair.empty()) continue;  // "a=1&&b=2" and a trailing '&' carry nothing
    auto eq = pair.find('=');
    auto key = decode_url_component(pair.substr(0, eq));
    if (!key) return key.error();
    auto val = decode_url_component(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!val) return val.error();
    out.emplace_back(std::move(*key), std::move(*val));
  }
  return out;
}

}  // namespace corvid::live
