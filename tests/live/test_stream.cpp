// Streams: exact join/diff JSON per the 1.2 client's stream format, dead render, and that the server
// keeps nothing once operations are sent.

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include <boost/json.hpp>

#include "corvid/live/diff.hpp"

using namespace corvid::live;

namespace {

const char* feed_src = R"(<ul id="feed" phx-update="stream">{% stream id, m in feed %}<li id="{{ id }}">{{ m.body }}</li>{% endstream %}</ul>)";

value msg(int id, std::string body) { return value::map{{"id", id}, {"body", std::move(body)}}; }

// Join, then one diff per step; like the channel, clear_changes() follows every render/diff.
struct feed {
  html_template t = *html_template::parse(feed_src);
  assigns a;
  render_state st;
  std::string join() {
    auto j = boost::json::serialize(render(t, a, st));
    a.clear_changes();
    return j;
  }
  std::string next() {
    auto d = boost::json::serialize(diff(t, a, st));
    a.clear_changes();
    return d;
  }
};

}  // namespace

TEST_SUITE("live.stream") {
  TEST_CASE("join: the stream comprehension carries the inserts and a \"stream\" entry") {
    feed f;
    f.a.stream("feed", value::list{msg(1, "first"), msg(2, "second")});
    CHECK(f.join() ==
          R"({"s":["<ul id=\"feed\" phx-update=\"stream\">","</ul>"],)"
          R"("0":{"s":["<li id=\"","\">","</li>"],"k":{"0":{"0":"feed-1","1":"first"},"1":{"0":"feed-2","1":"second"},"kc":2},)"
          R"("stream":["feed",[["feed-1",-1,null,false],["feed-2",-1,null,false]],[]]}})");
  }

  TEST_CASE("an empty stream joins with kc 0 and no reset element") {
    feed f;
    CHECK(f.join() ==
          R"({"s":["<ul id=\"feed\" phx-update=\"stream\">","</ul>"],"0":{"s":["<li id=\"","\">","</li>"],"k":{"kc":0},"stream":["feed",[],[]]}})");
  }

  TEST_CASE("append, prepend, limit, delete, reset: exact diffs, and nothing kept after each") {
    feed f;
    f.join();

    f.a.stream_insert("feed", msg(3, "third"));
    CHECK(f.next() == R"({"0":{"k":{"0":{"0":"feed-3","1":"third"},"kc":1},"stream":["feed",[["feed-3",-1,null,false]],[]]}})");
    CHECK(f.a.stream_pending("feed") == nullptr);

    f.a.stream_insert("feed", msg(4, "top"), stream_at::prepend);
    CHECK(f.next() == R"({"0":{"k":{"0":{"0":"feed-4","1":"top"},"kc":1},"stream":["feed",[["feed-4",0,null,false]],[]]}})");

    f.a.stream_insert("feed", msg(5, "capped"), stream_at::append, -10);  // keep the last 10
    CHECK(f.next() == R"({"0":{"k":{"0":{"0":"feed-5","1":"capped"},"kc":1},"stream":["feed",[["feed-5",-1,-10,false]],[]]}})");

    f.a.stream_insert("feed", msg(6, "at 2"), 2, 3);
    CHECK(f.next() == R"({"0":{"k":{"0":{"0":"feed-6","1":"at 2"},"kc":1},"stream":["feed",[["feed-6",2,3,false]],[]]}})");

    f.a.stream_delete("feed", msg(3, ""));
    CHECK(f.next() == R"({"0":{"k":{"kc":0},"stream":["feed",[],["feed-3"]]}})");

    f.a.stream_reset("feed");
    f.a.stream_insert("feed", msg(7, "fresh"));
    CHECK(f.next() == R"({"0":{"k":{"0":{"0":"feed-7","1":"fresh"},"kc":1},"stream":["feed",[["feed-7",-1,null,false]],[],true]}})");
    CHECK(f.a.stream_pending("feed") == nullptr);

    CHECK(f.next() == "{}");  // no operations: nothing to send, not even for the stream
  }

  TEST_CASE("pending operations collapse: a re-insert replaces, a delete drops the pending insert") {
    feed f;
    f.join();
    f.a.stream_insert("feed", msg(1, "a"));
    f.a.stream_insert("feed", msg(2, "b"));
    f.a.stream_insert("feed", msg(1, "a2"));  // updates feed-1 (the client updates it in place)
    f.a.stream_delete("feed", msg(2, ""));
    auto* p = f.a.stream_pending("feed");
    REQUIRE(p);
    CHECK(p->inserts.size() == 1);
    CHECK(p->deletes == std::vector<std::string>{"feed-2"});
    CHECK(f.next() == R"({"0":{"k":{"0":{"0":"feed-1","1":"a2"},"kc":1},"stream":["feed",[["feed-1",-1,null,false]],["feed-2"]]}})");
  }

  TEST_CASE("a re-insert replaces the pending insert where it is; a delete keeps the others in order; many is one pass") {
    feed f;
    f.join();
    for (int i : {1, 2, 3}) f.a.stream_insert("feed", msg(i, "v1"));
    f.a.stream_insert("feed", msg(2, "v2"), stream_at::prepend);  // 1, 2 (now v2, prepended), 3
    f.a.stream_delete("feed", msg(1, ""));                         // 2, 3
    f.a.stream_insert("feed", msg(4, "v1"));                       // 2, 3, 4
    f.a.stream_delete("feed", msg(1, ""));                         // deleted once, listed once
    auto order = [&] {
      std::string ids;
      for (auto& i : f.a.stream_pending("feed")->inserts) ids += i.dom_id + " ";
      return ids;
    };
    CHECK(order() == "feed-2 feed-3 feed-4 ");
    CHECK(f.a.stream_pending("feed")->inserts.front().at == stream_at::prepend);
    CHECK(*f.a.stream_pending("feed")->inserts.front().item.member("body") == value{"v2"});
    CHECK(f.a.stream_pending("feed")->deletes == std::vector<std::string>{"feed-1"});
    f.next();
    // 100,000 inserts and a second insert of each: linear (a scan per insert took minutes).
    value::list many;
    for (int i = 0; i < 100'000; ++i) many.push_back(msg(i, "x"));
    f.a.stream("feed", many, true);
    f.a.stream("feed", many);
    CHECK(f.a.stream_pending("feed")->inserts.size() == 100'000);
    CHECK(f.a.stream_pending("feed")->inserts.front().dom_id == "feed-0");
    CHECK(f.a.stream_pending("feed")->inserts.back().dom_id == "feed-99999");
  }

  TEST_CASE("the server keeps no items: after a diff is sent the stream holds no operation and no buffer") {
    feed f;
    f.join();
    for (int i = 0; i < 1000; ++i) f.a.stream_insert("feed", msg(i, std::string(100, 'x')));
    REQUIRE(f.a.stream_pending("feed"));
    CHECK(f.a.stream_pending("feed")->inserts.size() == 1000);
    auto sent = f.next();
    CHECK(sent.find("feed-999") != std::string::npos);
    CHECK(f.a.stream_pending("feed") == nullptr);
    CHECK(f.a.size() == 0);  // streams are not assigns
  }

  TEST_CASE("other assigns changing do not re-send stream items") {
    html_template t = *html_template::parse(R"(<h1>{{ title }}</h1><div id="s" phx-update="stream">{% stream id, m in feed %}<p id="{{ id }}">{{ title }}: {{ m.body }}</p>{% endstream %}</div>)");
    assigns a;
    render_state st;
    a.assign("title", "A");
    a.stream_insert("feed", msg(1, "x"));
    render(t, a, st);
    a.clear_changes();
    a.assign("title", "B");
    CHECK(boost::json::serialize(diff(t, a, st)) == R"({"0":"B"})");
  }

  TEST_CASE("custom dom ids; an item without an id is an error") {
    feed f;
    f.a.stream_configure("feed", [](const value& m) { return "msg_" + *m.member("body")->get_if<std::string>(); });
    f.a.stream_insert("feed", msg(1, "hello"));
    CHECK(f.join().find(R"(["msg_hello",-1,null,false])") != std::string::npos);
    assigns plain;
    CHECK_THROWS_AS(plain.stream_insert("feed", value::map{{"body", "no id"}}), std::invalid_argument);
  }

  TEST_CASE("the dead render applies the pending operations in order, as the client would") {
    feed f;
    f.a.stream_insert("feed", msg(1, "one"));
    f.a.stream_insert("feed", msg(2, "two"));
    f.a.stream_insert("feed", msg(0, "zero"), stream_at::prepend);
    f.a.stream_insert("feed", msg(3, "three"), stream_at::append, -3);  // drops "zero" from the front
    CHECK(render_html(f.t, f.a) ==
          R"(<ul id="feed" phx-update="stream"><li id="feed-1">one</li><li id="feed-2">two</li><li id="feed-3">three</li></ul>)");
  }

  TEST_CASE("template syntax: the id variable is optional, mistakes are parse errors") {
    auto t = html_template::parse("{% stream m in feed %}<p id=\"feed-{{ m.id }}\">{{ m.body }}</p>{% endstream %}");
    REQUIRE(t.ok());
    assigns a;
    a.stream_insert("feed", msg(9, "nine"));
    CHECK(render_html(*t, a) == R"(<p id="feed-9">nine</p>)");
    CHECK_FALSE(html_template::parse("{% stream m in feed %}x{% endfor %}").ok());
    CHECK_FALSE(html_template::parse("{% stream m in feed %}x").ok());
    CHECK_FALSE(html_template::parse("{% stream m in feed.items %}x{% endstream %}").ok());
    CHECK_FALSE(html_template::parse("{% stream m, m in feed %}x{% endstream %}").ok());
    CHECK_FALSE(html_template::parse("{% stream in feed %}x{% endstream %}").ok());
  }
}
