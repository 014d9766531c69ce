// The live module's only writer to stderr.

#include "corvid/live/log.hpp"

#include <atomic>
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <utility>

#include "corvid/runtime/telemetry.hpp"
#include "utf8_unit.hpp"

namespace corvid::live {

std::string_view to_string(log_kind k) noexcept {
  switch (k) {
    case log_kind::client: return "client";
    case log_kind::view: return "view";
    case log_kind::runtime: return "runtime";
    case log_kind::system: return "system";
  }
  return "unknown";
}

namespace {

constexpr std::string_view event_names[log_kinds] = {"corvid.live.log.client", "corvid.live.log.view",
                                                     "corvid.live.log.runtime", "corvid.live.log.system"};

void hex_byte(std::string& out, unsigned char b) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[b >> 4];
  out += digits[b & 15];
}

std::uint32_t code_point(const unsigned char* p, std::size_t len) {
  if (len == 2) return (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu);
  if (len == 3) return (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
  return (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
}

// C1 controls (some terminals take U+009B as CSI), line separators and bidi controls, which can
// make a logged line read as something else.
bool unsafe_code_point(std::uint32_t c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0x200E || c == 0x200F || c == 0x2028 || c == 0x2029 ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

struct sink_state {
  std::mutex m;
  log_budget budget{10};
  std::atomic<bool> to_stderr{true};
};

sink_state& sink() {
  static sink_state s;
  return s;
}

}  // namespace

std::string log_escape(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  while (i < text.size() && out.size() < max) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    if (c == '\n' || c == '\r' || c == '\t') {
      ++i;
      continue;
    }
    auto u = detail::next_utf8_unit(p + i, text.size() - i);
    if (c < 0x80 || !u.ok) {
      for (std::size_t k = 0; k < u.len; ++k) hex_byte(out, p[i + k]);
    } else if (auto cp = code_point(p + i, u.len); unsafe_code_point(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u{%04X}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(text.data() + i, u.len);
    }
    i += u.len;
  }
  if (i < text.size()) out += " ... (" + std::to_string(text.size() - i) + " more bytes)";
  return out;
}

std::optional<std::uint64_t> log_budget::admit(log_kind kind, clock::time_point now) noexcept {
  auto& w = windows_[static_cast<std::size_t>(kind)];
  if (now - w.start >= std::chrono::seconds(1)) {
    w.start = now;
    w.used = 0;
  }
  if (w.used >= per_second_) {
    ++w.suppressed;
    return std::nullopt;
  }
  ++w.used;
  return std::exchange(w.suppressed, 0);
}

void log(log_kind kind, std::string_view line) noexcept {
  try {
    auto& s = sink();
    std::optional<std::uint64_t> suppressed;
    {
      std::lock_guard<std::mutex> g{s.m};
      suppressed = s.budget.admit(kind);
    }
    if (!suppressed) return;
    std::string msg = log_escape(line);
    if (*suppressed > 0) msg += " (" + std::to_string(*suppressed) + " similar lines suppressed)";
    const auto name = event_names[static_cast<std::size_t>(kind)];
    if (telemetry::wanted(name))
      telemetry::execute({name,
                          {{"suppressed", static_cast<double>(*suppressed)}},
                          {{"kind", std::string(to_string(kind))}, {"message", msg}}});
    if (s.to_stderr.load(std::memory_order_relaxed)) {
      std::string out = "corvid.live: ";
      out += msg;
      out += '\n';
      std::fwrite(out.data(), 1, out.size(), stderr);
    }
  } catch (...) {
    // logging is best effort: running out of memory here must not take a connection down
  }
}

void set_log_budget(unsigned per_second) {
  auto& s = sink();
  std::lock_guard<std::mutex> g{s.m};
  s.budget = log_budget{per_second};
}

void log_to_stderr(bool on) noexcept { sink().to_stderr.store(on, std::memory_order_relaxed); }

}  // namespace corvid::live
