// The session process: a channel driven by corvid messages, writing to a sink instead of a socket.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "../runtime/fixture.hpp"
#include "corvid/runtime.hpp"
#include "session.hpp"

using namespace corvid::live;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

struct count_view : view {
  html_template render() const override { return *html_template::parse("<b>{{ n }}</b>"); }
  void mount(const params&, const session&, socket& s) override { s.assign("n", 0); }
  void handle_info(const caf::message& m, socket& s) override {
    if (auto* n = message_as<int>(m)) s.assign("n", *n);
  }
};

// Records where the string it is handed lives, to tell the sender's message from a copy.
std::atomic<const void*> payload_seen{nullptr};
struct payload_view : view {
  html_template render() const override { return *html_template::parse("<b>{{ n }}</b>"); }
  void mount(const params&, const session&, socket& s) override { s.assign("n", 0); }
  void handle_info(const caf::message& m, socket& s) override {
    if (!m.match_elements<std::string>()) return;
    payload_seen = &m.get_as<std::string>(0);
    s.assign("n", 1);
  }
};

// Frames and closes from the process, waited for by the test thread.
struct test_sink : detail::frame_sink {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::string> frames;
  std::optional<std::uint16_t> closed;
  void send(std::string f) override {
    std::lock_guard<std::mutex> g{m};
    frames.push_back(std::move(f));
    cv.notify_all();
  }
  void close(std::uint16_t code) override {
    std::lock_guard<std::mutex> g{m};
    closed = code;
    cv.notify_all();
  }
  std::optional<json::array> next(std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> g{m};
    if (!cv.wait_for(g, limit, [&] { return !frames.empty(); })) return std::nullopt;
    auto f = std::move(frames.front());
    frames.pop_front();
    return json::parse(f).as_array();
  }
  std::optional<std::uint16_t> wait_closed(std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> g{m};
    cv.wait_for(g, limit, [&] { return closed.has_value(); });
    return closed;
  }
};

// A runtime plus what a channel needs, and a session process spawned with a small mailbox.
struct env {
  explicit env(corvid::runtime_options ro) : rt(ro) {
    routes.add("/", make_view<count_view>);
    cfg.routes = &routes;
    cfg.signer = &sessions;
  }
  caf::expected<corvid::pid> spawn_session(std::size_t capacity) {
    corvid::spawn_options so;
    so.mailbox = corvid::mailbox_options{};
    so.mailbox->capacity = capacity;
    return corvid::spawn(rt, detail::session_init(cfg, sink), so);
  }
  corvid::runtime rt;
  router routes;
  token_signer sessions{"test secret, at least thirty-two bytes long"};
  channel_config cfg;
  std::shared_ptr<test_sink> sink = std::make_shared<test_sink>();
};

}  // namespace

TEST_SUITE("live.session") {
  TEST_CASE("a session process answers frames, coalesces handle_info diffs, and closes its connection on exit") {
    corvid::runtime_options ro;
    ro.threads = 2;
    env e{ro};
    e.cfg.coalesce = 30ms;
    auto& sink = e.sink;
    auto& sessions = e.sessions;
    {
      auto p = e.spawn_session(64);
      REQUIRE(p);

      CHECK_FALSE(corvid::send(*p, detail::inbound_frame{R"([null,"1","phoenix","heartbeat",{}])"}));
      auto hb = sink->next();
      REQUIRE(hb);
      CHECK((*hb)[3] == "phx_reply");

      json::object join{{"url", "http://h/"}, {"params", json::object{}}, {"session", sessions.sign("/", "/")}};
      CHECK_FALSE(corvid::send(*p, detail::inbound_frame{json::serialize(json::array{"4", "4", "lv:x", "phx_join", join})}));
      auto joined = sink->next();
      REQUIRE(joined);
      CHECK((*joined)[4].as_object().at("status") == "ok");

      // any other message reaches the views' handle_info: the first change goes at once, the rest of
      // the burst coalesces (a stall of 30 ms in between may split it, never lose the last value)
      for (int i = 1; i <= 20; ++i) CHECK_FALSE(corvid::send(*p, i));
      std::vector<std::int64_t> seen;
      while (seen.empty() || seen.back() != 20) {
        auto diff = sink->next();
        REQUIRE(diff);
        CHECK((*diff)[3] == "diff");
        seen.push_back(std::stoll(std::string((*diff)[4].as_object().at("0").as_string())));
        if (seen.size() > 1) CHECK(seen.back() > seen[seen.size() - 2]);
      }
      CHECK(seen.front() == 1);
      CHECK(seen.size() < 20);
      CHECK_FALSE(sink->next(100ms));  // and nothing after the last

      CHECK_FALSE(corvid::send(*p, detail::connection_closed{}));
      auto code = sink->wait_closed();
      REQUIRE(code);
      CHECK(*code != 1000);  // 1000 would make the client reload the page
    }
    e.rt.shutdown_all(5s);
    CHECK(e.rt.process_count() == 0);
  }

  TEST_CASE("handle_info gets the message that was sent, not a copy of it") {
    // A broadcast hands one message to every session: a copy each was a broadcast's largest cost
    // in a session after the socket write.
    corvid::runtime_options ro;
    ro.threads = 1;
    env e{ro};
    e.routes.add("/payload", make_view<payload_view>);
    auto p = e.spawn_session(64);
    REQUIRE(p);
    json::object join{{"url", "http://h/payload"}, {"params", json::object{}}, {"session", e.sessions.sign("/payload", "/payload")}};
    CHECK_FALSE(corvid::send(*p, detail::inbound_frame{json::serialize(json::array{"4", "4", "lv:x", "phx_join", join})}));
    auto joined = e.sink->next();
    REQUIRE(joined);
    REQUIRE((*joined)[4].as_object().at("status") == "ok");
    auto msg = caf::make_message(std::string(64, 'x'));  // kept here too, as a fan-out's sender does
    payload_seen = nullptr;
    CHECK_FALSE(corvid::detail::deliver(*p, msg, corvid::pid{}, caf::timespan{0}));
    auto diff = e.sink->next();
    REQUIRE(diff);
    CHECK((*diff)[3] == "diff");
    CHECK(payload_seen.load() == &msg.get_as<std::string>(0));
    e.rt.shutdown_all(5s);
  }

  TEST_CASE("a full session mailbox refuses frames instead of buffering them") {
    corvid::runtime_options ro;
    ro.threads = 1;
    ro.scheduler = "testing";  // nothing runs until the test drives it: the mailbox fills up
    env e{ro};
    auto p = e.spawn_session(4);
    REQUIRE(p);
    int refused = 0;
    for (int i = 0; i < 10; ++i)
      if (corvid::send(*p, detail::inbound_frame{R"([null,"1","phoenix","heartbeat",{}])"}) == corvid::errc::overloaded)
        ++refused;
    CHECK(refused >= 6);
    e.rt.shutdown_all(5s);
  }

  TEST_CASE("a session started after its connection gave up waiting (start_child timed out) ends at once") {
    struct gone_sink : test_sink {
      bool attach(corvid::pid) override { return false; }  // the connection is already closed
    };
    corvid::test::fixture fx;
    router routes;
    channel_config cfg;
    cfg.routes = &routes;
    cfg.first_join_timeout = 1h;  // without the check it would live this long (or until its idle timeout)
    auto p = corvid::spawn(fx.rt, detail::session_init(cfg, std::make_shared<gone_sink>()));
    REQUIRE(p);
    std::string why;
    REQUIRE(fx.wait_exit(*p, &why));
    CHECK((why == "normal" || why == "noproc"));
  }
}
