// The receiver's ordering of other nodes' broadcasts: hold behind a hole, ask for exactly the
// missing range, deliver in order, and report what cannot be repaired as an exact range.

#include <doctest/doctest.h>

#include "corvid/pubsub/sequencer.hpp"

using namespace corvid::pubsub;
using namespace std::chrono_literals;

namespace {

using clock_t_ = sequencer::clock;
const clock_t_::time_point t0{};

remote_broadcast from_a(uint64_t seq, uint64_t incarnation = 7) {
  remote_broadcast b;
  b.topic = "t";
  b.origin = "a@h";
  b.incarnation = incarnation;
  b.seq = seq;
  return b;
}

std::vector<uint64_t> seqs(const sequencer::step& s) {
  std::vector<uint64_t> out;
  for (auto& b : s.deliver)
    out.push_back(b.seq);
  return out;
}

struct range {
  uint64_t from, to;
  friend bool operator==(const range&, const range&) = default;
};

std::vector<range> asked(const sequencer::step& s) {
  std::vector<range> out;
  for (auto& r : s.resend)
    out.push_back({r.from, r.to});
  return out;
}

std::vector<range> lost(const sequencer::step& s) {
  std::vector<range> out;
  for (auto& g : s.gaps)
    out.push_back({g.expected, g.received});
  return out;
}

} // namespace


