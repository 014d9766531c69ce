#include <doctest/doctest.h>

#include <boost/asio/ssl.hpp>

#include "harness.hpp"

using namespace cluster_test;
namespace v1 = corvid::cluster::v1;
namespace ssl = boost::asio::ssl;

namespace {

const std::string certs = CLUSTER_TEST_CERTS;

tls_files files_of(const std::string& cert) {
  return {certs + "/ca.pem", certs + "/" + cert + ".pem", certs + "/" + cert + ".key"};
}

options tls_options(std::string name, const std::string& cert, std::string secret = secret_a) {
  auto o = make_options(std::move(name), std::move(secret));
  o.tls = files_of(cert);
  return o;
}

// Dials a TLS listener and checks both sides come up and a frame flows.
void expect_up(options ao, options bo) {
  node a, b;
  auto l = listener::open(a.net.io, loopback(0), std::move(ao), a.rec.make());
  REQUIRE(l);
  auto c = connection::dial(b.net.io, loopback(l.value().port()), std::move(bo), b.rec.make());
  REQUIRE(c);
  REQUIRE(b.rec.wait_for([](auto& r) { return r.ups.size() == 1 || !r.closes.empty(); }));
  REQUIRE(b.rec.with_lock([](auto& r) { return r.closes.empty(); }));
  REQUIRE_FALSE(c.value().send(lane::data, send_frame(5, "over tls")));
  REQUIRE(a.rec.wait_for([](auto& r) { return !r.frames.empty(); }));
  CHECK(a.rec.with_lock([](auto& r) { return r.frames[0].frame.send().elements(0).data(); }) ==
        "over tls");
  CHECK(c.value().peer()->node_name == "a");
}

} // namespace

TEST_SUITE("cluster.tls") {

TEST_CASE("mutual TLS with a shared secret: both sides authenticate and frames flow") {
  expect_up(tls_options("a", "node_a"), tls_options("b", "node_b"));
}

TEST_CASE("mutual TLS alone, without a secret, authenticates by certificate") {
  expect_up(tls_options("a", "node_a", ""), tls_options("b", "node_b", ""));
}

TEST_CASE("without TLS an empty secret is still refused") {
  node a;
  auto c = connection::dial(a.net.io, loopback(1), make_options("b", ""), a.rec.make());
  REQUIRE_FALSE(c);
  CHECK(c.err().kind == errc::invalid_argument);
}

TEST_CASE("unreadable TLS files are refused when dialing") {
  node a;
  auto o = tls_options("b", "node_b");
  o.tls->ca_file = certs + "/missing.pem";
  auto c = connection::dial(a.net.io, loopback(1), o, a.rec.make());
  REQUIRE_FALSE(c);
  CHECK(c.err().kind == errc::invalid_argument);
  CHECK(c.err().message.rfind("TLS: cannot load the CA file " + certs + "/missing.pem", 0) == 0);
}

TEST_CASE("a node certificate from another CA is refused on both sides") {
  node a, b;
  auto l = listener::open(a.net.io, loopback(0), tls_options("a", "node_a"), a.rec.make());
  REQUIRE(l);
  auto c = connection::dial(b.net.io, loopback(l.value().port()), tls_options("b", "rogue"),
                            b.rec.make());
  REQUIRE(c);
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  REQUIRE(b.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  const auto ea = a.rec.with_lock([](auto& r) { return r.closes[0]; });
  const auto eb = b.rec.with_lock([](auto& r) { return r.closes[0]; });
  MESSAGE("listener: " << to_string(ea) << " / dialer: " << to_string(eb));
  CHECK(ea.kind == errc::auth);
  CHECK(ea.message.rfind("TLS handshake failed: ", 0) == 0);
  // Usually the "unknown ca" alert; a reset can overtake it once the listener has closed.
  CHECK((eb.kind == errc::auth || eb.kind == errc::io));
  CHECK(a.rec.with_lock([](auto& r) { return r.ups.size() + r.frames.size(); }) == 0);
  CHECK(b.rec.with_lock([](auto& r) { return r.ups.size() + r.frames.size(); }) == 0);
}

TEST_CASE("a client without a certificate is refused") {
  node a;
  auto l = listener::open(a.net.io, loopback(0), tls_options("a", "node_a"), a.rec.make());
  REQUIRE(l);
  asio::io_context io;
  ssl::context ctx(ssl::context::tls);
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<asio::ip::tcp::socket> s(io, ctx);
  s.next_layer().connect(loopback(l.value().port()));
  boost::system::error_code ec;
  s.handshake(ssl::stream_base::client, ec);  // TLS 1.3: the server may complain only after
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  const auto e = a.rec.with_lock([](auto& r) { return r.closes[0]; });
  MESSAGE("listener: " << to_string(e));
  CHECK(e.kind == errc::auth);
  CHECK(e.message.rfind("TLS handshake failed: ", 0) == 0);
  CHECK(a.rec.with_lock([](auto& r) { return r.ups.size(); }) == 0);
}

TEST_CASE("a plain-text peer is refused by a TLS node") {
  node a;
  auto l = listener::open(a.net.io, loopback(0), tls_options("a", "node_a"), a.rec.make());
  REQUIRE(l);
  raw_client raw(l.value().port());
  v1::Frame f;
  f.mutable_hello()->set_protocol_major(1);
  f.mutable_hello()->set_node_name("plain");
  f.mutable_hello()->set_nonce(std::string(32, 'n'));
  raw.write(wire(f));
  CHECK(raw.closed_by_peer());
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  CHECK(a.rec.with_lock([](auto& r) { return r.closes[0].kind; }) == errc::auth);
}

}
