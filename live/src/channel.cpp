#include "corvid/live/channel.hpp"

#include <exception>

#include <boost/json.hpp>

#include "child_view.hpp"
#include "joined_view.hpp"
#include "upload_stream.hpp"
#include "component_table.hpp"
#include "corvid/live/component.hpp"
#include "corvid/live/diff.hpp"
#include "corvid/live/log.hpp"
#include "corvid/live/rendered.hpp"
#include "corvid/live/urlencoded.hpp"
#include "corvid/live/utf8.hpp"
#include "flash_token.hpp"

namespace corvid::live {

namespace json = boost::json;

// ---- router and URLs ----------------------------------------------------------------------------

namespace {
std::uint64_t micros_since(std::chrono::steady_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t).count());
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}
}  // namespace

void router::add(std::string pattern, view_factory f, std::string live_session) {
  routes_.push_back(route{std::move(pattern), std::move(f), std::move(live_session)});
}

void router::add_child(std::string name, view_factory f) { children_.insert_or_assign(std::move(name), std::move(f)); }

std::optional<router::match> router::find_child(std::string_view name) const {
  auto it = children_.find(name);
  if (it == children_.end()) return std::nullopt;
  return match{std::string(child_view_prefix) + it->first, &it->second, {}, {}, nullptr};
}

void router::set_session(std::string name, live_session_options opts) {
  sessions_.insert_or_assign(std::move(name), std::move(opts));
}

session session_of(const session_claims& c) {
  session s(c.values.begin(), c.values.end());
  s.insert_or_assign("id", c.id);  // the token's own claims win over app values of the same name
  s.insert_or_assign("view", c.view);
  s.insert_or_assign("route", c.route);
  s.insert_or_assign("live_session", c.live_session);
  return s;
}

bool run_on_mount(const router::match& m, const params& query, const session& s, socket& sock) {
  if (!m.session_opts) return true;
  for (const auto& hook : m.session_opts->on_mount)
    if (hook && !hook(query, s, sock)) return false;
  return true;
}

std::optional<router::match> router::find(std::string_view path) const {
  auto have = segments(path);
  for (auto& [pattern, factory, live_session] : routes_) {
    auto want = segments(pattern);
    if (want.size() != have.size()) continue;
    auto so = sessions_.find(live_session);
    match m{pattern, &factory, {}, live_session, so == sessions_.end() ? nullptr : &so->second};
    bool ok = true;
    for (std::size_t i = 0; ok && i < want.size(); ++i) {
      if (!want[i].empty() && want[i][0] == ':') {
        auto v = decode_url_component(have[i]);
        if (!v) ok = false;
        else m.path_params.insert_or_assign(std::string(want[i].substr(1)), std::move(*v));
      } else {
        ok = want[i] == have[i];
      }
    }
    if (ok) return m;
  }
  return std::nullopt;
}

result<url_parts> split_url(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme != std::string_view::npos && scheme < url.find_first_of("/?#")) {
    auto start = url.find_first_of("/?#", scheme + 3);
    url = start == std::string_view::npos ? std::string_view{} : url.substr(start);
  }
  if (auto h = url.find('#'); h != std::string_view::npos) url = url.substr(0, h);
  url_parts out;
  auto q = url.find('?');
  out.path = std::string(url.substr(0, q));
  // The path goes into the signed session, which is JSON: bytes that are not UTF-8 there would make
  // a token that verify() refuses, so the page could never join.
  if (!valid_utf8(out.path)) return error{errc::bad_encoding, "the URL path is not valid UTF-8"};
  if (out.path.empty()) out.path = "/";
  if (q != std::string_view::npos) {
    auto fields = decode_urlencoded(url.substr(q + 1));
    if (!fields) return fields.error();
    for (auto& [k, v] : *fields) out.query.insert_or_assign(std::move(k), std::move(v));
  }
  return out;
}

namespace {
// "http://h:4000/x?y" -> "http://h:4000"; "" for relative URLs.
std::string_view origin_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  auto end = url.find_first_of("/?#", scheme + 3);
  return url.substr(0, end);
}

std::string absolute(std::string_view base, std::string_view to) {
  if (to.find("://") != std::string_view::npos) return std::string(to);
  return std::string(origin_of(base)) + std::string(to);
}

