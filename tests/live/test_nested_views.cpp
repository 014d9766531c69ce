// Nested views ({% live_render %}): the parent renders the child's container with a signed token, the
// client joins the child over the same socket without a URL, and the dead render inlines the child.

#include <doctest/doctest.h>

#include <string>

#include <boost/json.hpp>

#include "channel_env.hpp"
#include "corvid/live/page.hpp"

using namespace corvid::live;
namespace json = boost::json;

namespace {

struct child_view : view {
  html_template render() const override { return *html_template::parse(R"(<p class="count">{{ count }} {{ label }}</p>)"); }
  void mount(const params& q, const session& s, socket& sock) override {
    sock.assign("count", static_cast<std::int64_t>(q.size()));  // no params of its own: 0
    sock.assign("label", s.count("label") ? s.at("label") : "?");
  }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    if (ev != "inc") return status::unknown_event(ev);
    s.assign("count", *s["count"].get_if<std::int64_t>() + 1);
    return status::ok();
  }
};

struct parent_view : view {
  html_template render() const override {
    return *html_template::parse(R"(<h1>{{ title }}</h1>{% live_render clock id="child" label=title %})");
  }
  void mount(const params&, const session&, socket& s) override { s.assign("title", "Parent"); }
};

struct sticky_parent : view {
  html_template render() const override {
    return *html_template::parse(R"(<h1>page</h1>{% live_render clock id="player" sticky=true label="s" %})");
  }
};

struct fixture : test::channel_env {
  token_signer csrf{"test secret, at least thirty-two bytes long", "corvid.live.csrf"};
  fixture() {
    routes.add("/nested", make_view<parent_view>);
    routes.add("/other", make_view<child_view>);
    routes.add("/sticky", make_view<sticky_parent>);
    routes.add_child("clock", make_view<child_view>);
  }
  // The child's container as the parent's join renders it.
  std::string container(const json::array& parent_reply) {
    return std::string(test::response(parent_reply).at("rendered").as_object().at("1").as_string());
  }
  static std::string attr(const std::string& html, const std::string& name) {
    auto at = html.find(name + "=\"");
    REQUIRE(at != std::string::npos);
    at += name.size() + 2;
    return html.substr(at, html.find('"', at) - at);
  }
  // A child join: no url, the container's token, on lv:<id>.
  json::array join_child(const std::string& token, const std::string& topic = "lv:child") {
    json::object payload{{"params", json::object{}}, {"session", token}, {"static", ""}, {"sticky", false}};
    ch.handle_frame(json::serialize(json::array{"6", "6", topic, "phx_join", payload}));
    auto out = host.take();
    REQUIRE(out.size() == 1);
    return out[0];
  }
};

using test::response;
using test::status_of;

}  // namespace

TEST_SUITE("live.nested_views") {
  TEST_CASE("the parent renders an empty container with a token; the child joins over the same socket") {
    fixture f;
    auto parent = f.join("/nested");
    REQUIRE(status_of(parent) == "ok");
    auto html = f.container(parent);
    CHECK(fixture::attr(html, "id") == "child");
    CHECK(fixture::attr(html, "data-phx-parent-id") == "phx-1");
    CHECK(html.find("></div>") != std::string::npos);  // the content comes with the child's join
    auto token = fixture::attr(html, "data-phx-session");
    auto claims = f.sessions.verify(token, std::chrono::seconds(60));
    REQUIRE(claims.ok());
    CHECK(claims->view == "child:clock");
    CHECK(claims->values.at("label") == "Parent");

    auto child = f.join_child(token);
    REQUIRE(status_of(child) == "ok");
    CHECK(json::serialize(response(child).at("rendered").as_object().at("0")) == R"("0")");
    CHECK(json::serialize(response(child).at("rendered").as_object().at("1")) == R"("Parent")");
    CHECK(f.ch.joined() == 2);

    // its events go to its own topic and change only it
    f.ch.handle_frame(R"(["6","7","lv:child","event",{"type":"click","event":"inc","value":{}}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(json::serialize(response(out[0]).at("diff")) == R"({"0":"1"})");
  }

  TEST_CASE("a page's token does not join as a child, nor a child's token as a page") {
    fixture f;
    auto page_token = f.sessions.sign("/other", "/other");
    CHECK(response(f.join_child(page_token)).at("reason") == "unauthorized");
    auto parent = f.join("/nested");
    auto child_token = fixture::attr(f.container(parent), "data-phx-session");
    f.ch.handle_frame(R"(["4","9","lv:phx-1","phx_leave",{}])");
    f.host.take();
    CHECK(response(f.join("http://h/other", child_token)).at("reason") == "unauthorized");
  }

  TEST_CASE("the dead render inlines the child, in a container naming the page's container as its parent") {
    fixture f;
    auto page = render_page(f.routes, f.sessions, f.csrf, "/nested");
    REQUIRE(page.ok());
    auto& html = page->html;
    auto main_id = fixture::attr(html, "<div id");
    auto at = html.find(R"(<div id="child")");
    REQUIRE(at != std::string::npos);
    auto child = html.substr(at);
    CHECK(fixture::attr(child, "data-phx-session").empty());
    CHECK(fixture::attr(child, "data-phx-parent-id") == main_id);
    CHECK(child.find(R"(<p class="count">0 Parent</p></div>)") != std::string::npos);
  }

  TEST_CASE("live_render wants a literal id") {
    CHECK(html_template::parse(R"({% live_render clock %})").error().message.find("literal id") != std::string::npos);
    CHECK(html_template::parse(R"({% live_render clock id=x %})").error().message.find("literal id") != std::string::npos);
  }

  TEST_CASE("a sticky view: data-phx-sticky instead of a parent, a real token already in the dead render, a join without url") {
    fixture f;
    auto page = render_page(f.routes, f.sessions, f.csrf, "/sticky");
    REQUIRE(page.ok());
    auto at = page->html.find(R"(<div id="player")");
    REQUIRE(at != std::string::npos);
    auto el = page->html.substr(at, page->html.find('>', at) - at);
    CHECK(el.find("data-phx-sticky") != std::string::npos);
    CHECK(el.find("data-phx-parent-id") == std::string::npos);
    auto token = fixture::attr(el, "data-phx-session");
    REQUIRE_FALSE(token.empty());
    json::object payload{{"params", json::object{}}, {"session", token}, {"static", ""}, {"sticky", true}};
    f.ch.handle_frame(json::serialize(json::array{"6", "6", "lv:player", "phx_join", payload}));
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "ok");
    CHECK(json::serialize(response(out[0]).at("rendered").as_object().at("1")) == R"("s")");
  }
}
