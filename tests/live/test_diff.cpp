#include <doctest/doctest.h>

#include <random>

#include <boost/json.hpp>

#include "client_model.hpp"
#include "corvid/live/diff.hpp"
#include "diff_session.hpp"
#include "eval.hpp"

using namespace corvid::live;

using namespace corvid::live::diff_test;

namespace {
value row(std::string name, int n) { return value::map{{"name", std::move(name)}, {"n", n}}; }
}  // namespace

TEST_SUITE("live.diff") {
  TEST_CASE("assigning an equal value sends nothing") {
    session s{tpl("<p>{{count}}</p>")};
    s.a.assign("count", 1);
    s.join();
    s.a.assign("count", 1);
    CHECK(s.a.changed().empty());
    CHECK(s.next() == "{}");
  }

  TEST_CASE("a changed assign re-renders only the slots that read it") {
    session s{tpl("<p>{{a}}</p><p>{{b}}</p><p>{{a}}{{b}}</p>")};
    s.a.assign("a", 1);
    s.a.assign("b", 2);
    s.join();
    s.a.assign("b", 3);
    CHECK(s.next() == R"({"1":"3","3":"3"})");
    s.a.assign("a", "<x>");
    CHECK(s.next() == R"({"0":"&lt;x&gt;","2":"&lt;x&gt;"})");
  }

  TEST_CASE("only slots reading a changed name are evaluated") {
    int calls = 0;
    parse_options o;
    o.functions["count_calls"] = computed{{"b"}, [&](const assigns&) { return value(++calls); }};
    session s{tpl("{{a}}{{ count_calls() }}", o)};
    s.a.assign("a", 1);
    s.join();
    REQUIRE(calls == 1);
    s.a.assign("a", 2);
    s.next();
    CHECK(calls == 1);
  }

  TEST_CASE("a re-rendered slot with identical output is omitted") {
    parse_options o;
    o.functions["parity"] = computed{{"n"}, [](const assigns& a) {
                                       return value(*a["n"].get_if<std::int64_t>() % 2 ? "odd" : "even");
                                     }};
    session s{tpl("{{n}} is {{ parity() }}", o)};
    s.a.assign("n", 1);
    s.join();
    s.a.assign("n", 3);
    CHECK(s.next() == R"({"0":"3"})");
    s.a.assign("n", 4);
    CHECK(s.next() == R"({"0":"4","1":"even"})");
  }

  TEST_CASE("comprehension statics appear once in the full render and never in later diffs") {
    session s{tpl("<ul>{% for it in items %}<li>{{it.name}}: {{it.n}}</li>{% endfor %}</ul>")};
    s.a.assign("items", value::list{row("a", 1), row("b", 2)});
    auto joined = s.join();
    CHECK(joined ==
          R"({"s":["<ul>","</ul>"],"0":{"s":["<li>",": ","</li>"],"k":{"0":{"0":"a","1":"1"},"1":{"0":"b","1":"2"},"kc":2}}})");

    SUBCASE("changing one entry's field sends only that entry's slot") {
      s.a.assign("items", value::list{row("a", 1), row("b", 20)});
      CHECK(s.next() == R"({"0":{"k":{"1":{"1":"20"},"kc":2}}})");
    }
    SUBCASE("appending sends the new entry in full, without statics") {
      s.a.assign("items", value::list{row("a", 1), row("b", 2), row("c", 3)});
      CHECK(s.next() == R"({"0":{"k":{"2":{"0":"c","1":"3"},"kc":3}}})");
    }
    SUBCASE("truncating sends only the count") {
      s.a.assign("items", value::list{row("a", 1)});
      CHECK(s.next() == R"({"0":{"k":{"kc":1}}})");
    }
    SUBCASE("emptying the list") {
      s.a.assign("items", value::list{});
      CHECK(s.next() == R"({"0":{"k":{"kc":0}}})");
      s.a.assign("items", value::list{row("z", 9)});
      CHECK(s.next() == R"({"0":{"k":{"0":{"0":"z","1":"9"},"kc":1}}})");
    }
    SUBCASE("an equal list sends nothing") {
      s.a.touch("items");
      CHECK(s.next() == "{}");
    }
  }

  TEST_CASE("an outer assign read inside a loop re-renders just that slot in each entry") {
    session s{tpl("{% for x in xs %}<i>{{x}}{{unit}}</i>{% endfor %}")};
    s.a.assign("xs", value::list{1, 2});
    s.a.assign("unit", "kg");
    s.join();
    s.a.assign("unit", "lb");
    CHECK(s.next() == R"({"0":{"k":{"0":{"1":"lb"},"1":{"1":"lb"},"kc":2}}})");
  }

  TEST_CASE("if: switching branch sends the new nested statics, staying sends a partial update") {
    session s{tpl("<div>{% if user %}Hi {{user.name}}!{% else %}<a>login</a>{% endif %}</div>")};
    s.a.assign("user", nullptr);
    CHECK(s.join() == R"({"s":["<div>","</div>"],"0":{"s":["<a>login</a>"]}})");
    s.a.assign("user", value::map{{"name", "Ann"}});
    CHECK(s.next() == R"({"0":{"s":["Hi ","!"],"0":"Ann"}})");
    s.a.assign("user", value::map{{"name", "Bob"}});
    CHECK(s.next() == R"({"0":{"0":"Bob"}})");
    s.a.assign("user", value::map{{"name", "Bob"}, {"age", 3}});
    CHECK(s.next() == "{}");
    s.a.assign("user", false);
    CHECK(s.next() == R"({"0":{"s":["<a>login</a>"]}})");
  }

  TEST_CASE("if without else toggles between \"\" and a nested node") {
    session s{tpl("{% if on %}<b>{{x}}</b>{% endif %}")};
    s.a.assign("on", false);
    s.a.assign("x", 1);
    CHECK(s.join() == R"({"s":["",""],"0":""})");
    s.a.assign("x", 2);
    CHECK(s.next() == "{}");
    s.a.assign("on", true);
    CHECK(s.next() == R"({"0":{"s":["<b>","</b>"],"0":"2"}})");
    s.a.assign("on", false);
    CHECK(s.next() == R"({"0":""})");
  }

  TEST_CASE("a branch switch inside a loop entry sends statics for that entry only") {
    session s{tpl("{% for t in todos %}<li>{% if t.done %}<s>{{t.title}}</s>{% else %}{{t.title}}{% endif %}</li>{% endfor %}")};
    auto todo = [](const char* title, bool done) { return value::map{{"title", title}, {"done", done}}; };
    s.a.assign("todos", value::list{todo("a", false), todo("b", false)});
    s.join();
    s.a.assign("todos", value::list{todo("a", false), todo("b", true)});
    CHECK(s.next() == R"({"0":{"k":{"1":{"0":{"s":["<s>","</s>"],"0":"b"}},"kc":2}}})");
  }

  TEST_CASE("diff without a prior render (or for another template) is a full render") {
    auto t = tpl("<p>{{a}}</p>");
    assigns a;
    a.assign("a", 1);
    render_state st;
    CHECK(st.empty());
    CHECK(boost::json::serialize(diff(t, a, st)) == R"({"s":["<p>","</p>"],"0":"1"})");
    CHECK_FALSE(st.empty());
    auto other = tpl("<i>{{a}}</i>");
    CHECK(boost::json::serialize(diff(other, a, st)) == R"({"s":["<i>","</i>"],"0":"1"})");
  }

  TEST_CASE("join + diffs reproduce the server's HTML (client model, random edits)") {
    auto t = tpl(
        "<h1>{{title}}</h1>"
        "{% if show %}<ul>{% for it in items %}<li class=\"{% if it.hot %}hot{% endif %}\">{{it.name}} "
        "{% for tag in it.tags %}#{{tag}}{{sep}}{% endfor %}</li>{% endfor %}</ul>{% else %}<p>hidden {{title}}</p>{% endif %}"
        "<footer>{{count}}</footer>");
    std::mt19937 rng(12345);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    auto random_items = [&]() {
      value::list items;
      int n = pick(5);
      for (int i = 0; i < n; ++i) {
        value::list tags;
        for (int j = pick(3); j > 0; --j) tags.push_back("t" + std::to_string(pick(3)));
        items.push_back(value::map{{"name", "n" + std::to_string(pick(4))}, {"hot", pick(2) == 1}, {"tags", tags}});
      }
      return items;
    };
    session s{t};
    s.a.assign("title", "T<0>");
    s.a.assign("show", true);
    s.a.assign("items", random_items());
    s.a.assign("sep", ",");
    s.a.assign("count", 0);
    auto client = boost::json::parse(s.join()).as_object();
    for (int step = 0; step < 300; ++step) {
      switch (pick(5)) {
        case 0: s.a.assign("title", "T<" + std::to_string(pick(3)) + ">"); break;
        case 1: s.a.assign("show", pick(4) != 0); break;
        case 2: s.a.assign("items", random_items()); break;
        case 3: s.a.assign("sep", pick(2) ? "," : ";"); break;
        default: s.a.assign("count", pick(3)); break;
      }
      auto d = boost::json::parse(s.next()).as_object();
      client = client_model::merge(std::move(client), d);
      CAPTURE(step);
      REQUIRE(client_model::to_html(client) == render_html(s.t, s.a));
    }
  }
}

