#include "motion.hpp"

#include <charconv>

#include "text.hpp"

namespace convention {

bool newer(const motion_record& a, const motion_record& b) {
  if (a.version != b.version) return a.version > b.version;
  return a.node > b.node;
}

motion_record next_motion(const motion_record& current, std::string node, std::string text) {
  return {current.version + 1, std::move(node), clean_text(text, max_motion_bytes)};
}

corvid::pubsub::meta to_meta(const motion_record& m) {
  return {{"version", std::to_string(m.version)}, {"node", m.node}, {"text", m.text}};
}

std::optional<motion_record> motion_from_meta(const corvid::pubsub::meta& m) {
  auto v = m.find("version"), n = m.find("node"), t = m.find("text");
  if (v == m.end() || n == m.end() || t == m.end()) return std::nullopt;
  motion_record r;
  auto [end, ec] = std::from_chars(v->second.data(), v->second.data() + v->second.size(), r.version);
  if (ec != std::errc{} || end != v->second.data() + v->second.size()) return std::nullopt;
  r.node = n->second;
  r.text = t->second;
  return r;
}

motion_record winner(const corvid::pubsub::presence_list& entries) {
  motion_record best;
  for (auto& [key, kp] : entries)
    for (auto& pm : kp.metas)
      if (auto r = motion_from_meta(pm.meta); r && newer(*r, best)) best = std::move(*r);
  return best;
}

}  // namespace convention
