// The channel tests' fixture: views that record what they saw, a host that collects frames and
// flush requests (with a clock the test moves), a joined connection, and a telemetry capture.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <caf/make_message.hpp>

#include "corvid/live/channel.hpp"
#include "corvid/live/metrics.hpp"
#include "corvid/live/log.hpp"
#include "corvid/live/page.hpp"
#include "corvid/runtime/telemetry.hpp"

namespace corvid::live::channel_test {

using namespace corvid::live;
namespace json = boost::json;
using namespace std::chrono_literals;

// What the views saw, for assertions.
struct journal {
  std::vector<std::string> params_urls;
  int terminated = 0;
};

struct counter_view : view {
  explicit counter_view(journal& j) : j_(j) {}
  html_template render() const override {
    static const auto t = html_template::parse(R"(<p id="count">{{ count }}</p><p id="step">{{ step }}</p>)");
    return *t;
  }
  void mount(const params& q, const session&, socket& s) override {
    s.assign("count", q.count("start") ? std::stoll(q.at("start")) : 0);
    s.assign("page_title", "Counter");
  }
  void handle_params(const params& q, const std::string& url, socket& s) override {
    j_.params_urls.push_back(url);
    s.assign("step", q.count("step") ? q.at("step") : "1");
  }
  status handle_event(const std::string& ev, const event_value& v, socket& s) override {
    auto n = *s["count"].get_if<std::int64_t>();
    if (ev == "inc") s.assign("count", n + 1);
    else if (ev == "same") s.assign("count", n);  // an equal value: nothing changes
    else if (ev == "add") s.assign("count", n + std::stoll(v.values.at("by")));
    else if (ev == "boom") throw std::runtime_error("boom");
    else if (ev == "patch") s.push_patch("/counter?step=7");
    else if (ev == "go") s.push_navigate("/other");
    else if (ev == "fail") return status::error("a reason for the log only");
    else return status::unknown_event(ev);
    return status::ok();
  }
  void handle_info(const caf::message& m, socket& s) override {
    if (auto* n = message_as<int>(m)) s.assign("count", *n);
  }
  void terminate(socket&) override { ++j_.terminated; }
  journal& j_;
};

// Phoenix's flash: put_flash in an event, carried by push_navigate to the next mount.
struct flash_view : view {
  html_template render() const override { return *html_template::parse("<p>{{ flash.info }}</p><i>{{ flash.error }}</i>"); }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    if (ev == "save") s.put_flash("info", "Saved!");
    else if (ev == "oops") s.put_flash("error", "Oops");
    else if (ev == "save_and_go") {
      s.put_flash("info", "Saved, moving on");
      s.push_navigate("/flash?next=1");
    } else return status::unknown_event(ev);
    return status::ok();
  }
};

// JS interop: events for hooks (push_event) and replies to a hook's pushEvent (status::reply).
struct hook_view : view {
  html_template render() const override { return *html_template::parse("<p phx-hook=\"Chart\" id=\"c\">{{ n }}</p>"); }
  void mount(const params&, const session&, socket& s) override {
    s.assign("n", 0);
    s.push_event("chart:init", value::map{{"points", 3}});
  }
  status handle_event(const std::string& ev, const event_value& v, socket& s) override {
    if (ev == "ping") return status::reply(value::map{{"pong", v.raw.is_object() && v.raw.as_object().contains("x")}});
    if (ev == "zoom") {
      s.push_event("chart:zoom", value::map{{"level", 2}}, true);
      return status::ok();
    }
    return status::unknown_event(ev);
  }
  void handle_info(const caf::message& m, socket& s) override {
    if (message_as<int>(m)) s.push_event("chart:tick", value::map{});  // no assign changes: the event alone
  }
};

// Phoenix's temporary_assigns: the server forgets the list after each render; the page appends.
struct feed_view : view {
  html_template render() const override {
    return *html_template::parse(R"(<ul id="feed" phx-update="append">{% for m in messages %}<li id="m-{{ m }}">{{ m }}</li>{% endfor %}</ul><p>{{ n }}</p>)");
  }
  void mount(const params&, const session&, socket& s) override {
    s.assign("messages", value::list{"a", "b"});
    s.assign("n", 2);
    s.temporary_assign("messages", value::list{});
  }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    if (ev == "post") {
      auto n = *s["n"].get_if<std::int64_t>() + 1;
      s.assign("n", n);
      s.assign("messages", value::list{std::to_string(n)});
    } else if (ev == "count") {
      s.assign("n", *s["n"].get_if<std::int64_t>() + 1);
    } else {
      return status::unknown_event(ev);
    }
    seen = s["messages"].as_list() ? s["messages"].as_list()->size() : 99;
    return status::ok();
  }
  std::size_t seen = 0;  // the messages the view held when its handler ran
};

struct other_view : view {
  html_template render() const override { return *html_template::parse("<p>other</p>"); }
};

// Shows a form field, a value of its own making, or throws: whatever the test asks for.
struct echo_view : view {
  html_template render() const override { return *html_template::parse("<p>{{ text }}</p>"); }
  void mount(const params&, const session&, socket& s) override { s.assign("text", ""); }
  status handle_event(const std::string& ev, const event_value& v, socket& s) override {
    if (ev == "say") s.assign("text", v.values.count("body") ? v.values.at("body") : "");
    else if (ev == "cut") s.assign("text", std::string("caf\xC3"));  // a view cutting inside "é"
    else if (ev == "boom") throw std::runtime_error("boom\n\x1b[2Kcorvid.live: FAKE view line");
    else return status::unknown_event(ev);
    return status::ok();
  }
};

