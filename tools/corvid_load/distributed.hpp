// corvid-load across worker nodes of a corvid cluster (--workers N). The coordinator (this process)
// listens on loopback, starts worker nodes as child processes when the ramp reaches their share of
// the users (elastic, as FLAME starts machines on demand), gives each its range of users once (no
// user is ever moved), collects their measurements every second through the cluster, and stops
// each worker as soon as its users are done.
#pragma once

#include <cstdint>
#include <string>

#include "collector.hpp"
#include "load_node.hpp"

namespace corvid::load {

/// What the coordinator needs beyond one node's plan.
struct distributed_plan {
  std::string scenario;                ///< a built-in scenario's name (workers look it up)
  std::string host;                    ///< the target, as the workers resolve it
  std::vector<std::uint16_t> ports;    ///< user n goes to ports[n % size]
  std::string origin;                  ///< as --origin: "" = http://host:port, "none" = no header
  std::string sources;                 ///< as --source: "A,B,..." or ""
  node_plan users;                     ///< count = all users; first_user = 0
  int workers = 2;                     ///< at most this many worker nodes
  std::uint64_t users_per_worker = 0;  ///< 0 = users / workers, rounded up
  double duration = 0;                 ///< seconds; 0 = until every user is done
  bool quiet = false;
};

/// Runs the coordinator; fills `col` and returns the number of workers started, or an error text.
caf::expected<int> run_coordinator(const distributed_plan& p, collector& col);

/// The body of `corvid-load --worker ...` (argv as given); returns the process exit code.
int run_worker(int argc, char** argv);

} // namespace corvid::load
