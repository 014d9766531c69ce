// Cluster flags of the demo: parsing, the secret file, TLS files, and the node's numbers for
// the dashboard and /metrics.

#include "cluster_flags.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace demo {

namespace {

// "NAME@HOST:PORT" or "HOST:PORT" -> "HOST:PORT".
std::string address_of(const std::string& s) {
  auto at = s.rfind('@');
  return at == std::string::npos ? s : s.substr(at + 1);
}

bool valid_address(const std::string& a) {
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  for (auto c : a.substr(colon + 1))
    if (c < '0' || c > '9') return false;
  return std::stoul(a.substr(colon + 1)) <= 65535;
}

}  // namespace

std::string cluster_flags::check() const {
  if (node.empty()) {
    if (!seeds.empty() || !dns.empty() || !secret_file.empty() || !tls_dir.empty() || net_ticktime)
      return "--seed, --dns, --secret-file, --tls-dir and --net-ticktime need --node NAME@HOST:PORT";
    return "";
  }
  if (node.find('@') == std::string::npos || node.rfind('@') == 0 || !valid_address(address_of(node)))
    return "--node wants NAME@HOST:PORT, e.g. a@127.0.0.1:7101 (got '" + node + "')";
  for (auto& s : seeds)
    if (!valid_address(address_of(s))) return "--seed wants [NAME@]HOST:PORT (got '" + s + "')";
  if (!dns.empty() && !valid_address(dns)) return "--dns wants NAME:PORT, e.g. corvid.local:7101 (got '" + dns + "')";
  if (secret_file.empty() && tls_dir.empty()) return "--node needs --secret-file FILE (or --tls-dir DIR)";
  if (net_ticktime && ticktime_seconds() == 0)
    return "--net-ticktime wants whole seconds 4-600 (got '" + *net_ticktime + "')";
  return "";
}

unsigned cluster_flags::ticktime_seconds() const {
  if (!net_ticktime || net_ticktime->empty() || net_ticktime->size() > 3) return 0;
  for (auto c : *net_ticktime)
    if (c < '0' || c > '9') return 0;
  auto t = static_cast<unsigned>(std::stoul(*net_ticktime));
  return t >= 4 && t <= 600 ? t : 0;
}

std::optional<corvid::cluster::node_options> cluster_flags::options(std::string& error) const {
  corvid::cluster::node_options o;
  auto listen = address_of(node);
  auto colon = listen.rfind(':');
  o.listen_host = listen.substr(0, colon);
  o.listen_port = static_cast<uint16_t>(std::stoul(listen.substr(colon + 1)));
  for (auto& s : seeds) o.seeds.push_back(address_of(s));
  if (auto t = ticktime_seconds()) {
    // As in Erlang's distribution: silence for the whole tick time ends a member, nothing sooner.
    o.wire.dead_after = std::chrono::seconds(t);
    o.wire.heartbeat_interval = std::chrono::milliseconds(t * 250);
    o.phi_threshold = 0;
  }
  if (!dns.empty()) {
    auto c = dns.rfind(':');
    o.dns_name = dns.substr(0, c);
    o.dns_port = static_cast<uint16_t>(std::stoul(dns.substr(c + 1)));
  }
  if (!secret_file.empty()) {
    std::ifstream in{secret_file, std::ios::binary};
    if (!in) {
      error = "cannot read the secret file " + secret_file;
      return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    o.wire.secret = ss.str();
    while (!o.wire.secret.empty() && (o.wire.secret.back() == '\n' || o.wire.secret.back() == '\r'))
      o.wire.secret.pop_back();
    if (o.wire.secret.size() < corvid::cluster::min_secret_bytes) {
      error = "the secret in " + secret_file + " has " + std::to_string(o.wire.secret.size()) +
              " bytes; at least " + std::to_string(corvid::cluster::min_secret_bytes) +
              " are needed (e.g. head -c 48 /dev/urandom | base64 > " + secret_file + ")";
      return std::nullopt;
    }
  }
  if (!tls_dir.empty()) {
    std::filesystem::path d{tls_dir};
    corvid::cluster::tls_files t{(d / "ca.pem").string(), (d / "node.pem").string(), (d / "node.key").string()};
    for (auto* f : {&t.ca_file, &t.cert_file, &t.key_file}) {
      if (!std::ifstream{*f}) {
        error = "--tls-dir: cannot read " + *f;
        return std::nullopt;
      }
    }
    o.wire.tls = t;
  }
  return o;
}

std::vector<corvid::live::dashboard_node> demo_cluster::rows() const {
  std::vector<corvid::live::dashboard_node> out;
  if (!node) return out;
  for (auto& m : node->members()) {
    corvid::live::dashboard_node r;
    r.name = m.id.name;
    r.address = m.address;
    r.incarnation = m.id.incarnation;
    r.up = m.up;
    if (m.round_trip) r.round_trip_us = static_cast<double>(m.round_trip->count()) / 1000.0;
    r.control_queued = m.control.queued_frames;
    r.data_queued = m.data.queued_frames;
    r.data_queued_bytes = m.data.queued_bytes;
    r.refused = m.control.refused + m.data.refused;
    out.push_back(std::move(r));
  }
  return out;
}

std::string demo_cluster::metrics() const { return node ? corvid::cluster::prometheus_metrics(*node) : ""; }

}  // namespace demo