// What a view's params are: the query string plus the route's ":name" captures.
params query_of(const url_parts& u, const router::match& m) {
  params q = u.query;
  for (auto& [k, v] : m.path_params) q.insert_or_assign(k, v);
  return q;
}

json::object reason(std::string_view why) { return json::object{{"reason", why}}; }

const char* kind_str(nav_kind k) { return k == nav_kind::push ? "push" : "replace"; }

opt_ref ref_of(const std::optional<std::string>& r) { return r ? opt_ref(*r) : std::nullopt; }

}  // namespace

// ---- channel ------------------------------------------------------------------------------------

channel::channel(const channel_config& cfg, channel_host& host)
    : cfg_(cfg),
      host_(host),
      bucket_(cfg.event_rate, cfg.event_burst),
      crashes_(cfg.view_crash_rate, cfg.view_crash_burst) {}

// Spends one token of the connection's event rate before anything is parsed; false if there is none,
// after a reply (made from the frame's head only) the client counts as done, or a close once the
// client keeps going.
bool channel::admit(std::string_view text) {
  if (overrun_ > 0 && bucket_.full()) overrun_ = 0;  // the client calmed down
  if (bucket_.take()) return true;
  if (cfg_.metrics) cfg_.metrics->reject(rejection::rate);
  if (++overrun_ >= cfg_.event_overrun_close) {
    gave_up_ = true;
    log(log_kind::client, "closing a connection that keeps sending over its event rate");
    host_.close_connection(1008);  // policy violation; the client reconnects after its backoff
  } else if (auto reply = encode_refusal(text, "rate limited")) {
    host_.send(std::move(*reply));  // an event is dropped with an ok: the user may click again
  }
  return false;
}

void channel::send_diff_frame(std::string frame) {
  if (cfg_.metrics) cfg_.metrics->diff_bytes.fetch_add(frame.size(), std::memory_order_relaxed);
  host_.send(std::move(frame));
}

channel::~channel() { close(); }

void channel::close() {
  auto views = std::move(views_);
  views_.clear();
  for (auto& [topic, v] : views) {
    v->terminate();
    forget_uploads(topic);
  }
}

void channel::handle_frame(std::string_view text) {
  if (gave_up_ || !admit(text)) return;
  auto parsed = parse_frame(text, cfg_.limits);
  if (!parsed) {  // without intact refs there is nobody to answer
    if (cfg_.metrics) cfg_.metrics->reject(rejection::malformed);
    log(log_kind::client, "malformed frame: " + parsed.error().message);
    return;
  }
  const frame& f = *parsed;
  if (f.topic == "phoenix") {
    if (f.event == "heartbeat") host_.send(encode_reply(f, reply_status::ok, json::object{}));
    else host_.send(encode_reply(f, reply_status::error, reason("unknown event")));
    return;
  }
  if (f.event == "phx_join" && f.topic.rfind("lvu:", 0) == 0) return on_upload_join(f);
  if (f.event == "phx_join") return on_join(f);
  auto it = views_.find(f.topic);
  // A push from an earlier join of the topic (the client has rejoined since) must not reach the new
  // mount; Phoenix drops it unanswered, leaves included. A join without a join_ref (protocol v1)
  // accepts every push.
  if (it != views_.end() && it->second->join_ref && f.join_ref != it->second->join_ref) return;
  if (f.event == "phx_leave") return on_leave(f);
  if (f.topic.rfind("lv:", 0) != 0) {
    host_.send(encode_reply(f, reply_status::error, reason("unmatched topic")));
    return;
  }
  if (it == views_.end()) {
    host_.send(encode_reply(f, reply_status::error, reason("unmatched topic")));
    return;
  }
  if (f.event == "event") return on_event(f);
  if (f.event == "live_patch") return on_live_patch(f);
  if (f.event == "allow_upload") return on_allow_upload(f);
  if (f.event == "progress") return on_progress(f);
  if (f.event == "cids_will_destroy" || f.event == "cids_destroyed") {
    std::vector<std::int64_t> cids;
    if (auto* c = f.payload.if_contains("cids"); c && c->is_array())
      for (auto& x : c->get_array())
        if (auto n = x.if_int64()) cids.push_back(*n);
    auto* comps = it->second->comps.get();  // null: the view places no components, so has none to drop
    if (f.event == "cids_will_destroy") {
      if (comps) comps->will_destroy(cids);
      host_.send(encode_reply(f, reply_status::ok, json::object{}));
      return;
    }
    json::array gone;  // the client forgets exactly these: a cid placed again meanwhile stays
    for (auto cid : comps ? comps->destroyed(cids) : std::vector<std::int64_t>{}) {
      forget_component_uploads(*it->second, cid);
      gone.emplace_back(cid);
    }
    host_.send(encode_reply(f, reply_status::ok, json::object{{"cids", std::move(gone)}}));
    return;
  }
  host_.send(encode_reply(f, reply_status::error, reason("unknown event: " + f.event)));
}

