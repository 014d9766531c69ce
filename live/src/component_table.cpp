#include "component_table.hpp"

#include <filesystem>
#include <stdexcept>
#include <unordered_map>
#include <system_error>

#include <boost/json.hpp>

#include "corvid/live/diff.hpp"
#include "eval.hpp"

namespace corvid::live::detail {

namespace json = boost::json;

struct component_table::entry {
  std::string name;
  value id;
  std::unique_ptr<component> impl;
  socket sock;
  html_template tpl;
  render_state st;
  bool sent = false;    // the client has its statics
  bool doomed = false;  // cids_will_destroy named it and no render placed it since

  entry(bool connected, corvid::pid self, html_template t) : sock(connected, std::move(self)), tpl(std::move(t)) {}
  ~entry() { remove_upload_files(sock); }  // files never consumed go with their component
};

void remove_upload_files(socket& sock) noexcept {
  auto* configs = sock.upload_configs_if_any();  // every view ends here: most have none
  if (!configs) return;
  for (auto& [name, c] : *configs)
    for (auto& e : c.entries)
      if (!e.path.empty()) {
        std::error_code ec;
        std::filesystem::remove(e.path, ec);
      }
}

void component_table::for_each_socket(const std::function<void(std::int64_t, socket&)>& fn) {
  for (auto& [cid, e] : by_cid_) fn(cid, e->sock);
}

component_table::component_table(bool connected, corvid::pid self, corvid::process* proc, std::size_t max_components)
    : connected_(connected), self_(std::move(self)), proc_(proc), max_(max_components) {}

component_table::~component_table() = default;

std::string component_table::key_of(const std::string& name, const value& id) {
  std::string k = name;
  k += '\0';
  k += json::serialize(id.to_json());
  return k;
}

component_table::entry& component_table::make(const dynamic_part& slot, const value& id, std::int64_t cid) {
  auto impl = (*slot.component)();
  if (!impl) throw std::runtime_error("component '" + slot.fn_name + "': the factory made nothing");
  auto e = std::make_unique<entry>(connected_, self_, impl->render());
  e->name = slot.fn_name;
  e->id = id;
  e->impl = std::move(impl);
  e->sock.attach(proc_);
  e->sock.assign("myself", value(cid));
  auto& ref = *e;
  by_cid_.emplace(cid, std::move(e));
  return ref;
}

namespace {
const value& id_arg(const dynamic_part& slot, const value::map& args) {
  auto it = args.find("id");
  if (it == args.end() || it->second.is_null())
    throw std::invalid_argument("{% live_component " + slot.fn_name + " %}: its id is null (every instance needs one)");
  return it->second;
}
}  // namespace

std::int64_t component_table::place(const dynamic_part& slot, value::map args) {
  const value& id = id_arg(slot, args);
  auto key = key_of(slot.fn_name, id);
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    auto& e = *by_cid_.at(it->second);
    e.doomed = false;
    e.impl->update(args, e.sock);
    touched(it->second);
    return it->second;
  }
  if (by_cid_.size() >= max_)
    throw std::length_error("more than " + std::to_string(max_) + " components in one view (channel_options::max_components)");
  auto cid = next_cid_++;
  auto& e = make(slot, id, cid);
  by_key_.emplace(std::move(key), cid);
  e.impl->mount(e.sock);
  e.impl->update(args, e.sock);
  dirty_.insert(cid);
  return cid;
}

void component_table::place_html(const dynamic_part& slot, value::map args, std::string& out) {
  auto cid = next_cid_++;  // a dead render keeps nothing: the join mounts afresh
  auto& e = make(slot, id_arg(slot, args), cid);
  e.impl->mount(e.sock);
  e.impl->update(args, e.sock);
  out += render_html(e.tpl, e.sock.assigns(), this);
  by_cid_.erase(cid);
}

