// Session and CSRF tokens as a join brings them back: only tokens these signers made may pass.
#include <vector>

#include "fuzz_check.hpp"
#include "token_fixture.hpp"

using namespace corvid::live;
using namespace corvid_fuzz;

namespace {

struct signed_set {
  std::vector<std::string> sessions, csrfs;
  signed_set() {
    for (auto& c : known_sessions()) {
      sessions.push_back(session_signer().sign(c));
      csrfs.push_back(csrf_signer().sign(csrf_claims_for(c)));
    }
  }
};

// Built once: signing per input would dominate the run.
const signed_set& known() {
  static const signed_set s;
  return s;
}

bool same(const session_claims& a, const session_claims& b) {
  return a.view == b.view && a.route == b.route && a.issued_at == b.issued_at && a.id == b.id;
}

void check_verdict(const result<session_claims>& r) {
  if (r) return;
  const errc c = r.error().code;
  // Every known token is fresh at verify_time(), so "expired" would mean a forged MAC got through.
  FUZZ_CHECK(c == errc::malformed_token || c == errc::tampered);
  FUZZ_CHECK(!r.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view token = corvid_fuzz::as_text(data, size);
  const auto& k = known();
  const auto max_age = std::chrono::seconds{14 * 24 * 3600};

  auto s = session_signer().verify(token, max_age, verify_time());
  check_verdict(s);
  if (s) {
    bool found = false;
    for (std::size_t i = 0; i < k.sessions.size(); ++i)
      if (token == k.sessions[i]) found = same(*s, known_sessions()[i]);
    FUZZ_CHECK(found);
  }

  auto c = csrf_signer().verify(token, max_age, verify_time());
  check_verdict(c);
  if (c) {
    bool found = false;
    for (std::size_t i = 0; i < k.csrfs.size(); ++i)
      if (token == k.csrfs[i]) found = same(*c, csrf_claims_for(known_sessions()[i]));
    FUZZ_CHECK(found);
  }
  // Purposes keep the two kinds apart.
  FUZZ_CHECK(!(s.ok() && c.ok()));

  // csrf_matches reads the clock: with a max age reaching back past issued_at it decides on the MAC
  // and the binding alone, which must tie a token to its own session and no other.
  for (std::size_t i = 0; i < known_sessions().size(); ++i) {
    const bool match = csrf_matches(csrf_signer(), token, known_sessions()[i], std::chrono::seconds{1LL << 40});
    FUZZ_CHECK(match == (token == k.csrfs[i]));
  }
  return 0;
}
