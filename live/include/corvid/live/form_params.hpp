// Form fields as Phoenix hands them to handle_event: bracket keys nested the way Plug decodes them.
//
//   auto p = corvid::live::nest_params(*corvid::live::decode_urlencoded("user[name]=Ann&tags[]=a&tags[]=b"));
//   // {"user": {"name": "Ann"}, "tags": ["a", "b"]}
//   corvid::live::used_input(p, {"user", "email"});   // false if the client sent user[_unused_email]
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "corvid/live/urlencoded.hpp"

namespace corvid::live {

/// A bracket key as a path: "user[name]" -> {"user", "name"}, "tags[]" -> {"tags", ""} ("" = append to a
/// list). A key that is not of that shape ("a[b", "[x]") is one plain segment.
std::vector<std::string> key_path(std::string_view key);

/// Nests fields as Plug.Conn.Query does: "a[b]=1" -> {"a": {"b": "1"}}, "a[]=1&a[]=2" -> {"a": ["1", "2"]},
/// "a[][x]=1&a[][x]=2" -> {"a": [{"x": "1"}, {"x": "2"}]}; a later field wins over an earlier one of another
/// shape. Paths deeper than `max_depth` segments are kept as one plain key.
boost::json::object nest_params(const form_fields& fields, std::size_t max_depth = 32);

/// Phoenix's used_input?: false if the input at `path` carries the client's "_unused_" marker (a sibling
/// "_unused_<last segment>"), i.e. the user has not typed in it yet; true otherwise.
bool used_input(const boost::json::object& params, const std::vector<std::string>& path);

}  // namespace corvid::live
