#include "corvid/live/upload.hpp"

#include <algorithm>
#include <cctype>

#include "corvid/live/escape.hpp"

namespace corvid::live {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string joined_refs(const upload_config& c, bool (*pick)(const upload_entry&)) {
  std::string out;
  for (const auto& e : c.entries) {
    if (!pick(e)) continue;
    if (!out.empty()) out += ',';
    out += e.ref;
  }
  return out;
}
}  // namespace

bool upload_accepts(const upload_options& o, std::string_view file_name, std::string_view mime) {
  if (o.accept.empty()) return true;
  auto dot = file_name.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? std::string_view{} : file_name.substr(dot);
  for (const auto& a : o.accept) {
    if (a.empty()) continue;
    if (a.front() == '.') {
      if (iequals(a, ext)) return true;
    } else if (a.size() > 2 && a.compare(a.size() - 2, 2, "/*") == 0) {
      if (mime.size() > a.size() - 1 && iequals(mime.substr(0, a.size() - 1), std::string_view(a).substr(0, a.size() - 1)))
        return true;
    } else if (iequals(a, mime)) {
      return true;
    }
  }
  return false;
}

std::string upload_input_html(const upload_config& c) {
  std::string out = "<input id=\"";
  append_escaped(out, c.ref);
  out += "\" type=\"file\" name=\"";
  append_escaped(out, c.name);
  out += '"';
  if (!c.options.accept.empty()) {
    std::string accept;
    for (const auto& a : c.options.accept) accept += (accept.empty() ? "" : ",") + a;
    out += " accept=\"";
    append_escaped(out, accept);
    out += '"';
  }
  out += " data-phx-hook=\"Phoenix.LiveFileUpload\" data-phx-update=\"ignore\" data-phx-upload-ref=\"";
  append_escaped(out, c.ref);
  // the client splits all three lists: they must always be there
  out += "\" data-phx-active-refs=\"";
  append_escaped(out, joined_refs(c, [](const upload_entry&) { return true; }));
  out += "\" data-phx-done-refs=\"";
  append_escaped(out, joined_refs(c, [](const upload_entry& e) { return e.done; }));
  out += "\" data-phx-preflighted-refs=\"";
  append_escaped(out, joined_refs(c, [](const upload_entry& e) { return e.preflighted; }));
  out += '"';
  auto errors = joined_refs(c, [](const upload_entry& e) { return !e.errors.empty(); });
  if (!c.errors.empty()) errors += (errors.empty() ? "" : ",") + c.ref;
  if (!errors.empty()) {  // a submit with errors is cancelled by the client
    out += " data-phx-error-refs=\"";
    append_escaped(out, errors);
    out += '"';
  }
  if (c.options.auto_upload) out += " data-phx-auto-upload";
  if (c.options.max_entries > 1) out += " multiple";
  out += '>';
  return out;
}

value upload_value(const upload_config& c) {
  value::list entries;
  for (const auto& e : c.entries) {
    value::list errs(e.errors.begin(), e.errors.end());
    entries.push_back(value::map{{"ref", e.ref},
                                 {"name", e.name},
                                 {"type", e.type},
                                 {"size", static_cast<std::int64_t>(e.size)},
                                 {"progress", e.progress},
                                 {"done", e.done},
                                 {"errors", std::move(errs)}});
  }
  value::list errs(c.errors.begin(), c.errors.end());
  return value::map{{"ref", c.ref},
                    {"input", safe_html{upload_input_html(c)}},
                    {"entries", std::move(entries)},
                    {"errors", std::move(errs)}};
}

}  // namespace corvid::live
