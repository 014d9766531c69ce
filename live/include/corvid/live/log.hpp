// The one way the live module logs. Every line is escaped (no control characters, no invalid
// UTF-8: an attacker cannot forge lines or drive the terminal), capped in length, held to a budget
// per kind, and sent as a corvid::telemetry event before it goes to stderr:
//
//   corvid::telemetry::attach("corvid.live.log", [](const corvid::telemetry::event& e) {
//     ship(e.metadata.at("kind"), e.metadata.at("message"), e.measurements.at("suppressed"));
//   });
//   corvid::live::log_to_stderr(false);  // telemetry handlers only
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::live {

/// Where a problem came from: one kind per boundary of the module, each with its own budget, so a
/// flood of one (hostile clients) never hides another (a crashing view).
enum class log_kind : std::uint8_t {
  client,   ///< the network: refused or cut-off connections, frames, joins and upgrades
  view,     ///< application code: a view threw (mount, handle_*, terminate, a dead render)
  runtime,  ///< the corvid runtime refused something (a session process did not start)
  system,   ///< the OS and the configuration: accept failures, missing assets, the secret file
};
inline constexpr std::size_t log_kinds = 4;
/// "client", "view", "runtime", "system".
std::string_view to_string(log_kind k) noexcept;

/// Bytes of escaped text a line keeps; the rest is cut and counted ("... (N more bytes)").
inline constexpr std::size_t max_log_line = 512;

/// `text` safe to log: control characters (C0, DEL, C1), bidi overrides and bytes that are not UTF-8
/// become \n, \t, \xNN or \u{NNNN}; cut after about `max` bytes. Already-escaped text is left as it is.
std::string log_escape(std::string_view text, std::size_t max = max_log_line);

/// Lines per kind in one-second windows: admit() says whether a line may go out now.
class log_budget {
 public:
  using clock = std::chrono::steady_clock;
  explicit log_budget(unsigned per_second = 10) noexcept : per_second_(per_second) {}
  /// If a line of `kind` may go out at `now`: how many of that kind were suppressed since the last
  /// one that went out; nullopt if the kind has used up its window.
  std::optional<std::uint64_t> admit(log_kind kind, clock::time_point now = clock::now()) noexcept;

 private:
  struct window {
    clock::time_point start{};
    unsigned used = 0;
    std::uint64_t suppressed = 0;
  };
  unsigned per_second_;
  std::array<window, log_kinds> windows_{};
};

/// Logs one line: escaped, within the budget of its kind (10 a second unless set_log_budget), as the
/// telemetry event "corvid.live.log.<kind>" (metadata kind, message; measurement suppressed), then
/// to stderr as "corvid.live: <message>". Thread-safe, never throws.
void log(log_kind kind, std::string_view line) noexcept;
/// Lines a second each kind may write from now on (process-wide; 0 = none).
void set_log_budget(unsigned per_second);
/// Whether log() also writes to stderr (default true); telemetry handlers see every line either way.
void log_to_stderr(bool on) noexcept;

}  // namespace corvid::live
