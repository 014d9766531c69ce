// The signers and claims the token target and the corpus generator share: the corpus holds tokens
// these signers made, so the fuzzer starts from real tokens and mutates them.
#pragma once

#include <array>
#include <chrono>
#include <string>

#include "corvid/live/token.hpp"

namespace corvid_fuzz {

using corvid::live::session_claims;
using corvid::live::token_signer;

inline const token_signer& session_signer() {
  static const token_signer s{"fuzz-secret-0123456789abcdef-0123456789abcdef"};
  return s;
}
inline const token_signer& csrf_signer() {
  static const token_signer s{"fuzz-secret-0123456789abcdef-0123456789abcdef", "corvid.live.csrf"};
  return s;
}

inline constexpr std::int64_t issued_at = 1'780'000'000;  // fixed, so the signed tokens are too
inline token_signer::clock::time_point verify_time() {
  return token_signer::clock::time_point{std::chrono::seconds{issued_at + 600}};
}

// Claims of the default live_session without session values (set field by field: g++ -Wextra).
inline session_claims claims(std::string view, std::string route, std::string id) {
  session_claims c;
  c.view = std::move(view);
  c.route = std::move(route);
  c.issued_at = issued_at;
  c.id = std::move(id);
  return c;
}

inline const std::array<session_claims, 3>& known_sessions() {
  static const std::array<session_claims, 3> c{{
      claims("counter", "/counter", "AAAAAAAAAAAAAAAAAAAAAA"),
      claims("user", "/user/:name", "q83vEjRWeJq83vEjRWeJqw"),
      claims("", "", "-_-_-_-_-_-_-_-_-_-_-w"),
  }};
  return c;
}

// What csrf_token_for makes for each known session, with a fixed id instead of a random one.
inline session_claims csrf_claims_for(const session_claims& s) { return claims("csrf", s.id, "csrfcsrfcsrfcsrfcsrfcw"); }

}  // namespace corvid_fuzz
