// Stateful components (component.hpp) through the channel: cids in the render, the "c" section,
// events aimed at a cid, send_update, and the cids_will_destroy / cids_destroyed handshake.

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/make_message.hpp>

#include "corvid/live/channel.hpp"
#include "corvid/live/component.hpp"
#include "corvid/live/page.hpp"
#include "corvid/live/rendered.hpp"
#include "channel_env.hpp"

using namespace corvid::live;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

int card_mounts = 0;

struct card : component {
  html_template render() const override {
    static const auto t = html_template::parse(
        R"(<div id="card-{{ id }}"><b class="count">{{ count }}</b><button phx-click="inc" phx-target="{{ myself }}">{{ label }}</button></div>)");
    return *t;
  }
  void mount(socket& s) override {
    ++card_mounts;
    s.assign("count", 0);
  }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    if (ev == "inc") s.assign("count", *s["count"].get_if<std::int64_t>() + 1);
    else if (ev == "shout") s.push_event("shouted", value::map{{"by", s["id"]}});
    else if (ev == "leave") s.push_navigate("/elsewhere");
    else if (ev == "ping") return status::reply(value::map{{"pong", s["id"]}});
    else return status::unknown_event(ev);
    return status::ok();
  }
};

parse_options with_card() {
  parse_options o;
  o.components["card"] = make_component<card>;
  return o;
}

// A list of cards plus a heading of its own; "rename" changes one card's argument, "drop" removes one.
struct cards_view : view {
  html_template render() const override {
    static const auto t = html_template::parse(
        R"(<h1>{{ title }}</h1><div id="cards">{% for c in cards %}{% live_component card id=c.id label=c.label %}{% endfor %}</div>)",
        with_card());
    return *t;
  }
  void mount(const params&, const session&, socket& s) override {
    s.assign("title", "Cards");
    s.assign("cards", list_of({"1", "2", "3"}));
  }
  static value list_of(std::vector<std::string> ids, std::string renamed = {}) {
    value::list l;
    for (auto& id : ids) l.push_back(value::map{{"id", id}, {"label", id == renamed ? "+10" : "+1"}});
    return l;
  }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    if (ev == "retitle") s.assign("title", "Renamed");
    else if (ev == "rename") s.assign("cards", list_of({"1", "2", "3"}, "2"));
    else if (ev == "drop") s.assign("cards", list_of({"1", "3"}));
    else if (ev == "restore") s.assign("cards", list_of({"1", "2", "3"}));
    else return status::unknown_event(ev);
    return status::ok();
  }
};

struct broken_view : view {
  html_template render() const override {
    static const auto t = html_template::parse(R"(<div>{% live_component card id=missing %}</div>)", with_card());
    return *t;
  }
};

// 100 cards: what sharing the card's statics saves.
struct many_cards_view : cards_view {
  void mount(const params&, const session&, socket& s) override {
    std::vector<std::string> ids;
    for (int i = 1; i <= 100; ++i) ids.push_back(std::to_string(i));
    s.assign("title", "Cards");
    s.assign("cards", list_of(ids));
  }
};

struct fixture : test::channel_env {
  fixture() {
    routes.add("/cards", make_view<cards_view>);
    routes.add("/many", make_view<many_cards_view>);
    routes.add("/broken", make_view<broken_view>);
  }
  json::array join(const std::string& path = "/cards") { return channel_env::join(path); }
};

using test::response;
const json::object& diff_of(const json::array& reply) { return response(reply).at("diff").as_object(); }

}  // namespace

