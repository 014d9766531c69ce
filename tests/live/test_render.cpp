#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "corvid/live/rendered.hpp"

using namespace corvid::live;

namespace {
html_template tpl(std::string_view src) {
  auto r = html_template::parse(src);
  REQUIRE(r.ok());
  return *r;
}
std::string tree(const html_template& t, const assigns& a) {
  render_state st;
  return boost::json::serialize(render(t, a, st));
}
}  // namespace

TEST_SUITE("live.render") {
  TEST_CASE("escaping: & < > \" ' in text, nothing for safe values or raw slots") {
    auto t = tpl("<p title=\"{{t}}\">{{t}}|{{{t}}}|{{ s }}|{{ s | safe }}</p>");
    assigns a;
    a.assign("t", "<a href='x'>Tom & \"Jerry\"</a>");
    a.assign("s", safe_html{"<b>ok</b>"});
    CHECK(render_html(t, a) ==
          "<p title=\"&lt;a href=&#39;x&#39;&gt;Tom &amp; &quot;Jerry&quot;&lt;/a&gt;\">"
          "&lt;a href=&#39;x&#39;&gt;Tom &amp; &quot;Jerry&quot;&lt;/a&gt;|<a href='x'>Tom & \"Jerry\"</a>|"
          "<b>ok</b>|<b>ok</b></p>");
  }

  TEST_CASE("scalars print plainly; missing values print nothing") {
    auto t = tpl("{{i}} {{d}} {{b}} {{n}} {{missing}} {{m.k}} {{l.1}} {{m.nope.deeper}}.");
    assigns a;
    a.assign("i", -7);
    a.assign("d", 0.25);
    a.assign("b", false);
    a.assign("n", nullptr);
    a.assign("m", value::map{{"k", "v"}});
    a.assign("l", value::list{"zero", "one"});
    CHECK(render_html(t, a) == "-7 0.25 false   v one .");
  }

  TEST_CASE("full tree: statics then numbered slots, as strings") {
    auto t = tpl("<h1 id=\"count\">Count: {{count}}</h1><p>{{name}}</p>");
    assigns a;
    a.assign("count", 0);
    a.assign("name", "A&B");
    CHECK(tree(t, a) == R"({"s":["<h1 id=\"count\">Count: ","</h1><p>","</p>"],"0":"0","1":"A&amp;B"})");
  }

  TEST_CASE("if renders the chosen branch as a nested node, a false if without else as \"\"") {
    auto t = tpl("{% if on %}<b>{{x}}</b>{% else %}off{% endif %}|{% if on %}y{% endif %}");
    assigns a;
    a.assign("on", true);
    a.assign("x", 1);
    CHECK(tree(t, a) == R"({"s":["","|",""],"0":{"s":["<b>","</b>"],"0":"1"},"1":{"s":["y"]}})");
    a.assign("on", false);
    CHECK(tree(t, a) == R"({"s":["","|",""],"0":{"s":["off"]},"1":""})");
    CHECK(render_html(t, a) == "off|");
  }

  TEST_CASE("for renders a keyed comprehension (1.2 format): shared statics once, entries under k, kc") {
    auto t = tpl("<ul>{% for it in items %}<li>{{it.name}}: {{it.n}}</li>{% endfor %}</ul>");
    assigns a;
    a.assign("items", value::list{value::map{{"name", "a"}, {"n", 1}}, value::map{{"name", "b"}, {"n", 2}}});
    CHECK(tree(t, a) ==
          R"({"s":["<ul>","</ul>"],"0":{"s":["<li>",": ","</li>"],"k":{"0":{"0":"a","1":"1"},"1":{"0":"b","1":"2"},"kc":2}}})");
    CHECK(render_html(t, a) == "<ul><li>a: 1</li><li>b: 2</li></ul>");
    a.assign("items", value::list{});
    CHECK(tree(t, a) == R"({"s":["<ul>","</ul>"],"0":{"s":["<li>",": ","</li>"],"k":{"kc":0}}})");
  }

  TEST_CASE("a non-list in a for renders as an empty list") {
    auto t = tpl("[{% for x in xs %}{{x}}{% endfor %}]");
    assigns a;
    a.assign("xs", "not a list");
    CHECK(render_html(t, a) == "[]");
  }

  TEST_CASE("loop bodies see both the loop variable and outer assigns; inner names shadow") {
    auto t = tpl("{% for x in xs %}{{x}}{{sep}}{% endfor %}");
    assigns a;
    a.assign("xs", value::list{1, 2});
    a.assign("sep", ",");
    a.assign("x", "shadowed");
    CHECK(render_html(t, a) == "1,2,");
  }

  TEST_CASE("computed dynamics render their value") {
    parse_options o;
    o.functions["greeting"] = computed{{"name"}, [](const assigns& a) {
                                         std::string s = "Hello, ";
                                         a["name"].append_text(s);
                                         return value(s);
                                       }};
    auto t = html_template::parse("<p>{{ greeting() }}</p>", o);
    REQUIRE(t.ok());
    assigns a;
    a.assign("name", "<Ann>");
    CHECK(render_html(*t, a) == "<p>Hello, &lt;Ann&gt;</p>");
  }
}
