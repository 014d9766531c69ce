#pragma once
// Registry: unique names (whereis) and duplicate keys (many processes per key). Entries
// disappear by themselves when their process exits. Partitioned so lookups scale.
//
//   corvid::register_name(rt, "db", p);      // errc::already_registered if taken
//   corvid::pid db = corvid::whereis(rt, "db");

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "corvid/runtime/pid.hpp"

namespace corvid {

class runtime;

/// Registers `p` under a unique name; fails if the name is held by a live process.
caf::error register_name(runtime& rt, const std::string& name, const pid& p);
/// Removes a name (no-op if absent).
void unregister_name(runtime& rt, const std::string& name);
/// The process registered under `name`, or an empty pid.
pid whereis(runtime& rt, const std::string& name);
/// Adds `p` under a duplicate key (a process may hold a key once).
caf::error register_key(runtime& rt, const std::string& key, const pid& p);
/// Removes `p` from a key.
void unregister_key(runtime& rt, const std::string& key, const pid& p);
/// Every live process under `key`.
std::vector<pid> lookup(runtime& rt, const std::string& key);
/// Number of names and key entries held (for leak checks and metrics).
size_t registry_size(runtime& rt);

} // namespace corvid
