// live_session: a session token mounts only the views of the group it was issued in, and the group's
// on_mount hooks run before every mount (dead render and join) and may halt it.

#include <doctest/doctest.h>

#include <string>

#include <boost/json.hpp>

#include "channel_env.hpp"
#include "corvid/live/page.hpp"

using namespace corvid::live;
namespace json = boost::json;

namespace {

int mounts = 0;

struct plain_view : view {
  html_template render() const override { return *html_template::parse("<p>{{ who }}</p>"); }
  void mount(const params&, const session& s, socket& sock) override {
    ++mounts;
    if (sock["who"].is_null()) sock.assign("who", s.at("live_session"));
  }
};

// The admin group's hook: ?as=admin goes on (and says who), ?as=guest is sent to /login, anything else
// halts without saying where.
bool require_admin(const params& q, const session&, socket& sock) {
  auto as = q.find("as");
  if (as != q.end() && as->second == "admin") {
    sock.assign("who", "the admin");
    return true;
  }
  if (as != q.end() && as->second == "guest") sock.redirect("/login");
  if (as != q.end() && as->second == "navigator") sock.push_navigate("/");
  return false;
}

struct fixture : test::channel_env {
  token_signer csrf{"test secret, at least thirty-two bytes long", "corvid.live.csrf"};
  fixture() {
    mounts = 0;
    routes.add("/", make_view<plain_view>);
    routes.add("/counter", make_view<plain_view>);
    routes.add("/admin", make_view<plain_view>, "admin");
    routes.add("/admin/users", make_view<plain_view>, "admin");
    routes.set_session("admin", live_session_options{{require_admin}});
  }
  // The token the dead render of `target` carries (as the browser would send it).
  std::string token_of(const std::string& target) {
    auto page = render_page(routes, sessions, csrf, target);
    REQUIRE(page.ok());
    auto& html = page->html;
    auto at = html.find("data-phx-session=\"") + 18;
    return html.substr(at, html.find('"', at) - at);
  }
};

using test::response;
using test::status_of;

}  // namespace

TEST_SUITE("live.live_session") {
  TEST_CASE("a token mounts the views of its own live_session, live navigation included") {
    fixture f;
    auto r = f.join("http://h/counter", f.token_of("/counter"), true);  // a live redirect from / to /counter
    CHECK(status_of(r) == "ok");
    auto admin = f.token_of("/admin?as=admin");
    f.ch.handle_frame(R"(["4","9","lv:phx-1","phx_leave",{}])");
    f.host.take();
    CHECK(status_of(f.join("http://h/admin/users?as=admin", admin, true)) == "ok");
  }

  TEST_CASE("a token of another live_session is unauthorized: the client loads the page over HTTP") {
    fixture f;
    auto r = f.join("http://h/admin?as=admin", f.token_of("/counter"), true);
    CHECK(status_of(r) == "error");
    CHECK(response(r).at("reason") == "unauthorized");
    auto back = f.join("http://h/counter", f.token_of("/admin?as=admin"));
    CHECK(response(back).at("reason") == "unauthorized");
    CHECK(f.ch.joined() == 0);
  }

  TEST_CASE("on_mount runs before mount on join; what it assigns, mount sees") {
    fixture f;
    auto r = f.join("http://h/admin?as=admin", f.token_of("/admin?as=admin"));
    REQUIRE(status_of(r) == "ok");
    CHECK(response(r).at("rendered").as_object().at("0") == "the admin");
  }

  TEST_CASE("on_mount halting the join: its redirect, its live navigation, or unauthorized; the view never mounts") {
    fixture f;
    auto token = f.token_of("/admin?as=admin");
    mounts = 0;
    auto r = f.join("http://h/admin?as=guest", token);
    CHECK(status_of(r) == "error");
    CHECK(response(r).at("redirect").as_object().at("to") == "/login");
    auto nav = f.join("http://h/admin?as=navigator", token);
    CHECK(response(nav).at("live_redirect").as_object().at("to") == "/");
    auto none = f.join("http://h/admin?as=nobody", token);
    CHECK(response(none).at("reason") == "unauthorized");
    CHECK(mounts == 0);
    CHECK(f.ch.joined() == 0);
  }

  TEST_CASE("on_mount halting the dead render: a redirect to follow, or forbidden; nothing of the view is rendered") {
    fixture f;
    mounts = 0;
    auto r = render_page(f.routes, f.sessions, f.csrf, "/admin?as=guest");
    REQUIRE(r.ok());
    CHECK(r->redirect_to == "/login");
    CHECK(r->html.empty());
    auto none = render_page(f.routes, f.sessions, f.csrf, "/admin");
    CHECK(none.error().code == errc::forbidden);
    CHECK(mounts == 0);
  }

  TEST_CASE("the live_session travels in the signed token") {
    fixture f;
    auto c = f.sessions.verify(f.token_of("/admin/users?as=admin"), std::chrono::seconds(60));
    REQUIRE(c.ok());
    CHECK(c->live_session == "admin");
    CHECK(c->view == "/admin/users");
    auto d = f.sessions.verify(f.token_of("/"), std::chrono::seconds(60));
    CHECK(d->live_session.empty());
  }

  TEST_CASE("session values from the request are signed into the token and given to hooks and mount") {
    fixture f;
    auto page = render_page(f.routes, f.sessions, f.csrf, "/counter", page_options{}, nullptr, {},
                            params{{"user", "ann"}, {"id", "forged"}});
    REQUIRE(page.ok());
    auto& html = page->html;
    auto at = html.find("data-phx-session=\"") + 18;
    auto c = f.sessions.verify(html.substr(at, html.find('"', at) - at), std::chrono::seconds(60));
    REQUIRE(c.ok());
    CHECK(c->values.at("user") == "ann");
    auto s = session_of(*c);
    CHECK(s.at("user") == "ann");
    CHECK(s.at("id") == c->id);  // the token's own claims win over a value of the same name
    CHECK(s.at("id") != "forged");
  }
}
