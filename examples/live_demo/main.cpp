// corvid live demo: a counter, a chat shared by every open page (corvid pubsub), a load-test page
// (/bench), the runtime's live dashboard (/dashboard) and an index.
//
//   live_demo [--port N] [--address A] [--allow-host H]... [--assets DIR] [--templates DIR] [--coalesce MS] [--io-threads N]
//             [--max-frame-bytes N] [--node NAME@HOST:PORT --secret-file FILE [--seed NAME@HOST:PORT]... [--dns NAME:PORT]
//             [--tls-dir DIR] [--net-ticktime S]]
//
// With --node the demo is one node of a cluster (cluster_flags.hpp): chat messages and who is online
// on /chat span every node, and /dashboard lists the nodes.
//
// --allow-host: a Host name the demo answers to besides the loopback names and --address (see
// server_options::allowed_hosts), e.g. the machine's name when it listens on 0.0.0.0.
//
// /dashboard (corvid's own dashboard, live/include/corvid/live/dashboard.hpp) needs a token: the demo
// takes $CORVID_DASHBOARD_TOKEN or makes a random one, and prints the URL to open once, e.g.
// http://127.0.0.1:4000/dashboard?token=...; that request sets a cookie and drops the token from the
// URL. /metrics takes the same token (Authorization: Bearer ...) or cookie. A small supervision tree
// (demo_sup with workers demo_worker_1..3) gives the dashboard's process pages something to show.
//
// Sessions are signed with $CORVID_SECRET or, on a loopback address, with a random secret made once
// and kept in $XDG_STATE_HOME/corvid/secret (~/.local/state/corvid/secret), so open pages reconnect
// and rejoin in place after a restart of this program. On another address CORVID_SECRET is required.

#include <algorithm>
#include <charconv>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <string>

#include "cluster_flags.hpp"
#include "corvid/live/dashboard.hpp"
#include "corvid/live/server.hpp"
#include "corvid/live/utf8.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/presence.hpp"
#include "corvid/runtime/codec.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/supervisor.hpp"
#include "phoenix_pages.hpp"

#ifndef LIVE_DEMO_TEMPLATES
#define LIVE_DEMO_TEMPLATES "examples/live_demo/templates"
#endif

namespace live = corvid::live;
using live::status;

namespace {

// ---- templates, parsed once at start-up ----------------------------------------------------------

std::map<std::string, live::html_template, std::less<>> templates;

const live::html_template& tpl(std::string_view name) { return templates.find(name)->second; }

bool load_templates(const std::filesystem::path& dir) {
  for (const char* name : {"index.html", "counter.html", "chat.html", "bench.html"}) {
    auto t = live::html_template::load(dir / name);
    if (!t) {
      std::cerr << "live_demo: " << t.error().to_string() << "\n";
      return false;
    }
    templates.emplace(name, std::move(*t));
  }
  return true;
}

std::int64_t int_of(const live::value& v, std::int64_t fallback = 0) {
  auto* i = v.get_if<std::int64_t>();
  return i ? *i : fallback;
}

// ---- / ---------------------------------------------------------------------------------------------

struct index_view : live::view {
  live::html_template render() const override { return tpl("index.html"); }
  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("page_title", "corvid");
  }
};

// ---- /counter ------------------------------------------------------------------------------------------

