// The dashboard's pages (mount_dashboard): home with charts and system facts, the processes table,
// one process. Each page is a live view with its own refresh timer; the home page's history comes
// from one sampler process per mount, which keeps `history` samples (one a second).

#include <sys/resource.h>
#include <unistd.h>

#include <caf/config.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <cctype>

#include "corvid/live/dashboard.hpp"
#include "corvid/live/dashboard_chart.hpp"
#include "corvid/live/log.hpp"
#include "corvid/live/server.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/presence.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/introspection.hpp"
#include "corvid/runtime/process.hpp"
#include "corvid/runtime/runtime.hpp"

namespace corvid::live::detail {
struct dash_tick {};
struct dash_sample_tick {};
}  // namespace corvid::live::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::dash_tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::dash_sample_tick)

namespace corvid::live {

namespace {

using clock = std::chrono::steady_clock;
using detail::dash_sample_tick;
using detail::dash_tick;

double seconds_since(clock::time_point t0, clock::time_point t = clock::now()) {
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

// ---- the shared state of one mount: samples ----------------------------------------------------------

struct sample {
  double t = 0;
  double processes = 0, mailbox = 0, handled_rate = 0, rss = 0, estimate = 0, sessions = 0, broadcast_rate = 0;
};

// One row of the pubsub page.
struct topic_row {
  std::string topic;
  std::size_t subscribers = 0, presences = 0;
  double rate = 0;  // broadcasts/s over the last sample
};

struct dash_shared {
  runtime& rt;
  std::string base;
  dashboard_options opts;
  pubsub::hub* hub = nullptr;
  pubsub::presence* presence = nullptr;
  std::size_t history = 300;
  clock::time_point t0 = clock::now();

  std::mutex m;
  server* srv = nullptr;  // null once the server stops
  std::deque<sample> ring;
  std::uint64_t last_handled = 0, last_broadcasts = 0;
  bool have_last = false;
  std::vector<topic_row> topics;  // the last sample's, most subscribers first
  std::unordered_map<std::string, std::uint64_t> last_topic_broadcasts;
  double last_topic_t = 0;
  corvid::pid sampler;

  dash_shared(runtime& r, std::string b, dashboard_options o) : rt(r), base(std::move(b)), opts(std::move(o)) {}

  void take_sample() {
    sample s;
    s.t = seconds_since(t0);
    std::uint64_t handled = 0;
    double est = 0, mailbox = 0;
    auto all = processes(rt);
    for (auto& p : all) {
      handled += p.mailbox.handled;
      est += static_cast<double>(p.memory);
      mailbox += static_cast<double>(p.mailbox.length);
    }
    s.processes = static_cast<double>(all.size());
    s.mailbox = mailbox;
    s.estimate = est;
    s.rss = static_cast<double>(rss_bytes());
    std::uint64_t bc = hub ? hub->stats().broadcasts : 0;
    std::lock_guard<std::mutex> g{m};
    s.sessions = srv ? static_cast<double>(srv->connections()) : 0;
    if (have_last && !ring.empty()) {
      double dt = std::max(1e-3, s.t - ring.back().t);
      // processes that ended take their counts with them: never a negative rate
      s.handled_rate = handled > last_handled ? static_cast<double>(handled - last_handled) / dt : 0;
      s.broadcast_rate = bc > last_broadcasts ? static_cast<double>(bc - last_broadcasts) / dt : 0;
    }
    last_handled = handled;
    last_broadcasts = bc;
    have_last = true;
    ring.push_back(s);
    while (ring.size() > history) ring.pop_front();
    sample_topics(s.t);
  }

  // Topics: subscribers and broadcasts/s from the hub, presences from the presence (caller holds m).
  void sample_topics(double t) {
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
  static constexpr std::size_t max_topic_rows = 200;

  std::vector<chart_point> series(double sample::*f) {
    std::lock_guard<std::mutex> g{m};
    std::vector<chart_point> out;
    out.reserve(ring.size());
    for (auto& s : ring) out.push_back({s.t, s.*f});
    return out;
  }
};

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

const char* dash_style = R"(<style>
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

/// A page with a refresh timer.
class dash_page : public view {
 public:
  explicit dash_page(std::shared_ptr<dash_shared> sh) : sh_(std::move(sh)) {}

  void mount(const params& q, const session&, socket& s) override {
    s.assign("nav", nav_html(sh_->base, static_cast<bool>(sh_->opts.nodes), sh_->hub != nullptr));
    s.assign("style", std::string(dash_style));
    s.assign("base", sh_->base);
    on_mount(q, s);
    refresh(s);
    if (s.connected() && s.proc()) timer_ = s.proc()->send_interval(sh_->opts.interval, s.self(), dash_tick{});
  }
  void handle_info(const caf::message& m, socket& s) override {
    if (message_as<dash_tick>(m)) refresh(s);
  }
  void terminate(socket& s) override {
    if (timer_ && s.proc()) s.proc()->cancel_timer(*timer_);
    timer_.reset();
  }

 protected:
  virtual void on_mount(const params&, socket&) {}
  virtual void refresh(socket& s) = 0;
  std::shared_ptr<dash_shared> sh_;

 private:
  std::optional<timer_ref> timer_;
};

// ---- home ----------------------------------------------------------------------------------------------

const html_template& home_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-home">
  {{ nav | safe }}
  <h1>{{ title }}</h1>
  <section class="charts" id="charts">{{ c_processes | safe }}{{ c_mailbox | safe }}{{ c_handled | safe }}{{ c_memory | safe }}{{ c_estimate | safe }}{{ c_sessions | safe }}{{ c_broadcasts | safe }}</section>
  <h2>System</h2>
  <dl id="facts">
    <dt>CAF</dt><dd id="fact-caf">{{ f.caf }}</dd>
    <dt>scheduler</dt><dd id="fact-scheduler">{{ f.scheduler }}</dd>
    <dt>threads</dt><dd id="fact-threads">{{ f.threads }}</dd>
    <dt>uptime</dt><dd id="fact-uptime">{{ f.uptime }}</dd>
    <dt>file descriptors</dt><dd id="fact-fds">{{ f.fds }}</dd>
    <dt>processes</dt><dd id="total-processes">{{ f.processes }}</dd>
  </dl>
</main>)", "corvid/live/dashboard/home");
  return t;
}

class home_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return home_template(); }

