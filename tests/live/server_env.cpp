#include "server_env.hpp"

#include <cstdlib>

#include <unistd.h>

namespace corvid::live::test {

namespace json = boost::json;

std::atomic<bool> have_session{false};
corvid::pid last_session;
gate view_gate;

void gate::close() {
  std::lock_guard<std::mutex> g{m};
  open = false;
  holding = false;
}
void gate::release() {
  {
    std::lock_guard<std::mutex> g{m};
    open = true;
  }
  cv.notify_all();
}
void gate::hold() {
  std::unique_lock<std::mutex> g{m};
  holding = true;
  cv.wait(g, [&] { return open; });
}
bool gate::is_holding() {
  std::lock_guard<std::mutex> g{m};
  return holding;
}

html_template count_view::render() const {
  return *html_template::parse("<b>{{ n }}</b><i>{{ blob }}</i><u>{{ flash.info }}</u>");
}
void count_view::mount(const params&, const session&, live::socket& s) {
  s.assign("n", 0);
  s.assign("blob", "");
  if (s.connected()) {
    last_session = s.self();
    have_session = true;
  }
}
status count_view::handle_event(const std::string& ev, const event_value& v, live::socket& s) {
  if (ev == "say") {  // a form field shown as it came
    s.assign("blob", v.values.count("body") ? v.values.at("body") : "");
    return status::ok();
  }
  if (ev == "hold") {
    view_gate.hold();
    return status::ok();
  }
  if (ev == "spin") {  // 5 ms of work: a turn too long for an I/O thread
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
    while (std::chrono::steady_clock::now() < until) {
    }
    return status::ok();
  }
  if (ev != "inc") return status::unknown_event(ev);
  s.assign("n", *s["n"].get_if<std::int64_t>() + 1);
  return status::ok();
}
void count_view::handle_info(const caf::message& m, live::socket& s) {
  if (auto* h = message_as<std::string>(m); h && *h == "hold") return view_gate.hold();  // busy on a worker
  if (auto* n = message_as<int>(m)) s.assign("blob", std::to_string(*n) + std::string(32 * 1024, 'x'));
}

std::string between(const std::string& s, const std::string& a, const std::string& b) {
  auto i = s.find(a);
  if (i == std::string::npos) return {};
  i += a.size();
  return s.substr(i, s.find(b, i) - i);
}

page_tokens fetch_page(std::uint16_t port) {
  auto r = http_get(port, "/");
  REQUIRE(r.status == 200);
  return {between(r.body, "data-phx-session=\"", "\""), between(r.body, "name=\"csrf-token\" content=\"", "\""),
          between(r.body, "<div id=\"", "\"")};
}

std::string status_of(const json::array& f) { return std::string(f.at(4).at("status").as_string()); }
json::value response_of(const json::array& f) { return f.at(4).at("response"); }

void connect_and_join(ws_client& c, const page_tokens& p) {
  REQUIRE_FALSE(c.connect());
  REQUIRE(status_of(c.join(p)) == "ok");
}

std::size_t live_sessions(corvid::runtime& rt) {
  std::size_t n = 0;
  for (auto& p : corvid::processes(rt))
    if (p.label == "live_session") ++n;
  return n;
}

env::env(server_options o, bool keep_secret) {
  o.port = 0;
  if (!keep_secret) o.secret = "limits test secret, at least thirty-two bytes";
  o.channel.coalesce = 0ms;
  corvid::runtime_options ro;
  ro.threads = 2;
  rt.emplace(ro);
  srv.emplace(*rt, std::move(o));
  srv->live("/", make_view<count_view>);
  auto err = srv->start();
  REQUIRE(err.empty());
  port = srv->port();
}
env::~env() {
  srv->stop();
  srv.reset();
  rt->shutdown_all(5s);
}

temp_dir::temp_dir() {
  std::string t = (std::filesystem::temp_directory_path() / "corvid-live-test.XXXXXX").string();
  REQUIRE(::mkdtemp(t.data()) != nullptr);
  path = t;
}
temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

scoped_env::scoped_env(std::string n, const char* value) : name(std::move(n)) {
  if (const char* o = std::getenv(name.c_str())) old = o;
  if (value) ::setenv(name.c_str(), value, 1);
  else ::unsetenv(name.c_str());
}
scoped_env::~scoped_env() {
  if (old) ::setenv(name.c_str(), old->c_str(), 1);
  else ::unsetenv(name.c_str());
}

dash_env::dash_env(dashboard_mount m, bool with_hub) {
  server_options o;
  o.port = 0;
  o.secret = "dashboard test secret, at least thirty-two bytes";
  corvid::runtime_options ro;
  ro.threads = 2;
  rt.emplace(ro);
  if (with_hub) {
    corvid::pubsub::hub_options ho;
    ho.node = "b@host";
    hub.emplace(*rt, ho);
    m.hub = &*hub;
  }
  srv.emplace(*rt, std::move(o));
  srv->live("/", make_view<count_view>);
  mount_error = mount_dashboard(*srv, *rt, std::move(m));
  if (mount_error.empty()) REQUIRE(srv->start().empty());
  port = srv->port();
}

dash_env::~dash_env() {
  srv->stop();
  srv.reset();
  hub.reset();
  rt->shutdown_all(std::chrono::seconds(5));
}

}  // namespace corvid::live::test
