#pragma once
// Happens-before annotations for ThreadSanitizer builds (scripts/tsan.sh); no-ops elsewhere.
// Only for orderings that are real but invisible to TSan: atomics inside the uninstrumented
// libcaf_core, and std::atomic_thread_fence, which TSan does not model. Never to silence a race.

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>

#include <caf/execution_unit.hpp>
#include <caf/invoke_message_result.hpp>
#include <caf/mailbox_element.hpp>
#define CORVID_TSAN_ACQUIRE(p) __tsan_acquire(const_cast<void*>(static_cast<const void*>(p)))
#define CORVID_TSAN_RELEASE(p) __tsan_release(const_cast<void*>(static_cast<const void*>(p)))
#else
#define CORVID_TSAN_ACQUIRE(p) static_cast<void>(0)
#define CORVID_TSAN_RELEASE(p) static_cast<void>(0)
#endif

namespace corvid {

/// Acquires on `p` now and releases on it at scope end: states to ThreadSanitizer that one run
/// of an actor (p: its address) happens before its next. A no-op outside TSan builds.
struct tsan_run_scope {
  explicit tsan_run_scope(const void* p) : p(p) { CORVID_TSAN_ACQUIRE(p); }
  ~tsan_run_scope() { CORVID_TSAN_RELEASE(p); }
  tsan_run_scope(const tsan_run_scope&) = delete;
  tsan_run_scope& operator=(const tsan_run_scope&) = delete;
  const void* p;
};

/// A CAF actor class (`Base`, e.g. caf::event_based_actor) that states its mailbox's two orders
/// to ThreadSanitizer: a message is handled after it was sent (enqueue releases on the element,
/// consume acquires it), and one run of the actor before its next (consume acquires and releases
/// the actor's address). libcaf_core's atomics give both, out of TSan's sight. Plain `Base` in
/// other builds.
template <class Base>
class tsan_ordered : public Base {
public:
  using Base::Base;
#if defined(__SANITIZE_THREAD__)
  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) override {
    if (what)
      CORVID_TSAN_RELEASE(what.get());
    Base::enqueue(std::move(what), host);
  }
  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    CORVID_TSAN_ACQUIRE(&x);
    tsan_run_scope run{this};
    return Base::consume(x);
  }
#endif
};

} // namespace corvid
