#include "views.hpp"

namespace convention {

corvid::live::result<page_templates, std::string> page_templates::load(const std::filesystem::path& dir) {
  std::string why;
  auto one = [&](const char* name) -> std::optional<corvid::live::html_template> {
    auto t = corvid::live::html_template::load(dir / name);
    if (t) return *t;
    if (why.empty()) why = t.error().to_string();
    return std::nullopt;
  };
  auto p = one("participant.html"), a = one("admin.html"), n = one("admin_naive.html"), d = one("denied.html");
  if (!p || !a || !n || !d) return why;
  return page_templates{*p, *a, *n, *d};
}

}  // namespace convention
