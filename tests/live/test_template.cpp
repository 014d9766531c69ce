#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "corvid/live/template.hpp"

using namespace corvid::live;
using strings = std::vector<std::string>;

namespace {
html_template parse_ok(std::string_view src, const parse_options& o = {}) {
  auto r = html_template::parse(src, o);
  if (!r) FAIL_CHECK(r.error().to_string());
  REQUIRE(r.ok());
  return *r;
}
}  // namespace

TEST_SUITE("live.template") {
  TEST_CASE("text without tags is one static") {
    auto t = parse_ok("<p>hi</p>");
    CHECK(t.root().statics == strings{"<p>hi</p>"});
    CHECK(t.root().dynamics.empty());
  }

  TEST_CASE("expressions split statics and record the assign they read") {
    auto t = parse_ok("<h1>{{title}}</h1><p>{{ count }}</p>");
    CHECK(t.root().statics == strings{"<h1>", "</h1><p>", "</p>"});
    REQUIRE(t.root().dynamics.size() == 2);
    CHECK(t.root().dynamics[0].deps == strings{"title"});
    CHECK(t.root().dynamics[1].deps == strings{"count"});
    CHECK(t.root().dynamics[0].escape);
  }

  TEST_CASE("adjacent and leading/trailing dynamics give empty statics") {
    auto t = parse_ok("{{a}}{{b}}");
    CHECK(t.root().statics == strings{"", "", ""});
  }

  TEST_CASE("dotted access depends on the root name") {
    auto t = parse_ok("{{ user.profile.name }}");
    auto& d = t.root().dynamics.at(0);
    CHECK(d.subject.segments == strings{"user", "profile", "name"});
    CHECK(d.deps == strings{"user"});
  }

  TEST_CASE("safe output is explicit: a filter or triple braces") {
    auto t = parse_ok("{{ a | safe }}{{{b}}}{{c}}");
    CHECK_FALSE(t.root().dynamics[0].escape);
    CHECK_FALSE(t.root().dynamics[1].escape);
    CHECK(t.root().dynamics[2].escape);
  }

  TEST_CASE("comments are dropped") {
    auto t = parse_ok("a{# note {{x}} #}b");
    CHECK(t.root().statics == strings{"ab"});
  }

  TEST_CASE("if/else: nested templates; the slot depends on the condition and both branches") {
    auto t = parse_ok("<div>{% if logged_in %}Hi {{user.name}}{% else %}<a>{{login_url}}</a>{% endif %}</div>");
    CHECK(t.root().statics == strings{"<div>", "</div>"});
    auto& d = t.root().dynamics.at(0);
    CHECK(d.kind == dynamic_kind::if_block);
    CHECK(d.deps == strings{"logged_in", "login_url", "user"});
    CHECK(d.then_node->statics == strings{"Hi ", ""});
    CHECK(d.else_node->statics == strings{"<a>", "</a>"});
  }

  TEST_CASE("if not, and if without else") {
    auto t = parse_ok("{% if not empty %}x{% endif %}");
    auto& d = t.root().dynamics.at(0);
    CHECK(d.negate);
    CHECK(d.else_node == nullptr);
  }

  TEST_CASE("for: a comprehension; the loop variable is local") {
    auto t = parse_ok("<ul>{% for item in items %}<li>{{item.title}} {{ suffix }}</li>{% endfor %}</ul>");
    auto& d = t.root().dynamics.at(0);
    CHECK(d.kind == dynamic_kind::for_block);
    CHECK(d.var == "item");
    CHECK(d.deps == strings{"items", "suffix"});
    CHECK(d.then_node->statics == strings{"<li>", " ", "</li>"});
    CHECK(d.then_node->dynamics[0].deps == strings{"item"});
    CHECK(d.then_node->dynamics[1].deps == strings{"suffix"});
  }

  TEST_CASE("nested for over a member of the loop variable") {
    auto t = parse_ok("{% for p in posts %}{% for tag in p.tags %}{{tag}}{% endfor %}{% endfor %}");
    CHECK(t.root().dynamics.at(0).deps == strings{"posts"});
    CHECK(t.root().dynamics[0].then_node->dynamics.at(0).deps == strings{"p"});
  }

  TEST_CASE("include splices the other template in place") {
    std::map<std::string, std::string> files{{"row", "<td>{{ name }}</td>"}, {"outer", "[{% include 'row' %}]"}};
    parse_options o;
    o.loader = [&](std::string_view n) -> result<std::string> {
      auto it = files.find(std::string(n));
      if (it == files.end()) return error{errc::not_found, "no such template"};
      return it->second;
    };
    auto t = parse_ok("<tr>{% include \"outer\" %}{{x}}</tr>", o);
    CHECK(t.root().statics == strings{"<tr>[<td>", "</td>]", "</tr>"});
    CHECK(t.root().dynamics[0].deps == strings{"name"});
    CHECK(t.root().dynamics[1].deps == strings{"x"});
  }

  TEST_CASE("computed dynamics depend on what they declare") {
    parse_options o;
    o.functions["total"] = computed{{"price", "qty"}, [](const assigns& a) {
                                      return value(*a["price"].get_if<std::int64_t>() * *a["qty"].get_if<std::int64_t>());
                                    }};
    auto t = parse_ok("Total: {{ total() }}", o);
    auto& d = t.root().dynamics.at(0);
    CHECK(d.kind == dynamic_kind::call);
    CHECK(d.deps == strings{"price", "qty"});
  }

  TEST_CASE("load() reads a file and resolves includes next to it") {
    auto dir = std::filesystem::temp_directory_path() /
               ("corvid_live_template_test_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "page.html") << "<main>{% include \"part.html\" %}</main>";
    std::ofstream(dir / "part.html") << "<b>{{who}}</b>";
    auto t = html_template::load(dir / "page.html");
    REQUIRE(t.ok());
    CHECK(t->root().statics == strings{"<main><b>", "</b></main>"});
    auto missing = html_template::load(dir / "nope.html");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("cannot open") != std::string::npos);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("parse errors are values with a position") {
    struct bad {
      const char* src;
      int line, column;
      const char* message_part;
    };
    const bad cases[] = {
        {"<p>{{ name </p>", 1, 4, "unclosed '{{'"},
        {"{{{ raw }}", 1, 1, "unclosed '{{{'"},
        {"x\n  {% if a %}never closed", 2, 3, "unclosed {% if %}"},
        {"{% for x in xs %}", 1, 1, "unclosed {% for %}"},
        {"a{% endif %}", 1, 2, "unexpected {% endif %}"},
        {"{% else %}", 1, 1, "unexpected {% else %}"},
        {"{% if a %}{% endfor %}", 1, 11, "unexpected {% endfor %} inside {% if %}"},
        {"{% for a in b %}{% else %}{% endfor %}", 1, 17, "unexpected {% else %} inside {% for %}"},
        {"{% while x %}", 1, 1, "unknown tag 'while'"},
        {"{% %}", 1, 1, "empty tag"},
        {"{% if %}", 1, 1, "expected '{% if [not] name %}'"},
        {"{% for x of xs %}{% endfor %}", 1, 1, "expected '{% for name in list [key=name.field] %}'"},
        {"{% endif extra %}", 1, 1, "takes no arguments"},
        {"{{ }}", 1, 1, "empty expression"},
        {"{{ 1abc }}", 1, 4, "bad name"},
        {"{{ a..b }}", 1, 6, "bad name"},
        {"{{ a | upper }}", 1, 7, "unknown filter 'upper'"},
        {"{{ nope() }}", 1, 4, "unknown function 'nope'"},
        {"{% include \"x\" %}", 1, 1, "no loader"},
        {"{% include x %}", 1, 1, "expected '{% include \"name\" [key=value ...] %}'"},
        {"{# open", 1, 1, "unclosed comment"},
        {"{% if a", 1, 1, "unclosed '{%'"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.src);
      auto r = html_template::parse(c.src);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().line == c.line);
      CHECK(r.error().column == c.column);
      CHECK_MESSAGE(r.error().message.find(c.message_part) != std::string::npos, r.error().message);
    }
  }

  TEST_CASE("include errors: missing, failing inside, and cycles") {
    std::map<std::string, std::string> files{{"loop", "{% include 'loop' %}"}, {"broken", "ok\n{{ x"}};
    parse_options o;
    o.loader = [&](std::string_view n) -> result<std::string> {
      auto it = files.find(std::string(n));
      if (it == files.end()) return error{errc::not_found, "no such template"};
      return it->second;
    };
    auto missing = html_template::parse("{% include 'gone' %}", o);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("no such template") != std::string::npos);

    auto broken = html_template::parse("{% include 'broken' %}", o);
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().source == "broken");  // reported where it is, not where it was included
    CHECK(broken.error().line == 2);

    auto cycle = html_template::parse("{% include 'loop' %}", o);
    REQUIRE_FALSE(cycle.ok());
    CHECK(cycle.error().message.find("a cycle?") != std::string::npos);
  }

  TEST_CASE("oversize source is refused") {
    parse_options o;
    o.max_source_bytes = 8;
    auto r = html_template::parse("0123456789", o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("larger than") != std::string::npos);
  }
}
