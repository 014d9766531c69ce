#include "corvid/live/token.hpp"

#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <boost/json.hpp>

#include "base64url.hpp"

namespace corvid::live {

namespace json = boost::json;

namespace {
constexpr std::size_t max_token_bytes = 4096;
constexpr std::int64_t future_skew_s = 60;
}  // namespace

token_signer::token_signer(std::string secret, std::string purpose)
    : secret_(std::move(secret)), purpose_(std::move(purpose)) {}

std::string token_signer::random_base64url(std::size_t n) {
  std::string bytes(n, '\0');
  // RAND_bytes only fails when the OS has no entropy source; a token without randomness is unsafe.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) std::abort();
  return detail::base64url_encode(bytes);
}

std::string token_signer::mac(std::string_view body) const {
  // The purpose and a separator go into the MAC so a token minted for another use never verifies here.
  std::string input;
  input.reserve(purpose_.size() + 1 + body.size());
  input.append(purpose_).append(1, '\n').append(body);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string token_signer::sign(std::string_view view, std::string_view route, clock::time_point now) const {
  session_claims c{std::string(view), std::string(route),
                   std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
                   random_base64url(16), {}, {}};
  return sign(c);
}

std::string token_signer::sign(const session_claims& c) const {
  json::object o{{"v", c.view}, {"r", c.route}, {"iat", c.issued_at}, {"id", c.id}};
  if (!c.live_session.empty()) o["ls"] = c.live_session;
  if (!c.values.empty()) {
    json::object d;
    for (auto& [k, v] : c.values) d[k] = v;
    o["d"] = std::move(d);
  }
  auto body = detail::base64url_encode(json::serialize(o));
  auto sig = detail::base64url_encode(mac(body));
  return body + "." + sig;
}

result<session_claims> token_signer::verify(std::string_view token, std::chrono::seconds max_age,
                                            clock::time_point now) const {
  auto malformed = [](std::string m) { return error{errc::malformed_token, std::move(m)}; };
  if (token.size() > max_token_bytes) return malformed("token too long");
  auto dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos)
    return malformed("token must be <claims>.<signature>");
  auto body = token.substr(0, dot);
  auto sig = detail::base64url_decode(token.substr(dot + 1));
  if (!sig || sig->size() != 32) return malformed("signature is not a base64url SHA-256 MAC");

  auto expected = mac(body);
  if (CRYPTO_memcmp(expected.data(), sig->data(), expected.size()) != 0)
    return error{errc::tampered, "signature does not match"};

  // Authentic from here on, so a failure below means our own format changed, not an attack.
  auto raw = detail::base64url_decode(body);
  if (!raw) return malformed("claims are not base64url");
  boost::system::error_code ec;
  auto v = json::parse(*raw, ec);
  if (ec || !v.is_object()) return malformed("claims are not a JSON object");
  auto& o = v.get_object();
  auto* view = o.if_contains("v");
  auto* route = o.if_contains("r");
  auto* iat = o.if_contains("iat");
  auto* id = o.if_contains("id");
  if (!view || !view->is_string() || !route || !route->is_string() || !iat || !iat->is_int64() || !id ||
      !id->is_string())
    return malformed("claims lack v/r/iat/id");

  session_claims c{std::string(view->get_string()), std::string(route->get_string()), iat->get_int64(),
                   std::string(id->get_string()), {}, {}};
  if (auto* ls = o.if_contains("ls")) {
    if (!ls->is_string()) return malformed("claim ls is not a string");
    c.live_session = std::string(ls->get_string());
  }
  if (auto* d = o.if_contains("d")) {
    if (!d->is_object()) return malformed("claim d is not an object");
    for (auto& [k, v] : d->get_object()) {
      if (!v.is_string()) return malformed("claim d holds a value that is not a string");
      c.values.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // issued_at is authentic but any int64: no arithmetic on it that could overflow
  std::int64_t age = 0;
  if (c.issued_at > now_s && c.issued_at - now_s > future_skew_s) return error{errc::expired, "token issued in the future"};
  if (__builtin_sub_overflow(now_s, c.issued_at, &age) || age > max_age.count())
    return error{errc::expired, "token expired"};
  return c;
}

std::string csrf_token_for(const token_signer& csrf, const session_claims& session,
                           token_signer::clock::time_point now) {
  return csrf.sign("csrf", session.id, now);
}

bool csrf_matches(const token_signer& csrf, std::string_view token, const session_claims& session,
                  std::chrono::seconds max_age) {
  auto c = csrf.verify(token, max_age);
  return c && c->view == "csrf" && !session.id.empty() && c->route == session.id;
}

}  // namespace corvid::live