 protected:
  void on_mount(const params&, socket& s) override {
    s.assign("page_title", sh_->opts.title == "Processes" ? std::string("Dashboard") : sh_->opts.title);
    s.assign("title", "Dashboard");
  }
  void refresh(socket& s) override {
    auto& sh = *sh_;
    const double now = seconds_since(sh.t0);
    chart_geometry g;
    g.window = static_cast<double>(sh.history);
    auto chart = [&](const char* assign, const char* id, const char* title, const char* unit, double sample::*f) {
      s.assign(assign, chart_svg(id, title, unit, sh.series(f), now, g));
    };
    chart("c_processes", "chart-processes", "processes", "", &sample::processes);
    chart("c_mailbox", "chart-mailbox", "mailbox total", "", &sample::mailbox);
    chart("c_handled", "chart-handled", "messages handled", "/s", &sample::handled_rate);
    chart("c_memory", "chart-rss", "memory (RSS)", "B", &sample::rss);
    chart("c_estimate", "chart-estimate", "memory (corvid estimate)", "B", &sample::estimate);
    chart("c_sessions", "chart-sessions", "live sessions", "", &sample::sessions);
    if (sh.hub) chart("c_broadcasts", "chart-broadcasts", "broadcasts", "/s", &sample::broadcast_rate);
    auto& ro = sh.rt.options();
    const std::int64_t lim = fd_limit();
    s.assign("f", value::map{
                      {"caf", std::to_string(CAF_VERSION / 10000) + "." + std::to_string(CAF_VERSION / 100 % 100) +
                                  "." + std::to_string(CAF_VERSION % 100)},
                      {"scheduler", ro.scheduler + ", " +
                                        std::to_string(ro.threads ? ro.threads : std::max(1u, std::thread::hardware_concurrency())) +
                                        " workers"},
                      {"threads", threads_now()},
                      {"uptime", duration_text(program_uptime())},
                      {"fds", std::to_string(open_fds()) + " / " + (lim < 0 ? std::string("unlimited") : std::to_string(lim))},
                      {"processes", sh.rt.process_count()},
                  });
  }
};


// ---- nodes (a cluster's members) ---------------------------------------------------------------------

const html_template& nodes_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-nodes">
  {{ nav | safe }}
  <h1>Nodes</h1>
  <table id="nodes">
    <thead><tr><th>node</th><th>address</th><th>incarnation</th><th>state</th><th>round trip</th><th>control queue</th><th>data queue</th><th>data bytes</th><th>refused</th></tr></thead>
    <tbody id="node-rows">{% for n in nodes %}<tr id="node-{{ n.name }}" class="node"><td>{{ n.name }}</td><td>{{ n.address }}</td><td>{{ n.incarnation }}</td><td class="state">{{ n.state }}</td><td>{{ n.rtt }}</td><td>{{ n.control }}</td><td>{{ n.data }}</td><td>{{ n.data_bytes }}</td><td>{{ n.refused }}</td></tr>{% endfor %}</tbody>
  </table>