TEST_SUITE("live.components") {
  TEST_CASE("a join renders each component's slot as its cid and the components in \"c\", with r: 1") {
    fixture f;
    card_mounts = 0;
    auto r = f.join();
    auto& rendered = response(r).at("rendered").as_object();
    auto& entries = rendered.at("1").as_object().at("k").as_object();
    CHECK(entries.at("0").as_object().at("0") == 1);
    CHECK(entries.at("1").as_object().at("0") == 2);
    CHECK(entries.at("2").as_object().at("0") == 3);
    auto& c = rendered.at("c").as_object();
    REQUIRE(c.size() == 3);
    CHECK(c.at("1").at("s").as_array().size() == 5);
    auto& two = c.at("2").as_object();
    CHECK(two.at("r") == 1);
    CHECK(two.at("s") == 1);  // the same template: cid 1's statics, sent once (as Phoenix does)
    CHECK(c.at("3").at("s") == 1);
    CHECK(two.at("0") == "2");  // id
    CHECK(two.at("1") == "0");  // count
    CHECK(two.at("2") == "2");  // myself: phx-target="2"
    CHECK(card_mounts == 3);
  }

  TEST_CASE("a list of 100 components sends the component's markup once (\"s\": a cid): the join's size") {
    fixture f;
    auto r = f.join("/many");
    auto reply = json::serialize(r);
    auto rendered = response(r).at("rendered").as_object();
    auto& c = rendered.at("c").as_object();
    REQUIRE(c.size() == 100);
    for (auto& [cid, comp] : c)
      if (cid != "1") CHECK(comp.at("s") == 1);
    for (auto& [cid, comp] : c)  // what the join was when each component carried its statics
      if (comp.at("s").is_int64()) comp.as_object()["s"] = c.at("1").at("s");
    json::array expanded = r;
    expanded[4].as_object()["response"].as_object()["rendered"] = rendered;
    const auto repeated = json::serialize(expanded).size();
    MESSAGE("join of 100 cards: " << reply.size() << " bytes, " << repeated << " with the statics repeated");
    CHECK(reply.size() * 2 < repeated);
  }

  TEST_CASE("an event with a cid reaches that component only; the reply holds only its diff") {
    fixture f;
    f.join();
    auto r = f.click("5", "inc", 2);
    auto& d = diff_of(r);
    CHECK(json::serialize(d) == R"({"c":{"2":{"1":"1"}}})");
    CHECK(json::serialize(diff_of(f.click("6", "inc", 2))) == R"({"c":{"2":{"1":"2"}}})");
    CHECK(json::serialize(diff_of(f.click("7", "inc", 3))) == R"({"c":{"3":{"1":"1"}}})");
  }

  TEST_CASE("the view's own changes leave components alone unless their arguments change") {
    fixture f;
    f.join();
    CHECK(json::serialize(diff_of(f.click("5", "retitle"))) == R"({"0":"Renamed"})");
    f.click("6", "inc", 2);
    // a new label for card 2: update runs, the count it kept stays, only the label travels
    CHECK(json::serialize(diff_of(f.click("7", "rename"))) == R"({"c":{"2":{"3":"+10"}}})");
  }

  TEST_CASE("push_event, navigation and a hook's reply from a component act for the view") {
    fixture f;
    f.join();
    auto r = f.click("5", "shout", 1);
    auto& d = diff_of(r);
    CHECK(json::serialize(d.at("e")) == R"([["shouted",{"by":"1"}]])");
    CHECK(json::serialize(diff_of(f.click("6", "ping", 3)).at("r")) == R"({"pong":"3"})");
    f.ch.handle_frame(R"(["4","7","lv:phx-1","event",{"type":"click","event":"leave","value":{},"cid":1}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 2);
    auto& nav = out[0][3] == "live_redirect" ? out[0] : out[1];
    CHECK(nav[3] == "live_redirect");
    CHECK(nav[4].as_object().at("to") == "/elsewhere");
  }

  TEST_CASE("an event for a cid the server does not have is answered ok and changes nothing") {
    fixture f;
    f.join();
    auto r = f.click("5", "inc", 42);
    CHECK(r[3] == "phx_reply");
    CHECK(response(r).empty());
    CHECK(f.ch.joined() == 1);
  }

  TEST_CASE("an unknown event in a component ends the view as in Phoenix") {
    fixture f;
    f.join();
    auto r = f.click("5", "nope", 1);
    CHECK(r[3] == "phx_error");
    CHECK(f.ch.joined() == 0);
  }

  TEST_CASE("send_update runs update on the component and its diff follows") {
    fixture f;
    f.join();
    f.ch.handle_info(caf::make_message(component_update{"card", value("3"), value::map{{"count", 99}}}));
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0][3] == "diff");
    CHECK(json::serialize(out[0][4]) == R"({"c":{"3":{"1":"99"}}})");
    f.ch.handle_info(caf::make_message(component_update{"card", value("nope"), value::map{{"count", 1}}}));
    CHECK(f.host.take().empty());  // no such component: nothing to send
  }

  TEST_CASE("cids_will_destroy then cids_destroyed drops a component the page removed; its id mounts afresh") {
    fixture f;
    f.join();
    f.click("5", "inc", 2);
    auto d = diff_of(f.click("6", "drop"));
    CHECK(json::serialize(d.at("1").as_object().at("k")) == R"({"1":{"0":3},"kc":2})");
    CHECK(response(f.push("7", "cids_will_destroy", json::object{{"cids", json::array{2}}})).empty());
    auto r = f.push("8", "cids_destroyed", json::object{{"cids", json::array{2}}});
    CHECK(json::serialize(response(r).at("cids")) == "[2]");
    card_mounts = 0;
    auto back = diff_of(f.click("9", "restore"));
    CHECK(card_mounts == 1);
    auto& fresh = back.at("c").as_object().at("4").as_object();  // a new cid, never a reused one
    CHECK(fresh.at("1") == "0");  // its count starts over
    CHECK(fresh.at("s") == -1);  // the statics of cid 1, which the client holds from an earlier diff
  }

  TEST_CASE("a component placed again between will_destroy and destroyed stays, and is not in the reply") {
    fixture f;
    f.join();
    f.click("5", "drop");
    f.push("6", "cids_will_destroy", json::object{{"cids", json::array{2}}});
    f.click("7", "restore");
    auto r = f.push("8", "cids_destroyed", json::object{{"cids", json::array{2, 77}}});
    CHECK(json::serialize(response(r).at("cids")) == "[]");
    CHECK(json::serialize(diff_of(f.click("9", "inc", 2))) == R"({"c":{"2":{"1":"1"}}})");
  }

  TEST_CASE("a component without an id at render time refuses the mount with a clear log") {
    fixture f;
    auto r = f.join("/broken");
    CHECK(r[4].as_object().at("status") == "error");
    CHECK(response(r).at("reason") == "mount failed");
  }

  TEST_CASE("the dead render includes each component's HTML") {
    fixture f;
    token_signer csrf{"test secret, at least thirty-two bytes long", "corvid.live.csrf"};
    auto page = render_page(f.routes, f.sessions, csrf, "/cards", page_options{});
    REQUIRE(page);
    CHECK(page->html.find(R"(<div id="card-2"><b class="count">0</b><button phx-click="inc" phx-target="2">+1</button></div>)") !=
          std::string::npos);
  }
}