TEST_SUITE("pubsub sequencer") {

TEST_CASE("in order: each broadcast is delivered at once and nothing is asked") {
  sequencer s{{}, true};
  sequencer::step out;
  for (uint64_t i = 1; i <= 3; ++i)
    s.arrived(from_a(i), t0, out);
  CHECK(seqs(out) == std::vector<uint64_t>{1, 2, 3});
  CHECK(out.resend.empty());
  CHECK(out.gaps.empty());
}

TEST_CASE("a hole: later broadcasts wait, the exact range is asked for, and the resend fills it in order") {
  sequencer s{{}, true};
  sequencer::step out;
  s.arrived(from_a(1), t0, out);
  s.arrived(from_a(4), t0, out);
  s.arrived(from_a(5), t0, out);
  CHECK(seqs(out) == std::vector<uint64_t>{1});
  CHECK(asked(out) == std::vector<range>{{2, 3}});  // once, not again for 5
  CHECK(s.held() == 2);
  sequencer::step more;
  s.arrived(from_a(3), t0 + 10ms, more);  // resends may come in any order
  s.arrived(from_a(5), t0 + 10ms, more);  // a duplicate of a held one
  CHECK(seqs(more).empty());
  s.arrived(from_a(2), t0 + 20ms, more);
  CHECK(seqs(more) == std::vector<uint64_t>{2, 3, 4, 5});
  CHECK(more.gaps.empty());
  CHECK(s.held() == 0);
  s.arrived(from_a(2), t0 + 30ms, more);  // a late duplicate
  CHECK(seqs(more).size() == 4);
}

TEST_CASE("what the origin no longer has is reported as an exact range; delivery goes on after it") {
  sequencer s{{}, true};
  sequencer::step out;
  s.arrived(from_a(1), t0, out);
  s.arrived(from_a(6), t0, out);
  CHECK(asked(out) == std::vector<range>{{2, 5}});
  sequencer::step more;
  s.gone("a@h", 7, 2, 3, more);            // 4 and 5 follow as resends
  CHECK(lost(more) == std::vector<range>{{2, 4}});
  s.arrived(from_a(4), t0, more);
  s.arrived(from_a(5), t0, more);
  CHECK(seqs(more) == std::vector<uint64_t>{4, 5, 6});
}

TEST_CASE("a hole nobody repairs is reported after hold_for, not before") {
  sequencer s{{.hold_for = 2s}, true};
  sequencer::step out;
  s.arrived(from_a(1), t0, out);
  s.arrived(from_a(3), t0 + 100ms, out);
  s.expire(t0 + 2099ms, out);
  CHECK(out.gaps.empty());
  s.expire(t0 + 2100ms, out);
  CHECK(lost(out) == std::vector<range>{{2, 3}});
  CHECK(seqs(out) == std::vector<uint64_t>{1, 3});
}

TEST_CASE("a resend that is not answered is asked for again, the whole hole") {
  sequencer s{{.hold_for = 2s, .ask_again = 400ms}, true};
  sequencer::step out;
  s.arrived(from_a(1), t0, out);
  s.arrived(from_a(3), t0, out);
  s.arrived(from_a(6), t0 + 100ms, out);
  CHECK(asked(out) == std::vector<range>{{2, 2}, {4, 5}});
  s.expire(t0 + 499ms, out);  // 400 ms after the last ask
  CHECK(out.resend.size() == 2);
  s.expire(t0 + 500ms, out);
  CHECK(asked(out).back() == range{2, 2});
  s.arrived(from_a(2), t0 + 550ms, out);
  CHECK(seqs(out) == std::vector<uint64_t>{1, 2, 3});
  s.expire(t0 + 900ms, out);
  CHECK(asked(out).back() == range{4, 5});
}

TEST_CASE("a status shows a lost tail: it is asked for, and reported if it never comes") {
  sequencer s{{.hold_for = 1s}, true};
  sequencer::step out;
  s.arrived(from_a(1), t0, out);
  s.status("a@h", 7, 4, t0, out);
  CHECK(asked(out) == std::vector<range>{{2, 4}});
  s.status("a@h", 7, 4, t0 + 300ms, out);  // the same status again asks nothing more
  CHECK(out.resend.size() == 1);
  s.arrived(from_a(2), t0 + 600ms, out);
  s.expire(t0 + 1s, out);
  CHECK(lost(out) == std::vector<range>{{3, 5}});
  CHECK(seqs(out) == std::vector<uint64_t>{1, 2});
  sequencer::step next;
  s.arrived(from_a(5), t0 + 2s, next);  // after the reported range: no new gap
  CHECK(seqs(next) == std::vector<uint64_t>{5});
  CHECK(next.gaps.empty());
}

TEST_CASE("more held than max_held: the hole is given up at once") {
  sequencer s{{.max_held = 3}, true};
  sequencer::step out;
  s.arrived(from_a(1), t0, out);
  for (uint64_t i = 3; i <= 6; ++i)
    s.arrived(from_a(i), t0, out);
  CHECK(lost(out) == std::vector<range>{{2, 3}});
  CHECK(seqs(out) == std::vector<uint64_t>{1, 3, 4, 5, 6});
  CHECK(s.held() == 0);
}

TEST_CASE("first contact and restarts: numbering starts where the origin is, without false gaps") {
  sequencer s{{}, true};
  sequencer::step out;
  s.status("a@h", 7, 1000, t0, out);  // joined late: 1..1000 were never meant for us
  s.arrived(from_a(1001), t0, out);
  CHECK(seqs(out) == std::vector<uint64_t>{1001});
  s.arrived(from_a(1003), t0, out);  // held behind 1002 ...
  s.arrived(from_a(1, 8), t0, out);  // ... when the origin restarts (a new incarnation)
  CHECK(lost(out) == std::vector<range>{{1002, 1003}});
  CHECK(seqs(out) == std::vector<uint64_t>{1001, 1003, 1});
  CHECK(out.gaps[0].incarnation == 7);
  s.arrived(from_a(2, 8), t0, out);
  CHECK(seqs(out).back() == 2);
  CHECK(out.gaps.size() == 1);
}

TEST_CASE("without resends a hole is reported at once and nothing waits") {
  sequencer s;
  sequencer::step out;
  s.arrived(from_a(1), t0, out);
  s.arrived(from_a(4), t0, out);
  CHECK(lost(out) == std::vector<range>{{2, 4}});
  CHECK(seqs(out) == std::vector<uint64_t>{1, 4});
  CHECK(out.resend.empty());
  s.status("a@h", 7, 6, t0, out);
  CHECK(lost(out).back() == range{5, 7});
}

TEST_CASE("unsequenced broadcasts (direct) pass straight through") {
  sequencer s{{}, true};
  sequencer::step out;
  s.arrived(from_a(0), t0, out);
  s.arrived(from_a(0), t0, out);
  CHECK(out.deliver.size() == 2);
}

} // TEST_SUITE
