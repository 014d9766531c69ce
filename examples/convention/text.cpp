#include "text.hpp"

#include "corvid/live/utf8.hpp"

namespace convention {

std::string clean_text(std::string_view typed, std::size_t max_bytes) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!typed.empty() && is_space(typed.front())) typed.remove_prefix(1);
  while (!typed.empty() && is_space(typed.back())) typed.remove_suffix(1);
  if (!corvid::live::valid_utf8(typed)) return "";
  return std::string(corvid::live::truncate_utf8(typed, max_bytes));
}

}  // namespace convention