void channel::handle_oversized(std::string_view head, std::size_t bytes) {
  if (gave_up_) return;
  if (cfg_.metrics) cfg_.metrics->reject(rejection::frame_size);
  log(log_kind::client, "a message of " + std::to_string(bytes) + " bytes over max_frame_bytes (" +
                            std::to_string(cfg_.limits.max_bytes) + "): dropped");
  if (!admit(head)) return;
  std::optional<frame> f;
  if (auto h = parse_frame_head(head))
    f = frame{std::move(h->join_ref), std::move(h->ref), std::move(h->topic), std::move(h->event), {}};
  if (f && f->event == "phx_join" && f->topic.rfind("lv:", 0) == 0) {
    // unanswered, the client would wait out its join timeout; told, it shows why and reloads
    const std::string why = "This page's join was too large for the server (" + std::to_string(bytes) +
                            " bytes; the limit is " + std::to_string(cfg_.limits.max_bytes) + ").";
    host_.send(encode_reply(*f, reply_status::error, json::object{{"reason", "message too large"}, {"message", why}}));
    return;
  }
  if (!f || f->event != "event") return;  // nothing else the client sends grows with user input
  auto it = views_.find(f->topic);
  if (it == views_.end() || (it->second->join_ref && f->join_ref != it->second->join_ref)) return;
  // An error reply would leave the form locked, an ok one would hide the loss: the view ends visibly
  // instead. The client's form recovery sends the change again on the rejoin; that ends this view once
  // more, and the client then gives the form up (it never retries a form whose recovery failed).
  fail_view(f->topic, "an event", "was over max_frame_bytes", "message too large",
            "Your last change was too large for the server (" + std::to_string(bytes) + " bytes; the limit is " +
                std::to_string(cfg_.limits.max_bytes) + ") and was not applied.");
}

