#pragma once
// Happens-before annotations for ThreadSanitizer builds (scripts/tsan.sh); no-ops elsewhere.
// Only for orderings that are real but invisible to TSan: atomics inside the uninstrumented
// libcaf_core, and std::atomic_thread_fence, which TSan does not model. Never to silence a race.

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define CORVID_TSAN_ACQUIRE(p) __tsan_acquire(const_cast<void*>(static_cast<const void*>(p)))
#define CORVID_TSAN_RELEASE(p) __tsan_release(const_cast<void*>(static_cast<const void*>(p)))
#else
#define CORVID_TSAN_ACQUIRE(p) static_cast<void>(0)
#define CORVID_TSAN_RELEASE(p) static_cast<void>(0)
#endif
