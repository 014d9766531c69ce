// The upload sub-protocol of a channel: entries from form changes and preflights (allow_upload),
// one lvu:<entry ref> channel per file with its bytes in binary chunks, progress, and the files'
// removal when their entries are consumed, cancelled, or their view ends.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <system_error>

#include "joined_view.hpp"
#include "upload_stream.hpp"

namespace corvid::live {


namespace {

json::object reason(std::string_view why) { return json::object{{"reason", why}}; }

opt_ref ref_of_opt(const std::optional<std::string>& r) { return r ? opt_ref(*r) : std::nullopt; }

upload_config* config_by_ref(socket& sock, std::string_view ref) {
  if (auto* configs = sock.upload_configs_if_any())
    for (auto& [name, c] : *configs)
      if (c.ref == ref) return &c;
  return nullptr;
}

upload_entry* entry_of(upload_config& c, std::string_view ref) {
  for (auto& e : c.entries)
    if (e.ref == ref) return &e;
  return nullptr;
}

std::string string_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  return {};
}

// The entries the client lists for a config: known refs keep their state, new ones are checked
// against the options; entries no longer listed are dropped (their refs reported in `dropped`).
void list_entries(upload_config& c, const json::array& listed, std::vector<std::string>& dropped) {
  std::vector<upload_entry> next;
  for (const auto& item : listed) {
    if (next.size() > c.options.max_entries + 8) break;  // enough to say too_many_files; the rest is not kept
    if (!item.is_object()) continue;
    const auto& o = item.get_object();
    auto ref = string_of(o, "ref");
    if (ref.empty() || ref.size() > 64) continue;
    if (auto* known = entry_of(c, ref)) {
      next.push_back(std::move(*known));
      continue;
    }
    upload_entry e;
    e.ref = ref;
    e.name = string_of(o, "name").substr(0, 255);
    e.type = string_of(o, "type").substr(0, 255);
    if (auto* sz = o.if_contains("size"); sz && sz->is_int64() && sz->get_int64() >= 0)
      e.size = static_cast<std::uint64_t>(sz->get_int64());
    if (e.size > c.options.max_file_size) e.errors.push_back("too_large");
    if (!upload_accepts(c.options, e.name, e.type)) e.errors.push_back("not_accepted");
    next.push_back(std::move(e));
  }
  if (c.options.max_entries == 1 && next.size() > 1) next.erase(next.begin(), next.end() - 1);  // a new file replaces
  for (auto& old : c.entries) {
    bool kept = std::any_of(next.begin(), next.end(), [&](auto& e) { return e.ref == old.ref; });
    if (!kept) {
      if (!old.path.empty()) {
        std::error_code ec;
        std::filesystem::remove(old.path, ec);
      }
      dropped.push_back(old.ref);
    }
  }
  c.entries = std::move(next);
  c.errors.clear();
  if (c.entries.size() > c.options.max_entries) c.errors.push_back("too_many_files");
}

// The component a message names ("cid": an upload input inside a component), 0 for the view.
std::int64_t cid_of(const json::object& payload) {
  auto* c = payload.if_contains("cid");
  return c && c->is_int64() && c->get_int64() > 0 ? c->get_int64() : 0;
}

// The socket whose upload configs a message is for: the view's, or its component's; null if that
// component is gone.
template <class JoinedView>
socket* upload_socket(JoinedView& v, std::int64_t cid) {
  if (cid == 0) return &v.sock;
  socket* cs = nullptr;
  if (v.comps) v.comps->find(cid, cs);
  return cs;
}

}  // namespace

bool channel::take_uploads(joined_view& v, socket& sock, const json::object& payload) {
  bool any = false;
  std::vector<std::string> dropped;
  for (const auto& [ref, listed] : payload) {
    auto* c = config_by_ref(sock, ref);
    if (!c || !listed.is_array()) continue;
    list_entries(*c, listed.get_array(), dropped);
    any = true;
  }
  for (auto& ref : dropped) {
    close_upload("lvu:" + ref, true);
    drop_tickets(v.topic, ref);
  }
  if (any) sock.sync_uploads();
  return any;
}

void channel::drop_tickets(std::string_view view_topic, std::string_view entry) {
  for (auto it = upload_tickets_.begin(); it != upload_tickets_.end();)
    it = it->second.view_topic == view_topic && (entry.empty() || it->second.entry == entry) ? upload_tickets_.erase(it)
                                                                                               : std::next(it);
}

