// HTML escaping: the client inserts slot strings as-is, so the server must escape.
#pragma once

#include <string>
#include <string_view>

namespace corvid::live {

/// Appends `text` with & < > " ' replaced by entities (safe in element content and quoted attributes).
void append_escaped(std::string& out, std::string_view text);

/// `text` escaped as by append_escaped.
std::string html_escape(std::string_view text);

}  // namespace corvid::live
