#include "corvid/live/dashboard_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "base64url.hpp"
#include "corvid/live/urlencoded.hpp"

namespace corvid::live {

namespace {

bool same(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The cookie's value: a MAC of the credentials (the cookie never holds the token or the password).
std::string cookie_value(const credentials& c) {
  const std::string key = c.token + '\n' + c.user + '\n' + c.password;
  static constexpr std::string_view label = "corvid.live.dashboard.cookie";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(label.data()),
       label.size(), mac, &n);
  return detail::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), n));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Scheme rest" with a case-insensitive scheme.
std::optional<std::string_view> after_scheme(std::string_view header, std::string_view scheme) {
  header = trim(header);
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != std::tolower(static_cast<unsigned char>(scheme[i])))
      return std::nullopt;
  return trim(header.substr(scheme.size() + 1));
}

// Standard base64 (basic auth) through the base64url decoder.
std::optional<std::string> decode_base64(std::string_view s) {
  std::string t;
  for (char c : s) {
    if (c == '=') break;
    t += c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return detail::base64url_decode(t);
}

}  // namespace

std::optional<std::string_view> cookie_of(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto item = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) return item.substr(eq + 1);
  }
  return std::nullopt;
}

bool configured(const credentials& c) noexcept { return !c.token.empty() || !c.user.empty() || !c.password.empty(); }

std::string check(const credentials& c) {
  if (!configured(c)) return "no token and no user/password";
  if (!c.token.empty() && c.token.size() < 16) return "the token has " + std::to_string(c.token.size()) +
                                                      " bytes: use at least 16 (random_token() makes one)";
  if (c.user.empty() != c.password.empty()) return "basic auth needs both a user and a password";
  if (c.user.find(':') != std::string::npos) return "a basic-auth user cannot contain ':'";
  if (c.cookie.empty()) return "no cookie name";
  return {};
}

auth_hook credentials_hook(credentials c) {
  const std::string mac = cookie_value(c);
  const std::string set = c.cookie + "=" + mac + "; Path=/; HttpOnly; SameSite=Strict";
  std::string challenge;
  if (!c.user.empty()) challenge = "Basic realm=\"" + c.realm + "\", charset=\"UTF-8\"";
  return [c = std::move(c), mac, set, challenge](const auth_request& r) -> auth_decision {
    const bool has_cookie = [&] {
      auto v = cookie_of(r.cookie, c.cookie);
      return v && same(*v, mac);
    }();
    if (has_cookie) return auth_decision::allow();
    if (!c.token.empty())
      if (auto t = after_scheme(r.authorization, "Bearer"); t && same(*t, c.token)) return auth_decision::allow(set);
    if (!c.user.empty())
      if (auto b = after_scheme(r.authorization, "Basic"))
        if (auto up = decode_base64(*b); up && same(*up, c.user + ":" + c.password)) return auth_decision::allow(set);
    if (!c.token.empty() && !r.websocket) {  // ?token=T: becomes the cookie, the URL loses the token
      bool ok = false;
      std::string rest;
      std::string_view q = r.query;
      while (!q.empty()) {
        auto amp = q.find('&');
        auto item = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (item.rfind("token=", 0) == 0) {
          auto v = decode_url_component(item.substr(6));
          ok = v && same(*v, c.token);
        } else if (!item.empty()) {
          rest += rest.empty() ? '?' : '&';
          rest += item;
        }
      }
      if (ok) return auth_decision::redirect(std::string(r.path) + rest, set);
    }
    return auth_decision::deny(challenge);
  };
}

std::string random_token() {
  std::string bytes(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1) std::abort();
  return detail::base64url_encode(bytes);
}

}  // namespace corvid::live
