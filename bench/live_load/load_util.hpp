// live_load helpers without I/O: what a LiveView page's HTML tells a client, percentiles, frame headers,
// Prometheus samples and line fits for the soak report.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace live_load {

// ---- HTML --------------------------------------------------------------------------------------------

/// Decodes the entities an attribute value may carry (&amp; &lt; &gt; &quot; &#39; &#NN; &#xHH;).
inline std::string html_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    auto semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += '&';
      continue;
    }
    auto ent = s.substr(i + 1, semi - i - 1);
    std::optional<unsigned long> code;
    if (ent == "amp") code = '&';
    else if (ent == "lt") code = '<';
    else if (ent == "gt") code = '>';
    else if (ent == "quot") code = '"';
    else if (ent == "apos") code = '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      auto digits = ent.substr(hex ? 2 : 1);
      unsigned long v = 0;
      bool ok = !digits.empty();
      for (char c : digits) {
        int d = c >= '0' && c <= '9' ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0) ok = false;
        v = v * (hex ? 16 : 10) + static_cast<unsigned long>(d < 0 ? 0 : d);
      }
      if (ok && v < 0x80) code = v;  // tokens are ASCII; other references are kept as written
    }
    if (!code) {
      out += '&';
      continue;
    }
    out += static_cast<char>(*code);
    i = semi;
  }
  return out;
}

/// The attributes of one start tag, `<tag a="1" b='2' c=3 d>`: names lower-cased, values unescaped, a bare
/// attribute has an empty value.
using attributes = std::vector<std::pair<std::string, std::string>>;

/// Parses the tag that starts at html[lt] (a '<'). Returns the attributes and sets `end` past the '>'.
inline attributes parse_tag(std::string_view html, std::size_t lt, std::size_t& end) {
  attributes attrs;
  std::size_t i = lt + 1;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  while (i < html.size() && !space(html[i]) && html[i] != '>' && html[i] != '/') ++i;  // the tag name
  while (i < html.size()) {
    while (i < html.size() && (space(html[i]) || html[i] == '/')) ++i;
    if (i >= html.size() || html[i] == '>') break;
    std::size_t n0 = i;
    while (i < html.size() && !space(html[i]) && html[i] != '=' && html[i] != '>' && html[i] != '/') ++i;
    std::string name{html.substr(n0, i - n0)};
    for (auto& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    while (i < html.size() && space(html[i])) ++i;
    std::string value;
    if (i < html.size() && html[i] == '=') {
      ++i;
      while (i < html.size() && space(html[i])) ++i;
      if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
        char q = html[i++];
        auto close = html.find(q, i);
        if (close == std::string_view::npos) close = html.size();
        value = html_unescape(html.substr(i, close - i));
        i = close + 1;
      } else {
        std::size_t v0 = i;
        while (i < html.size() && !space(html[i]) && html[i] != '>') ++i;
        value = html_unescape(html.substr(v0, i - v0));
      }
    }
    if (!name.empty()) attrs.emplace_back(std::move(name), std::move(value));
  }
  end = i < html.size() ? i + 1 : html.size();
  return attrs;
}

inline const std::string* find_attr(const attributes& a, std::string_view name) {
  for (auto& [k, v] : a)
    if (k == name) return &v;
  return nullptr;
}

/// What a client needs from the dead render to join the main live view.
struct page_info {
  std::string id;          ///< the container's id: the topic is "lv:" + id
  std::string session;     ///< data-phx-session
  std::string static_;     ///< data-phx-static (empty: sent as null)
  std::string csrf_token;  ///< <meta name="csrf-token" content=...>
};

/// Finds the first container with data-phx-session and no data-phx-parent-id (the main or a root view),
/// and the CSRF meta tag. Returns nothing when the container, its id or its session is missing; a missing
/// meta tag leaves csrf_token empty.
inline std::optional<page_info> extract_page(std::string_view html) {
  std::optional<page_info> info;
  std::string csrf;
  std::size_t pos = 0;
  while ((pos = html.find('<', pos)) != std::string_view::npos) {
    if (html.substr(pos, 4) == "<!--") {  // comments may mention anything
      auto close = html.find("-->", pos + 4);
      if (close == std::string_view::npos) break;
      pos = close + 3;
      continue;
    }
    if (pos + 1 >= html.size() || html[pos + 1] == '/' || html[pos + 1] == '!') {
      ++pos;
      continue;
    }
    std::size_t end = pos;
    auto tag_name_end = html.find_first_of(" \t\r\n/>", pos + 1);
    std::string tag{html.substr(pos + 1, (tag_name_end == std::string_view::npos ? html.size() : tag_name_end) - pos - 1)};
    for (auto& c : tag) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    auto attrs = parse_tag(html, pos, end);
    if (tag == "meta" && csrf.empty()) {
      auto* name = find_attr(attrs, "name");
      auto* content = find_attr(attrs, "content");
      if (name && content && *name == "csrf-token") csrf = *content;
    } else if (!info) {
      auto* session = find_attr(attrs, "data-phx-session");
      auto* id = find_attr(attrs, "id");
      if (session && id && !find_attr(attrs, "data-phx-parent-id") && !session->empty() && !id->empty()) {
        auto* st = find_attr(attrs, "data-phx-static");
        info = page_info{*id, *session, st ? *st : std::string{}, {}};
      }
    }
    if (tag == "script" || tag == "style") {  // raw text: skip to the end tag
      auto close = html.find("</" + tag, end);
      end = close == std::string_view::npos ? html.size() : close;
    }
    if (info && !csrf.empty()) break;
    pos = end;
  }
  if (info) info->csrf_token = csrf;
  return info;
}

