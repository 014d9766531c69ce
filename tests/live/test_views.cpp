// Views that work on their own: async assigns (tasks) and the runtime dashboard (a timer), run in a
// real session process writing to a sink.

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>

#include "corvid/live/dashboard.hpp"
#include "corvid/live/diff.hpp"
#include "corvid/runtime.hpp"
#include "session.hpp"

using namespace corvid::live;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// Frames from the session process, waited for by the test thread.
struct frames : detail::frame_sink {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::string> q;
  void send(std::string f) override {
    std::lock_guard<std::mutex> g{m};
    q.push_back(std::move(f));
    cv.notify_all();
  }
  void close(std::uint16_t) override {}
  std::optional<json::array> next(std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> g{m};
    if (!cv.wait_for(g, limit, [&] { return !q.empty(); })) return std::nullopt;
    auto f = std::move(q.front());
    q.pop_front();
    return json::parse(f).as_array();
  }
};

// One session process of a small server: routes plus a join helper.
struct env {
  corvid::runtime rt{[] {
    corvid::runtime_options o;
    o.threads = 2;
    return o;
  }()};
  router routes;
  token_signer sessions{"test secret, at least thirty-two bytes long"};
  channel_config cfg;
  std::shared_ptr<frames> sink = std::make_shared<frames>();
  corvid::pid session;

  env() {
    cfg.routes = &routes;
    cfg.signer = &sessions;
    cfg.coalesce = 0ms;  // server-side changes go out at once
  }
  ~env() { rt.shutdown_all(5s); }
  void start() {
    auto p = corvid::spawn(rt, detail::session_init(cfg, sink));
    REQUIRE(p);
    session = *p;
  }
  void frame(const json::array& f) { REQUIRE_FALSE(corvid::send(session, detail::inbound_frame{json::serialize(f)})); }
  // Joins `path`; returns the rendered tree of the reply.
  json::object join(const std::string& path) {
    json::object payload{{"url", "http://h" + path}, {"params", json::object{}}, {"session", sessions.sign(path, path)}};
    frame(json::array{"4", "4", "lv:x", "phx_join", payload});
    auto r = sink->next();
    REQUIRE(r);
    REQUIRE((*r)[4].as_object().at("status") == "ok");
    return (*r)[4].as_object().at("response").as_object().at("rendered").as_object();
  }
  // The next server-pushed diff.
  json::object next_diff() {
    auto d = sink->next();
    REQUIRE(d);
    REQUIRE((*d)[3] == "diff");
    return (*d)[4].as_object();
  }
};

// {% if %} over an async_result: loading, the value, or the failure.
const char* async_tpl =
    "{% if data.loading %}<p>loading</p>{% endif %}{% if data.ok %}<p>{{ data.result }}</p>{% endif %}"
    "{% if data.failed %}<p>failed: {{ data.error }}</p>{% endif %}";

struct async_view : view {
  std::shared_future<int> gate;  // the task waits on it, so the test decides when it finishes
  bool fail = false;
  html_template render() const override { return *html_template::parse(async_tpl); }
  void mount(const params&, const session&, socket& s) override {
    s.assign_async("data", [gate = gate, fail = fail]() -> value {
      int n = gate.get();
      if (fail) throw std::runtime_error("no data today");
      return n;
    });
  }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    if (ev != "again") return status::unknown_event(ev);
    s.assign_async("data", [] { return value{"again"}; });
    return status::ok();
  }
};

// Phoenix's start_async/handle_async: the view decides what an outcome means.
struct start_async_view : view {
  std::shared_future<int> gate;
  html_template render() const override { return *html_template::parse("<p>{{ status }}</p>"); }
  void mount(const params&, const session&, socket& s) override {
    s.assign("status", "working");
    s.start_async("slow", [gate = gate]() -> value { return gate.get(); });      // superseded below
    s.start_async("slow", [gate = gate]() -> value { return gate.get() * 2; });  // this one counts
    s.start_async("cancelled", [gate = gate]() -> value { return gate.get(); });
    s.cancel_async("cancelled");
  }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    if (ev != "boom") return status::unknown_event(ev);
    s.start_async("boom", []() -> value { throw std::runtime_error("no luck"); });
    return status::ok();
  }
  void handle_async(const std::string& name, const async_outcome& o, socket& s) override {
    ++calls;
    if (o.ok) s.assign("status", name + " = " + std::to_string(*o.result.get_if<std::int64_t>()));
    else s.assign("status", name + " failed: " + o.error);
  }
  int calls = 0;
};

