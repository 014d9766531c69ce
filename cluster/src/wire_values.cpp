// Pids and errors in their wire form.

#include "wire_values.hpp"

#include <caf/all.hpp>

#include "corvid/runtime/error.hpp"
#include "corvid/runtime/transport.hpp"

namespace corvid::cluster {

v1::Pid wire_pid(runtime& rt, const pid& p) {
  v1::Pid w;
  if (!p)
    return w;
  auto n = p.is_remote() ? node_of(p).value_or(node_id{}) : local_node(rt);
  w.set_node(n.name);
  w.set_incarnation(n.incarnation);
  w.set_id(p.local_id());
  return w;
}

pid runtime_pid(runtime& rt, const v1::Pid& w) {
  if (w.id() == 0)
    return pid{};
  return remote_pid(rt, {w.node(), w.incarnation()}, w.id());
}

v1::ErrorValue wire_error(const caf::error& e) {
  v1::ErrorValue w;
  if (!e)
    return w;
  w.set_category(caf::to_string(e.category()));
  w.set_code(e.code());
  const auto& ctx = e.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    w.set_context(ctx.get_as<std::string>(0));
  else if (!ctx.empty())
    w.set_context(caf::to_string(ctx));
  return w;
}

caf::error runtime_error(const v1::ErrorValue& w) {
  if (w.code() == 0)
    return caf::error{};
  if (w.code() > 255 || w.category().empty() || w.category().size() > 10)  // not a CAF error: keep it abnormal
    return make_error(corvid::errc::exception, "remote error " + w.category() + " " + std::to_string(w.code())
                                                 + (w.context().empty() ? "" : ": " + w.context()));
  auto cat = caf::atom_from_string(w.category());
  auto code = static_cast<uint8_t>(w.code());
  if (w.context().empty())
    return caf::error{code, cat};
  return caf::error{code, cat, caf::make_message(w.context())};
}

void put_terms(std::vector<wire_term>&& terms, wire_terms& out) {
  out.Reserve(static_cast<int>(terms.size()));
  for (auto& t : terms) {
    auto* e = out.Add();
    e->set_type(std::move(t.type));
    e->set_data(std::move(t.data));
  }
}

std::vector<wire_term> take_terms(wire_terms& in) {
  std::vector<wire_term> out;
  out.reserve(static_cast<size_t>(in.size()));
  for (auto& e : in)
    out.push_back({std::move(*e.mutable_type()), std::move(*e.mutable_data())});
  return out;
}

caf::error runtime_error(const error& e) {
  switch (e.kind) {
    case errc::none: return caf::none;
    case errc::overloaded: return make_error(corvid::errc::overloaded, "the link to the peer node is full");
    case errc::frame_too_large: return make_error(corvid::errc::bad_argument, e.message);
    default: return make_error(corvid::errc::noconnection, e.message);
  }
}

} // namespace corvid::cluster
