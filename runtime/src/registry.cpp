// Unique names and duplicate keys, sharded by key hash. A process's own block remembers what
// it holds so that its exit removes exactly those entries.

#include "corvid/runtime/registry.hpp"

#include <algorithm>

#include "corvid/runtime/runtime.hpp"
#include "runtime_state.hpp"

namespace corvid {

namespace {

// Records an entry on the holder's block; false if the holder is already dead.
bool remember(const pid& p, const std::string& what, bool is_name) {
  auto b = p.block();
  if (!b)
    return false;
  std::lock_guard g{b->mtx};
  if (!b->alive.load())
    return false;
  auto& x = b->ext();
  if (is_name) {
    x.names.push_back(what);
    if (x.name.empty())
      x.name = what;
  } else {
    x.keys.push_back(what);
  }
  return true;
}

void forget(const pid& p, const std::string& what, bool is_name) {
  auto b = p.block();
  if (!b)
    return;
  std::lock_guard g{b->mtx};
  if (!b->extras)
    return;
  auto& v = is_name ? b->extras->names : b->extras->keys;
  if (auto i = std::find(v.begin(), v.end(), what); i != v.end())
    v.erase(i);
  if (is_name && b->extras->name == what)
    b->extras->name = v.empty() ? std::string{} : v.front();
}

} // namespace

caf::error register_name(runtime& rt, const std::string& name, const pid& p) {
  if (name.empty() || !p)
    return make_error(errc::bad_argument, "register_name needs a name and a pid");
  auto& sh = rt.state().registry.of(name);
  std::lock_guard<std::mutex> g{sh.m};
  auto i = sh.names.find(name);
  if (i != sh.names.end() && i->second.alive())
    return make_error(errc::already_registered, name + " is held by " + i->second.to_string());
  if (!remember(p, name, true))
    return make_error(errc::down, "cannot register a dead process");
  sh.names[name] = p;
  return caf::none;
}

void unregister_name(runtime& rt, const std::string& name) {
  auto& sh = rt.state().registry.of(name);
  pid holder;
  {
    std::lock_guard<std::mutex> g{sh.m};
    auto i = sh.names.find(name);
    if (i == sh.names.end())
      return;
    holder = i->second;
    sh.names.erase(i);
  }
  forget(holder, name, true);
}

pid whereis(runtime& rt, const std::string& name) {
  auto& sh = rt.state().registry.of(name);
  std::lock_guard<std::mutex> g{sh.m};
  auto i = sh.names.find(name);
  if (i == sh.names.end() || !i->second.alive())
    return {};
  return i->second;
}

caf::error register_key(runtime& rt, const std::string& key, const pid& p) {
  if (!p)
    return make_error(errc::bad_argument, "register_key needs a pid");
  auto& sh = rt.state().registry.of(key);
  std::lock_guard<std::mutex> g{sh.m};
  auto& v = sh.keys[key];
  if (std::find(v.begin(), v.end(), p) != v.end())
    return caf::none;
  if (!remember(p, key, false)) {
    if (v.empty())
      sh.keys.erase(key);
    return make_error(errc::down, "cannot register a dead process");
  }
  v.push_back(p);
  return caf::none;
}

void unregister_key(runtime& rt, const std::string& key, const pid& p) {
  auto& sh = rt.state().registry.of(key);
  {
    std::lock_guard<std::mutex> g{sh.m};
    auto i = sh.keys.find(key);
    if (i == sh.keys.end())
      return;
    auto& v = i->second;
    if (auto j = std::find(v.begin(), v.end(), p); j != v.end()) {
      *j = std::move(v.back());
      v.pop_back();
    }
    if (v.empty())
      sh.keys.erase(i);
  }
  forget(p, key, false);
}

std::vector<pid> lookup(runtime& rt, const std::string& key) {
  auto& sh = rt.state().registry.of(key);
  std::lock_guard<std::mutex> g{sh.m};
  auto i = sh.keys.find(key);
  if (i == sh.keys.end())
    return {};
  return i->second;
}

size_t registry_size(runtime& rt) {
  size_t n = 0;
  for (auto& sh : rt.state().registry.shards) {
    std::lock_guard<std::mutex> g{sh.m};
    n += sh.names.size();
    for (auto& [k, v] : sh.keys)
      n += v.size();
  }
  return n;
}

namespace detail {

void registry_cleanup(runtime_state& st, process_block& b) {
  std::vector<std::string> names, keys;
  {
    std::lock_guard g{b.mtx};
    if (!b.extras)
      return;
    names.swap(b.extras->names);
    keys.swap(b.extras->keys);
  }
  for (auto& n : names) {
    auto& sh = st.registry.of(n);
    std::lock_guard<std::mutex> g{sh.m};
    auto i = sh.names.find(n);
    if (i != sh.names.end() && i->second.id() == b.id)
      sh.names.erase(i);
  }
  for (auto& k : keys) {
    auto& sh = st.registry.of(k);
    std::lock_guard<std::mutex> g{sh.m};
    auto i = sh.keys.find(k);
    if (i == sh.keys.end())
      continue;
    auto& v = i->second;
    for (size_t j = 0; j < v.size(); ++j) {
      if (v[j].id() == b.id) {
        v[j] = std::move(v.back());
        v.pop_back();
        break;
      }
    }
    if (v.empty())
      sh.keys.erase(i);
  }
}

} // namespace detail

} // namespace corvid
