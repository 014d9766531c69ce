// Process listing, dump and Prometheus metrics from the process table.

#include "corvid/runtime/introspection.hpp"

#include <algorithm>
#include <cxxabi.h>
#include <iomanip>
#include <sstream>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/type_nr.hpp>
#include <caf/uniform_type_info_map.hpp>

#include "corvid/runtime/runtime.hpp"
#include "process_actor.hpp"
#include "runtime_state.hpp"

namespace corvid {

namespace {

// The memory estimate of process_info::memory.
size_t memory_of(const detail::process_block& b) {
  return sizeof(detail::process_actor) + sizeof(detail::process_block) + (b.extras ? sizeof(detail::block_extras) : 0)
         + b.queue.capacity_bytes()
         + (b.exit_hooks ? sizeof(detail::exit_hook_list) + b.exit_hooks->hooks.capacity() * sizeof(b.exit_hooks->hooks[0])
                         : 0);
}

process_info snapshot(const std::shared_ptr<detail::process_block>& b) {
  process_info i;
  i.id = pid{b};
  i.mailbox = detail::read_stats(*b);
  i.restarts = b->restarts.load(std::memory_order_relaxed);
  if (auto s = b->supervisor.load(std::memory_order_relaxed))
    i.supervisor = pid{b->rt->table.find(s)};
  std::lock_guard g{b->mtx};
  if (b->extras) {
    i.name = b->extras->name;
    i.label = b->extras->label;
  }
  i.memory = memory_of(*b);
  return i;
}

// The name a person recognises for element `i` of a queued message: an atom's text, CAF's
// name for a built-in or announced type, else the demangled C++ name.
std::string element_type(caf::actor_system& sys, const caf::message& m, size_t i) {
  auto rtti = m.type(i);
  if (rtti.first == caf::type_nr<caf::atom_value>::value)
    return "'" + to_string(m.get_as<caf::atom_value>(i)) + "'";
  if (const auto& n = sys.types().portable_name(rtti); !n.empty()) {
    // CAF's short names of its built-in types ("@i32", "@str") read better as C++'s.
    static const std::pair<const char*, const char*> builtin[] = {
      {"@i8", "int8_t"}, {"@i16", "int16_t"}, {"@i32", "int32_t"}, {"@i64", "int64_t"},
      {"@u8", "uint8_t"}, {"@u16", "uint16_t"}, {"@u32", "uint32_t"}, {"@u64", "uint64_t"},
      {"@str", "std::string"}, {"@u16str", "std::u16string"}, {"@u32str", "std::u32string"},
      {"@message", "caf::message"}, {"@error", "caf::error"}, {"@addr", "caf::actor_addr"},
      {"@actor", "caf::actor"}, {"@timespan", "caf::timespan"}, {"@timestamp", "caf::timestamp"},
      {"@charbuf", "std::vector<char>"}, {"@down", "caf::down_msg"}, {"@exit", "caf::exit_msg"}};
    for (auto& [from, to] : builtin)
      if (n == from)
        return to;
    return n.front() == '@' ? n.substr(1) : n;
  }
  if (!rtti.second)
    return "?";
  int status = 0;
  char* d = abi::__cxa_demangle(rtti.second->name(), nullptr, nullptr, &status);
  std::string out = status == 0 && d ? d : rtti.second->name();
  std::free(d);
  return out;
}

std::string message_types(caf::actor_system& sys, const caf::message& m) {
  std::string out = "(";
  for (size_t i = 0; i < m.size(); ++i)
    out += (i ? ", " : "") + element_type(sys, m, i);
  return out + ")";
}

std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

std::vector<process_info> processes(runtime& rt) {
  std::vector<process_info> out;
  rt.state().table.for_each([&](const std::shared_ptr<detail::process_block>& b) {
    if (b->alive.load())
      out.push_back(snapshot(b));
  });
  std::stable_sort(out.begin(), out.end(), [](const process_info& a, const process_info& b) {
    return a.mailbox.length != b.mailbox.length ? a.mailbox.length > b.mailbox.length : a.id < b.id;
  });
  return out;
}

process_totals totals(runtime& rt) {
  process_totals t;
  rt.state().table.for_each([&](const std::shared_ptr<detail::process_block>& b) {
    if (!b->alive.load())
      return;
    auto m = detail::read_stats(*b);
    ++t.processes;
    t.mailbox_length += m.length;
    t.handled += m.handled;
    std::lock_guard g{b->mtx};  // the queue's storage changes under it
    t.memory += memory_of(*b);
  });
  return t;
}

process_info info(const pid& p) {
  auto b = p.block();
  if (!b || !b->alive.load())
    return {};
  return snapshot(b);
}

pid find_process(runtime& rt, uint64_t id) {
  auto b = rt.state().table.find(id);
  return b && b->alive.load() ? pid{b} : pid{};
}

std::optional<process_details> details(const pid& p, size_t peek) {
  auto b = p.block();
  if (!b || !b->alive.load())
    return std::nullopt;
  process_details d;
  d.info = snapshot(b);
  std::vector<detail::relation> rel;
  {
    std::lock_guard g{b->mtx};
    rel = b->relations.list();
    if (b->extras)
      d.restart_history = b->extras->restart_log;
    auto n = std::min(peek, b->queue.size());
    for (size_t i = 0; i < n; ++i)
      d.queued.push_back(message_types(*b->rt->sys, b->queue[i].content));
  }
  for (auto& r : rel) {
    pid other{r.other};
    if (!other.is_remote()) {
      other = find_process(*b->rt->owner, r.other);  // skips one that just ended
      if (!other)
        continue;
    }
    auto& to = r.kind == detail::relation_kind::link       ? d.links
               : r.kind == detail::relation_kind::monitors ? d.monitors
                                                           : d.monitored_by;
    to.push_back(other);
  }
  // Oldest pid first, whatever order the store keeps; a process watched under two refs once
  // (sort + unique: a supervisor may list 100k links).
  for (auto* v : {&d.links, &d.monitors, &d.monitored_by}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  return d;
}

std::optional<caf::error> exit_reason(const pid& p) {
  auto b = p.block();
  if (!b)
    return std::nullopt;
  std::lock_guard g{b->mtx};
  if (b->handle)
    return std::nullopt;
  return b->exit_reason;
}

std::string dump(runtime& rt, size_t limit) {
  auto ps = processes(rt);
  std::ostringstream os;
  os << ps.size() << " processes\n";
  os << std::left << std::setw(14) << "PID" << std::setw(20) << "NAME" << std::setw(16) << "LABEL"
     << std::right << std::setw(8) << "MBOX" << std::setw(8) << "HIGH" << std::setw(10) << "HANDLED"
     << std::setw(8) << "DROPS" << std::setw(6) << "RST" << std::setw(8) << "MEM" << "  SUPERVISOR\n";
  for (size_t i = 0; i < ps.size() && i < limit; ++i) {
    auto& p = ps[i];
    os << std::left << std::setw(14) << p.id.to_string() << std::setw(20) << p.name.substr(0, 19)
       << std::setw(16) << p.label.substr(0, 15) << std::right << std::setw(8) << p.mailbox.length
       << std::setw(8) << p.mailbox.high_water << std::setw(10) << p.mailbox.handled << std::setw(8)
       << p.mailbox.dropped << std::setw(6) << p.restarts << std::setw(8) << p.memory << "  "
       << (p.supervisor ? p.supervisor.to_string() : "-") << "\n";
  }
  if (ps.size() > limit)
    os << "... " << ps.size() - limit << " more\n";
  return os.str();
}

std::string prometheus_metrics(runtime& rt, size_t top) {
  auto ps = processes(rt);
  auto& st = rt.state();
  uint64_t handled = st.exited_handled.load(), dropped = st.exited_dropped.load(),
           coalesced = st.exited_coalesced.load(), queued = 0, memory = 0;
  for (auto& p : ps) {
    handled += p.mailbox.handled;
    dropped += p.mailbox.dropped;
    coalesced += p.mailbox.coalesced;
    queued += p.mailbox.length;
    memory += p.memory;
  }
  std::ostringstream os;
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t v) {
    os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
       << name << ' ' << v << '\n';
  };
  metric("corvid_processes", "gauge", "Live corvid processes.", ps.size());
  metric("corvid_mailbox_messages", "gauge", "Messages queued in all mailboxes.", queued);
  metric("corvid_process_memory_bytes", "gauge", "Estimated memory of all processes.", memory);
  metric("corvid_processes_spawned_total", "counter", "Processes spawned.", st.spawned.load());
  metric("corvid_process_crashes_total", "counter", "Processes that ended abnormally.", st.crashed.load());
  metric("corvid_supervisor_restarts_total", "counter", "Children restarted by supervisors.", st.restarts.load());
  metric("corvid_messages_handled_total", "counter", "Messages handled.", handled);
  metric("corvid_messages_dropped_total", "counter", "Messages dropped or rejected by mailbox policies.", dropped);
  metric("corvid_messages_coalesced_total", "counter", "Messages replaced by newer ones with the same key.", coalesced);
  os << "# HELP corvid_mailbox_length Mailbox length of the processes with the longest mailboxes.\n"
     << "# TYPE corvid_mailbox_length gauge\n";
  for (size_t i = 0; i < ps.size() && i < top; ++i)
    os << "corvid_mailbox_length{pid=\"" << ps[i].id.to_string() << "\",name=\"" << escape_label(ps[i].name)
       << "\",label=\"" << escape_label(ps[i].label) << "\"} " << ps[i].mailbox.length << '\n';
  os << "# HELP corvid_mailbox_high_water Largest mailbox length seen.\n"
     << "# TYPE corvid_mailbox_high_water gauge\n";
  for (size_t i = 0; i < ps.size() && i < top; ++i)
    os << "corvid_mailbox_high_water{pid=\"" << ps[i].id.to_string() << "\",name=\""
       << escape_label(ps[i].name) << "\",label=\"" << escape_label(ps[i].label) << "\"} "
       << ps[i].mailbox.high_water << '\n';
  return os.str();
}

} // namespace corvid