void channel::on_join(const frame& f) {
  const auto started = std::chrono::steady_clock::now();
  auto refuse = [&](json::object why) { host_.send(encode_reply(f, reply_status::error, why)); };
  if (f.topic.rfind("lv:", 0) != 0 || f.topic.size() == 3) return refuse(reason("unmatched topic"));
  auto reject = [&](rejection r, std::string_view why) {
    if (cfg_.metrics) cfg_.metrics->reject(r);
    log(log_kind::client, "join of " + log_escape(f.topic, 96) + " refused: " + std::string(why));
  };
  auto j = decode_join(f.payload);
  if (!j) {  // no session: the client reloads for a fresh one
    reject(rejection::token, "no session token");
    return refuse(reason("unauthorized"));
  }
  if (!cfg_.signer || !cfg_.routes) return refuse(reason("unauthorized"));
  auto claims = cfg_.signer->verify(j->session, cfg_.session_max_age);
  if (!claims) {
    reject(rejection::token, claims.error().message);
    return refuse(reason(claims.error().code == errc::expired ? "stale" : "unauthorized"));
  }
  if (cfg_.csrf) {  // the CSRF token must be the one issued with this session's page
    auto* t = j->params.if_contains("_csrf_token");
    if (!t || !t->is_string() || !csrf_matches(*cfg_.csrf, t->get_string(), *claims, cfg_.session_max_age)) {
      reject(rejection::csrf, "bad _csrf_token");
      return refuse(reason("unauthorized"));
    }
  }
  const std::string& url = j->redirect ? *j->redirect : j->url ? *j->url : std::string{};
  const bool child = !j->url && !j->redirect;  // a nested view (live_render): no URL of its own
  const bool child_token = claims->view.rfind(child_view_prefix, 0) == 0;
  if (child != child_token) {  // a page's token never mounts a child, nor a child's token a page
    reject(rejection::token, child ? "a child join with a page's token" : "a page join with a child view's token");
    return refuse(reason("unauthorized"));
  }
  std::optional<url_parts> parts;
  std::optional<router::match> route;
  if (child) {
    route = cfg_.routes->find_child(std::string_view(claims->view).substr(child_view_prefix.size()));
    if (!route) return refuse(reason("unauthorized"));
    route->live_session = claims->live_session;  // it lives in its parent's
  } else {
    if (url.empty()) return refuse(reason("join without url"));
    auto split = split_url(url);
    if (!split) return refuse(reason("bad url"));
    parts = std::move(*split);
    route = cfg_.routes->find(parts->path);
    if (!route) return refuse(json::object{{"redirect", json::object{{"to", parts->path}}}});
  }
  const std::string& page_path = child ? claims->route : parts->path;
  if (!host_.may_join(page_path)) {  // the page reloads: its HTTP request meets the hook
    reject(rejection::auth, "not authenticated for " + log_escape(page_path, 96));
    return refuse(reason("unauthorized"));
  }
  // A token mounts only the views of its live_session: live navigation out of it, or a token carried
  // to another page, gets "unauthorized", and the client loads the page over HTTP (and its hooks).
  if (route->live_session != claims->live_session) {
    reject(rejection::token, "a session of live_session \"" + log_escape(claims->live_session, 64) + "\" cannot mount " +
                                 log_escape(page_path, 96));
    return refuse(reason("unauthorized"));
  }

  if (auto old = views_.find(f.topic); old != views_.end()) {  // a rejoin replaces the old instance
    auto v = std::move(old->second);
    views_.erase(old);
    v->terminate();
    forget_uploads(f.topic);
  } else if (views_.size() >= cfg_.max_views) {  // each view renders on every broadcast it hears: bounded
    reject(rejection::views, "over max_views_per_connection (" + std::to_string(cfg_.max_views) + ")");
    return refuse(reason("too many views"));
  }

  std::unique_ptr<joined_view> v;
  std::optional<navigation> nav;
  bool halted = false;  // an on_mount hook stopped the mount: the view never mounted
  try {
    auto impl = (*route->factory)();
    if (!impl) return refuse(reason("no view"));
    v = std::make_unique<joined_view>(f.topic, host_.self(), host_.proc(), impl->render(), cfg_.max_components);
    v->impl = std::move(impl);
    v->join_ref = f.join_ref;
    v->pattern = route->pattern;
    v->url = url;
    // nested views inherit the page's id and live_session from its token (kept only where they can be)
    if (v->comps) v->comps->set_view_placer([this, vp = v.get(), page = *claims](const dynamic_part& slot, const value::map& args, std::string& out) {
      if (!cfg_.signer) return;
      detail::append_child_container(out, detail::child_id(args), cfg_.signer->sign(detail::child_claims(page, slot, args)),
                                     std::string_view(vp->topic).substr(3), {}, detail::child_sticky(args));
    });
    // a live redirect's flash comes with the join; a full redirect's went through the dead render
    auto carried = detail::verify_flash(cfg_.flash, j->flash.value_or(""));
    if (carried.empty() && !j->redirect && j->mounts == 0) carried = detail::verify_flash(cfg_.flash, j->static_token.value_or(""));
    if (!carried.empty()) v->sock.assign("flash", value(std::move(carried)));
    session s = session_of(*claims);
    if (child) {  // as Phoenix's nested views: no params, no handle_params; the parent's hooks have run
      v->impl->mount(params{}, s, v->sock);
      nav = v->sock.take_navigation();
    } else {
      params query = query_of(*parts, *route);
      if (!run_on_mount(*route, query, s, v->sock)) {
        halted = true;
        nav = v->sock.take_navigation();
        if (!nav) {
          reject(rejection::auth, "an on_mount hook of " + log_escape(route->pattern, 96) + " halted the mount");
          return refuse(reason("unauthorized"));
        }
      } else {
        v->impl->mount(query, s, v->sock);
        nav = v->sock.take_navigation();
        if (!nav) {
          v->impl->handle_params(query, url, v->sock);
          nav = v->sock.take_navigation();
        }
      }
    }
  } catch (const std::exception& e) {
    detail::view_threw(route->pattern, "mount", e.what());
    return refuse(reason("mount failed"));
  }

  json::object extra;
  if (nav) {
    json::object to{{"to", nav->to}};
    if (auto t = detail::sign_flash(cfg_.flash, v->sock.flash_map())) to["flash"] = *t;
    if (nav->type == navigation::kind::redirect) return refuse(json::object{{"redirect", std::move(to)}});
    auto np = split_url(nav->to);
    auto nr = np ? cfg_.routes->find(np->path) : std::nullopt;
    if (nav->type == navigation::kind::navigate || halted || !nr || nr->pattern != v->pattern) {
      to["kind"] = kind_str(nav->history);
      return refuse(json::object{{"live_redirect", std::move(to)}});
    }
    // a patch during mount: run handle_params for the new URL and tell the client to update it
    {
      v->url = absolute(url, nav->to);
      try {
        v->impl->handle_params(np->query, v->url, v->sock);
      } catch (const std::exception& e) {
        detail::view_threw(v->pattern, "handle_params", e.what());
        return refuse(reason("mount failed"));
      }
      (void)v->sock.take_navigation();
      extra["live_patch"] = json::object{{"to", nav->to}, {"kind", kind_str(nav->history)}};
    }
  }

  auto& a = v->sock.assigns();
  json::object rendered;
  try {
    rendered = render(v->tpl, a, v->st, v->comps.get());
    if (auto c = v->comp_diffs(); !c.empty()) rendered["c"] = std::move(c);
  } catch (const std::exception& e) {
    detail::view_threw(route->pattern, "render", e.what());
    return refuse(reason("mount failed"));
  }
  if (auto* t = a["page_title"].get_if<std::string>()) rendered["t"] = *t;
  a.clear_changes();
  v->sock.reset_temporary();
  v->add_events(rendered);
  if (extra.empty()) {
    host_.send(encode_join_reply(f, rendered));
  } else {
    extra["rendered"] = std::move(rendered);
    extra["liveview_version"] = json::string(liveview_version.data(), liveview_version.size());
    host_.send(encode_reply(f, reply_status::ok, extra));
  }
  if (cfg_.metrics) {
    cfg_.metrics->mounts.fetch_add(1, std::memory_order_relaxed);
    v->stats = &cfg_.metrics->views.of(v->pattern);
    v->stats->live.fetch_add(1, std::memory_order_relaxed);
    v->stats->mounts.fetch_add(1, std::memory_order_relaxed);
    v->stats->mount_us.record(micros_since(started));
  }
  views_.emplace(f.topic, std::move(v));
  ++mounts_;
}

