// Render once, send to many: the shared diff path against the per-session diff it replaces.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include <boost/json.hpp>

#include "corvid/live/diff.hpp"
#include "diff_session.hpp"
#include "corvid/live/protocol.hpp"
#include "corvid/live/utf8.hpp"
#include "eval.hpp"
#include "shared_diff.hpp"

using namespace corvid::live;

using namespace corvid::live::diff_test;

namespace {
// The shared path: its body, "{}" for a null body, "fallback" when it does not apply.
std::string shared(session& s) {
  auto b = detail::shared_diff(s.t, s.a, s.a.changed(), s.st);
  if (!b) return "fallback";
  s.a.clear_changes();
  return *b ? **b : "{}";
}

parse_options with_fn() {
  parse_options o;
  o.functions["greeting"] = computed{{"name", "mood"}, [](const assigns& a) {
                                       std::string s;
                                       a["mood"].append_text(s);
                                       s += ", ";
                                       a["name"].append_text(s);
                                       return value(s);
                                     }};
  return o;
}

constexpr std::string_view page =
    "<p>{{ last }}</p><b>{{ count }}</b><i>{{{ raw }}}</i><s>{{ greeting() }}</s>"
    "<ul>{% for x in items %}<li>{{ x }}</li>{% endfor %}</ul>{% if flag %}<em>{{ count }}</em>{% endif %}";
}  // namespace

