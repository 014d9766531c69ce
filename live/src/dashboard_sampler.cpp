// The dashboard's shared machinery: /proc facts, the sampler's history and per-topic rates,
// and the chrome every page shares (nav, style, the refresh timer).

#include "dashboard_page.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/presence.hpp"

namespace corvid::live::detail {

double seconds_since(dash_clock::time_point t0, dash_clock::time_point t) {
  return std::chrono::duration<double>(t - t0).count();
}

// ---- system facts ----------------------------------------------------------------------------------

std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::int64_t threads_now() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0) return std::atoll(line.c_str() + 8);
  return 0;
}

std::int64_t open_fds() {
  std::error_code ec;
  std::int64_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

std::int64_t fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return -1;
  return static_cast<std::int64_t>(r.rlim_cur);
}

// Seconds since this program started (/proc/self/stat's start time against /proc/uptime).
double program_uptime() {
  std::ifstream st("/proc/self/stat");
  std::string all((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  auto close = all.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22 && rest >> field; ++i) {
  }
  double start_ticks = 0;
  rest >> start_ticks;
  std::ifstream up("/proc/uptime");
  double uptime = 0;
  up >> uptime;
  return std::max(0.0, uptime - start_ticks / static_cast<double>(::sysconf(_SC_CLK_TCK)));
}

std::string duration_text(double s) {
  auto t = static_cast<long long>(s);
  char buf[48];
  if (t >= 86400) std::snprintf(buf, sizeof buf, "%lldd %lldh %lldm", t / 86400, t % 86400 / 3600, t % 3600 / 60);
  else if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh %lldm %llds", t / 3600, t % 3600 / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lldm %llds", t / 60, t % 60);
  return buf;
}