void channel::on_leave(const frame& f) {
  host_.send(encode_reply(f, reply_status::ok, json::object{}));
  if (uploads_.count(f.topic)) return close_upload(f.topic, false);  // the client gave an upload up
  auto it = views_.find(f.topic);
  if (it == views_.end()) return;
  auto v = std::move(it->second);
  views_.erase(it);
  v->terminate();
  forget_uploads(f.topic);
}

void channel::fail_view(const std::string& topic, const char* where, const std::string& what,
                        std::string_view reason, std::string_view message) {
  auto it = views_.find(topic);
  if (it == views_.end()) return;
  auto v = std::move(it->second);
  views_.erase(it);
  log(log_kind::view, v->pattern + ": " + where + " " + what);
  if (cfg_.metrics) cfg_.metrics->view_crashes.fetch_add(1, std::memory_order_relaxed);
  // phx_error makes the client show its error state and rejoin after its backoff: a fresh mount, as
  // Phoenix does when a LiveView process crashes. What the view said stays in the server's log.
  host_.send(encode_phx_error(ref_of(v->join_ref), v->topic, reason, message));
  v->terminate();
  forget_uploads(topic);
  if (!crashes_.take()) {  // a client that keeps ending views would make every event cost a mount
    gave_up_ = true;
    log(log_kind::client, "closing a connection whose views keep failing");
    host_.close_connection(1008);
  }
}