void channel::on_allow_upload(const frame& f) {
  auto& v = *views_.find(f.topic)->second;
  auto ref = string_of(f.payload, "ref");
  const auto cid = cid_of(f.payload);
  auto* sock = upload_socket(v, cid);
  auto* c = sock ? config_by_ref(*sock, ref) : nullptr;
  auto* listed = f.payload.if_contains("entries");
  if (!c || !listed || !listed->is_array()) {  // an upload the view no longer allows: nothing to send
    host_.send(encode_reply(f, reply_status::ok, json::object{{"ref", ref}, {"error", json::array{json::array{ref, "disallowed"}}}}));
    return;
  }
  // the preflight's list is authoritative: entries are checked again, whatever the change said
  json::object wrapper{{ref, *listed}};
  take_uploads(v, *sock, wrapper);
  c = config_by_ref(*sock, ref);
  auto diff = [&] {  // a component's entries show in its own render
    if (cid && v.comps) v.comps->touched(cid);
    return v.take_diff();
  };
  if (c->options.external) {
    presign(v, *sock, *c);
    sock->sync_uploads();
  }
  json::array errors;
  if (!c->errors.empty()) errors.push_back(json::array{c->ref, c->errors.front()});
  for (auto& e : c->entries)
    for (auto& why : e.errors) errors.push_back(json::array{e.ref, why});
  json::object reply{{"ref", c->ref}};
  if (!errors.empty() && !c->options.auto_upload) {  // the client unlocks the form and drops these files
    reply["error"] = std::move(errors);
    auto d = diff();
    if (!d.empty()) reply["diff"] = std::move(d);
    host_.send(encode_reply(f, reply_status::ok, reply));
    return;
  }
  json::object tokens;  // per entry: the token of its upload channel, or an external upload's meta
  std::size_t n = 0;
  for (auto& e : c->entries) {
    if (!e.errors.empty() || ++n > c->options.max_entries) continue;  // missing: the client cancels it
    e.preflighted = true;
    if (c->options.external) {
      tokens[e.ref] = value(e.meta).to_json();
      continue;
    }
    auto token = token_signer::random_base64url(18);
    upload_tickets_[token] = upload_ticket{v.topic, c->name, e.ref, cid};
    tokens[e.ref] = token;
  }
  sock->sync_uploads();
  reply["config"] = json::object{{"max_file_size", c->options.max_file_size},
                                 {"max_entries", c->options.max_entries},
                                 {"chunk_size", c->options.chunk_size},
                                 {"chunk_timeout", c->options.chunk_timeout.count()}};
  reply["entries"] = std::move(tokens);
  reply["errors"] = json::object{};
  auto d = diff();
  if (!d.empty()) reply["diff"] = std::move(d);
  host_.send(encode_reply(f, reply_status::ok, reply));
}

// Runs an external config's presign on each entry not yet given its meta: the meta, or an error.
void channel::presign(joined_view& v, socket& sock, upload_config& c) {
  std::size_t n = 0;
  for (auto& e : c.entries) {
    if (!e.errors.empty() || ++n > c.options.max_entries || !e.meta.empty()) continue;
    external_upload x;
    try {
      x = c.options.external(e, sock);
    } catch (const std::exception& ex) {
      detail::view_threw(v.pattern, "an external upload's presign", ex.what());
      x.error = "external_failed";
    }
    if (x.error.empty() && x.meta.find("uploader") == x.meta.end()) x.error = "external_failed";  // nothing to run it
    if (!x.error.empty()) e.errors.push_back(x.error.substr(0, 64));
    else e.meta = std::move(x.meta);
  }
}

void channel::on_upload_join(const frame& f) {
  auto fail = [&](std::string_view why) { host_.send(encode_reply(f, reply_status::error, reason(why))); };
  auto token = string_of(f.payload, "token");
  auto t = upload_tickets_.find(token);
  if (t == upload_tickets_.end()) return fail("invalid_token");
  if (uploads_.count(f.topic)) return fail("already_registered");
  const upload_ticket ticket = t->second;
  if (f.topic != "lvu:" + ticket.entry) return fail("invalid_token");
  auto vit = views_.find(ticket.view_topic);
  if (vit == views_.end()) return fail("disallowed");
  auto* sock = upload_socket(*vit->second, ticket.cid);
  if (!sock) return fail("disallowed");  // its component is gone
  auto cit = sock->upload_configs().find(ticket.config);
  upload_entry* e = cit == sock->upload_configs().end() ? nullptr : entry_of(cit->second, ticket.entry);
  if (!e || !e->errors.empty()) return fail("disallowed");

  auto s = std::make_unique<upload_stream>();
  auto* budget = cfg_.upload_bytes ? cfg_.upload_bytes : &own_upload_bytes_;
  if (budget->fetch_add(e->size) + e->size > cfg_.upload_bytes_total) {
    budget->fetch_sub(e->size);
    log(log_kind::client, "an upload of " + std::to_string(e->size) + " bytes refused: upload_bytes_total is reached");
    return fail("disallowed");
  }
  s->budget = budget;
  s->size = e->size;
  auto dir = cfg_.upload_dir.empty() ? std::filesystem::temp_directory_path() : cfg_.upload_dir;
  std::string name = (dir / "corvid-upload-XXXXXX").string();
  s->fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (s->fd < 0) {
    log(log_kind::client, "an upload could not get a file in " + dir.string() + ": " + std::strerror(errno));
    return fail("writer_error");
  }
  s->path = name;
  s->join_ref = f.join_ref;
  s->view_topic = ticket.view_topic;
  s->config = ticket.config;
  s->entry = ticket.entry;
  s->cid = ticket.cid;
  e->path = s->path;
  upload_tickets_.erase(t);  // one join per token
  uploads_.emplace(f.topic, std::move(s));
  host_.send(encode_reply(f, reply_status::ok, json::object{}));
}