std::string utc_text(std::chrono::system_clock::time_point t, const char* format) {
  auto tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

// ---- the sampler's history ---------------------------------------------------------------------------

void dash_shared::take_sample() {
  sample s;
  s.t = seconds_since(t0);
  // Sums, not a snapshot of every process: sampling 10,000 idle sessions must stay cheap.
  const bool walk = viewers.load() > 0 || !have_walk || unwatched + 1 >= walk_every;
  const auto all = walk ? totals(rt) : process_totals{};
  s.processes = static_cast<double>(rt.process_count());
  s.rss = static_cast<double>(rss_bytes());
  std::uint64_t bc = hub ? hub->stats().broadcasts : 0;
  std::lock_guard<std::mutex> g{m};
  s.sessions = srv ? static_cast<double>(srv->connections()) : 0;
  if (walk) {
    if (have_walk) {
      const double dt = std::max(1e-3, s.t - last_walk_t);
      // processes that ended take their counts with them: never a negative rate
      walked_rate = all.handled > last_handled ? static_cast<double>(all.handled - last_handled) / dt : 0;
    }
    last_handled = all.handled;
    last_walk_t = s.t;
    walked_mailbox = static_cast<double>(all.mailbox_length);
    walked_estimate = static_cast<double>(all.memory);
    have_walk = true;
    unwatched = 0;
  } else {
    ++unwatched;
  }
  s.handled_rate = walked_rate;
  s.mailbox = walked_mailbox;
  s.estimate = walked_estimate;
  if (have_last && !ring.empty()) {
    double dt = std::max(1e-3, s.t - ring.back().t);
    s.broadcast_rate = bc > last_broadcasts ? static_cast<double>(bc - last_broadcasts) / dt : 0;
  }
  last_broadcasts = bc;
  have_last = true;
  ring.push_back(s);
  while (ring.size() > history) ring.pop_front();
  sample_topics(s.t);
}

// Topics: subscribers and broadcasts/s from the hub, presences from the presence (caller holds m).
void dash_shared::sample_topics(double t) {
  if (!hub) return;
  std::unordered_map<std::string, topic_row> rows;
  std::unordered_map<std::string, std::uint64_t> counts;
  const double dt = std::max(1e-3, t - last_topic_t);
  for (auto& info : hub->topics()) {
    auto& r = rows[info.topic];
    r.topic = info.topic;
    r.subscribers = info.subscribers;
    auto last = last_topic_broadcasts.find(info.topic);
    if (last != last_topic_broadcasts.end() && info.broadcasts > last->second)
      r.rate = static_cast<double>(info.broadcasts - last->second) / dt;
    counts.emplace(info.topic, info.broadcasts);
  }
  if (presence)
    for (auto& [topic, n] : presence->topics()) {
      auto& r = rows[topic];
      r.topic = topic;
      r.presences = n;
    }
  last_topic_broadcasts = std::move(counts);
  last_topic_t = t;
  topics.clear();
  for (auto& [k, r] : rows) topics.push_back(std::move(r));
  std::sort(topics.begin(), topics.end(), [](const topic_row& a, const topic_row& b) {
    return a.subscribers != b.subscribers ? a.subscribers > b.subscribers : a.topic < b.topic;
  });
  if (topics.size() > max_topic_rows) topics.resize(max_topic_rows);
}

std::vector<chart_point> dash_shared::series(double sample::*f) {
  std::lock_guard<std::mutex> g{m};
  std::vector<chart_point> out;
  out.reserve(ring.size());
  for (auto& s : ring) out.push_back({s.t, s.*f});
  return out;
}

// ---- page chrome -----------------------------------------------------------------------------------------

std::string nav_html(const std::string& base, bool cluster, bool pubsub) {
  auto link = [&](const char* id, const std::string& to, const char* text) {
    return std::string("<a id=\"dash-nav-") + id + "\" href=\"" + base + to +
           "\" data-phx-link=\"redirect\" data-phx-link-state=\"push\">" + text + "</a>";
  };
  return "<nav class=\"dash-nav\">" + link("home", "", "Home") + " · " + link("processes", "/processes", "Processes") +
         " · " + link("tree", "/tree", "Supervision") + " · " + link("sessions", "/sessions", "Sessions") + (pubsub ? " · " + link("pubsub", "/pubsub", "PubSub") : std::string{}) +
         (cluster ? " · " + link("nodes", "/nodes", "Nodes") : std::string{}) + "</nav>";
}

const char* const dash_style = R"(<style>
.corvid-dash { max-width: 70rem; margin: 1rem auto; padding: 0 1rem; font: 14px/1.4 system-ui, sans-serif; }
.corvid-dash .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: .8rem; }
.corvid-dash figure.chart { margin: 0; border: 1px solid #ddd; padding: .3rem; background: #fff; color: #2a6; }
.corvid-dash figure.chart figcaption { color: #333; } .corvid-dash svg { width: 100%; height: 90px; }
.corvid-dash svg text { font-size: 10px; fill: #999; }
.corvid-dash table { border-collapse: collapse; font: 13px ui-monospace, monospace; }
.corvid-dash td, .corvid-dash th { padding: .1rem .6rem; border-bottom: 1px solid #eee; text-align: right; }
.corvid-dash th a { cursor: pointer; } .corvid-dash dl { display: grid; grid-template-columns: max-content auto; gap: 0 1rem; }
.corvid-dash dd { margin: 0; }
</style>)";

html_template parse_or_throw(const std::string& src, const char* name) {
  auto r = html_template::parse(src, {}, name);
  if (!r) throw std::logic_error(std::string(name) + ": " + r.error().to_string());
  return *r;
}

void dash_page::mount(const params& q, const session&, socket& s) {
  s.assign("nav", nav_html(sh_->base, static_cast<bool>(sh_->opts.nodes), sh_->hub != nullptr));
  s.assign("style", std::string(dash_style));
  s.assign("base", sh_->base);
  on_mount(q, s);
  refresh(s);
  if (s.connected() && s.proc()) {
    timer_ = s.proc()->send_interval(sh_->opts.interval, s.self(), dash_tick{});
    watching_ = sh_->watch();
  }
}

void dash_page::handle_info(const caf::message& m, socket& s) {
  if (message_as<dash_tick>(m)) refresh(s);
}

void dash_page::terminate(socket& s) {
  if (timer_ && s.proc()) s.proc()->cancel_timer(*timer_);
  timer_.reset();
}

std::string display_name(const process_info& p) { return !p.name.empty() ? p.name : p.label; }

std::string policy_name(overflow o) { return to_string(o); }

}  // namespace corvid::live::detail