TEST_SUITE("live.diff.compact") {
  TEST_CASE("entries of one text slot keep only its hash, and join + random diffs still reproduce the dead render") {
    auto t = tpl("<ul>{% for r in rows key=r.id %}<li>{{ r.name }}</li>{% endfor %}</ul>"
                 "<ol>{% for x in xs %}<b>{{ x }}</b>{% endfor %}</ol>"
                 "<p>{% for x in xs %}<i>{{ sep }}</i>{% endfor %}</p>"
                 "<div>{% for x in xs %}<u>{{ x }}{{ sep }}</u>{% endfor %}</div>");
    std::mt19937 rng(777);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    auto random_rows = [&] {
      value::list l;
      for (int i = pick(6); i > 0; --i) l.push_back(value::map{{"id", pick(5)}, {"name", "n" + std::to_string(pick(3))}});
      return l;
    };
    auto random_xs = [&] {
      value::list l;
      for (int i = pick(6); i > 0; --i) l.push_back("x" + std::to_string(pick(3)));
      return l;
    };
    session s{t};
    s.a.assign("rows", random_rows());
    s.a.assign("xs", value::list{"a", "b", "c"});
    s.a.assign("sep", ",");
    auto client = boost::json::parse(s.join()).as_object();
    // the one-slot entries hold no slot vector; the two-slot ones keep theirs
    auto& root = detail::render_access::state(s.st);
    REQUIRE(root.slots.size() == 4);
    REQUIRE(root.slots[1].nested.size() == 3);
    for (auto& e : root.slots[1].nested) CHECK(e.slots.empty());
    for (auto& e : root.slots[2].nested) CHECK(e.slots.empty());
    for (auto& e : root.slots[3].nested) CHECK(e.slots.size() == 2);
    s.a.assign("sep", ";");  // read inside entries, with no list change: every entry of the <p> and <div> lists
    CHECK(s.next() == R"({"2":{"k":{"0":{"0":";"},"1":{"0":";"},"2":{"0":";"},"kc":3}},"3":{"k":{"0":{"1":";"},"1":{"1":";"},"2":{"1":";"},"kc":3}}})");
    client = boost::json::parse(s.join()).as_object();
    for (int step = 0; step < 400; ++step) {
      switch (pick(3)) {
        case 0: s.a.assign("rows", random_rows()); break;
        case 1: s.a.assign("xs", random_xs()); break;
        default: s.a.assign("sep", pick(2) ? "," : ";"); break;
      }
      auto d = boost::json::parse(s.next()).as_object();
      client = client_model::merge(std::move(client), d);
      CAPTURE(step);
      REQUIRE(client_model::to_html(client) == render_html(s.t, s.a));
    }
  }
}

