// The dashboard's overview pages (home with charts and system facts, nodes, the supervision tree,
// live sessions, pubsub and presence) and mount_dashboard, which puts every page behind its hook.
// Each page is a live view with its own refresh timer (dashboard_page.hpp).

#include "dashboard_page.hpp"

#include <caf/config.hpp>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "corvid/live/log.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/presence.hpp"
#include "corvid/runtime/error.hpp"

namespace corvid::live {

namespace {

using namespace detail;

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
      slowest.push_back(value::map{{"latency", us_text(e.us)}, {"view", e.view}, {"event", e.event},
                                   {"session", e.session}, {"href", sh_->base + "/process/" + std::to_string(e.session_id)},
                                   {"at", utc_text(e.at, "%H:%M:%S")}});
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
  <h2>Gaps</h2>
  <p>Other nodes' broadcasts that never arrived and could not be sent again (the latest 20).</p>
  <table id="gaps">
    <thead><tr><th>at (UTC)</th><th>origin</th><th>incarnation</th><th>missed</th></tr></thead>
    <tbody id="gap-rows">{% for g in gap_rows %}<tr class="gap"><td>{{ g.at }}</td><td class="origin">{{ g.origin }}</td><td>{{ g.incarnation }}</td><td class="missed">{{ g.missed }}</td></tr>{% endfor %}</tbody>
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
    value::list gaps;
    auto recent = sh_->hub->recent_gaps();
    for (auto it = recent.rbegin(); it != recent.rend(); ++it) {  // latest first
      const auto& g = it->gap;
      gaps.push_back(value::map{{"at", utc_text(it->at)},
                                {"origin", g.origin},
                                {"incarnation", std::to_string(g.incarnation)},
                                {"missed", g.received == g.expected + 1
                                               ? std::to_string(g.expected)
                                               : std::to_string(g.expected) + "–" + std::to_string(g.received - 1)}});
    }
    s.assign("gap_rows", std::move(gaps));
  }

 private:
  static std::string rate_text(double r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, r >= 10 ? "%.0f" : "%.1f", r);
    return buf;
  }
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
      {base + "/processes", [sh] { return make_processes_page(sh); }},
      {base + "/process/:id", [sh] { return make_process_page(sh); }},
      {base + "/tree", [sh] { return std::make_unique<tree_page>(sh); }},
      {base + "/sessions", [sh] { return std::make_unique<sessions_page>(sh); }}};
  if (sh->opts.nodes) pages.emplace_back(base + "/nodes", [sh] { return std::make_unique<nodes_page>(sh); });
  if (sh->hub) pages.emplace_back(base + "/pubsub", [sh] { return std::make_unique<pubsub_page>(sh); });
  srv.live_session("corvid.dashboard", {}, std::move(pages));
  return {};
}

}  // namespace corvid::live