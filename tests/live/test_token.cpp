#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>

#include "corvid/live/token.hpp"

using namespace corvid::live;
using namespace std::chrono_literals;

namespace {
const token_signer signer("0123456789abcdef0123456789abcdef");
const auto t0 = token_signer::clock::time_point(1'700'000'000s);
}  // namespace

TEST_SUITE("live.token") {
  TEST_CASE("sign then verify returns the claims") {
    auto tok = signer.sign("CounterView", "/counter", t0);
    auto c = signer.verify(tok, 3600s, t0 + 10s);
    REQUIRE(c.ok());
    CHECK(c->view == "CounterView");
    CHECK(c->route == "/counter");
    CHECK(c->issued_at == 1'700'000'000);
    CHECK(c->id.size() == 22);  // 16 random bytes
    CHECK(tok.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == std::string::npos);
  }

  TEST_CASE("every token gets its own random id") {
    auto a = signer.verify(signer.sign("V", "/", t0), 60s, t0);
    auto b = signer.verify(signer.sign("V", "/", t0), 60s, t0);
    REQUIRE((a.ok() && b.ok()));
    CHECK(a->id != b->id);
  }

  TEST_CASE("any change to claims or signature is tampering") {
    auto tok = signer.sign("V", "/r", t0);
    auto dot = tok.find('.');
    std::string body_flip = tok, sig_flip = tok;
    body_flip[2] = body_flip[2] == 'A' ? 'B' : 'A';
    sig_flip[dot + 5] = sig_flip[dot + 5] == 'A' ? 'B' : 'A';
    CHECK(signer.verify(body_flip, 60s, t0).error().code == errc::tampered);
    CHECK(signer.verify(sig_flip, 60s, t0).error().code == errc::tampered);

    // A valid token for other claims cannot be spliced onto this signature.
    auto other = signer.sign("AdminView", "/r", t0);
    auto spliced = other.substr(0, other.find('.')) + tok.substr(dot);
    CHECK(signer.verify(spliced, 60s, t0).error().code == errc::tampered);
  }

  TEST_CASE("another secret or another purpose does not verify") {
    auto tok = signer.sign("V", "/", t0);
    CHECK(token_signer("another secret of some length....").verify(tok, 60s, t0).error().code == errc::tampered);
    CHECK(token_signer("0123456789abcdef0123456789abcdef", "csrf").verify(tok, 60s, t0).error().code == errc::tampered);
  }

  TEST_CASE("expiry: older than max_age, or from the future") {
    auto tok = signer.sign("V", "/", t0);
    CHECK(signer.verify(tok, 60s, t0 + 60s).ok());
    auto old = signer.verify(tok, 60s, t0 + 61s);
    REQUIRE_FALSE(old.ok());
    CHECK(old.error().code == errc::expired);
    CHECK(signer.verify(tok, 60s, t0 - 30s).ok());  // small clock skew is tolerated
    CHECK(signer.verify(tok, 60s, t0 - 1h).error().code == errc::expired);
  }

  TEST_CASE("issue times at the ends of int64 are expired or future, never an overflow (UBSan checks the arithmetic)") {
    for (auto iat : {INT64_MIN, INT64_MIN + 1, INT64_MAX - 1, INT64_MAX}) {
      auto tok = signer.sign(session_claims{"V", "/", iat, "id", "", {}});
      auto c = signer.verify(tok, std::chrono::seconds::max(), t0);
      REQUIRE_FALSE(c.ok());
      CHECK(c.error().code == errc::expired);
    }
    auto old = signer.sign(session_claims{"V", "/", 0, "id", "", {}});  // 1970, within an unbounded max_age
    CHECK(signer.verify(old, std::chrono::seconds::max(), t0).ok());
  }

  TEST_CASE("malformed tokens") {
    const std::string long_token(5000, 'a');
    for (std::string bad : {std::string(""), std::string("abc"), std::string("a.b.c"), std::string("abc.!!!"),
                            std::string("abc.AAAA"), std::string("abc."), long_token}) {
      CAPTURE(bad);
      auto r = signer.verify(bad, 60s, t0);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == errc::malformed_token);
    }
  }

  TEST_CASE("claims are signed as given") {
    session_claims c{"V", "/x?y=1", 42, "fixed-id", "", {}};
    auto back = signer.verify(signer.sign(c), 100s, token_signer::clock::time_point(100s));
    REQUIRE(back.ok());
    CHECK(back->id == "fixed-id");
    CHECK(back->route == "/x?y=1");
  }
}
