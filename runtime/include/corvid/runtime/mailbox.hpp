#pragma once
// Bounded mailboxes: capacity, overflow policy, and the counters readable from outside.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <caf/message.hpp>

#include "corvid/runtime/pid.hpp"

namespace corvid {

/// What happens when a message arrives at a full mailbox.
enum class overflow {
  reject,        ///< the send fails with errc::overloaded (the default)
  drop_newest,   ///< the new message is dropped and counted
  drop_oldest,   ///< the oldest queued message is dropped and counted
  coalesce,      ///< same-key messages replace the pending one (latest wins); else drop_oldest
  backpressure,  ///< thread senders may wait for room; actor senders get errc::would_block + a room notice
};

const char* to_string(overflow p);

/// Extracts the coalescing key of a message; nullopt means "never coalesce this one".
using coalesce_key_fn = std::function<std::optional<std::string>(const caf::message&)>;

/// Mailbox configuration of one process. A process's messages to itself (its own timers and
/// self-sends) are never refused, dropped or delayed by its bound: they are its bookkeeping.
struct mailbox_options {
  size_t capacity = 10'000;          ///< user messages queued at most (control messages are never bounded)
  overflow policy = overflow::reject;
  size_t high_water = 0;             ///< telemetry threshold; 0 = 80% of capacity
  coalesce_key_fn key;               ///< for overflow::coalesce; default: the first element when it is a string or atom
};

/// A snapshot of a mailbox's counters.
struct mailbox_stats {
  size_t length = 0;        ///< messages queued now
  size_t high_water = 0;    ///< the largest length seen
  uint64_t handled = 0;     ///< messages handled
  uint64_t dropped = 0;     ///< messages dropped or rejected by the policy
  uint64_t coalesced = 0;   ///< messages replaced by a newer one with the same key
  size_t capacity = 0;
  overflow policy = overflow::reject;
};

/// Sent to an actor sender that got errc::would_block once the receiver has room again.
struct room_available {
  pid receiver;  ///< the process that has room
};

} // namespace corvid

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::room_available)
