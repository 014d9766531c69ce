// The diff tests' helpers: a template from source, and a view session in miniature.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "corvid/live/diff.hpp"

namespace corvid::live::diff_test {

inline html_template tpl(std::string_view src, const parse_options& o = {}) {
  auto r = html_template::parse(src, o);
  REQUIRE(r.ok());
  return *r;
}

// A view session in miniature: full render at join, then one diff per batch of assigns.
struct session {
  explicit session(html_template tp) : t(std::move(tp)) {}
  html_template t;
  assigns a;
  render_state st;
  std::string join() {
    a.clear_changes();
    return boost::json::serialize(render(t, a, st));
  }
  std::string next() {
    auto d = diff(t, a, st);
    a.clear_changes();
    return boost::json::serialize(d);
  }
};

}  // namespace corvid::live::diff_test
