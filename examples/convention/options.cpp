#include "options.hpp"

namespace convention {

tuning tuning_for(const app_options& o) {
  tuning t;
  t.naive = o.naive;
  if (o.naive) {
    t.session_mailbox = std::size_t{1} << 30;  // "unbounded": a slow admin page's backlog only grows
    t.render_every = std::chrono::milliseconds{0};
    t.throttle = std::chrono::milliseconds{0};
    t.inbox_capacity = 0;
    t.poll = std::chrono::seconds{1};
    t.streams = false;
    t.admin_rows = 0;  // every participant, re-rendered on every change
  } else {
    auto every = o.interval.count() > 0 ? o.interval : std::chrono::milliseconds{1};
    t.session_mailbox = 1024;
    t.render_every = every;
    t.throttle = every;
    // Per page at most: one motion, one tally and a few change batches queued; room to spare.
    t.inbox_capacity = 64;
    t.poll = std::chrono::milliseconds{0};
    t.streams = true;
    // A page holding 100,000 rows is a multi-megabyte frame on each motion and a browser that
    // cannot keep up; the count above the list is everyone's.
    t.admin_rows = o.admin_rows;
  }
  return t;
}

}  // namespace convention