TEST_SUITE("live.components.template") {
  TEST_CASE("live_component arguments: paths, strings, integers, booleans; an id is required") {
    auto t = html_template::parse(R"({% live_component card id=x.id label="a b" n=-3 on=true %})", with_card());
    REQUIRE(t);
    auto& d = t->root().dynamics.at(0);
    CHECK(d.kind == dynamic_kind::component);
    CHECK(d.fn_name == "card");
    REQUIRE(d.args.size() == 4);
    CHECK(d.args[0].ref->str() == "x.id");
    CHECK(d.args[1].literal == value("a b"));
    CHECK(d.args[2].literal == value(-3));
    CHECK(d.args[3].literal == value(true));
    CHECK(d.deps == std::vector<std::string>{"x"});

    CHECK(html_template::parse(R"({% live_component card label="x" %})", with_card()).error().message.find("needs an id") !=
          std::string::npos);
    CHECK(html_template::parse(R"({% live_component nope id=1 %})", with_card()).error().message.find("unknown component") !=
          std::string::npos);
    CHECK(html_template::parse(R"({% live_component card id=1 id=2 %})", with_card()).error().message.find("twice") !=
          std::string::npos);
    CHECK(html_template::parse(R"({% live_component card id="1 %})", with_card()).error().message.find("unclosed") !=
          std::string::npos);
  }

  TEST_CASE("without a component host a component renders as nothing") {
    auto t = html_template::parse(R"(<p>{% live_component card id=1 %}</p>)", with_card());
    REQUIRE(t);
    assigns a;
    CHECK(render_html(*t, a) == "<p></p>");
  }
}
