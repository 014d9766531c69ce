#include "host_check.hpp"

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/address.hpp>

namespace corvid::live::detail {

namespace {

// "http://127.0.0.1:4000" -> "127.0.0.1:4000"
std::string_view host_of_origin(std::string_view origin) {
  auto s = origin.find("://");
  return s == std::string_view::npos ? origin : origin.substr(s + 3);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

// `host` has passed allowed_hosts, so "http://" + host is this server's own origin.
bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  if (allowed.empty())
    return origin.size() == 7 + host.size() && iequals(origin.substr(0, 7), "http://") && iequals(origin.substr(7), host);
  for (const auto& a : allowed) {
    if (a == "*" || iequals(a, origin)) return true;
    if (a.rfind("//", 0) == 0 && iequals(host_of_origin(origin), std::string_view(a).substr(2))) return true;
  }
  return false;
}

std::optional<std::pair<std::string, std::string>> split_host(std::string_view h) {
  std::string_view name = h, port;
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name = h.substr(0, close + 1);
    auto rest = h.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
  } else if (auto colon = h.find(':'); colon != std::string_view::npos) {
    name = h.substr(0, colon);
    port = h.substr(colon + 1);
  }
  if (name.empty() || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::pair{std::move(lower), std::string(port)};
}

host_list::host_list(const std::string& address, const std::vector<std::string>& extra) {
  std::vector<std::string> all{"localhost", "127.0.0.1", "[::1]"};
  boost::system::error_code ec;
  if (auto a = boost::asio::ip::make_address(address, ec); !ec && !a.is_unspecified())
    all.push_back(a.is_v6() ? "[" + a.to_string() + "]" : a.to_string());
  all.insert(all.end(), extra.begin(), extra.end());
  for (auto& h : all) {
    if (h == "*") any_ = true;
    else if (auto s = split_host(h)) hosts_.push_back(std::move(*s));
  }
}

bool host_list::allows(std::string_view header) const {
  if (any_) return true;
  auto h = split_host(header);
  if (!h) return false;
  for (auto& [name, port] : hosts_)
    if (name == h->first && (port.empty() || port == h->second)) return true;
  return false;
}

}  // namespace corvid::live::detail
