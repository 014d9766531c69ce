#pragma once
// The control block every pid points to: the bounded mailbox and its counters. It lives as
// long as some pid refers to it; the CAF actor holds it while running.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include "corvid/runtime/introspection.hpp"
#include "corvid/runtime/mailbox.hpp"
#include "corvid/runtime/pid.hpp"
#include "corvid/runtime/process.hpp"
#include "relation_store.hpp"
#include "ring.hpp"
#include "word_lock.hpp"

namespace corvid::detail {

struct runtime_state;

/// The execution unit of the process running on this thread (null outside processes):
/// wake-ups made from inside a process stay on its worker (see scheduler.cpp).
extern thread_local caf::execution_unit* current_host;

/// Where a call's answer goes: a blocked thread or a calling process.
struct reply_slot {
  std::atomic<bool> done{false};
  // actor caller
  caf::actor caller;
  uint64_t call_id = 0;
  // callback (a transport answering another node)
  std::function<void(caf::expected<caf::message>)> on_done;
  // thread caller
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  caf::expected<caf::message> result{caf::message{}};

  /// Completes once; later completions are ignored.
  void complete(caf::expected<caf::message> r);
  /// Thread side: waits for completion up to `timeout`.
  caf::expected<caf::message> wait(caf::timespan timeout);
};

/// One queued user message.
struct envelope {
  caf::message content;
  pid from;
  reply_handle reply;  // empty for sends and casts
};

/// Callbacks run when a process ends (on_exit_of): kept apart from block_extras, since every
/// pub/sub subscriber has one and most need nothing else.
struct exit_hook_list {
  std::vector<std::pair<uint64_t, std::function<void(const pid&, const caf::error&)>>> hooks;
};

/// Rarely used parts of a block, allocated on first use to keep idle processes small.
struct block_extras {
  std::string name;                 // registered unique name
  std::string label;                // kind, for introspection
  std::vector<std::string> names;   // registry names held
  std::vector<std::string> keys;    // registry duplicate keys held
  coalesce_key_fn key_fn;
  std::unordered_map<std::string, uint64_t> keyed;  // coalesce key -> sequence number
  uint64_t head_seq = 0;            // sequence number of queue.front()
  std::unique_ptr<std::condition_variable_any> room_cv;  // thread senders waiting under backpressure
  std::vector<pid> waiters;         // actor senders told errc::would_block
  std::vector<restart_record> restart_log;  // its child slot's, copied in by the supervisor
};

struct process_block {
  process_block(uint64_t i, runtime_state* r, const mailbox_options& o);

  uint64_t id;
  runtime_state* rt;
  caf::actor handle;                 // strong while running; reset at exit
  ring<envelope> queue;
  uint32_t capacity;
  uint32_t high_water_threshold;
  overflow policy;
  bool scheduled = false;            // the actor was woken to drain this mailbox (wake())
  bool above_high_water = false;
  std::atomic<bool> alive{true};
  std::atomic<bool> initialized{false};  // its start is complete (init ran, or ready released)
  std::atomic<uint32_t> length{0};
  std::atomic<uint32_t> high_water{0};
  std::atomic<uint32_t> restarts{0};
  word_lock mtx;  // guards the queue and the fields marked so (here, it fills a hole)
  std::atomic<uint64_t> handled{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> coalesced{0};
  std::atomic<uint64_t> supervisor{0};  // pid id of the supervisor, 0 = none
  caf::error exit_reason;                 // set once the process ended (guarded by mtx)
  std::unique_ptr<block_extras> extras;  // guarded by mtx
  relation_store relations;              // guarded by mtx
  std::unique_ptr<exit_hook_list> exit_hooks;  // guarded by mtx; made by the first on_exit_of

  block_extras& ext() {
    if (!extras)
      extras = std::make_unique<block_extras>();
    return *extras;
  }
};

/// Pushes a user message per the receiver's policy. `wait` > 0 lets a thread sender block.
/// `host` is the sending process's execution unit (null from threads): a wake-up from a
/// running process then stays on its worker (see scheduler.cpp).
/// `dropped` (if given) is set when drop_newest discarded the message (send() still succeeds).
caf::error push(process_block& b, envelope&& e, bool actor_sender, caf::timespan wait,
                caf::execution_unit* host = nullptr, bool* dropped = nullptr);
/// Up to `max` messages off the front for the running process, under one lock, in order,
/// constructed into the uninitialized storage at `out` (the caller destroys them). `emptied`:
/// the box is empty now, and the process no longer scheduled (a later push wakes it again).
size_t pop_batch(process_block& b, void* out, size_t max, bool& emptied);
/// Schedules the process actor `a` to drain its corvid mailbox (after setting `scheduled`):
/// no CAF message, no allocation. `host` as for push().
void wake(const caf::actor& a, caf::execution_unit* host);
/// Sends straight to a process's actor, bypassing the bound (signals, notices, replies).
caf::error deliver_signal(const pid& to, caf::message m);
/// Marks the block dead and fails everything still queued.
void close(process_block& b);
/// Snapshot of the counters.
mailbox_stats read_stats(process_block& b);
/// Current registered name and label (copies, taken under the lock).
std::pair<std::string, std::string> names_of(process_block& b);

} // namespace corvid::detail
