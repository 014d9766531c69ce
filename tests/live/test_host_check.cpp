// Host and Origin checks (live/src/host_check.hpp): against DNS rebinding and cross-site websockets.

#include <doctest/doctest.h>

#include "host_check.hpp"

using namespace corvid::live::detail;

TEST_SUITE("live.host_check") {
  TEST_CASE("split_host: lower-case name and port; bracketed IPv6; anything else is not a host") {
    CHECK(split_host("Example.COM:4000") == std::pair<std::string, std::string>{"example.com", "4000"});
    CHECK(split_host("localhost") == std::pair<std::string, std::string>{"localhost", ""});
    CHECK(split_host("[::1]:80") == std::pair<std::string, std::string>{"[::1]", "80"});
    CHECK_FALSE(split_host(""));
    CHECK_FALSE(split_host(":80"));
    CHECK_FALSE(split_host("a:8x"));
    CHECK_FALSE(split_host("[::1"));
    CHECK_FALSE(split_host("[::1]x"));
  }

  TEST_CASE("host_list: loopback names and the server's own address by default; entries with a port pin it") {
    host_list h{"127.0.0.1", {"app.example", "api.example:8443"}};
    CHECK(h.allows("localhost:4000"));
    CHECK(h.allows("127.0.0.1"));
    CHECK(h.allows("[::1]:4000"));
    CHECK(h.allows("APP.example:1234"));
    CHECK(h.allows("api.example:8443"));
    CHECK_FALSE(h.allows("api.example:8444"));
    CHECK_FALSE(h.allows("rebind.attacker.example"));
    CHECK_FALSE(h.allows("app.example.attacker.example"));
    CHECK_FALSE(h.allows(""));
    CHECK(host_list{"0.0.0.0", {"*"}}.allows("anything.example"));
    CHECK(host_list{"10.1.2.3", {}}.allows("10.1.2.3:4000"));
  }

  TEST_CASE("origin_allowed: same scheme and host by default; allowed_origins when given; no Origin is not a browser") {
    CHECK(origin_allowed("http://127.0.0.1:4000", "127.0.0.1:4000", {}));
    CHECK(origin_allowed("HTTP://LOCALHOST:4000", "localhost:4000", {}));
    CHECK_FALSE(origin_allowed("https://127.0.0.1:4000", "127.0.0.1:4000", {}));  // the scheme counts
    CHECK_FALSE(origin_allowed("http://evil.example", "127.0.0.1:4000", {}));
    CHECK(origin_allowed("", "127.0.0.1:4000", {}));
    CHECK(origin_allowed("https://app.example", "x", {"https://app.example"}));
    CHECK(origin_allowed("http://app.example:99", "x", {"//app.example:99"}));  // any scheme
    CHECK_FALSE(origin_allowed("http://app.example", "x", {"https://app.example"}));
    CHECK(origin_allowed("http://whatever", "x", {"*"}));
  }
}
