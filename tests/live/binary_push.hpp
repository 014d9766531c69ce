// A binary push as phoenix.js's V2 serializer makes it (upload chunks): kind 0, the four lengths,
// then join_ref, ref, topic, event and the payload.
#pragma once

#include <string>
#include <string_view>

namespace corvid::live::test {

inline std::string binary_push(const std::string& join_ref, const std::string& ref, const std::string& topic,
                               const std::string& event, std::string_view payload) {
  std::string out(1, '\0');
  for (auto* p : {&join_ref, &ref, &topic, &event}) out += static_cast<char>(p->size());
  out += join_ref + ref + topic + event;
  out += payload;
  return out;
}

}  // namespace corvid::live::test
