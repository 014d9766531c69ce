// The flash as it travels between views: a signed token (60 s, as Phoenix) in a live_redirect,
// a redirect's __phoenix_flash__ cookie, the next join and the dead render's data-phx-static.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "corvid/live/token.hpp"
#include "corvid/live/value.hpp"

namespace corvid::live::detail {

/// How long a flash token is accepted: long enough for the client's next join or page load.
inline constexpr std::chrono::seconds flash_max_age{60};
/// The cookie the client sets for a full redirect that carries a flash.
inline constexpr std::string_view flash_cookie = "__phoenix_flash__";

/// `flash` (kind -> message) signed by `signer`, or nothing for no signer or an empty flash.
std::optional<std::string> sign_flash(const token_signer* signer, const value::map& flash);
/// The flash of a token; an invalid, foreign or stale token (or none) is an empty flash.
value::map verify_flash(const token_signer* signer, std::string_view token);

}  // namespace corvid::live::detail