/// "name=value" of one Set-Cookie header (attributes after ';' dropped); empty if malformed.
inline std::string cookie_pair(std::string_view set_cookie) {
  auto pair = set_cookie.substr(0, set_cookie.find(';'));
  while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
  while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
  return pair.find('=') == std::string_view::npos ? std::string{} : std::string{pair};
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
inline std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// ---- statistics ----------------------------------------------------------------------------------------

/// Nearest-rank percentile (p in [0, 100]) of unsorted samples; NaN when there are none.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[rank == 0 ? 0 : rank - 1];
}

// ---- frames ----------------------------------------------------------------------------------------------

/// The four header elements of a V2 frame `[join_ref, ref, topic, event, payload]`, read without parsing the
/// payload (views into the frame; a null ref is nullopt; strings with escapes are returned raw, escapes and
/// all, which is enough to compare refs and events we generated ourselves).
struct frame_header {
  std::optional<std::string_view> join_ref;
  std::optional<std::string_view> ref;
  std::string_view topic;
  std::string_view event;
  std::string_view payload;  ///< the rest: the payload's JSON text (without the closing ']')
};

inline std::optional<frame_header> scan_header(std::string_view f) {
  std::size_t i = 0;
  auto ws = [&] {
    while (i < f.size() && (f[i] == ' ' || f[i] == '\n' || f[i] == '\t' || f[i] == '\r')) ++i;
  };
  auto sep = [&](char c) {
    ws();
    if (i >= f.size() || f[i] != c) return false;
    ++i;
    ws();
    return true;
  };
  // a JSON string (returned without quotes) or null (nullopt in `out`); false on anything else
  auto element = [&](std::optional<std::string_view>& out) {
    if (f.substr(i, 4) == "null") {
      out.reset();
      i += 4;
      return true;
    }
    if (i >= f.size() || f[i] != '"') return false;
    std::size_t s = ++i;
    while (i < f.size() && f[i] != '"') i += f[i] == '\\' ? 2 : 1;
    if (i >= f.size()) return false;
    out = f.substr(s, i - s);
    ++i;
    return true;
  };
  frame_header h;
  std::optional<std::string_view> topic, event;
  ws();
  if (!sep('[') || !element(h.join_ref) || !sep(',') || !element(h.ref) || !sep(',') || !element(topic) ||
      !topic || !sep(',') || !element(event) || !event || !sep(','))
    return std::nullopt;
  h.topic = *topic;
  h.event = *event;
  auto close = f.find_last_of(']');
  if (close == std::string_view::npos || close < i) return std::nullopt;
  h.payload = f.substr(i, close - i);
  while (!h.payload.empty() && (h.payload.back() == ' ' || h.payload.back() == '\n')) h.payload.remove_suffix(1);
  if (h.payload.empty()) return std::nullopt;
  return h;
}

// ---- soak reports ----------------------------------------------------------------------------------------

/// The sum of every sample of metric `name` in Prometheus text (labelled or not); nullopt if it has none.
/// Summed because a gauge split by labels (e.g. per kind) is one depth to a soak report.
inline std::optional<double> prom_sum(std::string_view text, std::string_view name) {
  std::optional<double> sum;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0) continue;
    std::size_t i = name.size();
    if (line[i] == '{') {  // label values may hold '}' only escaped, never raw in corvid's output
      i = line.find('}', i);
      if (i == std::string_view::npos) continue;
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') continue;  // a longer name with this prefix
    std::string num(line.substr(i + 1));
    if (auto sp = num.find(' '); sp != std::string::npos) num.resize(sp);  // a timestamp may follow
    char* end = nullptr;
    double v = std::strtod(num.c_str(), &end);
    if (end == num.c_str() || *end) continue;
    sum = sum.value_or(0) + v;
  }
  return sum;
}

struct line_fit {
  double slope = std::nan("");  // y units per x unit; NaN with fewer than two distinct x
  double mean = std::nan("");   // of y
  std::size_t n = 0;
};

/// Ordinary least squares of y on x; NaN y values (a figure missing in one interval) are left out.
inline line_fit least_squares(const std::vector<double>& x, const std::vector<double>& y) {
  line_fit f;
  double sx = 0, sy = 0;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (!std::isnan(y[i])) {
      sx += x[i];
      sy += y[i];
      ++f.n;
    }
  if (f.n == 0) return f;
  const double mx = sx / double(f.n), my = sy / double(f.n);
  f.mean = my;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (!std::isnan(y[i])) {
      sxx += (x[i] - mx) * (x[i] - mx);
      sxy += (x[i] - mx) * (y[i] - my);
    }
  if (f.n >= 2 && sxx > 0) f.slope = sxy / sxx;
  return f;
}

}  // namespace live_load
