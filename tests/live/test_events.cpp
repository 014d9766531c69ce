#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "corvid/live/events.hpp"
#include "corvid/live/form_params.hpp"
#include "corvid/live/urlencoded.hpp"

using namespace corvid::live;
namespace json = boost::json;

namespace {
json::object obj(std::string_view text) { return json::parse(text).as_object(); }
}  // namespace

TEST_SUITE("live.urlencoded") {
  TEST_CASE("decodes pairs in order: + is space, %XX bytes, bracket keys kept verbatim") {
    auto r = decode_urlencoded("user%5Bname%5D=Bob+%26+Co&user%5B_unused_email%5D=&tags[]=a&tags[]=b&caf%C3%A9=%e2%9c%93");
    REQUIRE(r.ok());
    form_fields expected{{"user[name]", "Bob & Co"}, {"user[_unused_email]", ""}, {"tags[]", "a"}, {"tags[]", "b"},
                         {"caf\xC3\xA9", "\xE2\x9C\x93"}};
    CHECK(*r == expected);
  }

  TEST_CASE("edge shapes") {
    CHECK(decode_urlencoded("")->empty());
    CHECK(*decode_urlencoded("a") == form_fields{{"a", ""}});
    CHECK(*decode_urlencoded("a=1&&b=2&") == form_fields{{"a", "1"}, {"b", "2"}});
    CHECK(*decode_urlencoded("=x") == form_fields{{"", "x"}});
    CHECK(*decode_urlencoded("a=b=c") == form_fields{{"a", "b=c"}});
    CHECK(*decode_urlencoded("a=%2B%25") == form_fields{{"a", "+%"}});
  }

  TEST_CASE("broken escapes are errors") {
    for (auto bad : {"%", "a=%4", "a=%zz", "a=%G1", "%2", "k%=v"}) {
      CAPTURE(bad);
      auto r = decode_urlencoded(bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == errc::bad_encoding);
    }
  }
}

TEST_SUITE("live.events") {
  TEST_CASE("click: phx-value-* and value become string params") {
    auto e = decode_event(obj(R"({"type":"click","event":"inc","value":{"by":"1","value":"","n":2,"ok":true}})"));
    REQUIRE(e.ok());
    CHECK(e->kind == event_kind::click);
    CHECK(e->name == "inc");
    CHECK(e->values == params{{"by", "1"}, {"value", ""}, {"n", "2"}, {"ok", "true"}});
    CHECK_FALSE(e->cid.has_value());
  }

  TEST_CASE("form: urlencoded value decoded, _target kept apart, meta fills in") {
    auto e = decode_event(obj(
        R"({"type":"form","event":"validate","value":"user%5Bname%5D=Bob+%26+Co&x=1","meta":{"_target":"user[name]","x":"meta","extra":"m"},"uploads":{}})"));
    REQUIRE(e.ok());
    CHECK(e->kind == event_kind::form);
    CHECK(e->values == params{{"user[name]", "Bob & Co"}, {"x", "1"}, {"extra", "m"}});
    CHECK(e->target == "user[name]");
    CHECK(e->fields.size() == 2);
  }

  TEST_CASE("keyup carries the key and the input's value") {
    auto e = decode_event(obj(R"({"type":"keyup","event":"key","value":{"key":"Enter","value":"x"}})"));
    REQUIRE(e.ok());
    CHECK(e->kind == event_kind::keyup);
    CHECK(e->key == "Enter");
    CHECK(e->values.at("value") == "x");
  }

  TEST_CASE("keyup and keydown without a key (the client sends them itself, e.g. on autofill) are events without one") {
    for (const char* type : {"keyup", "keydown"}) {
      CAPTURE(type);
      json::object p{{"type", type}, {"event", "key"}, {"value", json::object{{"value", "v"}}}};
      auto e = decode_event(p);
      REQUIRE(e.ok());
      CHECK_FALSE(e->key);
      CHECK(e->values.at("value") == "v");
    }
  }

  TEST_CASE("hook payloads stay JSON; component events carry a cid") {
    auto e = decode_event(obj(R"({"type":"hook","event":"ping","value":{"n":41,"list":[1]},"cid":3})"));
    REQUIRE(e.ok());
    CHECK(e->kind == event_kind::hook);
    CHECK(e->raw.at("n").as_int64() == 41);
    CHECK(e->cid == 3);
    CHECK(e->values.empty());
  }

  TEST_CASE("malformed event payloads are errors") {
    struct bad {
      const char* json;
      errc code;
    };
    const bad cases[] = {
        {R"({})", errc::bad_payload},
        {R"({"type":"click"})", errc::bad_payload},
        {R"({"type":1,"event":"x"})", errc::bad_payload},
        {R"({"type":"click","event":"x","value":"str"})", errc::bad_payload},
        {R"({"type":"form","event":"x","value":{}})", errc::bad_payload},
        {R"({"type":"form","event":"x","value":"a=%zz"})", errc::bad_encoding},
        {R"({"type":"click","event":"x","value":{},"cid":"1"})", errc::bad_payload},
        {R"({"type":"click","event":"x","value":{},"cid":18446744073709551615})", errc::bad_payload},
    };
    for (const auto& c : cases) {
      CAPTURE(c.json);
      auto r = decode_event(obj(c.json));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == c.code);
    }
  }

  TEST_CASE("join payload as the 1.2.12 client sends it") {
    auto j = decode_join(obj(R"({"url":"http://h/","params":{"_csrf_token":"c","_mounts":2,"_mount_attempts":0},
                                 "session":"SESSION","static":null,"sticky":false})"));
    REQUIRE(j.ok());
    CHECK(j->url == "http://h/");
    CHECK_FALSE(j->redirect.has_value());
    CHECK(j->session == "SESSION");
    CHECK_FALSE(j->static_token.has_value());
    CHECK(j->mounts == 2);
    CHECK(j->params.at("_csrf_token").as_string() == "c");

    auto live_nav = decode_join(obj(R"({"redirect":"http://h/other","params":{},"session":"S","static":"ST"})"));
    REQUIRE(live_nav.ok());
    CHECK(live_nav->redirect == "http://h/other");
    CHECK(live_nav->static_token == "ST");
  }

  TEST_CASE("malformed join payloads are errors") {
    for (auto text : {R"({})", R"({"session":1})", R"({"session":"S","url":5})", R"({"session":"S","params":[]})",
                      R"({"session":"S","sticky":"yes"})"}) {
      CAPTURE(text);
      auto r = decode_join(obj(text));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == errc::bad_payload);
    }
  }
}