</main>)", "corvid/live/dashboard/nodes");
  return t;
}

class nodes_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return nodes_template(); }

 protected:
  void on_mount(const params&, socket& s) override { s.assign("page_title", std::string("Nodes")); }
  void refresh(socket& s) override { s.assign("nodes", dashboard_node_rows(sh_->opts)); }
};

std::string display_name(const process_info& p) { return !p.name.empty() ? p.name : p.label; }

// ---- supervision tree ------------------------------------------------------------------------------------

const html_template& tree_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-tree">
  {{ nav | safe }}
  <h1>Supervision tree</h1>
  <p>Supervisors from the roots down, with each child's restart count; a supervisor's children past {{ per_level }} are summed up.</p>
  <ul id="tree" style="list-style: none; padding: 0">{% for r in rows key=r.key %}<li class="node {{ r.kind }}" style="margin-left: {{ r.indent }}rem" data-name="{{ r.name }}">{% if r.href %}<a class="open" href="{{ r.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ r.pid }}</a> {% endif %}<span class="name">{{ r.name }}</span>{% if r.href %} <span class="restarts" title="restarts">↻ {{ r.restarts }}</span>{% endif %}</li>{% endfor %}</ul>
</main>)", "corvid/live/dashboard/tree");
  return t;
}

class tree_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return tree_template(); }
  static constexpr std::size_t per_level = 50;  // children listed per supervisor; the rest are counted

 protected:
  void on_mount(const params&, socket& s) override {
    s.assign("page_title", std::string("Supervision tree"));
    s.assign("per_level", static_cast<std::int64_t>(per_level));
  }
  void refresh(socket& s) override {
    auto all = processes(sh_->rt);
    std::unordered_map<std::uint64_t, std::vector<const process_info*>> children;
    std::unordered_map<std::uint64_t, const process_info*> by_id;
    for (auto& p : all) {
      by_id.emplace(p.id.id(), &p);
      if (p.supervisor) children[p.supervisor.id()].push_back(&p);
    }
    for (auto& [sup, kids] : children)
      std::sort(kids.begin(), kids.end(), [](auto* a, auto* b) { return a->id.id() < b->id.id(); });
    value::list rows;
    std::function<void(const process_info&, int)> visit = [&](const process_info& p, int depth) {
      auto kids = children.find(p.id.id());
      const bool sup = kids != children.end();
      rows.push_back(value::map{{"key", std::to_string(p.id.id())}, {"kind", sup ? "supervisor" : "worker"},
                                {"indent", static_cast<std::int64_t>(depth * 2)}, {"pid", p.id.to_string()},
                                {"href", sh_->base + "/process/" + std::to_string(p.id.id())},
                                {"name", display_name(p)}, {"restarts", static_cast<std::int64_t>(p.restarts)}});
      if (!sup || depth >= 16) return;
      std::size_t shown = 0;
      for (auto* k : kids->second) {
        if (shown++ == per_level) {
          rows.push_back(value::map{{"key", "more-" + std::to_string(p.id.id())}, {"kind", "more"},
                                    {"indent", static_cast<std::int64_t>((depth + 1) * 2)}, {"pid", ""}, {"href", ""},
                                    {"name", "… " + std::to_string(kids->second.size() - per_level) + " more"},
                                    {"restarts", 0}});
          break;
        }
        visit(*k, depth + 1);
      }
    };
    std::vector<const process_info*> roots;  // supervisors nobody supervises
    for (auto& [sup, kids] : children) {
      auto it = by_id.find(sup);
      if (it != by_id.end() && !it->second->supervisor) roots.push_back(it->second);
    }
    std::sort(roots.begin(), roots.end(), [](auto* a, auto* b) { return a->id.id() < b->id.id(); });
    for (auto* r : roots) visit(*r, 0);
    s.assign("rows", std::move(rows));
  }
};

// ---- live sessions ---------------------------------------------------------------------------------------

