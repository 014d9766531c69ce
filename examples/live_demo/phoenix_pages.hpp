// The demo's pages of Phoenix features a ported app needs: /flash (put_flash, lv:clear-flash, a flash
// across live navigation), /hooks (push_event to a hook, a hook's pushEvent answered with a reply)
// /form (form params nested as Phoenix gives them), /components (stateful components with their
// own events, send_update, and removal), /nested (a child live view, live_render), /upload (files in
// chunks over the socket, consumed on submit), and /private
// behind /login (a live_session whose on_mount hook wants a user in the session).
#pragma once

#include <filesystem>
#include <string>

#include "corvid/live/server.hpp"

namespace demo {

/// Loads flash.html, hooks.html, form.html, components.html, card.html, login.html, private.html, nested.html, child.html and upload.html from `templates` and routes their views; "" or an error.
std::string add_phoenix_pages(corvid::live::server& srv, const std::filesystem::path& templates);

/// server_options::session_values: the user of the demo_user cookie /login sets (lowercase letters and digits).
corvid::live::params session_values(const corvid::live::auth_request& req);

/// The demo's hooks (window.corvidHooks) for page_options::head_html.
extern const char* hooks_script;

}  // namespace demo
