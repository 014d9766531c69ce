// Host and Origin headers (DNS rebinding, cross-site websockets): the input is "host\norigin". Only
// a Host of the right shape is ever allowed, an allowed one stays allowed in any letter case, and an
// Origin passes the default check only as "http://" + that very Host.
#include <cctype>
#include <string>

#include "fuzz_check.hpp"
#include "host_check.hpp"

using namespace corvid::live::detail;

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view in = corvid_fuzz::as_text(data, size);
  auto nl = in.find('\n');
  const std::string_view host = in.substr(0, nl);
  const std::string_view origin = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);

  auto split = split_host(host);
  if (split) {
    FUZZ_CHECK(!split->first.empty());
    for (char c : split->first) FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
    for (char c : split->second) FUZZ_CHECK(c >= '0' && c <= '9');
  }
  static const host_list hosts("127.0.0.1", {"example.com", "app.example.com:8443", "[::1]"});
  const bool allowed = hosts.allows(host);
  if (allowed) FUZZ_CHECK(split.has_value());
  std::string upper(host);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  FUZZ_CHECK(hosts.allows(upper) == allowed);

  static const std::vector<std::string> none;
  if (origin_allowed(origin, host, none) && !origin.empty()) {
    FUZZ_CHECK(origin.size() == host.size() + 7);
    FUZZ_CHECK(lower(origin.substr(0, 7)) == "http://" && lower(origin.substr(7)) == lower(host));
  }
  static const std::vector<std::string> listed{"https://example.com", "//app.example.com:8443"};
  (void)origin_allowed(origin, host, listed);
  return 0;
}