// Routes /a to an async_view whose task waits for `release`, then starts the session.
void add_async_route(env& e, std::promise<int>& release, bool fail) {
  e.routes.add("/a", [gate = release.get_future().share(), fail] {
    auto v = std::make_unique<async_view>();
    v->gate = gate;
    v->fail = fail;
    return v;
  });
  e.start();
}

}  // namespace

TEST_SUITE("live.async") {
  TEST_CASE("async_result values are what templates branch on") {
    assigns a;
    a.assign("data", async_result::loading());
    CHECK(render_html(*html_template::parse(async_tpl), a) == "<p>loading</p>");
    a.assign("data", async_result::ok(7));
    CHECK(render_html(*html_template::parse(async_tpl), a) == "<p>7</p>");
    a.assign("data", async_result::failed("x<y"));
    CHECK(render_html(*html_template::parse(async_tpl), a) == "<p>failed: x&lt;y</p>");
  }

  TEST_CASE("mount returns at once with loading rendered; the result arrives later as a diff") {
    env e;
    std::promise<int> release;
    add_async_route(e, release, false);
    auto rendered = e.join("/a");  // the task is still blocked: the join could not have waited for it
    CHECK(json::serialize(rendered.at("0")) == R"({"s":["<p>loading</p>"]})");  // loading...
    CHECK(rendered.at("1") == "");  // ...ok and failed render nothing
    CHECK(rendered.at("2") == "");
    release.set_value(42);
    auto d = e.next_diff();
    CHECK(json::serialize(d) == R"({"0":"","1":{"s":["<p>","</p>"],"0":"42"}})");

    // started again from an event: loading in the reply, the value in a later diff
    e.frame(json::array{"4", "5", "lv:x", "event", json::object{{"type", "click"}, {"event", "again"}, {"value", json::object{}}}});
    auto reply = e.sink->next();
    REQUIRE(reply);
    CHECK(json::serialize((*reply)[4].as_object().at("response")) ==
          R"({"diff":{"0":{"s":["<p>loading</p>"]},"1":""}})");
    CHECK(json::serialize(e.next_diff()) == R"({"0":"","1":{"s":["<p>","</p>"],"0":"again"}})");
  }

  TEST_CASE("start_async: handle_async gets the latest task's outcome (value or failure); superseded and cancelled ones are dropped") {
    env e;
    std::promise<int> release;
    e.routes.add("/s", [gate = release.get_future().share()] {
      auto v = std::make_unique<start_async_view>();
      v->gate = gate;
      return v;
    });
    e.start();
    CHECK(e.join("/s").at("0") == "working");
    release.set_value(21);
    CHECK(e.next_diff().at("0") == "slow = 42");
    e.frame(json::array{"4", "5", "lv:x", "event", json::object{{"type", "click"}, {"event", "boom"}, {"value", json::object{}}}});
    auto reply = e.sink->next();
    REQUIRE(reply);
    CHECK((*reply)[4].as_object().at("status") == "ok");
    CHECK(e.next_diff().at("0") == "boom failed: no luck");
    // nothing else lands: the superseded and the cancelled task's outcomes were dropped
    e.frame(json::array{nullptr, "9", "phoenix", "heartbeat", json::object{}});
    auto hb = e.sink->next();
    REQUIRE(hb);
    CHECK((*hb)[1] == "9");
  }

  TEST_CASE("a task that throws renders the failed state; the session lives on") {
    env e;
    std::promise<int> release;
    add_async_route(e, release, true);
    e.join("/a");
    release.set_value(1);
    auto d = e.next_diff();
    CHECK(d.at("0") == "");
    auto failed = json::serialize(d.at("2"));
    CHECK(failed.find("failed: ") != std::string::npos);
    CHECK(failed.find("no data today") != std::string::npos);
    CHECK(e.session.alive());
    e.frame(json::array{nullptr, "9", "phoenix", "heartbeat", json::object{}});
    auto hb = e.sink->next();
    REQUIRE(hb);
    CHECK((*hb)[4].as_object().at("status") == "ok");
  }

  TEST_CASE("while not connected (the dead render) only the loading state is assigned") {
    socket s{false, {}};
    bool ran = false;
    s.assign_async("data", [&ran] {
      ran = true;
      return value{1};
    });
    CHECK(s["data"] == async_result::loading());
    CHECK_FALSE(ran);
  }
}