// Carries out a navigation request. For a patch inside a request, the live_patch push goes to
// `after` (sent after the reply, whose diff holds handle_params' changes).
void channel::apply_navigation(joined_view& v, std::string* after) {
  auto nav = v.sock.take_navigation();
  if (!nav) return;
  auto jr = ref_of(v.join_ref);
  auto flash = nav->type == navigation::kind::patch ? std::nullopt : detail::sign_flash(cfg_.flash, v.sock.flash_map());
  // events pushed before leaving go out in a diff of their own, as Phoenix sends them
  if (nav->type != navigation::kind::patch && v.sock.has_events()) send_pending_diff(v);
  if (nav->type == navigation::kind::redirect) {
    host_.send(encode_redirect(jr, v.topic, nav->to, flash ? std::optional<std::string_view>(*flash) : std::nullopt));
    return;
  }
  auto parts = split_url(nav->to);
  auto route = parts ? cfg_.routes->find(parts->path) : std::nullopt;
  if (nav->type == navigation::kind::navigate || !route || route->pattern != v.pattern) {
    host_.send(encode_live_redirect(jr, v.topic, nav->to, nav->history,
                                    flash ? std::optional<std::string_view>(*flash) : std::nullopt));
    return;
  }
  // patch: same view, new params
  v.url = absolute(v.url, nav->to);
  params query = query_of(*parts, *route);
  v.impl->handle_params(query, v.url, v.sock);
  (void)v.sock.take_navigation();  // a patch inside handle_params would loop: ignored
  auto push = encode_live_patch(jr, v.topic, nav->to, nav->history);
  if (after) {
    *after = std::move(push);
  } else {
    send_pending_diff(v);  // the diff first, so the URL changes with the content
    host_.send(std::move(push));
  }
}

void channel::on_event(const frame& f) {
  const auto started = std::chrono::steady_clock::now();
  auto& v = *views_.find(f.topic)->second;
  if (cfg_.metrics) cfg_.metrics->events.fetch_add(1, std::memory_order_relaxed);
  auto ev = decode_event(f.payload);
  // Every failure below ends the view rather than answering {"status":"error"}: the client would keep
  // the element locked for good on such a reply, whereas a phx_error shows the error and rejoins.
  if (!ev) return fail_view(f.topic, "an event", "could not be decoded: " + ev.error().message);
  status st = status::ok();
  std::string after;
  json::object d;
  try {
    if (ev->name == "lv:clear-flash") {  // Phoenix's flash close button: clears value.key, or every kind
      auto key = ev->values.find("key");
      v.sock.clear_flash(key == ev->values.end() ? std::nullopt : std::optional<std::string_view>(key->second));
    } else if (ev->cid) {
      socket* cs = nullptr;
      auto* comp = v.comps ? v.comps->find(*ev->cid, cs) : nullptr;
      if (!comp) {  // a component the page still shows but the server dropped: answered, as Phoenix does
        host_.send(encode_reply(f, reply_status::ok, json::object{}));
        return;
      }
      if (auto* u = f.payload.if_contains("uploads"); u && u->is_object()) take_uploads(v, *cs, u->get_object());
      st = comp->handle_event(ev->name, *ev, *cs);
      v.adopt(*cs);
      v.comps->touched(*ev->cid);
    } else {
      // a form change carries the files chosen in its upload inputs
      if (auto* u = f.payload.if_contains("uploads"); u && u->is_object()) take_uploads(v, v.sock, u->get_object());
      st = v.impl->handle_event(ev->name, *ev, v.sock);
    }
    settle_uploads(v);
    if (!st.is_ok()) return fail_view(f.topic, "handle_event", "returned an error: " + st.reason());
    apply_navigation(v, &after);
    d = v.take_diff();
  } catch (const std::exception& e) {
    return fail_view(f.topic, "handle_event", std::string("threw: ") + e.what());
  }
  if (auto* r = st.reply_value()) d["r"] = r->to_json();  // a hook's pushEvent resolves with it
  auto reply = encode_diff_reply(f, d);
  if (v.stats) {
    const auto us = micros_since(started);
    v.stats->events.fetch_add(1, std::memory_order_relaxed);
    v.stats->diff_bytes.fetch_add(reply.size(), std::memory_order_relaxed);
    v.stats->event_us.record(us);
    if (cfg_.metrics->views.would_keep(us)) {  // the pid's text only for the few kept: not per event
      auto me = host_.self();
      cfg_.metrics->views.maybe_slow(us, v.pattern, ev->name, me.to_string(), me.id());
    }
  }
  send_diff_frame(std::move(reply));
  if (!after.empty()) host_.send(std::move(after));
}

