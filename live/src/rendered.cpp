#include "corvid/live/rendered.hpp"

#include "eval.hpp"

namespace corvid::live {

namespace {
void html_node(const template_node& n, const detail::scope& sc, std::string& out) {
  out += n.statics[0];
  for (std::size_t i = 0; i < n.dynamics.size(); ++i) {
    const auto& d = n.dynamics[i];
    switch (d.kind) {
      case dynamic_kind::expr:
      case dynamic_kind::call: detail::append_slot_text(out, d, sc); break;
      case dynamic_kind::if_block: {
        auto b = detail::eval_branch(d, sc);
        if (b != 2) html_node(b == 0 ? *d.then_node : *d.else_node, sc, out);
        break;
      }
      case dynamic_kind::for_block:
        if (const auto* items = detail::eval_list(d, sc)) {
          for (const auto& item : *items) {
            detail::binding b{d.var, &item, true, sc.locals};
            html_node(*d.then_node, detail::scope{sc.a, &b}, out);
          }
        }
        break;
    }
    out += n.statics[i + 1];
  }
}
}  // namespace

std::string render_html(const html_template& t, const assigns& a) {
  std::string out;
  html_node(t.root(), detail::scope{a}, out);
  return out;
}

boost::json::object render(const html_template& t, const assigns& a, render_state& st) {
  boost::json::object out;
  detail::render_access::root(st) = detail::render_access::root(t);
  detail::render_node(t.root(), detail::scope{a}, detail::render_access::state(st), out, true);
  return out;
}

}  // namespace corvid::live