const html_template& sessions_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-sessions">
  {{ nav | safe }}
  <h1>Live sessions</h1>
  <p><span id="session-count">{{ sessions }}</span> connections. Latencies are measured in the session process, from the message to its reply; a histogram bucket's upper bound is shown.</p>
  <table id="views">
    <thead><tr><th>view</th><th>live</th><th>mounts</th><th>mount p50</th><th>mount p99</th><th>events</th><th>event p50</th><th>event p99</th><th>diff bytes / event</th></tr></thead>
    <tbody id="view-rows">{% for v in views key=v.view %}<tr class="view" data-view="{{ v.view }}"><td class="name">{{ v.view }}</td><td class="live">{{ v.live }}</td><td class="mounts">{{ v.mounts }}</td><td>{{ v.mount_p50 }}</td><td>{{ v.mount_p99 }}</td><td class="events">{{ v.events }}</td><td class="p50">{{ v.event_p50 }}</td><td class="p99">{{ v.event_p99 }}</td><td class="bytes">{{ v.bytes_per_event }}</td></tr>{% endfor %}</tbody>
  </table>
  <h2>Slowest events</h2>
  <table id="slowest">
    <thead><tr><th>latency</th><th>view</th><th>event</th><th>session</th><th>at (UTC)</th></tr></thead>
    <tbody id="slow-rows">{% for e in slowest %}<tr class="slow"><td>{{ e.latency }}</td><td>{{ e.view }}</td><td>{{ e.event }}</td><td><a href="{{ e.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ e.session }}</a></td><td>{{ e.at }}</td></tr>{% endfor %}</tbody>
  </table>
</main>)", "corvid/live/dashboard/sessions");
  return t;
}

class sessions_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return sessions_template(); }

 protected:
  void on_mount(const params&, socket& s) override { s.assign("page_title", std::string("Sessions")); }
  void refresh(socket& s) override {
    std::lock_guard<std::mutex> g{sh_->m};  // the server goes away at stop: read it under the lock
    if (!sh_->srv) return;
    const auto& m = sh_->srv->metrics();
    value::list views;
    for (auto& [pattern, v] : m.views.all()) {
      const auto events = v->events.load(std::memory_order_relaxed);
      views.push_back(value::map{
          {"view", pattern},
          {"live", v->live.load(std::memory_order_relaxed)},
          {"mounts", static_cast<std::int64_t>(v->mounts.load(std::memory_order_relaxed))},
          {"mount_p50", us_text(v->mount_us.quantile_us(0.5))},
          {"mount_p99", us_text(v->mount_us.quantile_us(0.99))},
          {"events", static_cast<std::int64_t>(events)},
          {"event_p50", us_text(v->event_us.quantile_us(0.5))},
          {"event_p99", us_text(v->event_us.quantile_us(0.99))},
          {"bytes_per_event",
           static_cast<std::int64_t>(events ? v->diff_bytes.load(std::memory_order_relaxed) / events : 0)}});
    }
    value::list slowest;
    for (auto& e : m.views.slowest()) {
      auto t = std::chrono::system_clock::to_time_t(e.at);
      std::tm tm{};
      ::gmtime_r(&t, &tm);
      char at[32];
      std::strftime(at, sizeof at, "%H:%M:%S", &tm);
      slowest.push_back(value::map{{"latency", us_text(e.us)}, {"view", e.view}, {"event", e.event},
                                   {"session", e.session}, {"href", sh_->base + "/process/" + std::to_string(e.session_id)},
                                   {"at", std::string(at)}});
    }
    s.assign("sessions", static_cast<std::int64_t>(sh_->srv->connections() + sh_->srv->longpoll_sessions()));
    s.assign("views", std::move(views));
    s.assign("slowest", std::move(slowest));
  }

 private:
  static std::string us_text(std::uint64_t us) {
    if (us == 0) return "-";
    char buf[32];
    if (us < 1000) std::snprintf(buf, sizeof buf, "%llu µs", static_cast<unsigned long long>(us));
    else std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(us) / 1000.0);
    return buf;
  }
};

// ---- pubsub and presence ---------------------------------------------------------------------------------

const html_template& pubsub_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-pubsub">
  {{ nav | safe }}
  <h1>PubSub and Presence</h1>
  <p id="pubsub-totals"><span id="topic-count">{{ totals.topics }}</span> topics · {{ totals.subscriptions }} subscriptions · {{ totals.rate }} broadcasts/s · gaps <span id="pubsub-gaps">{{ totals.gaps }}</span> · held {{ totals.held }}</p>
  <table id="topics">
    <thead><tr><th>topic</th><th>subscribers</th><th>broadcasts/s</th><th>presences</th></tr></thead>
    <tbody id="topic-rows">{% for t in topics key=t.topic %}<tr class="topic" data-topic="{{ t.topic }}"><td class="name">{{ t.topic }}</td><td class="subscribers">{{ t.subscribers }}</td><td class="rate">{{ t.rate }}</td><td class="presences">{{ t.presences }}</td></tr>{% endfor %}</tbody>
  </table>
</main>)", "corvid/live/dashboard/pubsub");
  return t;
}

