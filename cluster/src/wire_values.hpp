#pragma once
// Runtime values to and from their wire form: pids as (node, incarnation, id), errors as
// (category, code, context).

#include <vector>

#include <caf/error.hpp>
#include <google/protobuf/repeated_ptr_field.h>

#include "corvid/cluster/error.hpp"
#include "corvid/cluster/v1/wire.pb.h"
#include "corvid/runtime/codec.hpp"
#include "corvid/runtime/pid.hpp"

namespace corvid {
class runtime;
}

namespace corvid::cluster {

/// `p` as every node names it (an empty pid stays empty).
v1::Pid wire_pid(runtime& rt, const pid& p);
/// The pid `w` names, as `rt` sees it: local for this node's own, else remote.
pid runtime_pid(runtime& rt, const v1::Pid& w);
v1::ErrorValue wire_error(const caf::error& e);
caf::error runtime_error(const v1::ErrorValue& w);
using wire_terms = google::protobuf::RepeatedPtrField<v1::Term>;
/// Moves encoded message elements into a frame's repeated Term field.
void put_terms(std::vector<wire_term>&& terms, wire_terms& out);
/// Moves a frame's Terms out, ready for decode_message.
std::vector<wire_term> take_terms(wire_terms& in);
/// A wire-layer failure as the runtime reports it (overloaded, noconnection, ...).
caf::error runtime_error(const error& e);

} // namespace corvid::cluster
