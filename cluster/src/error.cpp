#include "corvid/cluster/error.hpp"

namespace corvid::cluster {

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::none: return "none";
    case errc::invalid_argument: return "invalid_argument";
    case errc::overloaded: return "overloaded";
    case errc::not_connected: return "not_connected";
    case errc::frame_too_large: return "frame_too_large";
    case errc::protocol: return "protocol";
    case errc::version: return "version";
    case errc::auth: return "auth";
    case errc::refused: return "refused";
    case errc::timeout: return "timeout";
    case errc::stuck: return "stuck";
    case errc::io: return "io";
    case errc::closed: return "closed";
  }
  return "unknown";
}

std::string to_string(const error& e) {
  return std::string(to_string(e.kind)) + ": " + e.message;
}

} // namespace corvid::cluster
