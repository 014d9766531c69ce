#include "corvid/live/form_params.hpp"

#include <boost/json.hpp>

namespace corvid::live {

namespace json = boost::json;

std::vector<std::string> key_path(std::string_view key) {
  auto open = key.find('[');
  if (open == std::string_view::npos || open == 0) return {std::string(key)};
  std::vector<std::string> path{std::string(key.substr(0, open))};
  for (auto rest = key.substr(open); !rest.empty();) {
    auto close = rest.find(']');
    if (rest.front() != '[' || close == std::string_view::npos) return {std::string(key)};
    path.emplace_back(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
  }
  return path;
}

namespace {

json::string_view view_of(const std::string& s) { return {s.data(), s.size()}; }

void assign(json::object& obj, const std::vector<std::string>& path, std::size_t i, const std::string& value);

// path[i] is "" (a list): append `value`, or merge what follows into the list's last object unless that
// object already has it (Plug starts a new one then).
void append(json::value& slot, const std::vector<std::string>& path, std::size_t i, const std::string& value) {
  if (!slot.is_array()) slot = json::array{};
  auto& list = slot.get_array();
  if (i + 1 == path.size()) {
    list.emplace_back(view_of(value));
    return;
  }
  const auto& next = path[i + 1];
  if (next.empty()) {  // a list of lists: "x[][]=1" -> [["1"]]
    list.emplace_back(json::array{});
    append(list.back(), path, i + 1, value);
    return;
  }
  bool reuse = !list.empty() && list.back().is_object() && !list.back().get_object().contains(view_of(next));
  if (!reuse) list.emplace_back(json::object{});
  assign(list.back().get_object(), path, i + 1, value);
}

void assign(json::object& obj, const std::vector<std::string>& path, std::size_t i, const std::string& value) {
  auto& slot = obj[view_of(path[i])];
  if (i + 1 == path.size()) {
    slot = view_of(value);
  } else if (path[i + 1].empty()) {
    append(slot, path, i + 1, value);
  } else {
    if (!slot.is_object()) slot = json::object{};
    assign(slot.get_object(), path, i + 1, value);
  }
}

}  // namespace

json::object nest_params(const form_fields& fields, std::size_t max_depth) {
  json::object out;
  for (auto& [k, v] : fields) {
    auto path = key_path(k);
    if (path.size() > max_depth || path.front().empty()) path = {k};
    assign(out, path, 0, v);
  }
  return out;
}

bool used_input(const json::object& params, const std::vector<std::string>& path) {
  if (path.empty()) return true;
  const json::object* level = &params;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    auto* next = level->if_contains(view_of(path[i]));
    if (!next || !next->is_object()) return true;
    level = &next->get_object();
  }
  return !level->contains("_unused_" + path.back());
}

}  // namespace corvid::live
