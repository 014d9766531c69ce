#pragma once
// A node's members in the Prometheus text format, to serve next to the runtime's metrics:
// up, round trip, and each lane's outbound queue (frames, bytes, high-water, refusals).
//
//   server_options.extra_metrics = [n] { return corvid::cluster::prometheus_metrics(*n); };

#include <string>

#include "corvid/cluster/node.hpp"

namespace corvid::cluster {

/// corvid_cluster_* gauges and counters, one series per member (and lane).
std::string prometheus_metrics(const node& n);

} // namespace corvid::cluster
