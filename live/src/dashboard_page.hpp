#pragma once
// What the dashboard's pages share (private to live/): the per-mount state with its sampled
// history, the page base class with its refresh timer, the chrome (nav, style) and /proc facts.

#include <chrono>
#include <cstdint>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "corvid/live/dashboard.hpp"
#include "corvid/live/dashboard_chart.hpp"
#include "corvid/live/server.hpp"
#include "corvid/runtime/introspection.hpp"
#include "corvid/runtime/process.hpp"
#include "corvid/runtime/runtime.hpp"

namespace corvid::pubsub {
class hub;
class presence;
}  // namespace corvid::pubsub

namespace corvid::live::detail {
struct dash_tick {};
struct dash_sample_tick {};
}  // namespace corvid::live::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::dash_tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::dash_sample_tick)

namespace corvid::live::detail {

using dash_clock = std::chrono::steady_clock;

double seconds_since(dash_clock::time_point t0, dash_clock::time_point t = dash_clock::now());

// /proc facts about this program.
std::uint64_t rss_bytes();
std::int64_t threads_now();
std::int64_t open_fds();
std::int64_t fd_limit();  // -1: unlimited
double program_uptime();  // seconds since this program started
std::string duration_text(double s);
/// UTC time as text: "2026-11-30 13:05:09" by default (strftime format).
std::string utc_text(std::chrono::system_clock::time_point t, const char* format = "%Y-%m-%d %H:%M:%S");

/// One second of the home page's charts.
struct sample {
  double t = 0;
  double processes = 0, mailbox = 0, handled_rate = 0, rss = 0, estimate = 0, sessions = 0, broadcast_rate = 0;
};

/// One row of the pubsub page.
struct topic_row {
  std::string topic;
  std::size_t subscribers = 0, presences = 0;
  double rate = 0;  // broadcasts/s over the last sample
};

/// The shared state of one mount: options and the sampler's history (one sample a second).
struct dash_shared {
  runtime& rt;
  std::string base;
  dashboard_options opts;
  pubsub::hub* hub = nullptr;
  pubsub::presence* presence = nullptr;
  std::size_t history = 300;
  dash_clock::time_point t0 = dash_clock::now();

  std::mutex m;
  server* srv = nullptr;  // null once the server stops
  std::deque<sample> ring;
  std::uint64_t last_handled = 0, last_broadcasts = 0;
  bool have_last = false;
  // The walk over every process (mailboxes, handled, memory estimate) costs a few cache misses a
  // process: every sample while a dashboard page is connected, every walk_every-th while none is
  // (the charts carry the last walked values). Counted by watch().
  std::atomic<int> viewers{0};
  static constexpr unsigned walk_every = 10;
  unsigned unwatched = 0;  // samples since the last walk
  bool have_walk = false;
  double last_walk_t = 0, walked_rate = 0, walked_mailbox = 0, walked_estimate = 0;
  std::vector<topic_row> topics;  // the last sample's, most subscribers first
  std::unordered_map<std::string, std::uint64_t> last_topic_broadcasts;
  double last_topic_t = 0;
  corvid::pid sampler;
  static constexpr std::size_t max_topic_rows = 200;

  dash_shared(runtime& r, std::string b, dashboard_options o) : rt(r), base(std::move(b)), opts(std::move(o)) {}
  void take_sample();
  // Held by a connected page: while any is held, every sample walks the processes.
  std::shared_ptr<void> watch() {
    viewers.fetch_add(1);
    return std::shared_ptr<void>(nullptr, [v = &viewers](void*) { v->fetch_sub(1); });
  }
  void sample_topics(double t);  // caller holds m
  std::vector<chart_point> series(double sample::*f);
};

std::string nav_html(const std::string& base, bool cluster, bool pubsub);
extern const char* const dash_style;
html_template parse_or_throw(const std::string& src, const char* name);
std::string display_name(const process_info& p);  // registered name, else label
std::string policy_name(overflow o);

/// A dashboard page: assigns the chrome, then refresh() at mount and on every tick.
class dash_page : public view {
 public:
  explicit dash_page(std::shared_ptr<dash_shared> sh) : sh_(std::move(sh)) {}
  void mount(const params& q, const session&, socket& s) override;
  void handle_info(const caf::message& m, socket& s) override;
  void terminate(socket& s) override;

 protected:
  virtual void on_mount(const params&, socket&) {}
  virtual void refresh(socket& s) = 0;
  std::shared_ptr<dash_shared> sh_;

 private:
  std::optional<timer_ref> timer_;
  std::shared_ptr<void> watching_;  // sh_->watch() while connected (released with the page)
};

std::unique_ptr<view> make_processes_page(std::shared_ptr<dash_shared> sh);
std::unique_ptr<view> make_process_page(std::shared_ptr<dash_shared> sh);

}  // namespace corvid::live::detail