struct counter_view : live::view {
  live::html_template render() const override { return tpl("counter.html"); }

  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("count", 0);
    s.assign("page_title", "Counter");
  }

  // /counter?step=N (a live patch from the step links lands here without a new mount)
  void handle_params(const live::params& q, const std::string&, live::socket& s) override {
    std::int64_t step = 1;
    if (auto it = q.find("step"); it != q.end()) step = std::clamp<std::int64_t>(std::atoll(it->second.c_str()), 1, 1000);
    s.assign("step", step);
  }

  status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    auto count = int_of(s["count"]);
    if (ev == "inc") {
      if (count < INT64_MAX) s.assign("count", count + 1);
    } else if (ev == "dec") {
      if (count > INT64_MIN) s.assign("count", count - 1);
    } else if (ev == "add") {  // phx-value-by
      auto by = v.values.find("by");
      if (by == v.values.end()) return status::error("add needs a value \"by\"");
      std::int64_t n = 0, sum = 0;
      auto [end, ec] = std::from_chars(by->second.data(), by->second.data() + by->second.size(), n);
      if (ec != std::errc{} || end != by->second.data() + by->second.size())
        return status::error("\"by\" must be a whole number");
      if (__builtin_add_overflow(count, n, &sum)) return status::error("the count would overflow");
      s.assign("count", sum);
    } else if (ev == "reset") {
      s.assign("count", 0);  // at 0 already: nothing changes, the reply is {}

    } else if (ev == "key") {  // phx-window-keyup
      if (v.key == "ArrowUp" && count < INT64_MAX) s.assign("count", count + 1);
      if (v.key == "ArrowDown" && count > INT64_MIN) s.assign("count", count - 1);
    } else {
      return status::unknown_event(ev);
    }
    return status::ok();
  }
};

// ---- /chat -------------------------------------------------------------------------------------------

/// A posted chat message, as broadcast on the topic (and across nodes: see register_codecs).
struct chat_posted {
  std::string id;  // "<node>-<n>": unique across the cluster
  std::string from;
  std::string body;
};

}  // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chat_posted)

namespace {

live::value as_value(const chat_posted& p) {
  return live::value{live::value::map{{"id", p.id}, {"from", p.from}, {"body", p.body}}};
}

/// The last 100 messages of every node, kept by a process subscribed to the topic; the topic
/// every chat page listens to; who is online (Presence, across the cluster).
class chat_room {
 public:
  static constexpr std::size_t keep = 100;
  static inline const std::string topic = "chat:lobby";

  chat_room(corvid::runtime& rt, corvid::pubsub::hub& h, corvid::pubsub::presence& who) : hub_(h), who_(who) {
    auto keeper = corvid::spawn(rt, [this](corvid::process&) -> corvid::behavior {
      return {[this](const chat_posted& p) {
                std::lock_guard<std::mutex> g{m_};
                log_.push_back(as_value(p));
                if (log_.size() > keep) log_.pop_front();
              },
              [](const corvid::pubsub::presence_diff&) {}};
    });
    if (keeper) hub_.subscribe(*keeper, topic);
  }

  live::value::list history() const {
    std::lock_guard<std::mutex> g{m_};
    return {log_.begin(), log_.end()};
  }
  /// Everyone with a /chat page open, on any node.
  live::value::list online() const {
    live::value::list out;
    for (auto& [key, p] : who_.list(topic)) out.emplace_back(key);
    return out;
  }
  void post(std::string from, std::string body) {
    chat_posted msg{hub_.node() + "-" + std::to_string(++last_id_), std::move(from), std::move(body)};
    if (auto err = hub_.broadcast(topic, std::move(msg)))
      std::cerr << "live_demo: broadcast failed: " << corvid::describe(err) << "\n";
  }
  corvid::pubsub::presence& presence() { return who_; }

 private:
  corvid::pubsub::hub& hub_;
  corvid::pubsub::presence& who_;
  mutable std::mutex m_;
  std::deque<live::value> log_;
  std::atomic<std::int64_t> last_id_{0};
};

class chat_view : public live::view {
 public:
  static constexpr std::size_t max_body = 500;  // bytes of UTF-8

  explicit chat_view(chat_room& room, corvid::pubsub::hub& hub) : room_(room), hub_(hub) {}

  live::html_template render() const override { return tpl("chat.html"); }

  void mount(const live::params&, const live::session& session, live::socket& s) override {
    auto id = session.count("id") ? session.at("id") : std::string{};
    me_ = "guest-" + id.substr(0, 4);
    s.assign("me", me_);
    s.assign("node", hub_.node());
    s.assign("page_title", "Chat");
    s.assign("draft", "");
    s.assign("hint", "");
    if (s.connected()) {
      hub_.subscribe(s.self(), chat_room::topic);  // before the snapshot: no gap
      tracked_ = static_cast<bool>(room_.presence().track(s.self(), chat_room::topic, me_));
    }
    s.assign("messages", room_.history());
    s.assign("online", room_.online());
  }

