// The first, "dead" HTTP render of a live route: the whole HTML page around the view's container.
#pragma once

#include <string>
#include <string_view>

#include "corvid/live/channel.hpp"
#include "corvid/live/result.hpp"
#include "corvid/live/token.hpp"

namespace corvid::live {

/// What goes around every page.
struct page_options {
  std::string title = "corvid";           ///< default <title> (a view's "page_title" assign wins)
  std::string title_suffix = " · corvid";  ///< appended by the client to live titles
  std::string head_html;                   ///< extra markup for <head> (styles, scripts)
  std::string asset_prefix = "/assets";    ///< where phoenix.min.js, phoenix_live_view.min.js, corvid_boot.js are served
  unsigned longpoll_fallback_ms = 2500;    ///< the client switches to long-poll when its websocket has not opened by
                                           ///< then (and remembers it for the tab); 0 = websocket only
};

/// A dead render: the page, or where to send the browser instead.
struct dead_render {
  std::string html;         ///< the whole page
  std::string redirect_to;  ///< set instead: an on_mount hook halted with a redirect (answer 302)
};

/// Renders `target` ("/counter?step=2") through its route: the live_session's on_mount hooks, mount (not
/// connected), handle_params and the template, in a container with a fresh signed session. Errors:
/// not_found (no route), bad_encoding (query, or a path that is not UTF-8), io_error (the view threw;
/// message says where), forbidden (an on_mount hook halted without a redirect).
/// `flash`/`flash_token`: a full redirect's flash (the client's __phoenix_flash__ cookie), verified with
/// that signer: the dead render's mount sees it, and it rides in data-phx-static to the first join.
/// `session_values` go into the signed session (see server_options::session_values).
result<dead_render> render_page(const router& routes, const token_signer& sessions, const token_signer& csrf,
                                std::string_view target, const page_options& opts = {},
                                const token_signer* flash = nullptr, std::string_view flash_token = {},
                                params session_values = {});

}  // namespace corvid::live
