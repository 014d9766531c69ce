#include <doctest/doctest.h>

#include "harness.hpp"

using namespace cluster_test;
namespace v1 = corvid::cluster::v1;

TEST_SUITE("cluster.handshake") {

TEST_CASE("handshake succeeds both ways and frames flow in both directions") {
  node a, b;
  auto l = listener::open(a.net.io, loopback(0), make_options("a"), a.rec.make());
  REQUIRE(l);
  auto c = connection::dial(b.net.io, loopback(l.value().port()), make_options("b"), b.rec.make());
  REQUIRE(c);
  REQUIRE(a.rec.wait_for([](auto& r) { return r.ups.size() == 1; }));
  REQUIRE(b.rec.wait_for([](auto& r) { return r.ups.size() == 1; }));
  CHECK(c.value().is_up());
  REQUIRE(c.value().peer());
  CHECK(c.value().peer()->node_name == "a");
  CHECK(c.value().peer()->incarnation == 7);
  auto accepted = a.rec.with_lock([](auto& r) { return r.ups[0]; });
  REQUIRE(accepted.peer());
  CHECK(accepted.peer()->node_name == "b");

  CHECK_FALSE(c.value().send(lane::data, send_frame(1, "to a")));
  CHECK_FALSE(accepted.send(lane::control, send_frame(2, "to b")));
  REQUIRE(a.rec.wait_for([](auto& r) { return !r.frames.empty(); }));
  REQUIRE(b.rec.wait_for([](auto& r) { return !r.frames.empty(); }));
  a.rec.with_lock([](auto& r) {
    CHECK(r.frames[0].l == lane::data);
    CHECK(r.frames[0].frame.send().elements(0).data() == "to a");
    return 0;
  });
  b.rec.with_lock([](auto& r) {
    CHECK(r.frames[0].l == lane::control);
    CHECK(r.frames[0].frame.send().to_id() == 2);
    return 0;
  });
  c.value().close();
  REQUIRE(b.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  CHECK(b.rec.with_lock([](auto& r) { return r.closes[0].kind; }) == errc::closed);
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  // EOF, or a reset if a heartbeat was still unread at b: either way an io close.
  CHECK(a.rec.with_lock([](auto& r) { return r.closes[0].kind; }) == errc::io);
  CHECK(c.value().send(lane::data, send_frame(1, "late")).kind == errc::not_connected);
}

TEST_CASE("a secret shorter than 32 bytes is refused when dialing or listening") {
  node a;
  auto o = make_options("a", std::string(31, 's'));
  auto l = listener::open(a.net.io, loopback(0), o, a.rec.make());
  REQUIRE_FALSE(l);
  CHECK(l.err().kind == errc::invalid_argument);
  CHECK(l.err().message == "secret of 31 bytes is too short (at least 32 bytes)");
  auto c = connection::dial(a.net.io, loopback(1), o, a.rec.make());
  REQUIRE_FALSE(c);
  CHECK(c.err().kind == errc::invalid_argument);
}

TEST_CASE("a wrong secret is refused on both sides with a clear reason and no frame delivered") {
  node a, b;
  auto l = listener::open(a.net.io, loopback(0), make_options("a", secret_a), a.rec.make());
  REQUIRE(l);
  auto c = connection::dial(b.net.io, loopback(l.value().port()), make_options("b", secret_b),
                            b.rec.make());
  REQUIRE(c);
  // Queued before authentication: must never reach a.
  CHECK_FALSE(c.value().send(lane::data, send_frame(1, "must not arrive")));
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  REQUIRE(b.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  const auto ea = a.rec.with_lock([](auto& r) { return r.closes[0]; });
  const auto eb = b.rec.with_lock([](auto& r) { return r.closes[0]; });
  CHECK(ea.kind == errc::auth);
  CHECK(ea.message == "authentication failed: b does not know the shared secret");
  CHECK(eb.kind == errc::refused);
  CHECK(eb.message == "refused by peer: authentication failed: b does not know the shared secret");
  CHECK(a.rec.with_lock([](auto& r) { return r.ups.size() + r.frames.size(); }) == 0);
  CHECK(b.rec.with_lock([](auto& r) { return r.ups.size() + r.frames.size(); }) == 0);
  CHECK(c.value().stats(lane::data).dropped == 1);
}

TEST_CASE("a dialer refuses an acceptor that cannot prove the secret") {
  // A fake acceptor: answers the Hello with a Challenge, then a forged Proof.
  node b;
  asio::io_context fake_io;
  asio::ip::tcp::acceptor acc(fake_io, loopback(0));
  auto c = connection::dial(b.net.io, loopback(acc.local_endpoint().port()), make_options("b"),
                            b.rec.make());
  REQUIRE(c);
  asio::ip::tcp::socket s(fake_io);
  acc.accept(s);
  unsigned char h[4];
  asio::read(s, asio::buffer(h));
  std::string body((size_t{h[2]} << 8) | h[3], '\0');
  asio::read(s, asio::buffer(body));
  v1::Frame hello;
  REQUIRE(hello.ParseFromString(body));
  REQUIRE(hello.has_hello());
  CHECK(hello.hello().node_name() == "b");
  CHECK(hello.hello().nonce().size() == 32);

  v1::Frame ch;
  auto* mine = ch.mutable_challenge()->mutable_hello();
  mine->set_protocol_major(1);
  mine->set_node_name("impostor");
  mine->set_nonce(std::string(32, 'n'));
  v1::Frame proof;
  proof.mutable_proof()->set_digest(std::string(32, 'x'));
  asio::write(s, asio::buffer(wire(ch) + wire(proof)));
  REQUIRE(b.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  const auto e = b.rec.with_lock([](auto& r) { return r.closes[0]; });
  CHECK(e.kind == errc::auth);
  CHECK(e.message == "authentication failed: impostor does not know the shared secret");
  CHECK(b.rec.with_lock([](auto& r) { return r.ups.size(); }) == 0);
}

TEST_CASE("another protocol major is refused with a message naming both versions") {
  node a;
  auto l = listener::open(a.net.io, loopback(0), make_options("a"), a.rec.make());
  REQUIRE(l);
  raw_client raw(l.value().port());
  v1::Frame f;
  f.mutable_hello()->set_protocol_major(2);
  f.mutable_hello()->set_node_name("future");
  f.mutable_hello()->set_nonce(std::string(32, 'n'));
  REQUIRE(raw.write(wire(f)));
  auto answer = raw.read_frame();
  REQUIRE(answer);
  REQUIRE(answer->has_refuse());
  CHECK(answer->refuse().reason() == "protocol version 2 not supported (this node speaks 1)");
  CHECK(raw.closed_by_peer());
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  CHECK(a.rec.with_lock([](auto& r) { return r.closes[0].kind; }) == errc::version);
}

TEST_CASE("a handshake that never completes is closed by the 2 s deadline") {
  node a;
  auto l = listener::open(a.net.io, loopback(0), make_options("a"), a.rec.make());
  REQUIRE(l);
  const auto t0 = std::chrono::steady_clock::now();
  raw_client silent(l.value().port(), 10s);
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }, 10s));
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 1900ms);
  CHECK(took < 5s);
  const auto e = a.rec.with_lock([](auto& r) { return r.closes[0]; });
  CHECK(e.kind == errc::timeout);
  CHECK(e.message == "handshake not completed within 2000 ms");
  CHECK(silent.closed_by_peer());
}

TEST_CASE("a dialer whose peer never answers gives up at the deadline") {
  node b;
  asio::io_context fake_io;
  asio::ip::tcp::acceptor acc(fake_io, loopback(0));  // the kernel accepts; nobody answers
  auto o = make_options("b");
  o.handshake_timeout = 300ms;
  auto c = connection::dial(b.net.io, loopback(acc.local_endpoint().port()), o, b.rec.make());
  REQUIRE(c);
  REQUIRE(b.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  CHECK(b.rec.with_lock([](auto& r) { return r.closes[0].message; }) ==
        "handshake not completed within 300 ms");
}

}
