// Process-wide telemetry dispatch. Attaching is rare, emitting is hot: emitters first ask
// wanted(), which reads an atomic count and takes no lock when nobody listens.

#include "corvid/runtime/telemetry.hpp"

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <vector>

namespace corvid::telemetry {

namespace {

struct entry {
  uint64_t id;
  std::string prefix;
  handler h;
};

struct table {
  std::shared_mutex m;
  std::vector<entry> entries;
  std::atomic<size_t> count{0};
  uint64_t next = 1;
};

table& tbl() {
  static table t;
  return t;
}

bool matches(const std::string& prefix, std::string_view name) {
  return name.substr(0, prefix.size()) == prefix;
}

} // namespace

uint64_t attach(std::string prefix, handler h) {
  auto& t = tbl();
  std::unique_lock g{t.m};
  auto id = t.next++;
  t.entries.push_back({id, std::move(prefix), std::move(h)});
  t.count.store(t.entries.size());
  return id;
}

bool detach(uint64_t id) {
  auto& t = tbl();
  std::unique_lock g{t.m};
  for (auto i = t.entries.begin(); i != t.entries.end(); ++i) {
    if (i->id == id) {
      t.entries.erase(i);
      t.count.store(t.entries.size());
      return true;
    }
  }
  return false;
}

bool wanted(std::string_view name) {
  auto& t = tbl();
  if (t.count.load(std::memory_order_relaxed) == 0)
    return false;
  std::shared_lock g{t.m};
  for (auto& e : t.entries)
    if (matches(e.prefix, name))
      return true;
  return false;
}

void execute(const event& e) {
  auto& t = tbl();
  if (t.count.load(std::memory_order_relaxed) == 0)
    return;
  std::vector<handler> hs;
  {
    std::shared_lock g{t.m};
    for (auto& x : t.entries)
      if (matches(x.prefix, e.name))
        hs.push_back(x.h);
  }
  for (auto& h : hs) {
    try {
      h(e);
    } catch (...) {
      // a failing handler must not break the emitter
    }
  }
}

} // namespace corvid::telemetry
