#pragma once
// Telemetry: named events with numeric measurements and text metadata, dispatched to
// handlers attached by event-name prefix (like Erlang's :telemetry). Process-wide.
//
//   auto id = corvid::telemetry::attach("corvid.mailbox", [](const corvid::telemetry::event& e) {
//     std::cout << e.name << " " << e.measurements.at("length") << "\n";
//   });

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace corvid::telemetry {

/// One emitted event, e.g. "corvid.mailbox.high_water".
struct event {
  std::string_view name;
  std::map<std::string, double> measurements;
  std::map<std::string, std::string> metadata;
};

using handler = std::function<void(const event&)>;

/// Calls `h` for every event whose name starts with `prefix`; returns an id for detach.
uint64_t attach(std::string prefix, handler h);
/// Removes a handler; false if the id is unknown.
bool detach(uint64_t id);
/// True if some handler would see `name` (lets emitters skip building the event).
bool wanted(std::string_view name);
/// Dispatches `e` to every matching handler, on the calling thread. Handlers must not block.
void execute(const event& e);

} // namespace corvid::telemetry
