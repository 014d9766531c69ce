// Signed session tokens for data-phx-session: HMAC-SHA256 over the claims, base64url, checked at join.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "corvid/live/result.hpp"

namespace corvid::live {

/// What a session token vouches for.
struct session_claims {
  std::string view;            ///< the view class to mount
  std::string route;           ///< the route it was rendered for
  std::int64_t issued_at = 0;  ///< unix seconds
  std::string id;              ///< random, base64url; unique per token
  std::string live_session;    ///< the live_session of `view` ("" = the default one): the token mounts only its views
  std::map<std::string, std::string, std::less<>> values;  ///< the app's session values (server_options::session_values)
};

/// Signs and verifies tokens "<base64url claims>.<base64url mac>" with one secret and one purpose.
class token_signer {
 public:
  using clock = std::chrono::system_clock;

  /// `secret` should be at least 32 random bytes; `purpose` keeps tokens of one use from passing as another.
  explicit token_signer(std::string secret, std::string purpose = "corvid.live.session");

  /// Signs `view`/`route` issued at `now`, with a fresh random id.
  std::string sign(std::string_view view, std::string_view route, clock::time_point now = clock::now()) const;
  /// Signs the given claims as they are.
  std::string sign(const session_claims& claims) const;

  /// The claims, or: malformed_token (shape, encoding, size), tampered (signature), expired (older than
  /// `max_age`, or issued more than a minute in the future). The MAC is checked before the claims are parsed.
  result<session_claims> verify(std::string_view token, std::chrono::seconds max_age,
                                clock::time_point now = clock::now()) const;

  /// `n` random bytes from the OS CSPRNG, base64url (for secrets and ids).
  static std::string random_base64url(std::size_t n);

 private:
  std::string mac(std::string_view body) const;
  std::string secret_;
  std::string purpose_;
};

/// The CSRF token a page carries (meta csrf-token; the client sends it back as params._csrf_token at
/// join): signed by `csrf` (a signer with its own purpose) and bound to the id of the page's session.
std::string csrf_token_for(const token_signer& csrf, const session_claims& session,
                           token_signer::clock::time_point now = token_signer::clock::now());
/// True if `token` was made by csrf_token_for for this session and is not older than `max_age`.
bool csrf_matches(const token_signer& csrf, std::string_view token, const session_claims& session,
                  std::chrono::seconds max_age);

}  // namespace corvid::live
