// Function components: {% include "name" key=value %} and {% call "name" ... %}block{% endcall %} with
// {% inner_block %}: a template rendered with its arguments as names, a node of its own, diffed by what
// its arguments and its block read.

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>

#include <boost/json.hpp>

#include "client_model.hpp"
#include "corvid/live/diff.hpp"

using namespace corvid::live;
namespace json = boost::json;

namespace {

const std::map<std::string, std::string, std::less<>> library{
    {"badge", R"(<b class="{{ kind }}">{{ n }}</b>)"},
    {"card", R"(<div class="card"><h3>{{ title }}</h3>{% inner_block %}<i>{{ footer }}</i></div>)"},
    {"stray", R"(<p>{% inner_block %}</p>)"},
    {"nested", R"({% call "card" title=title %}[{{ footer }}]{% endcall %})"},
};

parse_options opts() {
  parse_options o;
  o.loader = [](std::string_view name) -> result<std::string> {
    auto it = library.find(name);
    if (it == library.end()) return error{errc::not_found, "no template " + std::string(name)};
    return it->second;
  };
  return o;
}

html_template tpl(std::string_view src) {
  auto r = html_template::parse(src, opts());
  REQUIRE(r.ok());
  return *r;
}

std::string parse_error_of(std::string_view src) {
  auto r = html_template::parse(src, opts());
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

}  // namespace

TEST_SUITE("live.function_components") {
  TEST_CASE("include with arguments: the template sees its arguments (and the assigns), as a node of its own") {
    auto t = tpl(R"(<p>{% include "badge" n=count kind="warn" %}</p>)");
    assigns a;
    a.assign("count", 3);
    a.assign("footer", "ignored");
    CHECK(render_html(t, a) == R"(<p><b class="warn">3</b></p>)");
    render_state st;
    CHECK(json::serialize(render(t, a, st)) == R"({"s":["<p>","</p>"],"0":{"s":["<b class=\"","\">","</b>"],"0":"warn","1":"3"}})");
    a.clear_changes();
    a.assign("count", 4);
    CHECK(json::serialize(diff(t, a, st)) == R"({"0":{"1":"4"}})");
    a.clear_changes();
    a.assign("footer", "x");
    CHECK(diff(t, a, st).empty());  // nothing the call reads
  }

  TEST_CASE("call with a block: the block reads the caller's names, loop variables included, where inner_block is") {
    auto t = tpl(R"({% for u in users %}{% call "card" title=u.name footer="--" %}<em>{{ u.role }} {{ note }}</em>{% endcall %}{% endfor %})");
    assigns a;
    a.assign("users", value::list{value::map{{"name", "Ann"}, {"role", "admin"}}});
    a.assign("note", "!");
    CHECK(render_html(t, a) == R"(<div class="card"><h3>Ann</h3><em>admin !</em><i>--</i></div>)");
    render_state st;
    render(t, a, st);
    a.clear_changes();
    a.assign("note", "?");  // read only by the block
    auto d = json::serialize(diff(t, a, st));
    CHECK(d == R"({"0":{"k":{"0":{"0":{"1":{"1":"?"}}},"kc":1}}})");
  }

  TEST_CASE("a function component's output matches the dead render after any series of diffs") {
    auto t = tpl(R"(<h1>{{ title }}</h1>{% include "nested" title=title footer=footer %}{% for n in nums %}{% include "badge" n=n kind=kind %}{% endfor %})");
    assigns a;
    a.assign("title", "T");
    a.assign("footer", "F");
    a.assign("kind", "k");
    a.assign("nums", value::list{1, 2});
    render_state st;
    auto client = render(t, a, st);
    a.clear_changes();
    std::mt19937 rng(7);
    for (int step = 0; step < 200; ++step) {
      switch (rng() % 4) {
        case 0: a.assign("title", "T" + std::to_string(rng() % 3)); break;
        case 1: a.assign("footer", "F" + std::to_string(rng() % 3)); break;
        case 2: a.assign("kind", rng() % 2 ? "a" : "b"); break;
        default: {
          value::list l;
          for (unsigned i = 0, n = rng() % 4; i < n; ++i) l.push_back(static_cast<int>(rng() % 5));
          a.assign("nums", std::move(l));
        }
      }
      client = client_model::merge(std::move(client), diff(t, a, st));
      a.clear_changes();
      CAPTURE(step);
      REQUIRE(client_model::to_html(client) == render_html(t, a));
    }
  }

  TEST_CASE("errors say what is wrong") {
    CHECK(parse_error_of(R"({% include "stray" %})").find("outside a template given to {% call %}") != std::string::npos);
    CHECK(parse_error_of(R"({% call "card" title=x %}{{ title }}{% endcall %})").find("a name the call binds") !=
          std::string::npos);
    CHECK(parse_error_of(R"({% call "card" title=x %}open)").find("unclosed {% call %}") != std::string::npos);
    CHECK(parse_error_of(R"({% include "missing" n=1 %})").find("no template missing") != std::string::npos);
    CHECK(parse_error_of(R"({% include "badge" n= %})").find("bad name") != std::string::npos);
    CHECK(parse_error_of(R"({% include badge %})").find("expected") != std::string::npos);
  }
}
