#include "corvid/live/assigns.hpp"

namespace corvid::live {

bool assigns::assign(std::string_view name, value v) {
  auto it = values_.find(name);
  if (it == values_.end()) {
    values_.emplace(std::string(name), std::move(v));
  } else {
    if (it->second == v) return false;
    it->second = std::move(v);
  }
  touch(name);
  return true;
}

void assigns::touch(std::string_view name) {
  if (changed_.find(name) == changed_.end()) changed_.emplace(name);
}

const value* assigns::find(std::string_view name) const noexcept {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

const value& assigns::operator[](std::string_view name) const noexcept {
  static const value null_value;
  auto* v = find(name);
  return v ? *v : null_value;
}

value& assigns::slot(std::string_view name) {
  auto it = values_.find(name);
  if (it == values_.end()) it = values_.emplace(std::string(name), value{}).first;
  return it->second;
}

}  // namespace corvid::live
