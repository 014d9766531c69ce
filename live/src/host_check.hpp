// Which Host and Origin headers a server answers to (against DNS rebinding and cross-site websockets).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corvid::live::detail {

/// A Host header (or an allowed_hosts entry) split into a lower-case name and a port ("" = none):
/// "Example.com:4000", "[::1]:80", "localhost". nullopt if it is not of that shape.
std::optional<std::pair<std::string, std::string>> split_host(std::string_view h);

/// Whether a websocket upgrade's Origin may connect, given its Host (already allowed) and
/// server_options::allowed_origins. No Origin: not a browser, nothing to forge.
bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed);

/// The hosts a server answers to: the loopback names, its own address and allowed_hosts.
class host_list {
 public:
  host_list(const std::string& address, const std::vector<std::string>& extra);
  bool allows(std::string_view host_header) const;

 private:
  bool any_ = false;
  std::vector<std::pair<std::string, std::string>> hosts_;
};

}  // namespace corvid::live::detail