  void terminate(live::socket& s) override {
    hub_.unsubscribe(s.self(), chat_room::topic);
    if (tracked_) room_.presence().untrack(s.self(), chat_room::topic, me_);
  }

  status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    if (ev == "send") {
      auto body = v.values.count("body") ? v.values.at("body") : std::string{};
      if (body.empty()) return status::ok();
      body = std::string(live::truncate_utf8(body, max_body));  // never inside a character
      room_.post(me_, std::move(body));
      s.assign("draft", "");
      s.assign("hint", "");
    } else if (ev == "typing") {  // phx-change: the whole form, urlencoded
      auto body = v.values.count("body") ? v.values.at("body") : std::string{};
      s.assign("draft", body);
      s.assign("hint", body.size() > max_body ? "too long: only the first 500 bytes are kept" : "");
    } else if (ev == "clear") {  // phx-keyup with phx-key="Escape"
      s.assign("draft", "");
    } else {
      return status::unknown_event(ev);
    }
    return status::ok();
  }

  void handle_info(const caf::message& m, live::socket& s) override {
    if (live::message_as<corvid::pubsub::presence_diff>(m)) {
      s.assign("online", room_.online());
      return;
    }
    auto* p = live::message_as<chat_posted>(m);
    if (!p) return;
    s.update("messages", [&](live::value& v) {
      auto* l = v.get_if<live::value::list>();
      if (!l) return;
      for (auto& have : *l)  // already in the mount snapshot
        if (auto* id = have.member("id"); id && id->get_if<std::string>() && *id->get_if<std::string>() == p->id)
          return;
      l->push_back(as_value(*p));
      if (l->size() > chat_room::keep) l->erase(l->begin());
    });
  }

 private:
  chat_room& room_;
  corvid::pubsub::hub& hub_;
  std::string me_;
  bool tracked_ = false;
};

// ---- /bench ---------------------------------------------------------------------------------------------
// Shaped like a typical LiveView test page, so that the same load client (bench/live_load) can drive
// corvid and Phoenix: a count with a button phx-click="inc" (#count), 20 items as a comprehension,
// and an event "bcast" whose value (phx-value-value or a form field "value") every /bench page shows
// in #last. Per-session state is three assigns; the item list and the template are shared.

/// A value broadcast to every /bench page.
struct bench_posted {
  std::string value;
};

}  // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bench_posted)

namespace {

class bench_view : public live::view {
 public:
  static inline const std::string topic = "bench";
  static constexpr std::size_t max_value = 200;

  explicit bench_view(corvid::pubsub::hub& hub) : hub_(hub) {}

  live::html_template render() const override { return tpl("bench.html"); }

  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("count", 0);
    s.assign("last", "");
    s.assign("items", items());  // one list for every session: a pointer per session
    if (s.connected()) hub_.subscribe(s.self(), topic);
  }

  void terminate(live::socket& s) override { hub_.unsubscribe(s.self(), topic); }

  status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    if (ev == "inc") {
      s.assign("count", int_of(s["count"]) + 1);
    } else if (ev == "bcast") {
      auto it = v.values.find("value");
      if (it == v.values.end()) return status::error("bcast needs a value \"value\"");
      std::string text = it->second.substr(0, max_value);
      s.assign("last", text);  // the sender's reply carries it; its own broadcast then changes nothing
      if (auto err = hub_.broadcast(topic, bench_posted{std::move(text)}))
        return status::error("broadcast failed: " + corvid::describe(err));
    } else {
      return status::unknown_event(ev);
    }
    return status::ok();
  }

  void handle_info(const caf::message& m, live::socket& s) override {
    if (auto* p = live::message_as<bench_posted>(m)) s.assign("last", p->value);
  }

 private:
  static const live::value& items() {
    static const live::value list = [] {
      live::value::list l;
      for (int i = 1; i <= 20; ++i) l.emplace_back("item " + std::to_string(i));
      return live::value::shared(std::move(l));
    }();
    return list;
  }

  corvid::pubsub::hub& hub_;
};

