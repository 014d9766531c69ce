#include "app.hpp"

#include <algorithm>
#include <optional>
#include <sstream>

#include "corvid/cluster/presence_adapter.hpp"
#include "corvid/live/dashboard_auth.hpp"
#include "corvid/live/server.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/runtime.hpp"
#include "hall.hpp"
#include "stats_http.hpp"
#include "views.hpp"

#ifndef CONVENTION_TEMPLATES
#define CONVENTION_TEMPLATES "examples/convention/templates"
#endif

namespace convention {

namespace live = corvid::live;

namespace {

const char* style = R"(<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #fafafa; color: #222; }
  .wrap { max-width: 40rem; margin: 2rem auto; padding: 0 1rem; } .wide { max-width: 72rem; }
  .big { font-size: 1.5rem; } .hint { color: #777; font-size: .9rem; } .error { color: #b00020; }
  button { font-size: 1rem; padding: .3rem .8rem; margin-right: .3rem; } button.chosen { background: #2e7d32; color: #fff; }
  #tally .count { display: inline-block; margin-right: 1.2rem; } .cols { display: flex; gap: 2rem; }
  .cols section { flex: 1; } table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: .1rem .5rem; border-bottom: 1px solid #ddd; } #events { font-size: .9rem; }
  .phx-error main { opacity: .5; }
</style>
)";

// /admin without the token: a page that says so (a redirect), not a bare 401. The websocket's
// own check is left as it is: a refused upgrade cannot join /admin.
live::auth_hook admin_guard(const std::string& token) {
  live::credentials c;
  c.token = token;
  c.cookie = "convention_admin";
  c.realm = "convention chair";
  auto inner = live::credentials_hook(std::move(c));
  return [inner](const live::auth_request& r) {
    auto d = inner(r);
    if (d.outcome == live::auth_decision::kind::deny && !r.websocket) return live::auth_decision::redirect("/token-needed", "");
    return d;
  };
}

}  // namespace

struct app::impl {
  app_options opts;
  tuning settings;
  std::optional<page_templates> pages;
  std::unique_ptr<corvid::runtime> rt;
  std::shared_ptr<corvid::cluster::node> node;
  std::unique_ptr<corvid::pubsub::hub> hub;
  std::unique_ptr<corvid::pubsub::presence> who;
  std::shared_ptr<corvid::cluster::presence_adapter> replication;
  std::unique_ptr<hall> conv;
  std::unique_ptr<live::server> srv;
  std::unique_ptr<stats_listener> listener;
  bool running = false;