class pubsub_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return pubsub_template(); }

 protected:
  void on_mount(const params&, socket& s) override { s.assign("page_title", std::string("PubSub")); }
  void refresh(socket& s) override {
    value::list rows;
    double rate = 0;
    {
      std::lock_guard<std::mutex> g{sh_->m};
      for (auto& t : sh_->topics)
        rows.push_back(value::map{{"topic", t.topic}, {"subscribers", static_cast<std::int64_t>(t.subscribers)},
                                  {"rate", rate_text(t.rate)}, {"presences", static_cast<std::int64_t>(t.presences)}});
      if (!sh_->ring.empty()) rate = sh_->ring.back().broadcast_rate;
    }
    auto st = sh_->hub->stats();
    s.assign("totals", value::map{{"topics", static_cast<std::int64_t>(rows.size())},
                                  {"subscriptions", static_cast<std::int64_t>(st.subscriptions)},
                                  {"rate", rate_text(rate)},
                                  {"gaps", static_cast<std::int64_t>(st.gaps)},
                                  {"held", static_cast<std::int64_t>(sh_->hub->held())}});
    s.assign("topics", std::move(rows));
  }

 private:
  static std::string rate_text(double r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, r >= 10 ? "%.0f" : "%.1f", r);
    return buf;
  }
};

// ---- processes -------------------------------------------------------------------------------------------

std::string policy_name(overflow o) { return to_string(o); }


const html_template& processes_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-processes">
  {{ nav | safe }}
  <h1>Processes</h1>
  <form id="proc-filter" phx-change="filter" phx-submit="filter"><input id="filter" name="filter" type="search" placeholder="filter by name or pid" value="{{ filter }}" phx-debounce="200"></form>
  <p id="proc-summary"><span id="total-processes">{{ total }}</span> processes, <span id="matching">{{ matching }}</span> matching · page <span id="page">{{ page }}</span> of <span id="pages">{{ pages }}</span>
   {% if has_prev %}<a id="prev" href="{{ prev }}" data-phx-link="patch" data-phx-link-state="push">previous</a>{% endif %}
   {% if has_next %}<a id="next" href="{{ next }}" data-phx-link="patch" data-phx-link-state="push">next</a>{% endif %}</p>
  <table id="processes" data-sort="{{ sort }}" data-dir="{{ dir }}">
    <thead><tr><th>pid</th>{% for c in cols %}<th><a id="sort-{{ c.key }}" href="{{ c.href }}" data-phx-link="patch" data-phx-link-state="replace">{{ c.label }}{{ c.mark }}</a></th>{% endfor %}<th>high-water</th><th>policy</th></tr></thead>
    <tbody id="process-rows" phx-update="stream">{% stream id, r in rows %}<tr id="{{ id }}" class="proc" data-id="{{ r.id }}"><td><a class="open" href="{{ r.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ r.pid }}</a></td><td class="name">{{ r.name }}</td><td class="mailbox">{{ r.mailbox }}</td><td class="memory">{{ r.memory }}</td><td class="handled">{{ r.handled }}</td><td class="restarts">{{ r.restarts }}</td><td>{{ r.high_water }}</td><td>{{ r.policy }}</td></tr>{% endstream %}</tbody>
  </table>
</main>)", "corvid/live/dashboard/processes");
  return t;
}