void channel::on_live_patch(const frame& f) {
  auto& v = *views_.find(f.topic)->second;
  auto* u = f.payload.if_contains("url");
  if (!u || !u->is_string()) {
    host_.send(encode_reply(f, reply_status::error, reason("live_patch needs a string url")));
    return;
  }
  std::string url(u->get_string());
  auto parts = split_url(url);
  auto route = parts ? cfg_.routes->find(parts->path) : std::nullopt;
  if (!route || route->pattern != v.pattern) {  // another view: the client live-redirects instead
    host_.send(encode_reply(f, reply_status::ok, json::object{{"link_redirect", true}}));
    return;
  }
  v.url = url;
  params query = query_of(*parts, *route);
  std::string after;
  v.sock.clear_flash();  // as Phoenix: a patch the client asks for starts without the old message
  json::object d;
  try {
    v.impl->handle_params(query, url, v.sock);
    apply_navigation(v, &after);
    d = v.take_diff();
  } catch (const std::exception& e) {
    fail_view(f.topic, "handle_params", std::string("threw: ") + e.what());
    return;
  }
  send_diff_frame(encode_diff_reply(f, d));
  if (!after.empty()) host_.send(std::move(after));
}

void channel::handle_info(const caf::message& msg) {
  const auto* update = message_as<component_update>(msg);  // send_update: for components, not views
  bool changed = false;
  std::vector<std::string> topics;
  for (auto& [t, v] : views_) topics.push_back(t);
  for (auto& t : topics) {
    auto it = views_.find(t);
    if (it == views_.end()) continue;
    auto& v = *it->second;
    try {
      for (auto& [name, outcome] : v.sock.take_landed()) v.impl->handle_async(name, outcome, v.sock);
      if (update) {
        if (v.comps) v.comps->update(update->name, update->id, update->args);
      }
      else v.impl->handle_info(msg, v.sock);
      settle_uploads(v);
      apply_navigation(v, nullptr);
      changed = mark_changed(v) || changed;
    } catch (const std::exception& e) {
      fail_view(t, "handle_info", std::string("threw: ") + e.what());
    }
  }
  if (changed) push_changes();
}

bool channel::mark_changed(joined_view& v) {
  if (v.sock.assigns().changed().empty() && !v.sock.has_events() && !v.comps_dirty()) return false;
  v.dirty = true;
  return true;
}

// A throttle with leading and trailing edges: a change after a quiet interval costs no timer (for
// sparse broadcasts, one wake-up of the session instead of three), a burst costs one timer.
void channel::push_changes() {
  if (flush_scheduled_) return;
  const auto now = host_.now();
  if (cfg_.coalesce.count() <= 0 || !last_push_ || now - *last_push_ >= cfg_.coalesce) return flush();
  flush_scheduled_ = true;
  host_.schedule_flush(std::chrono::ceil<std::chrono::milliseconds>(*last_push_ + cfg_.coalesce - now));
}

void channel::send_pending_diff(joined_view& v) {
  if (auto body = v.take_shared_diff()) {  // rendered once for every session alike
    if (!*body) return;
    const auto head = v.diff_head();
    if (cfg_.metrics) cfg_.metrics->diff_bytes.fetch_add(head.size() + (*body)->size() + 1, std::memory_order_relaxed);
    host_.send_parts(head, std::move(*body), "]");
    return;
  }
  auto d = v.take_diff();
  if (!d.empty()) send_diff_frame(encode_diff(ref_of(v.join_ref), v.topic, d));
}

void channel::flush() {
  flush_scheduled_ = false;
  bool pushed = false;
  std::vector<std::pair<std::string, std::string>> failed;
  for (auto& [t, v] : views_) {
    try {
      if (!v->dirty) continue;
      pushed = true;
      send_pending_diff(*v);
    } catch (const std::exception& e) {
      failed.emplace_back(t, e.what());
    }
  }
  if (pushed) last_push_ = host_.now();
  for (auto& [t, what] : failed) fail_view(t, "render", std::string("threw: ") + what);
}

}  // namespace corvid::live
