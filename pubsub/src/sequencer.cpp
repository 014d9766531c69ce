// Per-origin ordering of remote broadcasts: hold behind a hole, ask for a resend, report what
// cannot be repaired as an exact range.

#include "corvid/pubsub/sequencer.hpp"

#include <algorithm>

namespace corvid::pubsub {

// The origin's state for `incarnation`. A new incarnation (a restarted origin, or the first
// contact) starts after `baseline`; what the old one held is flushed behind a reported gap.
sequencer::origin_state& sequencer::state_of(const std::string& origin, uint64_t incarnation, uint64_t baseline,
                                             step& out) {
  auto [i, fresh] = origins_.try_emplace(origin);
  auto& o = i->second;
  if (!fresh && o.incarnation == incarnation)
    return o;
  if (!fresh && !o.held.empty()) {
    auto first = o.held.begin()->first;
    if (first > o.last + 1)
      out.gaps.push_back({origin, o.last + 1, first, o.incarnation});
    for (auto& [seq, b] : o.held)
      out.deliver.push_back(std::move(b));
  }
  o = origin_state{};
  o.incarnation = incarnation;
  o.last = o.known = o.asked_upto = baseline;
  return o;
}

void sequencer::arrived(remote_broadcast b, clock::time_point now, step& out) {
  if (b.seq == 0) {
    out.deliver.push_back(std::move(b));
    return;
  }
  auto origin = b.origin;
  auto& o = state_of(origin, b.incarnation, b.seq - 1, out);
  auto seq = b.seq;
  if (seq <= o.last || o.held.count(seq))
    return;  // a duplicate (a resend that crossed the original, or an echo)
  o.known = std::max(o.known, seq);
  if (seq == o.last + 1) {
    out.deliver.push_back(std::move(b));
    o.last = seq;
    drain(origin, o, now, out);
  } else if (!can_resend_) {
    out.gaps.push_back({origin, o.last + 1, seq, o.incarnation});
    out.deliver.push_back(std::move(b));
    o.last = seq;
  } else {
    o.held.emplace(seq, std::move(b));
    if (!o.waiting) {
      o.waiting = true;
      o.waiting_since = now;
    }
    ask(origin, o, seq - 1, now, out);
    o.asked_upto = std::max(o.asked_upto, seq);  // it is here: never ask for it
    if (o.held.size() > opts_.max_held)
      give_up(origin, o, now, out);
  }
}

void sequencer::status(const std::string& origin, uint64_t incarnation, uint64_t latest, clock::time_point now,
                       step& out) {
  // First contact with this incarnation: what it sent before was not sent to us.
  auto& o = state_of(origin, incarnation, latest, out);
  if (latest > o.known) {
    o.known = latest;
    if (!can_resend_) {
      out.gaps.push_back({origin, o.last + 1, latest + 1, o.incarnation});
      o.last = latest;
    } else {
      if (!o.waiting) {
        o.waiting = true;
        o.waiting_since = now;
      }
      ask(origin, o, latest, now, out);
    }
  }
}

void sequencer::gone(const std::string& origin, uint64_t incarnation, uint64_t from, uint64_t to, step& out) {
  auto i = origins_.find(origin);
  if (i == origins_.end() || i->second.incarnation != incarnation)
    return;
  auto& o = i->second;
  if (to <= o.last)
    return;
  // Anything held inside [from, to] arrived after all: the gap stops before it.
  auto stop = to + 1;
  if (auto h = o.held.lower_bound(std::max(from, o.last + 1)); h != o.held.end() && h->first <= to)
    stop = h->first;
  auto start = std::max(from, o.last + 1);
  if (start > o.last + 1)
    return;  // a hole before `from` is still open: this answer is for a later one
  out.gaps.push_back({origin, start, stop, o.incarnation});
  o.last = stop - 1;
  o.known = std::max(o.known, o.last);
  drain(origin, o, clock::now(), out);
}

void sequencer::expire(clock::time_point now, step& out) {
  for (auto& [origin, o] : origins_) {
    if (!o.waiting)
      continue;
    if (now - o.waiting_since >= opts_.hold_for) {
      give_up(origin, o, now, out);
    } else if (can_resend_ && now - o.asked_at >= opts_.ask_again) {
      // The request or its answer was lost (a connection replaced under it): the whole hole again.
      o.asked_upto = o.last;
      ask(origin, o, (o.held.empty() ? o.known + 1 : o.held.begin()->first) - 1, now, out);
    }
  }
}

size_t sequencer::held() const {
  size_t n = 0;
  for (auto& [origin, o] : origins_)
    n += o.held.size();
  return n;
}

// Delivers what became contiguous; keeps waiting while a hole remains.
void sequencer::drain(const std::string&, origin_state& o, clock::time_point now, step& out) {
  while (!o.held.empty() && o.held.begin()->first == o.last + 1) {
    out.deliver.push_back(std::move(o.held.begin()->second));
    o.held.erase(o.held.begin());
    ++o.last;
  }
  if (o.known <= o.last) {
    o.waiting = false;
  } else if (!o.waiting) {
    o.waiting = true;
    o.waiting_since = now;
  }
}

// Reports the oldest hole as lost and moves past it.
void sequencer::give_up(const std::string& origin, origin_state& o, clock::time_point now, step& out) {
  auto next = o.held.empty() ? o.known + 1 : o.held.begin()->first;
  out.gaps.push_back({origin, o.last + 1, next, o.incarnation});
  o.last = next - 1;
  o.waiting = false;
  drain(origin, o, now, out);
  if (o.waiting)
    o.waiting_since = now;  // the next hole gets its own full hold
}

void sequencer::ask(const std::string& origin, origin_state& o, uint64_t upto, clock::time_point now, step& out) {
  auto from = std::max(o.last + 1, o.asked_upto + 1);
  if (upto < from)
    return;
  out.resend.push_back({origin, o.incarnation, from, upto});
  o.asked_upto = std::max(o.asked_upto, upto);
  o.asked_at = now;
}

} // namespace corvid::pubsub
