#pragma once
// Links and monitors as introspection sees them. CAF keeps the real links and monitors inside
// each actor, readable only by the actor itself; this is a copy in the control blocks (under
// their own mutexes) so that another thread can list a process's links and monitors.
// It never decides anything: exit and down signals still come from CAF and the transport.

#include <cstdint>

#include "corvid/runtime/pid.hpp"

namespace corvid::detail {

struct process_block;
struct runtime_state;

/// `self` linked to `other` (both sides recorded when `other` is local).
void note_link(runtime_state& st, process_block& self, const pid& other);
/// `self` unlinked from `other` (both sides).
void note_unlink(runtime_state& st, process_block& self, const pid& other);
/// An exit signal from `other` reached `self`: that link is gone.
void note_link_gone(process_block& self, uint64_t other);
/// `self` monitors `target` under `ref`.
void note_monitor(runtime_state& st, process_block& self, uint64_t ref, const pid& target);
/// `self` dropped monitor `ref` of `target` (demonitor, or its down notice arrived).
void note_demonitor(runtime_state& st, process_block& self, uint64_t ref, const pid& target);
/// `self` ended: its links and monitors, and the other side's records of them, go away.
void forget_relations(runtime_state& st, process_block& self);

} // namespace corvid::detail