// The shapes Plug.Conn.Query's own tests (plug v1.16, query_test.exs) give for the same queries.
TEST_SUITE("live.form_params") {
  json::object nested(std::string_view q) { return nest_params(*decode_urlencoded(q)); }

  TEST_CASE("nested keys, lists, lists of lists, and the last value wins") {
    CHECK(nested("foo=bar&baz=bat") == obj(R"({"foo":"bar","baz":"bat"})"));
    CHECK(nested("users[name]=hello&users[age]=17&users[address][street]=foo") ==
          obj(R"({"users":{"name":"hello","age":"17","address":{"street":"foo"}}})"));
    CHECK(nested("my+weird+field=q1%212") == obj(R"({"my weird field":"q1!2"})"));
    CHECK(nested("=value") == obj(R"({"":"value"})"));
    CHECK(nested("foo[]=bar&foo[]=baz&bat[]=1&bat[]=2") == obj(R"({"foo":["bar","baz"],"bat":["1","2"]})"));
    CHECK(nested("x[y][z]=1&x[y][z]=2") == obj(R"({"x":{"y":{"z":"2"}}})"));
    CHECK(nested("x[y][z][]=1&x[y][z][]=2") == obj(R"({"x":{"y":{"z":["1","2"]}}})"));
    CHECK(nested("x[y][][z]=1") == obj(R"({"x":{"y":[{"z":"1"}]}})"));
    CHECK(nested("x[y][][z][]=1") == obj(R"({"x":{"y":[{"z":["1"]}]}})"));
    CHECK(nested("x[][][]=1") == obj(R"({"x":[[["1"]]]})"));
    CHECK(nested("x[][a]=1&x[][b]=2&x[][a]=3") == obj(R"({"x":[{"a":"1","b":"2"},{"a":"3"}]})"));
  }

  TEST_CASE("bad queries: the last field wins whatever shape came before") {
    CHECK(nested("x[]=1&x[y]=1") == obj(R"({"x":{"y":"1"}})"));
    CHECK(nested("x[y][][w]=2&x[y]=1") == obj(R"({"x":{"y":"1"}})"));
    CHECK(nested("x=1&x[y]=1") == obj(R"({"x":{"y":"1"}})"));
    CHECK(nested("x[y][0][w]=2&x[y]=1") == obj(R"({"x":{"y":"1"}})"));
    CHECK(nested("a[b=1&[c]=2") == obj(R"({"a[b":"1","[c]":"2"})"));  // not bracket keys: kept whole
  }

  TEST_CASE("depth is bounded: deeper keys stay whole") {
    std::string key = "a";
    for (int i = 0; i < 40; ++i) key += "[b]";
    auto p = nest_params({{key, "v"}});
    CHECK(p.at(key) == "v");
  }

  TEST_CASE("a form event carries the nested params, _target as a path, meta where no field has the name") {
    auto e = decode_event(obj(R"({"type":"form","event":"validate",
        "value":"user%5Bname%5D=Bob&user%5B_unused_email%5D=&user%5Bemail%5D=&tags%5B%5D=a&tags%5B%5D=b",
        "meta":{"_target":"user[name]","id":"7"}})"));
    REQUIRE(e.ok());
    CHECK(e->form == obj(R"({"user":{"name":"Bob","_unused_email":"","email":""},"tags":["a","b"],
                               "_target":["user","name"],"id":"7"})"));
    CHECK(used_input(e->form, {"user", "name"}));
    CHECK_FALSE(used_input(e->form, {"user", "email"}));
    CHECK(used_input(e->form, {"tags"}));
    CHECK(key_path("user[address][street]") == std::vector<std::string>{"user", "address", "street"});
    CHECK(key_path("tags[]") == std::vector<std::string>{"tags", ""});
  }
}
