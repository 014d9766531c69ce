#include "corvid/live/component.hpp"

#include "corvid/runtime/process.hpp"

namespace corvid::live {

caf::error send_update(const corvid::pid& session, std::string name, value id, value::map args) {
  return corvid::send(session, component_update{std::move(name), std::move(id), std::move(args)});
}

}  // namespace corvid::live