void channel::handle_binary(std::string_view bytes) {
  if (gave_up_) return;
  auto b = parse_binary_frame(bytes);
  if (!b) {
    if (cfg_.metrics) cfg_.metrics->reject(rejection::malformed);
    log(log_kind::client, "malformed binary message: " + b.error().message);
    return;
  }
  opt_ref jr = b->join_ref.empty() ? std::nullopt : opt_ref(b->join_ref);
  opt_ref ref = b->ref.empty() ? std::nullopt : opt_ref(b->ref);
  auto reply = [&](reply_status st, const json::object& r) { host_.send(encode_reply(jr, ref, b->topic, st, r)); };
  auto it = uploads_.find(b->topic);
  // binary pushes exist only for uploads; a chunk's size is bounded by its entry's declared size
  if (it == uploads_.end() || b->event != "chunk") return reply(reply_status::error, reason("unmatched topic"));
  auto& s = *it->second;
  if (s.written + b->payload.size() > s.size) {  // more than declared: the file is refused
    json::object r{{"reason", "file_size_limit_exceeded"}, {"limit", s.size}};
    reply(reply_status::error, r);
    return close_upload(it->first, true);
  }
  std::size_t done = 0;
  while (done < b->payload.size()) {
    auto n = ::write(s.fd, b->payload.data() + done, b->payload.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log(log_kind::client, std::string("an upload could not be written: ") + std::strerror(errno));
      reply(reply_status::error, reason("writer_error"));
      return close_upload(it->first, true);
    }
    done += static_cast<std::size_t>(n);
  }
  s.written += done;
  reply(reply_status::ok, json::object{});
}

void channel::on_progress(const frame& f) {
  auto& v = *views_.find(f.topic)->second;
  const auto cid = cid_of(f.payload);
  auto* sock = upload_socket(v, cid);
  auto* c = sock ? config_by_ref(*sock, string_of(f.payload, "ref")) : nullptr;
  upload_entry* e = c ? entry_of(*c, string_of(f.payload, "entry_ref")) : nullptr;
  if (e) {
    auto* p = f.payload.if_contains("progress");
    if (p && p->is_int64()) {
      e->progress = static_cast<int>(std::clamp<std::int64_t>(p->get_int64(), 0, 100));
      auto s = uploads_.find("lvu:" + e->ref);
      // done only when every declared byte has arrived, whatever the client says; an external
      // upload's bytes went elsewhere: the page's uploader is the only witness
      if (e->progress == 100)
        e->done = c->options.external ? e->preflighted
                                      : s != uploads_.end() && s->second->written == s->second->size;
    } else if (p && p->is_object()) {  // the client's own failure (its upload channel errored)
      auto why = string_of(p->get_object(), "error");
      e->errors.push_back(why.empty() ? "failed" : why.substr(0, 64));
    }
    sock->sync_uploads();
    if (cid && v.comps) v.comps->touched(cid);
  }
  json::object d;
  try {
    d = v.take_diff();
  } catch (const std::exception& ex) {
    return fail_view(f.topic, "render", std::string("threw: ") + ex.what());
  }
  send_diff_frame(encode_diff_reply(f, d));
}

void channel::settle_uploads(joined_view& v) {
  auto settle = [&](socket& sock) {
    for (auto& ref : sock.take_dropped_uploads()) {
      close_upload("lvu:" + ref, false);
      drop_tickets(v.topic, ref);
    }
  };
  settle(v.sock);
  if (v.comps) v.comps->for_each_socket([&](std::int64_t, socket& s) { settle(s); });
}

void channel::forget_component_uploads(joined_view& v, std::int64_t cid) {
  std::vector<std::string> topics;
  for (auto& [topic, s] : uploads_)
    if (s->view_topic == v.topic && s->cid == cid) topics.push_back(topic);
  for (auto& t : topics) close_upload(t, true);
  for (auto it = upload_tickets_.begin(); it != upload_tickets_.end();)
    it = it->second.view_topic == v.topic && it->second.cid == cid ? upload_tickets_.erase(it) : std::next(it);
}

void channel::close_upload(std::string topic, bool remove_file) {
  auto it = uploads_.find(topic);
  if (it == uploads_.end()) return;
  auto s = std::move(it->second);
  uploads_.erase(it);
  host_.send(encode_phx_close(ref_of_opt(s->join_ref), topic));  // the client stops sending chunks
  if (remove_file) {
    std::error_code ec;
    std::filesystem::remove(s->path, ec);
  }
}

void channel::forget_uploads(std::string_view view_topic) {
  std::vector<std::string> topics;
  for (auto& [topic, s] : uploads_)
    if (s->view_topic == view_topic) topics.push_back(topic);
  for (auto& t : topics) close_upload(t, true);
  drop_tickets(view_topic, {});
}

}  // namespace corvid::live