// The host side: collects frames and flush requests.
struct fake_host : channel_host {
  std::vector<std::string> frames;
  std::vector<std::chrono::milliseconds> flushes;
  std::vector<std::uint16_t> closes;
  void send(std::string f) override { frames.push_back(std::move(f)); }
  void close_connection(std::uint16_t code) override { closes.push_back(code); }
  void schedule_flush(std::chrono::milliseconds d) override { flushes.push_back(d); }
  std::chrono::steady_clock::time_point clock{std::chrono::hours(1)};  // the test moves it
  std::chrono::steady_clock::time_point now() const override { return clock; }
  // The frames sent since the last call, parsed.
  std::vector<json::array> take() {
    std::vector<json::array> out;
    for (auto& f : frames) out.push_back(json::parse(f).as_array());
    frames.clear();
    return out;
  }
};

struct fixture {
  journal j;
  router routes;
  token_signer sessions{"test secret, at least thirty-two bytes long", "corvid.live.session"};
  token_signer csrf{"test secret, at least thirty-two bytes long", "corvid.live.csrf"};
  token_signer flash{"test secret, at least thirty-two bytes long", "corvid.live.flash"};
  channel_config cfg;
  fake_host host;
  channel ch{cfg, host};

  fixture() {
    routes.add("/counter", [this] { return std::make_unique<counter_view>(j); });
    routes.add("/other", make_view<other_view>);
    routes.add("/echo", make_view<echo_view>);
    routes.add("/flash", make_view<flash_view>);
    routes.add("/hook", make_view<hook_view>);
    routes.add("/feed", make_view<feed_view>);
    cfg.routes = &routes;
    cfg.signer = &sessions;
    cfg.csrf = &csrf;
    cfg.flash = &flash;
    cfg.coalesce = 16ms;
  }

  // The CSRF token the page of `session` carries (bound to its id; unbound if the session is not valid).
  std::string csrf_for(const std::string& session) {
    auto c = sessions.verify(session, std::chrono::hours(24 * 365 * 100));
    return c ? csrf_token_for(csrf, *c) : csrf.sign("csrf", "");
  }
  std::string join_frame(const std::string& join_ref, const std::string& session, const std::string& url = "http://h/counter",
                         const std::string& url_key = "url") {
    json::object payload{{url_key, url},
                         {"params", json::object{{"_csrf_token", csrf_for(session)}, {"_mounts", 0}}},
                         {"session", session},
                         {"static", nullptr}};
    return json::serialize(json::array{join_ref, join_ref, "lv:phx-1", "phx_join", payload});
  }
  // Joins lv:phx-1 with a valid session; returns the join reply.
  json::array join(const std::string& url = "http://h/counter") {
    ch.handle_frame(join_frame("4", sessions.sign("/counter", "/counter"), url));
    auto out = host.take();
    REQUIRE(out.size() == 1);
    return out[0];
  }
  // Sends a click event; returns every frame it produced (the reply and any pushes).
  std::vector<json::array> events(const std::string& ref, const std::string& name, json::object value = {}) {
    send_event(ref, "click", name, std::move(value));
    return host.take();
  }
  void send_event(const std::string& ref, const std::string& type, const std::string& name, json::value value) {
    json::object payload{{"type", type}, {"event", name}, {"value", std::move(value)}};
    ch.handle_frame(json::serialize(json::array{"4", ref, "lv:phx-1", "event", payload}));
  }
  // Joins lv:phx-1 to /echo; the frames it sent are dropped.
  void join_echo() {
    ch.handle_frame(join_frame("4", sessions.sign("/echo", "/echo"), "http://h/echo"));
    REQUIRE(host.frames.size() == 1);
    host.frames.clear();
  }
  json::array event(const std::string& ref, const std::string& name, json::object value = {}) {
    auto out = events(ref, name, std::move(value));
    REQUIRE(out.size() >= 1);
    return out[0];
  }
};

inline const json::object& response(const json::array& reply) { return reply[4].as_object().at("response").as_object(); }
inline std::string status_of(const json::array& reply) { return std::string(reply[4].as_object().at("status").as_string()); }

// Boost.JSON refuses text that is not valid UTF-8, as a browser refuses such a websocket frame.
inline bool browser_would_take(const std::string& frame) {
  boost::system::error_code ec;
  (void)json::parse(frame, ec);
  return !ec;
}

// Every "corvid.live" telemetry event while it lives.
struct log_capture {
  std::mutex m;
  std::vector<std::pair<std::string, std::string>> lines;  // event name, message
  std::uint64_t id;
  log_capture() {
    set_log_budget(10);  // a fresh window: lines of earlier tests do not count
    id = corvid::telemetry::attach("corvid.live", [this](const corvid::telemetry::event& e) {
      auto msg = e.metadata.find("message");
      std::lock_guard<std::mutex> g{m};
      lines.emplace_back(std::string(e.name), msg == e.metadata.end() ? std::string{} : msg->second);
    });
  }
  ~log_capture() { corvid::telemetry::detach(id); }
  std::vector<std::pair<std::string, std::string>> take() {
    std::lock_guard<std::mutex> g{m};
    return std::exchange(lines, {});
  }
};

inline bool has_raw_control(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace corvid::live::channel_test
