// Process listing, dump and Prometheus metrics from the process table.

#include "corvid/runtime/introspection.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "corvid/runtime/runtime.hpp"
#include "process_actor.hpp"
#include "runtime_state.hpp"

namespace corvid {

namespace {

process_info snapshot(const std::shared_ptr<detail::process_block>& b) {
  process_info i;
  i.id = pid{b};
  i.mailbox = detail::read_stats(*b);
  i.restarts = b->restarts.load(std::memory_order_relaxed);
  if (auto s = b->supervisor.load(std::memory_order_relaxed))
    i.supervisor = pid{b->rt->table.find(s)};
  std::lock_guard<std::mutex> g{b->mtx};
  if (b->extras) {
    i.name = b->extras->name;
    i.label = b->extras->label;
  }
  i.memory = sizeof(detail::process_actor) + sizeof(detail::process_block)
             + (b->extras ? sizeof(detail::block_extras) : 0) + b->queue.capacity_bytes();
  return i;
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

process_info info(const pid& p) {
  auto b = p.block();
  if (!b || !b->alive.load())
    return {};
  return snapshot(b);
}

std::optional<caf::error> exit_reason(const pid& p) {
  auto b = p.block();
  if (!b)
    return std::nullopt;
  std::lock_guard<std::mutex> g{b->mtx};
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