const char* style = R"(<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #fafafa; color: #222; }
  .wrap { max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  nav { margin-bottom: 1rem; } .big { font-size: 2rem; } .hint { color: #777; font-size: .9rem; }
  button { font-size: 1rem; padding: .3rem .8rem; } #messages { min-height: 3rem; }
  .corvid-dashboard { max-width: 60rem; } #processes { border-collapse: collapse; font: 14px ui-monospace, monospace; }
  #processes td, #processes th { padding: .1rem .6rem; text-align: right; border-bottom: 1px solid #ddd; }
  .phx-error main { opacity: .5; } .flash { background: #e6f4ea; padding: .4rem .8rem; cursor: pointer; }
  .card { display: inline-block; border: 1px solid #ccc; padding: .4rem .8rem; margin: .2rem; }
</style>
)";


// Chat and bench messages cross nodes as length-prefixed strings.
void put_str(std::string& out, const std::string& s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

bool take_str(std::string_view& in, std::string& s) {
  auto colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) return false;
  std::size_t n = 0;
  for (auto c : in.substr(0, colon)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (in.size() - colon - 1 < n) return false;
  s = std::string{in.substr(colon + 1, n)};
  in.remove_prefix(colon + 1 + n);
  return true;
}

void register_codecs() {
  corvid::register_codec<chat_posted>(
      "live_demo.chat_posted",
      [](const chat_posted& p, std::string& out) {
        put_str(out, p.id);
        put_str(out, p.from);
        put_str(out, p.body);
      },
      [](std::string_view in, chat_posted& p) {
        return take_str(in, p.id) && take_str(in, p.from) && take_str(in, p.body) && in.empty();
      });
  corvid::register_codec<bench_posted>(
      "live_demo.bench_posted", [](const bench_posted& p, std::string& out) { out = p.value; },
      [](std::string_view in, bench_posted& p) {
        p.value = std::string{in};
        return true;
      });
}

}  // namespace

int main(int argc, char** argv) {
  live::server_options opts;
  opts.stop_on_signals = true;
  opts.page.head_html = std::string(style) + demo::hooks_script;
  opts.session_values = demo::session_values;
  std::filesystem::path template_dir = LIVE_DEMO_TEMPLATES;
  demo::cluster_flags cf;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "live_demo: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") opts.port = static_cast<std::uint16_t>(std::atoi(next().c_str()));
    else if (a == "--address") opts.address = next();
    else if (a == "--assets") opts.assets_dir = next();
    else if (a == "--templates") template_dir = next();
    else if (a == "--coalesce") opts.channel.coalesce = std::chrono::milliseconds(std::atoi(next().c_str()));
    else if (a == "--io-threads") opts.io_threads = static_cast<std::size_t>(std::atoi(next().c_str()));
    else if (a == "--max-connections") opts.max_connections = static_cast<std::size_t>(std::atoll(next().c_str()));
    else if (a == "--allow-host") opts.allowed_hosts.push_back(next());
    else if (a == "--max-frame-bytes") opts.channel.limits.max_bytes = static_cast<std::size_t>(std::atoll(next().c_str()));
    else if (cf.take(a, next)) continue;
    else {
      std::cerr << "usage: live_demo [--port N] [--address A] [--allow-host H]... [--assets DIR] [--templates DIR] "
                   "[--coalesce MS] [--io-threads N] [--max-frame-bytes N]\n"
                   "                 [--node NAME@HOST:PORT --secret-file FILE [--seed NAME@HOST:PORT]... "
                   "[--dns NAME:PORT] [--tls-dir DIR] [--net-ticktime S]]\n";
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (auto bad = cf.check(); !bad.empty()) {
    std::cerr << "live_demo: " << bad << "\n";
    return 2;
  }
  std::optional<corvid::cluster::node_options> node_opts;
  if (!cf.node.empty()) {
    std::string err;
    node_opts = cf.options(err);
    if (!node_opts) {
      std::cerr << "live_demo: " << err << "\n";
      return 2;
    }
  }
  if (!load_templates(template_dir)) return 1;
  register_codecs();

  corvid::runtime_options ro;
  ro.node = cf.node_name();
  corvid::runtime rt{ro};
  demo::demo_cluster cluster;
  corvid::pubsub::hub_options ho;
  if (node_opts) {
    auto n = corvid::cluster::node::start(rt, *node_opts);
    if (!n) {
      std::cerr << "live_demo: cluster node " << cf.node << ": " << corvid::cluster::to_string(n.err()) << "\n";
      return 1;
    }
    cluster.node = n.value();
    cluster.pubsub = std::make_shared<corvid::cluster::pubsub_adapter>(rt, cluster.node);
    ho.adapter = cluster.pubsub;
  }
  corvid::pubsub::hub hub{rt, ho};
  corvid::pubsub::presence who{hub};
  if (cluster.node) {
    cluster.pubsub->attach(hub);
    cluster.presence = corvid::cluster::presence_adapter::start(rt, cluster.node, who);
    opts.extra_metrics = [&cluster] { return cluster.metrics(); };
  }
  chat_room room{rt, hub, who};
  live::dashboard_mount dash;
  if (cluster.node) dash.view.nodes = [&cluster] { return cluster.rows(); };
  dash.hub = &hub;
  dash.presence = &who;
  if (const char* t = std::getenv("CORVID_DASHBOARD_TOKEN"); t && *t) dash.auth.token = t;
  else dash.auth.token = live::random_token();
  // A supervision tree for the dashboard to show: three idle workers under a one_for_one supervisor.
  {
    std::vector<corvid::child_spec> kids;
    for (int i = 1; i <= 3; ++i) {
      corvid::spawn_options so;
      so.name = "demo_worker_" + std::to_string(i);
      so.label = "demo_worker";
      kids.push_back(corvid::child_spec::worker(
          "worker_" + std::to_string(i), [](corvid::process&) -> corvid::behavior { return {[](int) {}}; }, so));
    }
    corvid::supervisor_flags sf;
    sf.intensity = 100;  // the browser tests kill workers on purpose
    corvid::spawn_options sup_opts;
    sup_opts.name = "demo_sup";
    sup_opts.label = "demo_sup";
    if (auto sup = corvid::start_supervisor(rt, sf, std::move(kids), sup_opts); !sup)
      std::cerr << "live_demo: demo supervisor: " << corvid::describe(sup.error()) << "\n";
  }
  {
    live::server srv{rt, opts};
    srv.live("/", live::make_view<index_view>);
    srv.live("/counter", live::make_view<counter_view>);
    srv.live("/chat", [&] { return std::make_unique<chat_view>(room, hub); });
    srv.live("/bench", [&] { return std::make_unique<bench_view>(hub); });
    if (auto err = demo::add_phoenix_pages(srv, template_dir); !err.empty()) {
      std::cerr << "live_demo: " << err << "\n";
      return 1;
    }
    if (auto err = live::mount_dashboard(srv, rt, dash); !err.empty()) {
      std::cerr << "live_demo: " << err << "\n";
      cluster.stop();
      return 1;
    }
    if (auto err = srv.start(); !err.empty()) {
      std::cerr << "live_demo: " << err << "\n";
      cluster.stop();
      return 1;
    }
    std::cout << "corvid live demo on http://" << opts.address << ":" << srv.port() << "/";
    if (cluster.node) std::cout << " as node " << cf.node_name() << " (cluster port " << cluster.node->port() << ")";
    std::cout << std::endl;
    std::cout << "dashboard: http://" << opts.address << ":" << srv.port() << "/dashboard?token=" << dash.auth.token
              << std::endl;
    srv.wait();
    std::cout << "live_demo: stopping" << std::endl;
  }
  cluster.stop();  // nothing arrives for the hub and the presence while they go
  rt.shutdown_all(std::chrono::seconds(5));
  return 0;
}