TEST_SUITE("live.diff.shared_list") {
  TEST_CASE("a shared list renders like a list, is copied by pointer, and compares by content") {
    auto rows = value::shared(value::list{"a", "b"});
    value copy = rows;
    CHECK(copy.as_list() == rows.as_list());  // the same elements, not a copy of them
    CHECK(rows == value{value::list{"a", "b"}});
    CHECK_FALSE(rows == value{value::list{"a"}});
    CHECK(rows.member("1")->get_if<std::string>());
    CHECK(rows.truthy());
    CHECK(boost::json::serialize(rows.to_json()) == R"(["a","b"])");

    session s{tpl("<ul>{% for r in rows %}<li>{{r}}</li>{% endfor %}</ul>")};
    s.a.assign("rows", rows);
    CHECK(s.join() == R"({"s":["<ul>","</ul>"],"0":{"s":["<li>","</li>"],"k":{"0":{"0":"a"},"1":{"0":"b"},"kc":2}}})");
    CHECK_FALSE(s.a.assign("rows", value::list{"a", "b"}));  // equal content: nothing to send
    CHECK(s.a.assign("rows", value::shared(value::list{"a", "c"})));
    CHECK(s.next() == R"({"0":{"k":{"1":{"0":"c"},"kc":2}}})");
    CHECK(render_html(s.t, s.a) == "<ul><li>a</li><li>c</li></ul>");
  }

}

