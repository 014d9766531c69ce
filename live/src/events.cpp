#include "corvid/live/events.hpp"

#include <cstdint>

#include <boost/json.hpp>

#include "corvid/live/form_params.hpp"

namespace corvid::live {

namespace json = boost::json;

namespace {

std::string as_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.get_string());
    case json::kind::null: return {};
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    default: return json::serialize(v);
  }
}

event_kind kind_of(std::string_view type) {
  if (type == "click") return event_kind::click;
  if (type == "form") return event_kind::form;
  if (type == "keyup") return event_kind::keyup;
  if (type == "keydown") return event_kind::keydown;
  if (type == "focus") return event_kind::focus;
  if (type == "blur") return event_kind::blur;
  if (type == "hook") return event_kind::hook;
  return event_kind::other;
}

// to_number() would throw on a uint64 beyond int64; untrusted input must not throw.
std::optional<std::int64_t> as_int(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  return std::nullopt;
}

error bad(std::string msg) { return error{errc::bad_payload, std::move(msg)}; }

// An optional string member: absent or null is nullopt, another type is an error.
bool opt_string(const json::object& o, std::string_view key, std::optional<std::string>& out, std::string& err) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return true;
  if (!v->is_string()) {
    err = std::string(key) + " must be a string";
    return false;
  }
  out.emplace(v->get_string());
  return true;
}

}  // namespace

result<live_event> decode_event(const json::object& payload) {
  live_event ev;
  auto* type = payload.if_contains("type");
  auto* name = payload.if_contains("event");
  if (!type || !type->is_string()) return bad("event payload needs a string \"type\"");
  if (!name || !name->is_string()) return bad("event payload needs a string \"event\"");
  ev.type = type->get_string();
  ev.name = name->get_string();
  ev.kind = kind_of(ev.type);
  if (auto* cid = payload.if_contains("cid"); cid && !cid->is_null()) {
    ev.cid = as_int(*cid);
    if (!ev.cid) return bad("\"cid\" must be an integer");
  }
  if (auto* v = payload.if_contains("value")) ev.raw = *v;

  if (ev.kind == event_kind::form) {
    if (!ev.raw.is_string()) return bad("form event \"value\" must be a urlencoded string");
    auto fields = decode_urlencoded(ev.raw.get_string());
    if (!fields) return fields.error();
    ev.fields = std::move(*fields);
    for (auto& [k, v] : ev.fields) ev.values.insert_or_assign(k, v);
    ev.form = nest_params(ev.fields);
    if (auto* meta = payload.if_contains("meta"); meta && meta->is_object()) {
      for (auto& kv : meta->get_object()) {
        if (kv.key() == "_target") {
          if (!kv.value().is_string()) continue;
          ev.target.emplace(kv.value().get_string());
          json::array path;
          for (auto& seg : key_path(*ev.target))
            if (!seg.empty()) path.emplace_back(json::string_view(seg.data(), seg.size()));
          ev.form["_target"] = std::move(path);
        } else {
          ev.values.emplace(std::string(kv.key()), as_text(kv.value()));  // fields win over meta
          if (!ev.form.contains(kv.key())) ev.form.emplace(kv.key(), kv.value());
        }
      }
    }
    return ev;
  }
  if (ev.kind == event_kind::hook) return ev;  // arbitrary JSON: the view reads `raw`

  if (ev.raw.is_object()) {
    for (auto& kv : ev.raw.get_object()) ev.values.emplace(std::string(kv.key()), as_text(kv.value()));
  } else if (!ev.raw.is_null()) {
    return bad("\"value\" of a " + ev.type + " event must be an object");
  }
  // The client itself sends key events without "key" (e.g. when the browser autofills an input);
  // refusing them would leave the input waiting on a reply that is an error.
  if (ev.kind == event_kind::keyup || ev.kind == event_kind::keydown)
    if (auto it = ev.values.find("key"); it != ev.values.end()) ev.key = it->second;
  return ev;
}

result<join_request> decode_join(const json::object& payload) {
  join_request j;
  std::string err;
  auto* session = payload.if_contains("session");
  if (!session || !session->is_string()) return bad("join payload needs a string \"session\"");
  j.session = session->get_string();
  if (!opt_string(payload, "url", j.url, err) || !opt_string(payload, "redirect", j.redirect, err) ||
      !opt_string(payload, "static", j.static_token, err) || !opt_string(payload, "flash", j.flash, err))
    return bad(std::move(err));
  if (auto* p = payload.if_contains("params"); p && !p->is_null()) {
    if (!p->is_object()) return bad("\"params\" must be an object");
    j.params = p->get_object();
    if (auto* m = j.params.if_contains("_mounts")) j.mounts = as_int(*m).value_or(0);
  }
  if (auto* s = payload.if_contains("sticky"); s && !s->is_null()) {
    if (!s->is_bool()) return bad("\"sticky\" must be a bool");
    j.sticky = s->get_bool();
  }
  return j;
}

}  // namespace corvid::live
