// The handshake, as frames arrive: dialer Hello -> acceptor Challenge -> dialer Proof ->
// acceptor Proof -> dialer Welcome. The acceptor checks the dialer's proof first, so it
// proves nothing to a stranger; each side ends it with a Refuse that says why.
#include "auth.hpp"
#include "connection_impl.hpp"

namespace corvid::cluster::detail {

void connection_impl::send_handshake(const v1::Frame& f) {
  std::string bytes;
  if (auto e = encode_frame(f, handshake_frame_limit, bytes)) {
    close(std::move(e));
    return;
  }
  {
    std::lock_guard lk(write_mu_);
    handshake_out_.push_back(std::move(bytes));
  }
  pump();
}

void connection_impl::refuse(errc kind, std::string reason) {
  v1::Frame f;
  f.mutable_refuse()->set_reason(reason);
  send_handshake(f);
  if (phase_ == phase::closed)
    return;
  // Reading stops; the writer closes once the Refuse is out (or the deadline does).
  phase_ = phase::closing;
  closing_reason_ = {kind, std::move(reason)};
  pump();
}

void connection_impl::send_hello() {
  my_nonce_ = make_nonce();
  if (my_nonce_.empty()) {
    close({errc::io, "no random nonce available from the OS"});
    return;
  }
  v1::Frame f;
  auto* h = role_ == role::dialer ? f.mutable_hello() : f.mutable_challenge()->mutable_hello();
  h->set_protocol_major(protocol_major);
  h->set_protocol_minor(protocol_minor);
  h->set_node_name(opts_.node_name);
  h->set_incarnation(opts_.incarnation);
  h->set_listen_address(opts_.listen_address);
  h->set_nonce(my_nonce_);
  send_handshake(f);
}

bool connection_impl::check_hello(const v1::Hello& h) {
  if (h.protocol_major() != protocol_major) {
    refuse(errc::version, "protocol version " + std::to_string(h.protocol_major()) +
                              " not supported (this node speaks " +
                              std::to_string(protocol_major) + ")");
    return false;
  }
  if (h.nonce().size() != nonce_bytes || h.node_name().empty()) {
    refuse(errc::protocol, "malformed hello: a node name and a 32-byte nonce are required");
    return false;
  }
  if (h.nonce() == my_nonce_) {
    refuse(errc::auth, "the peer echoed our own nonce");
    return false;
  }
  peer_hello_ = h;
  return true;
}

void connection_impl::on_handshake_frame(v1::Frame& f) {
  if (f.has_refuse()) {
    close({errc::refused, "refused by peer: " + f.refuse().reason()});
    return;
  }
  if (phase_ == phase::await_hello && f.has_hello())
    on_hello(f.hello());
  else if (phase_ == phase::await_challenge && f.has_challenge())
    on_challenge(f.challenge().hello());
  else if (phase_ == phase::await_proof && f.has_proof())
    on_dialer_proof(f.proof().digest());
  else if (phase_ == phase::await_peer_proof && f.has_proof())
    on_acceptor_proof(f.proof().digest());
  else if (phase_ == phase::await_welcome && f.has_welcome())
    become_up();
  else
    refuse(errc::protocol, "unexpected frame (body " + std::to_string(f.body_case()) +
                               ") during the handshake");
}

void connection_impl::on_hello(const v1::Hello& h) {
  if (!check_hello(h))
    return;
  send_hello();
  phase_ = phase::await_proof;
}

void connection_impl::on_challenge(const v1::Hello& h) {
  if (!check_hello(h))
    return;
  v1::Frame f;
  f.mutable_proof()->set_digest(make_proof(opts_.secret, prover::dialer, my_nonce_, h.nonce(),
                                           opts_.node_name, h.node_name()));
  send_handshake(f);
  phase_ = phase::await_peer_proof;
}

void connection_impl::on_dialer_proof(const std::string& digest) {
  const auto& ph = peer_hello_;
  if (!same_digest(digest, make_proof(opts_.secret, prover::dialer, ph.nonce(), my_nonce_,
                                      ph.node_name(), opts_.node_name))) {
    refuse(errc::auth, "authentication failed: " + ph.node_name() +
                           " does not know the shared secret");
    return;
  }
  v1::Frame f;
  f.mutable_proof()->set_digest(make_proof(opts_.secret, prover::acceptor, ph.nonce(),
                                           my_nonce_, ph.node_name(), opts_.node_name));
  send_handshake(f);
  phase_ = phase::await_welcome;
}

void connection_impl::on_acceptor_proof(const std::string& digest) {
  const auto& ph = peer_hello_;
  if (!same_digest(digest, make_proof(opts_.secret, prover::acceptor, my_nonce_, ph.nonce(),
                                      opts_.node_name, ph.node_name()))) {
    refuse(errc::auth, "authentication failed: " + ph.node_name() +
                           " does not know the shared secret");
    return;
  }
  v1::Frame f;
  f.mutable_welcome();
  send_handshake(f);
  become_up();
}

void connection_impl::become_up() {
  phase_ = phase::up;
  handshake_timer_.cancel();
  reader_.set_limit(opts_.max_frame_bytes);
  last_heard_ = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(peer_mu_);
    peer_ = peer_info{peer_hello_.node_name(), peer_hello_.incarnation(),
                      peer_hello_.listen_address(), peer_hello_.protocol_minor()};
  }
  up_.store(true, std::memory_order_release);
  arm_tick();
  if (h_.on_up)
    h_.on_up(handle());
  pump();
}

} // namespace corvid::cluster::detail