TEST_SUITE("live.diff.keyed") {
  TEST_CASE("keyed for: a prepend sends one new entry and moves, not every entry again") {
    auto rows = [](int first, int last) {
      value::list l;
      for (int i = first; i <= last; ++i) l.push_back(value::map{{"id", i}, {"name", "row " + std::to_string(i)}});
      return l;
    };
    session keyed(tpl(R"(<ul>{% for r in rows key=r.id %}<li id="r{{ r.id }}">{{ r.name }}</li>{% endfor %}</ul>)"));
    session plain(tpl(R"(<ul>{% for r in rows %}<li id="r{{ r.id }}">{{ r.name }}</li>{% endfor %}</ul>)"));
    for (auto* s : {&keyed, &plain}) {
      s->a.assign("rows", rows(1, 3));
      s->join();
      s->a.assign("rows", rows(0, 3));
    }
    CHECK(keyed.next() == R"({"0":{"k":{"0":{"0":"0","1":"row 0"},"1":0,"2":1,"3":2,"kc":4,"km":true}}})");
    CHECK(plain.next() == R"({"0":{"k":{"0":{"0":"0","1":"row 0"},"1":{"0":"1","1":"row 1"},"2":{"0":"2","1":"row 2"},"3":{"0":"3","1":"row 3"},"kc":4}}})");

    // on 200 rows the prepend's diff shrinks from every row to one row plus an index each
    for (auto* s : {&keyed, &plain}) {
      s->a.assign("rows", rows(1, 200));
      s->next();
      s->a.assign("rows", rows(0, 200));
    }
    auto k = keyed.next().size(), p = plain.next().size();
    MESSAGE("a prepend to 200 rows: keyed diff " << k << " bytes, unkeyed " << p << " bytes");
    CHECK(k * 3 < p);
  }

  TEST_CASE("keyed for: a moved entry that also changed travels as [old index, diff]; a swap is two moves") {
    session s(tpl(R"({% for r in rows key=r.name %}<i>{{ r.n }}</i>{% endfor %})"));
    s.a.assign("rows", value::list{row("a", 1), row("b", 2)});
    s.join();
    s.a.assign("rows", value::list{row("b", 20), row("a", 1)});
    CHECK(s.next() == R"({"0":{"k":{"0":[1,{"0":"20"}],"1":0,"kc":2,"km":true}}})");
  }

  TEST_CASE("keyed for: joins then random inserts, moves, duplicates and edits reproduce the dead render") {
    std::mt19937 rng(11);
    session s(tpl(R"(<ul>{% for r in rows key=r.name %}<li>{{ r.name }}{% if r.n %}:{{ r.n }}{% endif %}</li>{% endfor %}</ul>)"));
    auto random_rows = [&] {
      value::list l;
      for (unsigned i = 0, n = rng() % 7; i < n; ++i) l.push_back(row(std::string(1, static_cast<char>('a' + rng() % 5)), static_cast<int>(rng() % 3)));
      return l;
    };
    s.a.assign("rows", random_rows());
    auto client = boost::json::parse(s.join()).as_object();
    for (int step = 0; step < 400; ++step) {
      s.a.assign("rows", random_rows());
      client = client_model::merge(std::move(client), boost::json::parse(s.next()).as_object());
      CAPTURE(step);
      REQUIRE(client_model::to_html(client) == render_html(s.t, s.a));
    }
  }

  TEST_CASE("statics nested in a comprehension's entries travel once, in its \"p\" table") {
    session s(tpl(R"(<table>{% for r in rows %}<tr>{% if r.n %}<b>{{ r.name }}</b>{% endif %}</tr>{% endfor %}</table>)"));
    s.a.assign("rows", value::list{row("a", 1), row("b", 2), row("c", 0)});
    CHECK(s.join() ==
          R"({"s":["<table>","</table>"],"0":{"s":["<tr>","</tr>"],"k":{"0":{"0":{"s":0,"0":"a"}},"1":{"0":{"s":0,"0":"b"}},"2":{"0":""},"kc":3},"p":{"0":["<b>","</b>"]}}})");
    s.a.assign("rows", value::list{row("a", 1), row("b", 2), row("c", 3)});
    CHECK(s.next() == R"({"0":{"k":{"2":{"0":{"s":["<b>","</b>"],"0":"c"}},"kc":3}}})");  // once: inline

    value::list many;
    for (int i = 0; i < 200; ++i) many.push_back(row("row " + std::to_string(i), i + 1));
    s.a.assign("rows", many);
    auto shared = boost::json::parse(s.join());
    boost::json::value inline_statics = shared;
    client_model::resolve_templates(inline_statics, nullptr);
    const auto with_p = boost::json::serialize(shared).size(), without = boost::json::serialize(inline_statics).size();
    MESSAGE("200 rows with an if each: " << with_p << " bytes with \"p\", " << without << " with the statics in every row");
    CHECK(with_p * 4 < without * 3);
  }

  TEST_CASE("\"p\": random lists of rows with nested loops and ifs reproduce the dead render, join and diffs") {
    std::mt19937 rng(7);
    session s(tpl(
        R"(<ul>{% for r in rows %}<li>{% if r.n %}<b>{{ r.name }}</b>{% endif %}{% for t in r.tags key=t %}<i>{% if t %}{{ t }}{% endif %}</i>{% endfor %}</li>{% endfor %}</ul>)"));
    auto random_rows = [&] {
      value::list l;
      for (unsigned i = 0, n = rng() % 6; i < n; ++i) {
        value::list tags;
        for (unsigned j = 0, m = rng() % 4; j < m; ++j) tags.push_back(std::string(1, static_cast<char>('a' + rng() % 4)));
        l.push_back(value::map{{"name", std::string(1, static_cast<char>('p' + rng() % 3))}, {"n", static_cast<int>(rng() % 2)},
                               {"tags", std::move(tags)}});
      }
      return l;
    };
    s.a.assign("rows", random_rows());
    auto client = boost::json::parse(s.join()).as_object();
    REQUIRE(client_model::to_html(client) == render_html(s.t, s.a));
    for (int step = 0; step < 300; ++step) {
      s.a.assign("rows", random_rows());
      client = client_model::merge(std::move(client), boost::json::parse(s.next()).as_object());
      CAPTURE(step);
      REQUIRE(client_model::to_html(client) == render_html(s.t, s.a));
    }
  }

  TEST_CASE("\"p\": a row holding nodes inside nodes (a function component with a block) shares both") {
    parse_options o;
    o.loader = [](std::string_view) -> result<std::string> {
      return std::string("<div>{{ title }}{% inner_block %}{{ n }}</div>");
    };
    session s{tpl(R"({% for item in items %}{% call "card" title=item.name n=-2 %}<i>{{ item.n }}{{ flag }}</i>{% endcall %}{% endfor %})", o)};
    s.a.assign("items", value::list{row("a", 1), row("b", 2), row("c", 3)});
    s.a.assign("flag", true);
    auto joined = boost::json::parse(s.join()).as_object();
    CHECK(joined.at("0").at("p").as_object().size() == 2);  // the card's statics and the block's
    CHECK(client_model::to_html(joined) == render_html(s.t, s.a));
  }

  TEST_CASE("keyed for: the key is read from the loop's own item") {
    auto r = html_template::parse(R"({% for r in rows key=other.id %}{% endfor %})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("its own item") != std::string::npos);
  }
}
