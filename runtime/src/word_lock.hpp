#pragma once
// The lock of a process's mailbox block, of the process table's shards and of the run queue.
// Every process has one, every send takes it, and its critical sections are tens of nanoseconds,
// so it is one word that spins briefly when taken and only then sleeps on the word (futex.hpp).
// std::mutex was 40 bytes of every idle process and a call into libpthread for each lock and
// unlock; a plain (not adaptive) one also put a sender that met the draining process to sleep at
// once, a convoy that fed itself (about 2 M/s for whole runs, 130,000 futex calls a second on the
// sender).

#include <atomic>
#include <cstdint>

#include "futex.hpp"

namespace corvid::detail {

/// A mutex (Lockable: std::lock_guard, std::unique_lock, std::condition_variable_any) of one
/// 32-bit word. Not recursive, not fair.
class word_lock {
public:
  void lock() noexcept {
    uint32_t c = 0;
    if (!s_.compare_exchange_strong(c, held, std::memory_order_acquire, std::memory_order_relaxed))
      lock_contended(c);
  }
  bool try_lock() noexcept {
    uint32_t c = 0;
    return s_.compare_exchange_strong(c, held, std::memory_order_acquire, std::memory_order_relaxed);
  }
  void unlock() noexcept {
    // Only a holder that may have sleepers pays for a wake-up. The word is not read after the
    // exchange (the wake only names its address): the block may be gone by then.
    if (s_.exchange(free, std::memory_order_release) == contended)
      futex_wake(s_, 1);
  }

private:
  static constexpr uint32_t free = 0, held = 1, contended = 2;
  // Pauses before sleeping: about a microsecond, many critical sections' worth, and well under
  // what a futex sleep and wake-up cost both threads.
  static constexpr int spin_limit = 64;

  void lock_contended(uint32_t c) noexcept {
    for (int i = 0; i < spin_limit; ++i) {
      if (c == free && s_.compare_exchange_weak(c, held, std::memory_order_acquire,
                                                std::memory_order_relaxed))
        return;
      pause();
      c = s_.load(std::memory_order_relaxed);
    }
    // Sleep. Whoever takes the lock from here on marks it contended, so that its unlock wakes
    // the next sleeper (Drepper, "Futexes Are Tricky", mutex 2).
    if (c != contended)
      c = s_.exchange(contended, std::memory_order_acquire);
    while (c != free) {
      futex_wait(s_, contended);
      c = s_.exchange(contended, std::memory_order_acquire);
    }
  }
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  std::atomic<uint32_t> s_{free};
};

} // namespace corvid::detail