class processes_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return processes_template(); }

  void handle_params(const params& q, const std::string&, socket& s) override {
    auto get = [&](const char* k, std::string d) { auto it = q.find(k); return it == q.end() ? d : it->second; };
    sort_ = get("sort", "mailbox");
    if (sort_ != "mailbox" && sort_ != "memory" && sort_ != "handled" && sort_ != "restarts" && sort_ != "name")
      sort_ = "mailbox";
    desc_ = get("dir", sort_ == "name" ? "asc" : "desc") != "asc";
    filter_ = get("filter", "");
    page_ = std::max<std::int64_t>(1, std::atoll(get("page", "1").c_str()));
    refresh(s);
  }

  status handle_event(const std::string& ev, const event_value& v, socket& s) override {
    if (ev != "filter") return status::unknown_event(ev);
    auto it = v.values.find("filter");
    filter_ = it == v.values.end() ? "" : it->second;
    page_ = 1;
    s.push_patch(url(sort_, desc_, 1), nav_kind::replace);
    return status::ok();
  }

 protected:
  void on_mount(const params&, socket& s) override {
    s.assign("page_title", "Processes");
    s.stream_configure("rows", [](const value& item) {
      auto* id = item.member("id");
      auto* n = id ? id->get_if<std::int64_t>() : nullptr;
      return "proc-" + std::to_string(n ? *n : 0);
    });
  }

  void refresh(socket& s) override {
    auto all = processes(sh_->rt);
    const std::size_t total = all.size();
    if (!filter_.empty())
      std::erase_if(all, [&](const process_info& p) {
        return display_name(p).find(filter_) == std::string::npos && p.id.to_string().find(filter_) == std::string::npos;
      });
    const std::size_t per = std::max<std::size_t>(1, sh_->opts.rows);
    const std::size_t pages = std::max<std::size_t>(1, (all.size() + per - 1) / per);
    const std::size_t page = std::min<std::size_t>(static_cast<std::size_t>(page_), pages);
    const std::size_t first = (page - 1) * per, last = std::min(all.size(), first + per);
    auto key = [&](const process_info& a, const process_info& b) {  // true if a goes first
      auto num = [&](const process_info& p) -> std::uint64_t {
        if (sort_ == "memory") return p.memory;
        if (sort_ == "handled") return p.mailbox.handled;
        if (sort_ == "restarts") return p.restarts;
        return p.mailbox.length;
      };
      if (sort_ == "name") {
        auto na = display_name(a), nb = display_name(b);
        if (na != nb) return desc_ ? na > nb : na < nb;
      } else if (num(a) != num(b)) {
        return desc_ ? num(a) > num(b) : num(a) < num(b);
      }
      return a.id.id() < b.id.id();
    };
    // only the page's rows are ordered fully (100k processes: no full sort)
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(last), all.end(), key);
    value::list rows;
    for (std::size_t i = first; i < last; ++i) {
      auto& p = all[i];
      rows.emplace_back(value::map{{"id", static_cast<std::int64_t>(p.id.id())},
                                   {"pid", p.id.to_string()},
                                   {"href", sh_->base + "/process/" + std::to_string(p.id.id())},
                                   {"name", display_name(p)},
                                   {"mailbox", p.mailbox.length},
                                   {"memory", p.memory},
                                   {"handled", p.mailbox.handled},
                                   {"restarts", p.restarts},
                                   {"high_water", p.mailbox.high_water},
                                   {"policy", policy_name(p.mailbox.policy)}});
    }
    s.stream("rows", rows, true);  // the rows go out once; the view keeps none of them
    s.assign("total", total);
    s.assign("matching", all.size());
    s.assign("page", page);
    s.assign("pages", pages);
    s.assign("has_prev", page > 1);
    s.assign("has_next", page < pages);
    s.assign("prev", url(sort_, desc_, static_cast<std::int64_t>(page) - 1));
    s.assign("next", url(sort_, desc_, static_cast<std::int64_t>(page) + 1));
    s.assign("filter", filter_);
    s.assign("sort", sort_);
    s.assign("dir", desc_ ? "desc" : "asc");
    value::list cols;
    for (auto [k, label] : {std::pair{"name", "name"}, {"mailbox", "mailbox"}, {"memory", "memory"},
                            {"handled", "handled"}, {"restarts", "restarts"}}) {
      const bool on = sort_ == k;
      const bool next_desc = on ? !desc_ : std::string(k) != "name";
      cols.emplace_back(value::map{{"key", k}, {"label", label}, {"href", url(k, next_desc, 1)},
                                   {"mark", on ? (desc_ ? " ▼" : " ▲") : ""}});
    }
    s.assign("cols", std::move(cols));
  }

 private:
  std::string url(const std::string& sort, bool desc, std::int64_t page) const {
    std::string u = sh_->base + "/processes?sort=" + sort + "&dir=" + (desc ? "desc" : "asc") + "&page=" + std::to_string(page);
    if (!filter_.empty()) {
      u += "&filter=";
      for (unsigned char c : filter_) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') u += static_cast<char>(c);
        else {
          char b[4];
          std::snprintf(b, sizeof b, "%%%02X", c);
          u += b;
        }
      }
    }
    return u;
  }
  std::string sort_ = "mailbox", filter_;
  bool desc_ = true;
  std::int64_t page_ = 1;
};

// ---- one process -------------------------------------------------------------------------------------------

