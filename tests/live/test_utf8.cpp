#include <doctest/doctest.h>

#include <string>

#include "corvid/live/protocol.hpp"
#include "corvid/live/urlencoded.hpp"
#include "corvid/live/utf8.hpp"

using namespace corvid::live;

namespace {
const std::string fffd = "\xEF\xBF\xBD";
}  // namespace

TEST_SUITE("live.utf8") {
  TEST_CASE("valid: ASCII, 2-, 3- and 4-byte characters, the extremes of each length") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain ascii\n"));
    CHECK(valid_utf8(std::string("nul \0 inside", 12)));
    CHECK(valid_utf8("caf\xC3\xA9"));              // U+00E9
    CHECK(valid_utf8("\xC2\x80\xDF\xBF"));          // U+0080, U+07FF
    CHECK(valid_utf8("\xE0\xA0\x80\xEF\xBF\xBF"));  // U+0800, U+FFFF
    CHECK(valid_utf8("\xED\x9F\xBF\xEE\x80\x80"));  // U+D7FF, U+E000: around the surrogates
    CHECK(valid_utf8("\xF0\x9F\x98\x80"));          // U+1F600
    CHECK(valid_utf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));  // U+10000, U+10FFFF
  }

  TEST_CASE("invalid: overlong forms, surrogates, past U+10FFFF, cut sequences, stray bytes") {
    for (std::string bad : {
             "\xC0\xAF", "\xC1\xBF",      // overlong 2-byte ('/' and U+007F)
             "\xE0\x80\xAF",              // overlong 3-byte
             "\xF0\x80\x80\xAF",          // overlong 4-byte
             "\xED\xA0\x80", "\xED\xBF\xBF",  // UTF-16 surrogates U+D800, U+DFFF
             "\xF4\x90\x80\x80",          // U+110000
             "\xF5\x80\x80\x80", "\xFF", "\xFE",
             "\xC3", "\xE2\x82", "\xF0\x9F\x98",  // cut short at the end
             "\xE2\x82x",                 // cut short before ASCII
             "\x80", "a\xBFz",            // continuation bytes alone
         }) {
      CAPTURE(bad);
      CHECK_FALSE(valid_utf8(bad));
      CHECK(valid_utf8(repair_utf8(bad)));
    }
  }

  TEST_CASE("repair: one U+FFFD per maximal ill-formed subpart; valid text untouched") {
    CHECK(repair_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(repair_utf8("a\xFF" "b") == "a" + fffd + "b");
    CHECK(repair_utf8("\xE2\x82") == fffd);                 // one cut character: one replacement
    CHECK(repair_utf8("\xE2\x82x") == fffd + "x");          // the ASCII byte after it survives
    CHECK(repair_utf8("\xC0\xAF") == fffd + fffd);          // C0 never starts a character
    CHECK(repair_utf8("\xED\xA0\x80") == fffd + fffd + fffd);  // a surrogate: ED, then two strays
    CHECK(repair_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);
    CHECK(repair_utf8("\xF0\x9F\x98" "\xF0\x9F\x98\x80") == fffd + "\xF0\x9F\x98\x80");
  }

  TEST_CASE("truncate: never inside a character, at most max bytes") {
    const std::string s = "ab\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a b é € 😀 = 1+1+2+3+4 bytes
    CHECK(truncate_utf8(s, 100) == s);
    CHECK(truncate_utf8(s, 2) == "ab");
    CHECK(truncate_utf8(s, 3) == "ab");                  // inside é
    CHECK(truncate_utf8(s, 4) == "ab\xC3\xA9");
    CHECK(truncate_utf8(s, 6) == "ab\xC3\xA9");          // inside €
    CHECK(truncate_utf8(s, 10) == "ab\xC3\xA9\xE2\x82\xAC");  // inside 😀
    CHECK(truncate_utf8(s, 11) == s);
    CHECK(truncate_utf8(s, 0).empty());
    for (std::size_t n = 0; n <= s.size(); ++n) CHECK(valid_utf8(truncate_utf8(s, n)));
    // 500 bytes of "é" cut at 499: 249 characters, never half of one (the demo chat's case)
    std::string e;
    for (int i = 0; i < 300; ++i) e += "\xC3\xA9";
    CHECK(truncate_utf8(e, 499).size() == 498);
    CHECK(valid_utf8(truncate_utf8(e, 499)));
  }

  TEST_CASE("decode side: %-escapes that are not UTF-8 become U+FFFD; valid ones stay") {
    CHECK(*decode_url_component("%FF") == fffd);
    CHECK(*decode_url_component("caf%C3%A9") == "caf\xC3\xA9");
    CHECK(*decode_url_component("%C0%AF") == fffd + fffd);  // overlong '/'
    CHECK(*decode_url_component("%ED%A0%80") == fffd + fffd + fffd);
    CHECK(*decode_url_component("%F0%9F%98%80") == "\xF0\x9F\x98\x80");
    auto f = decode_urlencoded("body=%E2%82&%FF=x");
    REQUIRE(f.ok());
    CHECK(*f == form_fields{{"body", fffd}, {fffd, "x"}});
  }

  TEST_CASE("encode side: frames are valid UTF-8 whatever the payload strings hold") {
    auto raw = encode_frame_raw("1", std::nullopt, "lv:x", "diff", "{\"0\":\"caf\xC3\"}");
    CHECK(valid_utf8(raw));
    CHECK(raw == "[\"1\",null,\"lv:x\",\"diff\",{\"0\":\"caf" + fffd + "\"}]");
    auto f = encode_frame(std::nullopt, std::nullopt, "t\xFF", "e", boost::json::object{{"k", "\xED\xA0\x80"}});
    CHECK(valid_utf8(f));
  }
}