TEST_SUITE("live.dashboard") {
  TEST_CASE("a snapshot lists processes, longest mailbox first, with totals; a diff carries only changed rows") {
    corvid::runtime_options ro;
    ro.threads = 1;
    ro.scheduler = "testing";  // nothing runs unless driven: mailboxes stay as filled
    corvid::runtime rt{ro};
    corvid::spawn_options named;
    named.name = "busy";
    auto busy = corvid::spawn(rt, [](corvid::process&) -> corvid::behavior { return {[](int) {}}; }, named);
    auto idle = corvid::spawn(rt, [](corvid::process&) -> corvid::behavior { return {[](int) {}}; });
    REQUIRE(busy);
    REQUIRE(idle);
    for (int i = 0; i < 3; ++i) REQUIRE_FALSE(corvid::send(*busy, i));

    dashboard_options opts;
    assigns a;
    dashboard_snapshot(rt, opts, a);
    auto* rows = a["rows"].as_list();
    REQUIRE(rows);
    REQUIRE(rows->size() == rt.process_count());
    CHECK(*(*rows)[0].member("name") == "busy");
    CHECK(*(*rows)[0].member("mailbox") == 3);
    CHECK(*a["total"].member("mailbox") == 3);
    CHECK(*a["total"].member("processes") == static_cast<std::int64_t>(rt.process_count()));

    // only the busy row's mailbox cell changes
    opts.rows = 2;
    dashboard_snapshot(rt, opts, a);
    CHECK(a["rows"].as_list()->size() == 2);
    CHECK(*a["total"].member("shown") == 2);
    auto t = *html_template::parse("{% for r in rows %}<tr id=\"p{{ r.id }}\"><td>{{ r.mailbox }}</td></tr>{% endfor %}");
    render_state st;
    a.clear_changes();
    render(t, a, st);
    REQUIRE_FALSE(corvid::send(*busy, 4));
    dashboard_snapshot(rt, opts, a);
    CHECK(json::serialize(diff(t, a, st)) == R"({"0":{"k":{"0":{"1":"4"},"kc":2}}})");
    a.clear_changes();
    dashboard_snapshot(rt, opts, a);  // nothing changed: nothing to send
    CHECK(a.changed().empty());
    rt.shutdown_all(5s);
  }

  TEST_CASE("the dashboard view re-reads the processes on its timer and pushes what changed") {
    env e;
    dashboard_options opts;
    opts.interval = 10ms;
    e.routes.add("/dashboard", dashboard_view(e.rt, opts));
    e.start();
    auto rendered = e.join("/dashboard");
    CHECK(rendered.at("t") == "Processes");
    auto before = e.rt.process_count();
    auto extra = corvid::spawn(e.rt, [](corvid::process&) -> corvid::behavior { return {[](int) {}}; });
    REQUIRE(extra);
    // ticks go on; one of them sees the new process in the total
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
      auto d = e.next_diff();
      auto s = json::serialize(d);
      seen = s.find("\"" + std::to_string(before + 1) + "\"") != std::string::npos ||
             s.find("proc-" + std::to_string(extra->id())) != std::string::npos;
    }
    CHECK(seen);
  }
}