const html_template& process_template() {
  static const html_template t = parse_or_throw(R"({{ style | safe }}<main class="corvid-dash" id="dash-process">
  {{ nav | safe }}
  {% if found %}<h1>Process <span id="proc-pid">{{ p.pid }}</span> <span id="proc-name">{{ p.name }}</span></h1>
  <dl id="proc-facts">
    <dt>status</dt><dd id="proc-status">{{ p.status }}</dd>
    <dt>label</dt><dd id="proc-label">{{ p.label }}</dd>
    <dt>supervisor chain</dt><dd id="proc-chain">{% for c in chain %}<a class="sup" href="{{ c.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ c.text }}</a> ← {% endfor %}this process</dd>
    <dt>mailbox</dt><dd id="proc-mailbox">{{ p.mailbox }} of {{ p.capacity }} ({{ p.policy }}), high-water {{ p.high_water }}, handled {{ p.handled }}, dropped {{ p.dropped }}</dd>
    <dt>memory</dt><dd id="proc-memory">{{ p.memory }} B</dd>
    <dt>restarts</dt><dd id="proc-restarts">{{ p.restarts }}</dd>
  </dl>
  <h2>Links</h2>
  <ul id="proc-links">{% for l in links %}<li class="link"><a href="{{ l.href }}" data-phx-link="redirect" data-phx-link-state="push">{{ l.text }}</a> <i>{{ l.why }}</i></li>{% endfor %}</ul>
  <h2>Actions</h2>
  {% if alive %}{% if confirm %}<p id="confirm">{{ confirm }} <button id="confirm-yes" phx-click="confirm">Yes</button> <button id="confirm-no" phx-click="cancel">Cancel</button></p>{% else %}
  <p><button id="kill" phx-click="ask-kill">Kill</button></p>
  <form id="exit-form" phx-submit="ask-exit"><input id="exit-reason" name="reason" value="shutdown" placeholder="normal, shutdown, kill or a text"> <button id="exit" type="submit">Send exit</button></form>{% endif %}{% endif %}
  <p id="action-result">{{ result }}</p>
  {% else %}<h1>No such process</h1><p id="proc-gone">Process {{ id }} is not running.</p>{% endif %}
</main>)", "corvid/live/dashboard/process");
  return t;
}

class process_page final : public dash_page {
 public:
  using dash_page::dash_page;
  html_template render() const override { return process_template(); }

  status handle_event(const std::string& ev, const event_value& v, socket& s) override {
    if (ev == "ask-kill") {
      action_ = "kill";
      s.assign("confirm", "Kill " + target_.to_string() + "? It cannot trap this.");
    } else if (ev == "ask-exit") {
      auto it = v.values.find("reason");
      reason_ = it == v.values.end() || it->second.empty() ? "shutdown" : it->second.substr(0, 200);
      action_ = "exit";
      s.assign("confirm", "Send " + target_.to_string() + " an exit with reason \"" + reason_ + "\"?");
    } else if (ev == "cancel") {
      action_.clear();
      s.assign("confirm", "");
    } else if (ev == "confirm") {
      if (action_.empty()) return status::ok();
      caf::error why = action_ == "kill"       ? reason::kill()
                       : reason_ == "normal"   ? reason::normal()
                       : reason_ == "shutdown" ? reason::shutdown()
                       : reason_ == "kill"     ? reason::kill()
                                               : reason::error(reason_);
      const std::string what = action_ == "kill" ? std::string("kill") : "exit (" + reason_ + ")";
      log(log_kind::system, "dashboard action: " + what + " sent to " + target_.to_string() + " " + name_ +
                                " from session " + session_id_);
      corvid::exit(target_, why);
      s.assign("result", what + " sent to " + target_.to_string());
      action_.clear();
      s.assign("confirm", "");
      refresh(s);
    } else {
      return status::unknown_event(ev);
    }
    return status::ok();
  }

  void mount(const params& q, const session& ses, socket& s) override {
    if (auto it = ses.find("id"); it != ses.end()) session_id_ = it->second;
    dash_page::mount(q, ses, s);
  }

 protected:
  void on_mount(const params& q, socket& s) override {
    auto it = q.find("id");
    id_ = it == q.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
    s.assign("id", std::to_string(id_));
    s.assign("page_title", "Process " + std::to_string(id_));
    s.assign("confirm", "");
    s.assign("result", "");
    for (auto& p : processes(sh_->rt))
      if (p.id.id() == id_) target_ = p.id;
  }

  void refresh(socket& s) override {
    auto p = target_ ? info(target_) : process_info{};
    const bool alive = static_cast<bool>(p.id);
    s.assign("alive", alive);
    if (!alive && !found_once_) {
      s.assign("found", false);
      return;
    }
    found_once_ = true;
    s.assign("found", true);
    if (!alive) {
      auto why = exit_reason(target_);
      s.assign("p", value::map{{"pid", target_.to_string()}, {"name", name_},
                               {"status", "ended: " + (why ? describe(*why) : std::string("?"))}});
      s.assign("links", value::list{});
      return;
    }
    name_ = display_name(p);
    auto href = [&](const corvid::pid& x) { return sh_->base + "/process/" + std::to_string(x.id()); };
    value::list chain;
    {
      auto sup = p.supervisor;
      for (int depth = 0; sup && depth < 32; ++depth) {
        auto si = info(sup);
        chain.emplace_back(value::map{{"href", href(sup)}, {"text", sup.to_string() + " " + display_name(si)}});
        sup = si.supervisor;
      }
    }
    value::list links;  // supervision links: the supervisor and the children
    if (p.supervisor)
      links.emplace_back(value::map{{"href", href(p.supervisor)},
                                    {"text", p.supervisor.to_string() + " " + display_name(info(p.supervisor))},
                                    {"why", "supervisor"}});
    for (auto& c : processes(sh_->rt))
      if (c.supervisor == p.id)
        links.emplace_back(value::map{{"href", href(c.id)}, {"text", c.id.to_string() + " " + display_name(c)}, {"why", "child"}});
    s.assign("chain", std::move(chain));
    s.assign("links", std::move(links));
    s.assign("p", value::map{{"pid", p.id.to_string()},
                             {"name", name_},
                             {"label", p.label},
                             {"status", "running"},
                             {"mailbox", p.mailbox.length},
                             {"capacity", p.mailbox.capacity},
                             {"policy", policy_name(p.mailbox.policy)},
                             {"high_water", p.mailbox.high_water},
                             {"handled", p.mailbox.handled},
                             {"dropped", p.mailbox.dropped},
                             {"memory", p.memory},
                             {"restarts", p.restarts}});
  }

