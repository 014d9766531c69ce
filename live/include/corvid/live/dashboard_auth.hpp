// Authentication hooks for protected paths of a live server (the dashboard, /metrics).
//
// A hook sees each HTTP request for a protected path, and each websocket upgrade, and decides:
// allow (optionally setting a cookie), deny (HTTP 401, optionally with a WWW-Authenticate
// challenge) or redirect (HTTP 303, e.g. to drop a token from the URL once it became a cookie).
// A websocket whose upgrade a hook denied cannot join a live view under that hook's paths.
//
//   srv.protect("/dashboard", corvid::live::credentials_hook({.token = "..."}));
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::live {

/// What a hook sees of a request.
struct auth_request {
  std::string_view path;           ///< "/dashboard/processes" (no query)
  std::string_view query;          ///< raw query string, without '?'
  std::string_view authorization;  ///< the Authorization header ("" = none)
  std::string_view cookie;         ///< the Cookie header ("" = none)
  bool websocket = false;          ///< a websocket upgrade (path is the socket's, not a view's)
};

/// A hook's answer.
struct auth_decision {
  enum class kind { allow, deny, redirect } outcome = kind::deny;
  std::string location;    ///< redirect: where to
  std::string set_cookie;  ///< allow/redirect: a Set-Cookie header value ("" = none)
  std::string challenge;   ///< deny: a WWW-Authenticate header value ("" = none)

  static auth_decision allow(std::string set_cookie = {}) { return {kind::allow, {}, std::move(set_cookie), {}}; }
  static auth_decision deny(std::string challenge = {}) { return {kind::deny, {}, {}, std::move(challenge)}; }
  static auth_decision redirect(std::string to, std::string set_cookie) {
    return {kind::redirect, std::move(to), std::move(set_cookie), {}};
  }
};

/// Decides one request; called on the server's I/O threads (must be thread-safe and quick).
using auth_hook = std::function<auth_decision(const auth_request&)>;

/// Credentials from configuration: a bearer token, HTTP basic auth, or both.
///
/// A browser gets in with either:
///  - `/dashboard?token=T`: the server answers 303 to the same URL without the token and sets an
///    HttpOnly, SameSite=Strict cookie (a MAC of the token, not the token) that later page loads and
///    the websocket carry; or
///  - basic auth (the browser asks for user and password after the 401), which also sets the cookie.
/// Scripts send `Authorization: Bearer T` (e.g. a Prometheus scraper for /metrics).
struct credentials {
  std::string token;                          ///< bearer token ("" = none); at least 16 bytes
  std::string user, password;                 ///< basic auth ("" = none)
  std::string cookie = "corvid_dashboard";    ///< the cookie's name
  std::string realm = "corvid dashboard";     ///< shown by the browser's basic-auth prompt
};

/// Whether any credential is set.
bool configured(const credentials& c) noexcept;
/// "" if `c` is usable, else why not (a token shorter than 16 bytes, a user without password...).
std::string check(const credentials& c);
/// The hook for `c` (which must be configured()).
auth_hook credentials_hook(credentials c);
/// A fresh random token (32 random bytes, base64url), e.g. printed by a program at start-up.
std::string random_token();

/// The value of cookie `name` in a Cookie header, or nullopt.
std::optional<std::string_view> cookie_of(std::string_view header, std::string_view name);

}  // namespace corvid::live
