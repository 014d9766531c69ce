// Failure detection: phi accrual on each member's heartbeats; a suspect is probed through
// another member before it is declared down.
#include "node_impl.hpp"

namespace corvid::cluster {

phi_detector node_impl::new_detector() const {
  return phi_detector{opts_.wire.heartbeat_interval, opts_.phi_min_std_dev, opts_.acceptable_pause};
}

// A member's heartbeat: the only regular signal, so the one its detector learns from.
void node_impl::heard(const connection& c) {
  std::lock_guard<std::mutex> g{m_};
  auto p = peer_by_conn(c);
  if (!p) {
    return;
  }
  if (!p->fd)
    p->fd = new_detector();
  p->fd->heartbeat(now());
}

double node_impl::phi_of(const peer_state& p, std::chrono::steady_clock::time_point t) const {
  return p.fd ? p.fd->phi(t) : 0.0;
}

// Suspects members whose heartbeats are late: asks another member, or declares them down.
void node_impl::suspect_check() {
  auto t = now();
  std::vector<std::pair<connection, v1::Frame>> probes;
  std::vector<std::pair<connection, std::string>> downs;
  {
    std::lock_guard<std::mutex> g{m_};
    for (auto& [name, p] : peers_) {
      if (!p.conn)
        continue;
      auto phi = phi_of(p, t);
      if (phi < opts_.phi_threshold) {
        p.probe_ref = 0;
        continue;
      }
      if (p.probe_ref != 0) {
        if (t >= p.probe_deadline)
          downs.emplace_back(*p.conn, name + ": heartbeats late (phi " + std::to_string(int(phi)) +
                                          ") and no member vouched for it within the probe timeout");
        continue;
      }
      if (t - p.vouched_at < opts_.probe_timeout)
        continue;  // another member heard it lately: our link is the slow one
      // Ask the member heard most recently (lowest suspicion) other than the suspect.
      peer_state* by = nullptr;
      for (auto& [other, q] : peers_)
        if (other != name && q.conn && phi_of(q, t) < opts_.phi_threshold && (!by || phi_of(q, t) < phi_of(*by, t)))
          by = &q;
      if (!by) {
        downs.emplace_back(*p.conn, name + ": heartbeats late (phi " + std::to_string(int(phi)) +
                                        ") and no other member to ask");
        continue;
      }
      p.probe_ref = next_ref_++;
      p.probe_deadline = t + opts_.probe_timeout;
      v1::Frame f;
      auto* pr = f.mutable_probe();
      pr->set_ref(p.probe_ref);
      pr->set_target(name);
      pr->set_incarnation(p.id.incarnation);
      probes.emplace_back(*by->conn, std::move(f));
      if (telemetry::wanted("corvid.cluster.suspect"))
        telemetry::execute({"corvid.cluster.suspect", {{"phi", phi}}, {{"node", name}, {"asked", by->id.name}}});
    }
  }
  for (auto& [c, f] : probes)
    (void) c.send(lane::control, std::move(f));
  for (auto& [c, why] : downs) {
    if (telemetry::wanted("corvid.cluster.suspect_down"))
      telemetry::execute({"corvid.cluster.suspect_down", {}, {{"reason", why}}});
    c.close();  // on_closed settles it as down
  }
}

void node_impl::on_probe(const connection& c, const v1::Probe& pr) {
  bool alive = false;
  {
    std::lock_guard<std::mutex> g{m_};
    auto i = peers_.find(pr.target());
    alive = i != peers_.end() && i->second.conn && i->second.id.incarnation == pr.incarnation() &&
            phi_of(i->second, now()) < opts_.phi_threshold;
  }
  v1::Frame f;
  f.mutable_probe_ack()->set_ref(pr.ref());
  f.mutable_probe_ack()->set_alive(alive);
  (void) c.send(lane::control, std::move(f));
}

void node_impl::on_probe_ack(const v1::ProbeAck& a) {
  std::optional<connection> down;
  {
    std::lock_guard<std::mutex> g{m_};
    for (auto& [name, p] : peers_) {
      if (p.probe_ref == 0 || p.probe_ref != a.ref())
        continue;
      p.probe_ref = 0;
      if (a.alive()) {
        p.vouched_at = now();
      } else if (p.conn) {
        down = p.conn;
      }
      break;
    }
  }
  if (down) {
    if (telemetry::wanted("corvid.cluster.suspect_down"))
      telemetry::execute({"corvid.cluster.suspect_down", {}, {{"reason", "heartbeats late, and not heard by the member asked either"}}});
    down->close();
  }
}

} // namespace corvid::cluster
