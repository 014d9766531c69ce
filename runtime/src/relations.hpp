#pragma once
// Links and monitors in the control blocks (each under its own mutex), so that another thread
// can list a process's links and monitors. Monitors are a copy (CAF's monitors decide). Local
// links are corvid's own: a record on each side is the link. CAF's links sit in a list each
// actor scans to remove one, so a supervisor of 100,000 sessions spent most of its CPU there
// as sessions ended; a hash set per block makes link, unlink and exit O(1) per link.
// Links to other nodes are recorded on this side only; the transport carries their signals.

#include <cstdint>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>

#include "corvid/runtime/pid.hpp"

namespace corvid::detail {

struct process_block;
struct runtime_state;

/// The exit signal of a local link: `from` ended with `reason`. The receiver acts on it only
/// if it still holds its record of the link (OTP: after unlink returns, the link has no effect).
struct link_exit {
  pid from;
  caf::error reason;
};

/// `self` linked to `other` (both sides recorded when `other` is local). False if `other` is
/// local and has ended (or is ending): no link was made.
bool note_link(runtime_state& st, process_block& self, const pid& other);
/// `self` unlinked from `other` (both sides).
void note_unlink(runtime_state& st, process_block& self, const pid& other);
/// An exit signal from `other` reached `self`: that link is gone. False if there was none.
bool note_link_gone(process_block& self, uint64_t other);
/// `self` monitors `target` under `ref`.
void note_monitor(runtime_state& st, process_block& self, uint64_t ref, const pid& target);
/// `self` dropped monitor `ref` of `target` (demonitor, or its down notice arrived).
void note_demonitor(runtime_state& st, process_block& self, uint64_t ref, const pid& target);
/// `self` ended: its links and monitors go away, and the other side's records of its monitors.
/// Returns the local processes it was linked to: each is sent a link_exit, which removes
/// their record when it arrives.
std::vector<uint64_t> forget_relations(runtime_state& st, process_block& self);
/// Sends `reason` to each of `linked` as a link_exit from `self` (see forget_relations).
void signal_links(runtime_state& st, const pid& self, const std::vector<uint64_t>& linked, const caf::error& reason);

} // namespace corvid::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::detail::link_exit)
