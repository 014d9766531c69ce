// The convention's pages: a participant's (join, see the motion, vote), the chair's (admins:
// participants, tallies, events, open a motion) in a safe and a naive variant, and the page
// that explains a refused /admin.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "corvid/live/result.hpp"
#include "corvid/live/template.hpp"
#include "corvid/live/view.hpp"
#include "hall.hpp"

namespace convention {

/// The templates, parsed once at start-up.
struct page_templates {
  corvid::live::html_template participant, admin, admin_naive, denied;
  /// Loads them from `dir`; an error text on failure.
  static corvid::live::result<page_templates, std::string> load(const std::filesystem::path& dir);
};

/// `/` and `/join`.
std::unique_ptr<corvid::live::view> make_participant_view(hall& h, const page_templates& t);
/// `/admin`, behind the admin token: streams (safe) or re-rendered lists (naive), per h.settings().
std::unique_ptr<corvid::live::view> make_admin_view(hall& h, const page_templates& t);
std::unique_ptr<corvid::live::view> make_admin_naive_view(hall& h, const page_templates& t);
/// `/admin-denied`: where a request for /admin without the token is sent.
std::unique_ptr<corvid::live::view> make_denied_view(const page_templates& t);

}  // namespace convention