TEST_SUITE("live.shared_diff") {
  TEST_CASE("a broadcast to 1,000 sessions is rendered and serialized once, and each body is what diff() sends") {
    auto t = tpl(page, with_fn());
    std::vector<session> shared, slow;
    for (int i = 0; i < 1000; ++i) {
      for (auto* v : {&shared, &slow}) {
        v->emplace_back(t);
        auto& s = v->back();
        s.a.assign("last", "");
        s.a.assign("count", i);
        s.join();
      }
    }
    const auto before = detail::memo_stats(t);
    std::vector<const std::string*> bodies;
    for (int i = 0; i < 1000; ++i) {
      shared[i].a.assign("last", "hello <world> \"é\"");
      slow[i].a.assign("last", "hello <world> \"é\"");
      auto b = detail::shared_diff(t, shared[i].a, shared[i].a.changed(), shared[i].st);
      REQUIRE(b);
      REQUIRE(*b);
      shared[i].a.clear_changes();
      CHECK(**b == slow[i].next());
      bodies.push_back(b->get());
    }
    const auto after = detail::memo_stats(t);
    CHECK(after.renders - before.renders == 1);
    CHECK(after.render_hits - before.render_hits == 999);
    CHECK(after.bodies - before.bodies == 1);
    CHECK(after.body_hits - before.body_hits == 999);
    for (auto* b : bodies) CHECK(b == bodies.front());  // one body, shared
    // every session now holds the new text: later changes diff against it
    for (int i = 0; i < 1000; i += 97) {
      shared[i].a.assign("count", i + 1);
      slow[i].a.assign("count", i + 1);
      CHECK(shared[i].next() == slow[i].next());
    }
  }

  TEST_CASE("a session that already shows the value gets nothing; sessions with other inputs get their own text") {
    auto t = tpl(page, with_fn());
    session a(t), b(t), c(t);
    for (auto* s : {&a, &b, &c}) {
      s->a.assign("name", "Ann");
      s->a.assign("mood", "hi");
      s->a.assign("last", "x");
      s->join();
    }
    a.a.assign("last", "x");  // the same value: no change at all
    CHECK(a.a.changed().empty());
    a.a.touch("last");  // marked changed, but the client holds the same text
    CHECK(shared(a) == "{}");
    b.a.assign("name", "Bob");
    c.a.assign("name", "Cy");
    CHECK(shared(b) == R"({"3":"hi, Bob"})");
    CHECK(shared(c) == R"({"3":"hi, Cy"})");
    // a change of both inputs to what b had rendered reuses b's text
    const auto before = detail::memo_stats(t);
    a.a.assign("name", "Bob");
    CHECK(shared(a) == R"({"3":"hi, Bob"})");
    CHECK(detail::memo_stats(t).render_hits - before.render_hits == 1);
  }

  TEST_CASE("a change a list or a branch reads falls back to diff() and leaves the state alone") {
    auto t = tpl(page, with_fn());
    session s(t), ref(t);
    for (auto* x : {&s, &ref}) {
      x->a.assign("items", value::list{"a"});
      x->a.assign("count", 1);
      x->a.assign("flag", true);
      x->join();
    }
    s.a.assign("items", value::list{"a", "b"});
    ref.a.assign("items", value::list{"a", "b"});
    CHECK(shared(s) == "fallback");
    CHECK(s.next() == ref.next());
    s.a.assign("count", 2);  // read by a text slot and inside the if: the if needs diff()
    ref.a.assign("count", 2);
    CHECK(shared(s) == "fallback");
    CHECK(s.next() == ref.next());
    session fresh(t);  // no render yet: nothing to diff against
    fresh.a.assign("last", "x");
    CHECK(shared(fresh) == "fallback");
  }

  TEST_CASE("random changes: the shared path and diff() send the same bytes and keep the same state") {
    auto t = tpl(page, with_fn());
    std::mt19937 rng(7);
    const std::vector<value> texts{"", "a", "b", "<&>", "é", std::string("\xff\xfe", 2), safe_html{"<b>x</b>"}, 0.0,
                                   -0.0, 1.5, 3, nullptr};
    std::vector<session> ours, theirs;
    for (int i = 0; i < 8; ++i) {
      ours.emplace_back(t);
      theirs.emplace_back(t);
      ours.back().join();
      theirs.back().join();
    }
    int shared_sent = 0;
    for (int round = 0; round < 3000; ++round) {
      const auto i = rng() % ours.size();
      const char* names[] = {"last", "raw", "name", "mood"};  // not count: the if reads it
      const int n = 1 + static_cast<int>(rng() % 2);
      for (int k = 0; k < n; ++k) {
        const char* name = names[rng() % 4];
        const auto& v = texts[rng() % texts.size()];
        ours[i].a.assign(name, v);
        theirs[i].a.assign(name, v);
      }
      auto got = shared(ours[i]);
      auto want = theirs[i].next();
      if (want != "{}") want = repair_utf8(want);
      REQUIRE(got != "fallback");
      CHECK(got == want);
      if (got != "{}") ++shared_sent;
    }
    CHECK(shared_sent > 1000);
  }

  TEST_CASE("a shared body's frame is the frame encode_diff makes") {
    auto t = tpl(page, with_fn());
    session s(t), ref(t);
    s.join();
    ref.join();
    s.a.assign("last", std::string("bad \xc3 byte"));
    ref.a.assign("last", std::string("bad \xc3 byte"));
    auto b = detail::shared_diff(t, s.a, s.a.changed(), s.st);
    REQUIRE(b);
    REQUIRE(*b);
    auto d = diff(ref.t, ref.a, ref.st);
    const std::string join_ref = "4";
    CHECK(encode_frame_head(join_ref, std::nullopt, "lv:phx-a", "diff") + **b + "]" ==
          encode_diff(join_ref, "lv:phx-a", d));
  }

  TEST_CASE("sessions that render one shared list keep one copy of its entries' state") {
    auto t = tpl("<p>{{ n }}</p><ul>{% for x in items %}<li>{{ x }}</li>{% endfor %}</ul>");
    value::list l;
    for (int i = 0; i < 20; ++i) l.emplace_back("item " + std::to_string(i));
    const auto items = value::shared(l);
    const auto before = detail::memo_stats(t);
    std::vector<session> all;
    all.reserve(100);
    for (int i = 0; i < 100; ++i) {
      all.emplace_back(t);
      all.back().a.assign("n", i);
      all.back().a.assign("items", items);
      all.back().join();
    }
    CHECK(detail::memo_stats(t).rows_shared - before.rows_shared == 100);
    const auto* first = detail::render_access::rows(all[0].st).at(0).second.get();
    for (auto& s : all) {
      auto& rows = detail::render_access::rows(s.st);
      REQUIRE(rows.size() == 1);
      CHECK(rows[0].second.get() == first);  // one state for all
      CHECK(detail::render_access::state(s.st).slots[1].nested.empty());  // and no copy of their own
    }
    // a plain list with the same items is not shared (its identity is unknown)
    session plain(t);
    plain.a.assign("items", l);
    plain.join();
    CHECK(detail::render_access::rows(plain.st).empty());
  }

  TEST_CASE("a change of a shared list diffs each session against the state it was sent, as with a plain list") {
    for (const char* src : {"<ul>{% for x in items %}<li>{{ x.t }}</li>{% endfor %}</ul><b>{{ n }}</b>",
                            "<ul>{% for x in items key=x.id %}<li id=\"{{ x.id }}\">{{ x.t }}</li>{% endfor %}</ul>",
                            "{% for x in items %}{% if x.on %}<i>{{ x.t }}</i>{% else %}<s>{{ x.id }}</s>{% endif %}{% endfor %}"}) {
      CAPTURE(src);
      auto t = tpl(src);
      std::mt19937 rng(11);
      auto random_list = [&] {
        value::list l;
        const int n = static_cast<int>(rng() % 6);
        for (int i = 0; i < n; ++i)
          l.emplace_back(value::map{{"id", static_cast<int>(rng() % 8)}, {"t", std::string(1, 'a' + static_cast<char>(rng() % 4))},
                                    {"on", rng() % 2 == 0}});
        return l;
      };
      // shared[i] gets the lists as shared values, plain[i] the same items as plain lists
      std::vector<session> shared, plain;
      const auto first = random_list();
      const auto first_shared = value::shared(first);
      for (int i = 0; i < 4; ++i) {
        shared.emplace_back(t);
        plain.emplace_back(t);
        shared.back().a.assign("items", first_shared);
        plain.back().a.assign("items", first);
        CHECK(shared.back().join() == plain.back().join());
      }
      std::vector<value::list> lists{first};
      std::vector<value> shared_lists{first_shared};
      for (int round = 0; round < 400; ++round) {
        // mostly lists other sessions hold too (shared states), sometimes a new one
        if (lists.size() < 3 || rng() % 4 == 0) {
          lists.push_back(random_list());
          shared_lists.push_back(value::shared(lists.back()));
        }
        const auto k = rng() % lists.size();
        const auto i = rng() % shared.size();
        shared[i].a.assign("items", shared_lists[k]);
        plain[i].a.assign("items", lists[k]);
        if (rng() % 3 == 0) {
          shared[i].a.assign("n", static_cast<int>(round));
          plain[i].a.assign("n", static_cast<int>(round));
        }
        REQUIRE(shared[i].next() == plain[i].next());
      }
    }
  }
}