 private:
  std::uint64_t id_ = 0;
  corvid::pid target_;
  std::string name_, action_, reason_, session_id_;
  bool found_once_ = false;
};

}  // namespace

// ---- mounting -------------------------------------------------------------------------------------------


std::string mount_dashboard(server& srv, runtime& rt, dashboard_mount m) {
  std::string base = m.path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (base.empty() || base.front() != '/') return "dashboard path must start with '/': \"" + m.path + "\"";
  auth_hook hook = m.hook;
  if (!hook) {
    if (!configured(m.auth))
      if (const char* env = std::getenv("CORVID_DASHBOARD_TOKEN"); env && *env) m.auth.token = env;
    if (configured(m.auth)) {
      if (auto bad = check(m.auth); !bad.empty()) return "dashboard credentials: " + bad;
      hook = credentials_hook(m.auth);
    } else if (!(m.open_on_loopback && srv.loopback())) {
      return "refusing to mount the dashboard at " + base + " on " + srv.options().address +
             " without authentication: set dashboard_mount::auth (a token from random_token(), or user and "
             "password), $CORVID_DASHBOARD_TOKEN, or a custom hook" +
             (srv.loopback() ? std::string(" (or open_on_loopback = true)") : std::string(" (never open on a non-loopback address)"));
    }
  }
  if (hook) {
    srv.protect(base, hook);
    auto& mp = srv.options().metrics_path;
    if (!mp.empty() && !srv.is_protected(mp) && !srv.options().metrics_auth) srv.protect(mp, hook);
  } else {
    log(log_kind::system, "dashboard at " + base + " is open to anyone who can reach " + srv.options().address);
  }

  auto sh = std::make_shared<dash_shared>(rt, base, m.view);
  sh->hub = m.hub;
  sh->presence = m.presence;
  sh->history = std::max<std::size_t>(m.history, 2);
  sh->srv = &srv;
  std::weak_ptr<dash_shared> weak = sh;
  spawn_options so;
  so.label = "dashboard_sampler";
  auto sampler = spawn(
      rt,
      [weak](process& self) -> behavior {
        self.send_interval(std::chrono::seconds(1), self.self(), dash_sample_tick{});
        if (auto s = weak.lock()) s->take_sample();
        return {[weak, &self](dash_sample_tick) {
          auto s = weak.lock();
          if (!s) return self.exit();
          s->take_sample();
        }};
      },
      so);
  if (!sampler) return "cannot start the dashboard's sampler: " + describe(sampler.error());
  sh->sampler = *sampler;
  srv.on_stop([sh] {
    corvid::pid p;
    {
      std::lock_guard<std::mutex> g{sh->m};
      sh->srv = nullptr;
      p = sh->sampler;
    }
    corvid::exit(p, reason::shutdown());
  });
  // a live_session of its own: a page's token elsewhere never mounts the dashboard
  std::vector<std::pair<std::string, view_factory>> pages{
      {base, [sh] { return std::make_unique<home_page>(sh); }},
      {base + "/processes", [sh] { return std::make_unique<processes_page>(sh); }},
      {base + "/process/:id", [sh] { return std::make_unique<process_page>(sh); }},
      {base + "/tree", [sh] { return std::make_unique<tree_page>(sh); }},
      {base + "/sessions", [sh] { return std::make_unique<sessions_page>(sh); }}};
  if (sh->opts.nodes) pages.emplace_back(base + "/nodes", [sh] { return std::make_unique<nodes_page>(sh); });
  if (sh->hub) pages.emplace_back(base + "/pubsub", [sh] { return std::make_unique<pubsub_page>(sh); });
  srv.live_session("corvid.dashboard", {}, std::move(pages));
  return {};
}

}  // namespace corvid::live
