#pragma once
// Sleeping on a 32-bit word until another thread changes it and wakes it. std::atomic's
// wait() would do, but libstdc++ 12 spins first with four sched_yield calls: a worker going
// idle made 264,000 of them in one crash-and-restart benchmark, 10% of its time. Callers here
// spin as long as they want to themselves, and count their sleepers, so the wake is only paid
// when someone may sleep.

#include <atomic>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace corvid::detail {

/// Sleeps while `w` holds `seen` (returns at once if it no longer does; may return spuriously).
inline void futex_wait(std::atomic<uint32_t>& w, uint32_t seen) noexcept {
#if defined(__linux__)
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
#else
  w.wait(seen, std::memory_order_relaxed);
#endif
}

/// Wakes up to `n` threads sleeping on `w`. Never reads `w`: it may be gone by then.
inline void futex_wake(std::atomic<uint32_t>& w, int n) noexcept {
#if defined(__linux__)
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
#else
  if (n == 1)
    w.notify_one();
  else
    w.notify_all();
#endif
}

} // namespace corvid::detail
