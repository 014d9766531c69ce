// Error codes, their names, and one-line rendering of any error.

#include "corvid/runtime/error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace corvid {

caf::error make_error(errc x) { return caf::error{static_cast<uint8_t>(x), errc_category}; }

caf::error make_error(errc x, std::string context) {
  return caf::error{static_cast<uint8_t>(x), errc_category, caf::make_message(std::move(context))};
}

const char* to_string(errc x) {
  switch (x) {
    case errc::overloaded: return "overloaded";
    case errc::would_block: return "would_block";
    case errc::timeout: return "timeout";
    case errc::down: return "down";
    case errc::dropped: return "dropped";
    case errc::already_registered: return "already_registered";
    case errc::not_found: return "not_found";
    case errc::unexpected_message: return "unexpected_message";
    case errc::exception: return "exception";
    case errc::max_restart_intensity: return "max_restart_intensity";
    case errc::idle_timeout: return "idle_timeout";
    case errc::bad_argument: return "bad_argument";
    case errc::killed: return "killed";
    case errc::noproc: return "noproc";
    case errc::running: return "running";
    case errc::start_failed: return "start_failed";
    case errc::noconnection: return "noconnection";
    case errc::no_codec: return "no_codec";
    case errc::name_conflict: return "name_conflict";
  }
  return "unknown";
}

std::string describe(const caf::error& e) {
  if (!e)
    return "normal";
  if (e.category() == errc_category) {
    std::string s = to_string(static_cast<errc>(e.code()));
    const auto& ctx = e.context();
    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
      s += ": " + ctx.get_as<std::string>(0);
    return s;
  }
  if (e.category() == caf::atom("exit")) {
    switch (static_cast<caf::exit_reason>(e.code())) {
      case caf::exit_reason::user_shutdown: return "shutdown";
      case caf::exit_reason::kill: return "kill";
      default: return caf::to_string(static_cast<caf::exit_reason>(e.code()));
    }
  }
  if (e.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(e.code()));
  return caf::to_string(e);
}

namespace reason {
bool is_normal(const caf::error& e) {
  return !e || e == caf::exit_reason::user_shutdown || e == caf::exit_reason::normal
         || (e.category() == errc_category && e.code() == static_cast<uint8_t>(errc::idle_timeout));
}
} // namespace reason

} // namespace corvid