namespace {
// A component diffed twice in one take_diffs (a nested render updated it again): the later diff wins
// slot by slot, as the client would apply the two in turn; a subtree with statics replaces.
void merge_into(json::object& into, json::object&& later) {
  for (auto& [k, v] : later) {
    auto* old = into.if_contains(k);
    if (old && old->is_object() && v.is_object() && !v.as_object().contains("s")) merge_into(old->as_object(), std::move(v.as_object()));
    else into[k] = std::move(v);
  }
}
}  // namespace

json::object component_table::take_diffs() {
  json::object c;
  // A new component whose statics the client has already (another component of the same parsed
  // template, sent earlier or earlier in this diff) names that one's cid as its "s" instead: positive
  // for this diff, negative for an earlier one, as Phoenix does. A list of components sends its
  // markup once.
  std::unordered_map<const template_node*, std::int64_t> statics_of;
  bool indexed = false;
  auto shared_statics = [&](const entry& e) -> std::int64_t {
    if (!indexed) {
      indexed = true;
      for (auto& [cid, other] : by_cid_)
        if (other->sent && !other->doomed) statics_of.emplace(&other->tpl.root(), -cid);
    }
    auto it = statics_of.find(&e.tpl.root());
    return it == statics_of.end() ? 0 : it->second;
  };
  // Rendering one component may place (and so change) others; a cycle that never settles is a bug.
  std::size_t budget = 4 * (by_cid_.size() + dirty_.size()) + 16;
  while (!dirty_.empty()) {
    if (budget-- == 0) throw std::runtime_error("components keep re-rendering each other (a cycle of updates?)");
    auto cid = *dirty_.begin();
    dirty_.erase(dirty_.begin());
    auto it = by_cid_.find(cid);
    if (it == by_cid_.end()) continue;
    auto& e = *it->second;
    auto& a = e.sock.assigns();
    json::object d;
    if (!e.sent) {
      d = render(e.tpl, a, e.st, this);
      d["r"] = 1;  // the client stamps data-phx-component on its root only with it
      if (auto from = shared_statics(e)) d["s"] = from;
      else statics_of.emplace(&e.tpl.root(), cid);
      e.sent = true;
    } else if (!a.changed().empty()) {
      d = diff(e.tpl, a, e.st, this);
    }
    a.clear_changes();
    e.sock.reset_temporary();
    if (d.empty()) continue;
    char buf[24];
    auto key = index_key(static_cast<std::size_t>(cid), buf);
    if (auto* old = c.if_contains(key); old && !d.contains("s")) merge_into(old->as_object(), std::move(d));
    else c[key] = std::move(d);
  }
  return c;
}

component* component_table::find(std::int64_t cid, socket*& sock) noexcept {
  auto it = by_cid_.find(cid);
  if (it == by_cid_.end()) return nullptr;
  sock = &it->second->sock;
  return it->second->impl.get();
}

void component_table::touched(std::int64_t cid) {
  auto it = by_cid_.find(cid);
  if (it != by_cid_.end() && (!it->second->sent || !it->second->sock.assigns().changed().empty())) dirty_.insert(cid);
}

bool component_table::update(const std::string& name, const value& id, const value::map& args) {
  auto it = by_key_.find(key_of(name, id));
  if (it == by_key_.end()) return false;
  auto& e = *by_cid_.at(it->second);
  e.impl->update(args, e.sock);
  touched(it->second);
  return true;
}

void component_table::will_destroy(const std::vector<std::int64_t>& cids) {
  for (auto cid : cids)
    if (auto it = by_cid_.find(cid); it != by_cid_.end()) it->second->doomed = true;
}

std::vector<std::int64_t> component_table::destroyed(const std::vector<std::int64_t>& cids) {
  std::vector<std::int64_t> gone;
  for (auto cid : cids) {
    auto it = by_cid_.find(cid);
    if (it == by_cid_.end() || !it->second->doomed) continue;
    by_key_.erase(key_of(it->second->name, it->second->id));
    dirty_.erase(cid);
    by_cid_.erase(it);
    gone.push_back(cid);
  }
  return gone;
}

}  // namespace corvid::live::detail
