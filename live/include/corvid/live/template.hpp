// HTML templates, parsed once into statics and dynamics.
//
// Syntax (all tags may hold spaces inside the delimiters):
//   {{ name }}  {{ item.title }}   escaped value of an assign or loop variable, dotted member access
//                                  (map key or list index); a missing value prints as ""
//   {{ name | safe }}  {{{ name }}} unescaped: the caller vouches for the HTML
//   {{ total() }}                  a computed dynamic registered in parse_options::functions
//   {% if [not] path %}...{% else %}...{% endif %}   a nested template per branch
//   {% for item in items %}...{% endfor %}           a comprehension (statics sent once)
//   {% for item in items key=item.id %}...{% endfor %}
//                                  keyed: an entry that moved is sent as a move, not re-rendered
//   {% stream id, item in feed %}...{% endstream %}  a stream (stream.hpp): only pending inserts are
//                                  rendered, `id` is each one's dom id; put it inside an element
//                                  with an id and phx-update="stream", and give each item id="{{ id }}"
//   {% include "name" %}           splices another template in place (parse_options::loader)
//   {% live_render clock id="clock" tz=zone %}
//                                  a nested live view (server::live_child), joined by the client over
//                                  the same socket; `id` is its element id, the other arguments become
//                                  its session values (as text); sticky=true makes it a root view that
//                                  live navigation keeps (render it on every page of the live_session)
//   {% include "badge" n=count kind="warn" %}
//                                  a function component: the template renders with its arguments as
//                                  names (plus the assigns), as a node of its own
//   {% call "card" title=item.title %}<p>body</p>{% endcall %}
//                                  the same with a block, which the template places with
//                                  {% inner_block %}; the block reads the caller's names (it may not
//                                  read a name the call binds)
//   {% live_component card id=item.id n=item.n label="Hi" %}
//                                  a stateful component (component.hpp) registered in
//                                  parse_options::components; arguments are names, "strings",
//                                  integers, true/false; `id` tells instances apart
//   {# comment #}                  dropped
// There is no escape for a literal "{{" / "{%" / "{#": write &#123; for the brace.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/live/assigns.hpp"
#include "corvid/live/result.hpp"

namespace corvid::live {

/// Where and why a template failed to parse (line and column are 1-based, in bytes).
struct parse_error {
  std::string source;  ///< template name or file, or the include it happened in
  int line = 0;
  int column = 0;
  std::string message;
  std::string to_string() const;
};

/// A C++-computed dynamic: `fn` may read only the assigns named in `deps` (that is what tracking uses).
struct computed {
  std::vector<std::string> deps;
  std::function<value(const assigns&)> fn;
};

class component;
/// Makes a fresh stateful component (component.hpp) each time one is placed.
using component_factory = std::function<std::unique_ptr<component>()>;

/// Returns the source of an included template by name.
using include_loader = std::function<result<std::string>(std::string_view name)>;

/// How to resolve includes and computed dynamics, plus limits.
struct parse_options {
  include_loader loader;  ///< unset: includes are errors (load() defaults it to the file's directory)
  std::map<std::string, computed, std::less<>> functions;
  std::map<std::string, component_factory, std::less<>> components;  ///< for {% live_component name ... %}
  int max_include_depth = 8;
  std::size_t max_source_bytes = std::size_t{1} << 20;
};

/// A dotted reference: segments[0] is an assign or loop variable, the rest are members.
struct path {
  std::vector<std::string> segments;
  std::string str() const;
};

enum class dynamic_kind { expr, call, if_block, for_block, stream_block, component, fn_component, inner_block, live_render };

/// One argument of a {% live_component %}: a path read from the assigns, or a literal.
struct component_arg {
  std::string name;
  std::optional<path> ref;  ///< set: the argument is this path's value (null if missing)
  value literal;            ///< otherwise: this value
};

struct template_node;
namespace detail {
struct render_access;
class diff_memo;
}

/// One dynamic slot of a node.
struct dynamic_part {
  dynamic_kind kind = dynamic_kind::expr;
  bool escape = true;   ///< expr/call: HTML-escape the text
  bool negate = false;  ///< if: `{% if not x %}`
  path subject;         ///< expr: the value; if: the condition; for: the list; stream: its name
  std::string var;      ///< for/stream: the loop variable
  std::optional<path> key;  ///< for: what identifies an entry across renders (moves become "km" moves)
  std::string id_var;   ///< stream: the variable bound to each item's dom id ("" = none)
  std::string fn_name;  ///< call: the function name; component: the component's name; fn_component: the template's;
                        ///< live_render: the child view's name
  std::shared_ptr<const computed> fn;
  std::shared_ptr<const component_factory> component;  ///< component: what makes one
  std::vector<component_arg> args;                     ///< component, fn_component, live_render: the arguments
  std::shared_ptr<const template_node> then_node;  ///< if: true branch; for: the body; fn_component: the
                                                   ///< template called; inner_block: the caller's block
  std::shared_ptr<const template_node> else_node;  ///< if: false branch (null renders "")
  /// Sorted, unique root names this slot reads, nested parts included (a for's own variable excluded).
  std::vector<std::string> deps;
};

/// statics.size() == dynamics.size() + 1; output is s0 d0 s1 d1 ... sN.
struct template_node {
  std::vector<std::string> statics;
  std::vector<dynamic_part> dynamics;
};

/// A parsed template; cheap to copy (shares its tree), immutable, safe to share between threads.
class html_template {
 public:
  static result<html_template, parse_error> parse(std::string_view source, const parse_options& opts = {},
                                                  std::string_view name = "<string>");
  /// Reads and parses a file; includes resolve relative to its directory unless opts.loader is set.
  static result<html_template, parse_error> load(const std::filesystem::path& file, parse_options opts = {});

  const template_node& root() const noexcept { return *root_; }

 private:
  friend struct detail::render_access;
  explicit html_template(std::shared_ptr<const template_node> root);
  std::shared_ptr<const template_node> root_;
  // What every session of this template shares: renders and diff bodies made once (shared_diff.hpp).
  std::shared_ptr<detail::diff_memo> memo_;
};

}  // namespace corvid::live
