#include "corvid/live/page.hpp"

#include <exception>
#include <stdexcept>

#include "corvid/live/escape.hpp"
#include "corvid/live/rendered.hpp"
#include "child_view.hpp"
#include "component_table.hpp"
#include "flash_token.hpp"

namespace corvid::live {

namespace {
// The table a dead render places components and nested views with: a {% live_render %} is inlined
// (mounted, not connected) in a container the client joins once the page's view has joined.
struct dead_table {
  const router& routes;
  const token_signer& sessions;
  detail::component_table comps{false, {}, nullptr, channel_config{}.max_components};
  dead_table(const router& r, const token_signer& signer, const session_claims& page, std::string parent_id)
      : routes(r), sessions(signer) {
    comps.set_view_placer([this, page, parent_id](const dynamic_part& slot, const value::map& args, std::string& out) {
      auto m = routes.find_child(slot.fn_name);
      if (!m) throw std::invalid_argument("{% live_render " + slot.fn_name + " %}: no such child view (server::live_child)");
      auto impl = (*m->factory)();
      if (!impl) throw std::invalid_argument("the factory of child view " + slot.fn_name + " made no view");
      live::socket sock{false, {}};
      auto claims = detail::child_claims(page, slot, args);
      impl->mount(params{}, session_of(claims), sock);
      dead_table nested(routes, sessions, claims, detail::child_id(args));
      auto inner = render_html(impl->render(), sock.assigns(), &nested.comps);
      // a sticky view joins at connect, from this very element: it needs its token now; a child
      // joins after its parent, from the parent's connected render
      const bool sticky = detail::child_sticky(args);
      detail::append_child_container(out, detail::child_id(args), sticky ? sessions.sign(claims) : std::string{}, parent_id,
                                     inner, sticky);
    });
  }
};
}  // namespace

result<dead_render> render_page(const router& routes, const token_signer& sessions, const token_signer& csrf,
                                std::string_view target, const page_options& opts, const token_signer* flash,
                                std::string_view flash_token, params session_values) {
  auto parts = split_url(target);
  if (!parts) return parts.error();
  auto route = routes.find(parts->path);
  if (!route) return error{errc::not_found, "no live route for " + parts->path};

  session_claims claims{route->pattern, parts->path,
                        std::chrono::duration_cast<std::chrono::seconds>(
                            token_signer::clock::now().time_since_epoch()).count(),
                        token_signer::random_base64url(16), route->live_session,
                        {session_values.begin(), session_values.end()}};
  const std::string id = "phx-" + token_signer::random_base64url(9);  // the container's: children name it
  std::string body, title = opts.title;
  try {
    auto impl = (*route->factory)();
    if (!impl) return error{errc::not_found, "the factory of " + route->pattern + " made no view"};
    live::socket sock{false, {}};
    auto carried = detail::verify_flash(flash, flash_token);
    if (carried.empty()) flash_token = {};  // nothing valid to hand on to the join
    else sock.assign("flash", value(std::move(carried)));
    params query = parts->query;
    for (auto& [k, v] : route->path_params) query.insert_or_assign(k, v);
    session s = session_of(claims);
    if (!run_on_mount(*route, query, s, sock)) {  // nothing of the view is rendered past a halting hook
      if (auto nav = sock.take_navigation()) return dead_render{{}, nav->to};
      return error{errc::forbidden, route->pattern + ": an on_mount hook halted the dead render"};
    }
    impl->mount(query, s, sock);
    if (auto nav = sock.take_navigation(); !nav) impl->handle_params(query, std::string(target), sock);
    dead_table table(routes, sessions, claims, id);
    body = render_html(impl->render(), sock.assigns(), &table.comps);
    if (auto* t = sock["page_title"].get_if<std::string>()) title = *t;
  } catch (const std::exception& e) {
    return error{errc::io_error, route->pattern + ": the dead render threw: " + e.what()};
  }

  const std::string token = sessions.sign(claims);
  std::string page;
  page.reserve(body.size() + 1024);
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"csrf-token\" content=\"";
  append_escaped(page, csrf_token_for(csrf, claims));
  page += "\">\n";
  if (opts.longpoll_fallback_ms > 0) {  // read by corvid_boot.js
    page += "<meta name=\"corvid-longpoll-fallback-ms\" content=\"";
    page += std::to_string(opts.longpoll_fallback_ms);
    page += "\">\n";
  }
  page += "<title data-suffix=\"";
  append_escaped(page, opts.title_suffix);
  page += "\">";
  append_escaped(page, title);
  append_escaped(page, opts.title_suffix);
  page += "</title>\n";
  for (const char* js : {"phoenix.min.js", "phoenix_live_view.min.js", "corvid_boot.js"}) {
    page += "<script defer phx-track-static src=\"";
    append_escaped(page, opts.asset_prefix);
    page += '/';
    page += js;
    page += "\"></script>\n";
  }
  page += opts.head_html;
  page += "</head>\n<body>\n<div id=\"";
  page += id;
  page += "\" data-phx-main data-phx-session=\"";
  append_escaped(page, token);
  page += "\" data-phx-static=\"";
  append_escaped(page, flash_token);
  page += "\">";
  page += body;
  page += "</div>\n</body>\n</html>\n";
  return dead_render{std::move(page), {}};
}

}  // namespace corvid::live