  void teardown() {
    if (srv) srv->stop();
    srv.reset();
    if (listener) listener->stop();  // it reads the runtime
    listener.reset();
    if (node) node->stop();  // nothing arrives for the presence while it goes
    if (rt) rt->shutdown_all(std::chrono::seconds(5));
    conv.reset();
    replication.reset();
    who.reset();
    hub.reset();
    node.reset();
    rt.reset();
    running = false;
  }
};

app::app(app_options o) : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(o);
  impl_->settings = tuning_for(impl_->opts);
  if (impl_->opts.admin_token.empty()) impl_->opts.admin_token = live::random_token();
}

app::~app() { stop(); }

std::string app::start(bool stop_on_signals) {
  auto& m = *impl_;
  if (m.running) return "already started";
  live::credentials token;
  token.token = m.opts.admin_token;
  if (auto bad = live::check(token); !bad.empty()) return "--admin-token: " + bad;
  auto dir = m.opts.templates.empty() ? std::filesystem::path{CONVENTION_TEMPLATES} : m.opts.templates;
  auto loaded = page_templates::load(dir);
  if (!loaded) return loaded.error();
  m.pages.emplace(std::move(*loaded));

  corvid::runtime_options ro;
  ro.threads = m.opts.threads;
  if (!m.opts.node_name.empty()) ro.node = m.opts.node_name;
  m.rt = std::make_unique<corvid::runtime>(ro);
  if (m.opts.node) {
    auto n = corvid::cluster::node::start(*m.rt, *m.opts.node);
    if (!n) {
      auto why = "cluster node: " + corvid::cluster::to_string(n.err());
      m.teardown();
      return why;
    }
    m.node = n.value();
  }
  m.hub = std::make_unique<corvid::pubsub::hub>(*m.rt);
  m.who = std::make_unique<corvid::pubsub::presence>(*m.hub);
  if (m.node) m.replication = corvid::cluster::presence_adapter::start(*m.rt, m.node, *m.who);
  m.conv = std::make_unique<hall>(*m.rt, *m.hub, *m.who, m.settings);
  if (auto err = m.conv->start()) {
    auto why = "the chair: " + corvid::describe(err);
    m.teardown();
    return why;
  }

  live::server_options so;
  so.address = m.opts.host;
  so.port = m.opts.port;
  so.max_connections = m.opts.max_connections;
  so.secret = m.opts.secret;
  so.assets_dir = m.opts.assets;
  so.stop_on_signals = stop_on_signals;
  so.session_mailbox = m.settings.session_mailbox;
  so.channel.coalesce = m.settings.render_every;
  so.page.title = "Convention";
  so.page.head_html = style;
  m.srv = std::make_unique<live::server>(*m.rt, so);
  auto& h = *m.conv;
  auto& pages = *m.pages;
  auto participant = [&h, &pages] { return make_participant_view(h, pages); };
  m.srv->live("/", participant);
  m.srv->live("/join", participant);
  if (m.settings.streams) m.srv->live("/admin", [&h, &pages] { return make_admin_view(h, pages); });
  else m.srv->live("/admin", [&h, &pages] { return make_admin_naive_view(h, pages); });
  m.srv->live("/token-needed", [&pages] { return make_denied_view(pages); });
  m.srv->protect("/admin", admin_guard(m.opts.admin_token));
  if (auto err = m.srv->start(); !err.empty()) {
    m.teardown();
    return err;
  }
  m.listener = std::make_unique<stats_listener>([this] { return to_json(snapshot()); });
  if (auto err = m.listener->start(m.opts.host, m.opts.stats_port); !err.empty()) {
    m.teardown();
    return err;
  }
  m.running = true;
  return "";
}

void app::wait() {
  if (impl_->srv) impl_->srv->wait();
}

void app::stop() {
  if (impl_->rt) impl_->teardown();
}

std::uint16_t app::port() const { return impl_->srv ? impl_->srv->port() : 0; }
std::uint16_t app::stats_port() const { return impl_->listener ? impl_->listener->port() : 0; }
std::uint16_t app::node_port() const { return impl_->node ? impl_->node->port() : 0; }
const std::string& app::admin_token() const { return impl_->opts.admin_token; }
corvid::runtime& app::runtime() { return *impl_->rt; }
hall& app::convention_hall() { return *impl_->conv; }
stats app::snapshot() {
  auto s = gather(*impl_->rt, *impl_->conv);
  if (impl_->node) {
    for (auto& m : impl_->node->members()) {
      ++s.cluster.members;
      s.cluster.members_up += m.up ? 1 : 0;
      for (auto* l : {&m.control, &m.data}) {
        s.cluster.lane_refused += l->refused;
        s.cluster.lane_dropped += l->dropped;
        s.cluster.lane_high_water_bytes = std::max(s.cluster.lane_high_water_bytes, l->high_water_bytes);
      }
    }
  }
  if (impl_->replication) {
    auto r = impl_->replication->stats();
    s.cluster.deltas_sent = r.deltas_sent;
    s.cluster.deltas_merged = r.deltas_merged;
    s.cluster.full_states_sent = r.full_states_sent;
    s.cluster.resyncs = r.resyncs;
  }
  return s;
}

std::string app::banner() const {
  auto base = "http://" + impl_->opts.host + ":" + std::to_string(port());
  std::ostringstream o;
  o << "convention (" << (impl_->settings.naive ? "NAIVE: the post-mortem's design" : "safe") << ") on " << base << "/";
  if (impl_->node) o << " as node " << impl_->hub->node() << " (cluster port " << node_port() << ")";
  o << "\n  participants: " << base << "/\n"
    << "  admin:        " << base << "/admin?token=" << impl_->opts.admin_token << "\n"
    << "  admin token:  " << impl_->opts.admin_token << "\n"
    << "  stats:        http://" << impl_->opts.host << ":" << stats_port() << "/convention/stats\n";
  return o.str();
}

}  // namespace convention
