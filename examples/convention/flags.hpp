// The command line: the app's own flags plus the live demo's cluster flags (shared, in
// examples/live_demo/cluster_flags.hpp).
#pragma once

#include <string>
#include <vector>

#include "../live_demo/cluster_flags.hpp"
#include "options.hpp"

namespace convention {

struct parsed_flags {
  app_options app;
  demo::cluster_flags cluster;
  bool help = false;
  std::string error;  ///< "" = the flags are usable
};

/// Parses the arguments after the program name; with cluster flags, also reads the secret
/// file and fills app.node and app.node_name.
parsed_flags parse_flags(const std::vector<std::string>& args);
/// What --help prints.
std::string usage();

}  // namespace convention
