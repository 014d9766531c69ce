// The plain-TCP fast path: a send writes from the caller's thread when no write is in flight,
// and the connection's strand takes over what the socket cannot take at once.
#include <doctest/doctest.h>

#include <boost/asio/post.hpp>

#include "harness.hpp"

using namespace cluster_test;
namespace v1 = corvid::cluster::v1;

namespace {

// Payload of frame `i`: its size and bytes vary with i, so a lost, repeated or torn piece shows.
std::string payload_of(uint64_t i) {
  std::string p(40 * 1024 + (i * 37) % 8192, '\0');
  for (size_t k = 0; k < p.size(); ++k)
    p[k] = static_cast<char>((k * 131 + i * 7) ^ (k >> 8));
  return p;
}

// b dials a listener of a (kept in `l`); returns b's connection once both sides are up.
connection connect(node& a, node& b, options ao, options bo, std::optional<listener>& l) {
  auto lr = listener::open(a.net.io, loopback(0), std::move(ao), a.rec.make());
  REQUIRE(lr);
  l = lr.value();
  auto cr = connection::dial(b.net.io, loopback(l->port()), std::move(bo), b.rec.make());
  REQUIRE(cr);
  REQUIRE(b.rec.wait_for([](auto& r) { return r.ups.size() == 1; }));
  REQUIRE(a.rec.wait_for([](auto& r) { return r.ups.size() == 1; }));
  return cr.value();
}

// A pause longer than the connection's stream gap, so every send is eligible for the fast path.
void pause_between_sends() { std::this_thread::sleep_for(300us); }

} // namespace

TEST_SUITE("cluster.direct_write") {

TEST_CASE("sends go out while the sender's I/O thread is blocked; a burst that overflows the socket "
          "continues on the strand, complete and in order") {
  node a, b;
  gate reader_frozen, io_blocked;
  constexpr uint64_t freeze_at = 1000;
  a.rec.before_frame = [&](const connection&, lane, const v1::Frame& f) {
    if (f.has_send() && f.send().to_id() == freeze_at)
      reader_frozen.wait(60s);
  };
  auto ao = make_options("a");
  ao.dead_after = 120s;
  auto bo = make_options("b");
  bo.dead_after = 120s;
  bo.stuck_after = 120s;
  std::optional<listener> l;
  auto c = connect(a, b, ao, bo, l);

  // b's only I/O thread now waits: whatever reaches a was written by this thread.
  boost::asio::post(b.net.io, [&] { io_blocked.wait(60s); });
  for (uint64_t i = 0; i < 10; ++i) {
    pause_between_sends();
    REQUIRE_FALSE(c.send(lane::data, send_frame(i, "direct " + std::to_string(i))));
  }
  CHECK(a.rec.wait_for([](auto& r) { return r.frames.size() == 10; }));

  // a stops reading at `freeze_at`; the kernel's buffers fill, then b's queue holds the rest
  // (its strand is blocked, so nothing drains them until it is released).
  REQUIRE_FALSE(c.send(lane::data, send_frame(freeze_at, "freeze")));
  uint64_t next = freeze_at + 1;
  const auto end = std::chrono::steady_clock::now() + 30s;
  size_t queued_streak = 0;
  while (queued_streak < 20) {
    REQUIRE(std::chrono::steady_clock::now() < end);
    pause_between_sends();
    REQUIRE_FALSE(c.send(lane::data, send_frame(next, payload_of(next))));
    ++next;
    queued_streak = c.stats(lane::data).queued_frames > 0 ? queued_streak + 1 : 0;
  }
  v1::Frame m;
  m.mutable_members()->add_members()->set_name("after the burst");
  REQUIRE_FALSE(c.send(lane::control, m));
  MESSAGE((next - freeze_at) << " frames sent after the freeze; " << c.stats(lane::data).queued_frames
                           << " still queued when the strand was released");

  io_blocked.open();
  reader_frozen.open();
  const size_t expected = 10 + (next - freeze_at) + 1;
  REQUIRE(a.rec.wait_for([&](auto& r) { return r.frames.size() >= expected; }, 60s));
  a.rec.with_lock([&](auto& r) {
    CHECK(r.frames.size() == expected);
    uint64_t want = 0;
    bool members = false;
    for (auto& x : r.frames) {
      if (x.frame.has_members()) {
        members = true;
        continue;
      }
      REQUIRE(x.frame.has_send());
      const auto id = x.frame.send().to_id();
      CHECK(id == want);
      if (id > freeze_at)
        CHECK(x.frame.send().elements(0).data() == payload_of(id));
      want = id == 9 ? freeze_at : id + 1;
    }
    CHECK(members);
    CHECK(want == next);
    return 0;
  });
  CHECK(c.is_up());
  CHECK(c.stats(lane::data).queued_frames == 0);
}

TEST_CASE("a closed connection refuses sends; one closed during a burst of direct writes ends cleanly") {
  node a, b;
  std::optional<listener> l;
  auto c = connect(a, b, make_options("a"), make_options("b"), l);
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < 3; ++t)
    senders.emplace_back([&, t] {
      for (uint64_t i = 0; !stop.load(); ++i) {
        auto e = c.send(lane::data, send_frame(i, std::string(100 + t * 1000, 'x')));
        if (e.kind == errc::not_connected)
          return;
        if (i % 16 == 0)
          std::this_thread::sleep_for(20us);
      }
    });
  std::this_thread::sleep_for(50ms);
  c.close();
  REQUIRE(b.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  for (int i = 0; i < 100; ++i)
    std::this_thread::sleep_for(100us);
  stop = true;
  for (auto& s : senders)
    s.join();
  CHECK(c.send(lane::data, send_frame(1, "late")).kind == errc::not_connected);
  CHECK(b.rec.with_lock([](auto& r) { return r.closes[0].kind; }) == errc::closed);
}

}
