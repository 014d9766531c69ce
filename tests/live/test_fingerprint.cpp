// The fingerprint that decides whether a rendered slot changed is keyed per process: a client that
// could compute collisions (as with an unkeyed std::hash) could leave stale content on other pages.

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "eval.hpp"

namespace {

// Runs this test binary again to print the fingerprint of a fixed text in a fresh process.
std::string fingerprint_in_child() {
  std::string cmd = "CORVID_PRINT_FINGERPRINT=1 /proc/" + std::to_string(::getpid()) +
                    "/exe -tc='fingerprint printer' -nv -m 2>/dev/null";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  auto at = out.find("fingerprint=");
  return at == std::string::npos ? std::string{} : out.substr(at + 12, out.find('\n', at) - at - 12);
}

}  // namespace

TEST_SUITE("live.fingerprint") {
  TEST_CASE("fingerprint printer") {  // only prints when a parent test asked for it
    if (std::getenv("CORVID_PRINT_FINGERPRINT"))
      std::printf("fingerprint=%llu\n",
                  static_cast<unsigned long long>(corvid::live::detail::text_hash("the same text")));
  }

  TEST_CASE("the same text gets another fingerprint in another process, and the same one within a process") {
    using corvid::live::detail::text_hash;
    CHECK(text_hash("the same text") == text_hash("the same text"));
    CHECK(text_hash("the same text") != text_hash("the same text!"));
    auto a = fingerprint_in_child();
    auto b = fingerprint_in_child();
    REQUIRE_FALSE(a.empty());
    REQUIRE_FALSE(b.empty());
    CHECK(a != b);  // 64-bit keys drawn per process: equal only by a 2^-64 accident
    CHECK(a != std::to_string(text_hash("the same text")));
  }
}
