// Parser for the template syntax documented in template.hpp: one pass, errors as values.
#include "corvid/live/template.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "shared_diff.hpp"

namespace corvid::live {

std::string parse_error::to_string() const {
  std::ostringstream os;
  os << source << ':' << line << ':' << column << ": " << message;
  return os.str();
}

std::string path::str() const {
  std::string s;
  for (auto& seg : segments) {
    if (!s.empty()) s += '.';
    s += seg;
  }
  return s;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_ident(std::string_view s) {
  return !s.empty() && is_ident_start(s[0]) && std::all_of(s.begin() + 1, s.end(), is_ident_char);
}

// Later segments may also be list indices or map keys with dashes (phx-value style).
bool is_member(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_ident_char(c) || c == '-'; });
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

void add_deps(std::set<std::string, std::less<>>& into, const template_node* node) {
  if (!node) return;
  for (auto& d : node->dynamics) into.insert(d.deps.begin(), d.deps.end());
}

std::vector<std::string> to_vector(std::set<std::string, std::less<>>&& s) {
  return {std::make_move_iterator(s.begin()), std::make_move_iterator(s.end())};
}

// Accumulates one node: text goes into the pending static until a dynamic closes it.
struct builder {
  template_node node;
  std::string pending;

  void text(std::string_view t) { pending.append(t); }
  void dynamic(dynamic_part d) {
    node.statics.push_back(std::move(pending));
    pending.clear();
    node.dynamics.push_back(std::move(d));
  }
  void splice(const template_node& other) {
    pending += other.statics.front();
    for (std::size_t i = 0; i < other.dynamics.size(); ++i) {
      dynamic(other.dynamics[i]);
      pending = other.statics[i + 1];
    }
  }
  std::shared_ptr<template_node> finish() {
    node.statics.push_back(std::move(pending));
    return std::make_shared<template_node>(std::move(node));
  }
};

enum class stop { eof, else_, endif, endfor, endstream, endcall };

const char* stop_name(stop s) {
  switch (s) {
    case stop::else_: return "{% else %}";
    case stop::endif: return "{% endif %}";
    case stop::endfor: return "{% endfor %}";
    case stop::endstream: return "{% endstream %}";
    case stop::endcall: return "{% endcall %}";
    case stop::eof: break;
  }
  return "end of template";
}

class parser {
 public:
  parser(std::string_view src, std::string_view name, const parse_options& opts, int depth,
         std::map<std::string, std::shared_ptr<const computed>, std::less<>>& fns,
         std::shared_ptr<const template_node> inner = nullptr)
      : src_(src), name_(name), opts_(opts), depth_(depth), fns_(fns), inner_(std::move(inner)) {}

  std::shared_ptr<template_node> run() {
    builder b;
    stop end{};
    std::size_t at = 0;
    if (!block(b, end, at)) return nullptr;
    if (end != stop::eof) {
      fail(at, std::string("unexpected ") + stop_name(end));
      return nullptr;
    }
    return b.finish();
  }

  parse_error take_error() { return std::move(*err_); }

 private:
  bool fail(std::size_t offset, std::string msg) {
    if (err_) return false;  // keep the first, innermost error
    int line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < src_.size(); ++i) {
      if (src_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    err_ = parse_error{name_, line, col, std::move(msg)};
    return false;
  }
  std::size_t offset_of(std::string_view piece) const { return static_cast<std::size_t>(piece.data() - src_.data()); }

  // Parses until eof or a block terminator ({% else/endif/endfor %}), reported in `end`/`at`.
  bool block(builder& b, stop& end, std::size_t& at) {
    while (pos_ < src_.size()) {
      std::size_t open = pos_;
      for (;;) {
        open = src_.find('{', open);
        if (open == std::string_view::npos || open + 1 >= src_.size()) {
          open = std::string_view::npos;
          break;
        }
        char k = src_[open + 1];
        if (k == '{' || k == '%' || k == '#') break;
        ++open;
      }
      if (open == std::string_view::npos) {
        b.text(src_.substr(pos_));
        pos_ = src_.size();
        break;
      }
      b.text(src_.substr(pos_, open - pos_));
      char kind = src_[open + 1];
      if (kind == '#') {
        auto close = src_.find("#}", open + 2);
        if (close == std::string_view::npos) return fail(open, "unclosed comment '{#'");
        pos_ = close + 2;
      } else if (kind == '{') {
        bool raw = open + 2 < src_.size() && src_[open + 2] == '{';
        std::string_view closer = raw ? "}}}" : "}}";
        std::size_t body = open + (raw ? 3 : 2);
        auto close = src_.find(closer, body);
        if (close == std::string_view::npos) return fail(open, raw ? "unclosed '{{{'" : "unclosed '{{'");
        pos_ = close + closer.size();
        if (!output(b, src_.substr(body, close - body), raw, open)) return false;
      } else {
        auto close = src_.find("%}", open + 2);
        if (close == std::string_view::npos) return fail(open, "unclosed '{%'");
        pos_ = close + 2;
        auto w = words(src_.substr(open + 2, close - open - 2));
        if (w.empty()) return fail(open, "empty tag '{% %}'");
        if (w[0] == "else" || w[0] == "endif" || w[0] == "endfor" || w[0] == "endstream" || w[0] == "endcall") {
          if (w.size() != 1) return fail(open, "'" + std::string(w[0]) + "' takes no arguments");
          end = w[0] == "else"       ? stop::else_
                : w[0] == "endif"    ? stop::endif
                : w[0] == "endfor"   ? stop::endfor
                : w[0] == "endcall"  ? stop::endcall
                                     : stop::endstream;
          at = open;
          return true;
        }
        bool ok = w[0] == "if"        ? if_block(b, w, open)
                  : w[0] == "for"     ? for_block(b, w, open)
                  : w[0] == "stream"  ? stream_block(b, src_.substr(offset_of(w[0]) + 6, close - offset_of(w[0]) - 6), open)
                  : w[0] == "include" ? include(b, src_.substr(offset_of(w[0]) + 7, close - offset_of(w[0]) - 7), open, false)
                  : w[0] == "call"    ? include(b, src_.substr(offset_of(w[0]) + 4, close - offset_of(w[0]) - 4), open, true)
                  : w[0] == "inner_block" ? inner_block(b, w, open)
                  : w[0] == "live_render"
                      ? live_render(b, src_.substr(offset_of(w[0]) + 11, close - offset_of(w[0]) - 11), open)
                  : w[0] == "live_component"
                      ? live_component(b, src_.substr(offset_of(w[0]) + 14, close - offset_of(w[0]) - 14), open)
                                      : fail(open, "unknown tag '" + std::string(w[0]) + "'");
        if (!ok) return false;
      }
    }
    end = stop::eof;
    at = src_.size();
    return true;
  }

  bool parse_path(std::string_view text, path& out) {
    out.segments.clear();
    std::size_t i = 0;
    while (true) {
      auto dot = text.find('.', i);
      auto seg = text.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i);
      bool first = out.segments.empty();
      if (first ? !is_ident(seg) : !is_member(seg))
        return fail(offset_of(text) + i, "bad name '" + std::string(text) + "'");
      out.segments.emplace_back(seg);
      if (dot == std::string_view::npos) return true;
      i = dot + 1;
    }
  }

  bool output(builder& b, std::string_view inner, bool raw, std::size_t open) {
    dynamic_part d;
    d.escape = !raw;
    std::string_view expr = inner;
    if (auto bar = inner.find('|'); bar != std::string_view::npos) {
      auto filter = trim(inner.substr(bar + 1));
      if (filter != "safe") return fail(offset_of(inner) + bar + 1, "unknown filter '" + std::string(filter) + "' (only 'safe')");
      d.escape = false;
      expr = inner.substr(0, bar);
    }
    expr = trim(expr);
    if (expr.empty()) return fail(open, "empty expression");
    if (expr.size() > 2 && expr.substr(expr.size() - 2) == "()") {
      auto name = trim(expr.substr(0, expr.size() - 2));
      auto it = opts_.functions.find(name);
      if (!is_ident(name) || it == opts_.functions.end())
        return fail(offset_of(expr), "unknown function '" + std::string(name) + "'");
      auto& shared = fns_[it->first];
      if (!shared) shared = std::make_shared<const computed>(it->second);
      d.kind = dynamic_kind::call;
      d.fn_name = it->first;
      d.fn = shared;
      std::set<std::string, std::less<>> deps(shared->deps.begin(), shared->deps.end());
      d.deps = to_vector(std::move(deps));
    } else {
      if (!parse_path(expr, d.subject)) return false;
      d.deps = {d.subject.segments[0]};
    }
    b.dynamic(std::move(d));
    return true;
  }

  bool if_block(builder& b, const std::vector<std::string_view>& w, std::size_t open) {
    dynamic_part d;
    d.kind = dynamic_kind::if_block;
    std::size_t arg = 1;
    if (w.size() == 3 && w[1] == "not") {
      d.negate = true;
      arg = 2;
    } else if (w.size() != 2) {
      return fail(open, "expected '{% if [not] name %}'");
    }
    if (!parse_path(w[arg], d.subject)) return false;

    builder then_b;
    stop end{};
    std::size_t at = 0;
    if (!block(then_b, end, at)) return false;
    d.then_node = then_b.finish();
    if (end == stop::else_) {
      builder else_b;
      if (!block(else_b, end, at)) return false;
      d.else_node = else_b.finish();
    }
    if (end == stop::eof) return fail(open, "unclosed {% if %}");
    if (end != stop::endif) return fail(at, std::string("unexpected ") + stop_name(end) + " inside {% if %}");

    std::set<std::string, std::less<>> deps{d.subject.segments[0]};
    add_deps(deps, d.then_node.get());
    add_deps(deps, d.else_node.get());
    d.deps = to_vector(std::move(deps));
    b.dynamic(std::move(d));
    return true;
  }

  // {% for item in list [key=item.id] %}: with a key, entries that move are sent as moves (km).
  bool for_block(builder& b, const std::vector<std::string_view>& w, std::size_t open) {
    bool keyed = w.size() == 5 && w[4].rfind("key=", 0) == 0;
    if ((w.size() != 4 && !keyed) || w[2] != "in" || !is_ident(w[1]))
      return fail(open, "expected '{% for name in list [key=name.field] %}'");
    dynamic_part d;
    d.kind = dynamic_kind::for_block;
    d.var = std::string(w[1]);
    if (!parse_path(w[3], d.subject)) return false;
    if (keyed) {
      path k;
      if (!parse_path(w[4].substr(4), k)) return false;
      if (k.segments[0] != d.var) return fail(open, "a for's key must be read from its own item ('" + d.var + ".…')");
      d.key = std::move(k);
    }
    return loop_body(b, std::move(d), open, stop::endfor, "{% for %}");
  }

  // {% stream [id,] item in name %}: `name` is an assign-level stream, `id` binds each item's dom id.
  bool stream_block(builder& b, std::string_view args, std::size_t open) {
    auto bad = [&] { return fail(open, "expected '{% stream [id,] item in name %}'"); };
    auto w = words(args);
    if (w.size() < 3 || w[w.size() - 2] != "in" || !is_ident(w.back())) return bad();
    std::string vars;
    for (std::size_t i = 0; i + 2 < w.size(); ++i) vars += w[i];
    dynamic_part d;
    d.kind = dynamic_kind::stream_block;
    if (auto comma = vars.find(','); comma != std::string::npos) {
      d.id_var = vars.substr(0, comma);
      d.var = vars.substr(comma + 1);
      if (!is_ident(d.id_var) || d.id_var == d.var) return bad();
    } else {
      d.var = vars;
    }
    if (!is_ident(d.var)) return bad();
    d.subject.segments = {std::string(w.back())};
    return loop_body(b, std::move(d), open, stop::endstream, "{% stream %}");
  }

  // The body of a for/stream up to `closer`; its locals are not dependencies, the list/stream is.
  bool loop_body(builder& b, dynamic_part d, std::size_t open, stop closer, const char* tag) {
    builder body;
    stop end{};
    std::size_t at = 0;
    if (!block(body, end, at)) return false;
    if (end == stop::eof) return fail(open, std::string("unclosed ") + tag);
    if (end != closer) return fail(at, std::string("unexpected ") + stop_name(end) + " inside " + tag);
    d.then_node = body.finish();

    std::set<std::string, std::less<>> deps;
    add_deps(deps, d.then_node.get());
    deps.erase(d.var);
    if (!d.id_var.empty()) deps.erase(d.id_var);
    deps.insert(d.subject.segments[0]);
    d.deps = to_vector(std::move(deps));
    b.dynamic(std::move(d));
    return true;
  }

  // `key=value ...` from args[i]: a value is a path, "string", integer, true or false. Path roots go to `deps`.
  bool parse_args(std::string_view args, std::size_t i, std::size_t open, const char* tag, std::vector<component_arg>& out,
                  std::set<std::string, std::less<>>& deps) {
    const auto bad = [&](std::string why) { return fail(open, std::string(tag) + ": " + why); };
    auto skip_space = [&] {
      while (i < args.size() && is_space(args[i])) ++i;
    };
    for (skip_space(); i < args.size(); skip_space()) {
      component_arg a;
      std::size_t j = i;
      while (j < args.size() && !is_space(args[j]) && args[j] != '=') ++j;
      auto key = args.substr(i, j - i);
      i = j;
      if (!is_ident(key) || i >= args.size() || args[i] != '=')
        return bad("expected key=value, got '" + std::string(key) + "'");
      ++i;
      a.name = std::string(key);
      if (std::any_of(out.begin(), out.end(), [&](auto& o) { return o.name == a.name; }))
        return bad("argument '" + a.name + "' given twice");
      if (i < args.size() && args[i] == '"') {
        auto end = args.find('"', i + 1);
        if (end == std::string_view::npos) return bad("unclosed string");
        a.literal = value(std::string(args.substr(i + 1, end - i - 1)));
        i = end + 1;
      } else {
        j = i;
        while (j < args.size() && !is_space(args[j])) ++j;
        auto v = args.substr(i, j - i);
        i = j;
        std::int64_t n = 0;
        if (v == "true" || v == "false") {
          a.literal = value(v == "true");
        } else if (!v.empty() && (is_digit(v[0]) || v[0] == '-')) {
          auto r = std::from_chars(v.data(), v.data() + v.size(), n);
          if (r.ec != std::errc{} || r.ptr != v.data() + v.size()) return bad("bad number '" + std::string(v) + "'");
          a.literal = value(n);
        } else {
          path p;
          if (!parse_path(v, p)) return false;
          deps.insert(p.segments[0]);
          a.ref = std::move(p);
        }
      }
      out.push_back(std::move(a));
    }
    return true;
  }

  // The first word of `args` (after spaces); `end` is set just past it.
  static std::string_view first_word(std::string_view args, std::size_t& end) {
    std::size_t i = 0;
    while (i < args.size() && is_space(args[i])) ++i;
    end = i;
    while (end < args.size() && !is_space(args[end])) ++end;
    return args.substr(i, end - i);
  }

  // {% live_component name key=value ... %}
  bool live_component(builder& b, std::string_view args, std::size_t open) {
    const auto bad = [&](std::string why) { return fail(open, "live_component: " + why); };
    std::size_t j = 0;
    auto name = first_word(args, j);
    if (!is_ident(name)) return bad("expected '{% live_component name key=value ... %}'");
    auto it = opts_.components.find(name);
    if (it == opts_.components.end()) return bad("unknown component '" + std::string(name) + "'");
    dynamic_part d;
    d.kind = dynamic_kind::component;
    d.fn_name = it->first;
    d.component = std::make_shared<const component_factory>(it->second);
    std::set<std::string, std::less<>> deps;
    if (!parse_args(args, j, open, "live_component", d.args, deps)) return false;
    if (std::none_of(d.args.begin(), d.args.end(), [](auto& a) { return a.name == "id"; }))
      return bad("'" + d.fn_name + "' needs an id=... to tell its instances apart");
    d.deps = to_vector(std::move(deps));
    b.dynamic(std::move(d));
    return true;
  }

  // {% live_render name id="element-id" key=value ... %}: a child view; the id must be a literal (it
  // names the child's topic, which must stay the same across renders).
  bool live_render(builder& b, std::string_view args, std::size_t open) {
    const auto bad = [&](std::string why) { return fail(open, "live_render: " + why); };
    std::size_t j = 0;
    auto name = first_word(args, j);
    if (!is_ident(name)) return bad("expected '{% live_render name id=\"element-id\" ... %}'");
    dynamic_part d;
    d.kind = dynamic_kind::live_render;
    d.fn_name = std::string(name);
    std::set<std::string, std::less<>> deps;
    if (!parse_args(args, j, open, "live_render", d.args, deps)) return false;
    auto id = std::find_if(d.args.begin(), d.args.end(), [](auto& a) { return a.name == "id"; });
    if (id == d.args.end() || id->ref || !id->literal.get_if<std::string>() || id->literal.get_if<std::string>()->empty())
      return bad("'" + d.fn_name + "' needs a literal id=\"...\": the child's element id");
    d.deps = to_vector(std::move(deps));
    b.dynamic(std::move(d));
    return true;
  }

  // {% inner_block %}: where a function component renders the block its {% call %} wraps.
  bool inner_block(builder& b, const std::vector<std::string_view>& w, std::size_t open) {
    if (w.size() != 1) return fail(open, "'inner_block' takes no arguments");
    if (!inner_) return fail(open, "{% inner_block %} outside a template given to {% call %}");
    dynamic_part d;
    d.kind = dynamic_kind::inner_block;
    d.then_node = inner_;
    std::set<std::string, std::less<>> deps;
    add_deps(deps, inner_.get());
    d.deps = to_vector(std::move(deps));
    b.dynamic(std::move(d));
    return true;
  }

  // {% include "name" %} splices a template in; with arguments, or as {% call "name" ... %}...{% endcall %},
  // it is a function component: a node of its own whose names are its arguments (and the assigns).
  bool include(builder& b, std::string_view arg, std::size_t open, bool with_block) {
    const char* tag = with_block ? "call" : "include";
    arg = trim(arg);
    char q = arg.empty() ? '\0' : arg.front();
    auto close_quote = (q == '"' || q == '\'') ? arg.find(q, 1) : std::string_view::npos;
    if (close_quote == std::string_view::npos)
      return fail(open, std::string("expected '{% ") + tag + " \"name\" [key=value ...] %}'");
    auto name = arg.substr(1, close_quote - 1);
    dynamic_part d;
    std::set<std::string, std::less<>> arg_deps;
    if (!parse_args(arg, close_quote + 1, open, tag, d.args, arg_deps)) return false;
    std::shared_ptr<template_node> block;
    if (with_block) {  // the wrapped block, parsed here: it reads the caller's names
      builder body;
      stop end{};
      std::size_t at = 0;
      if (!this->block(body, end, at)) return false;
      if (end == stop::eof) return fail(open, "unclosed {% call %}");
      if (end != stop::endcall) return fail(at, std::string("unexpected ") + stop_name(end) + " inside {% call %}");
      block = body.finish();
      std::set<std::string, std::less<>> uses;
      add_deps(uses, block.get());
      for (auto& a : d.args)
        if (uses.count(a.name))
          return fail(open, "the block of {% call \"" + std::string(name) + "\" %} reads '" + a.name +
                                "', a name the call binds: rename one");
    }
    if (!opts_.loader) return fail(open, std::string(tag) + " \"" + std::string(name) + "\" but no loader is configured");
    if (depth_ >= opts_.max_include_depth)
      return fail(open, "includes nested deeper than " + std::to_string(opts_.max_include_depth) + " (a cycle?)");
    auto src = opts_.loader(name);
    if (!src) return fail(open, std::string(tag) + " \"" + std::string(name) + "\": " + src.error().message);
    if (src->size() > opts_.max_source_bytes) return fail(open, std::string(tag) + " \"" + std::string(name) + "\" is too large");
    parser sub(*src, name, opts_, depth_ + 1, fns_, block);
    auto node = sub.run();
    if (!node) {
      err_ = sub.take_error();
      return false;
    }
    if (!with_block && d.args.empty()) {
      b.splice(*node);
      return true;
    }
    d.kind = dynamic_kind::fn_component;
    d.fn_name = std::string(name);
    d.then_node = node;
    std::set<std::string, std::less<>> deps;
    add_deps(deps, node.get());
    for (auto& a : d.args) deps.erase(a.name);  // the callee's own names; the block's never collide (above)
    deps.insert(arg_deps.begin(), arg_deps.end());
    d.deps = to_vector(std::move(deps));
    b.dynamic(std::move(d));
    return true;
  }

  std::string_view src_;
  std::string name_;
  const parse_options& opts_;
  int depth_;
  std::map<std::string, std::shared_ptr<const computed>, std::less<>>& fns_;
  std::shared_ptr<const template_node> inner_;  // the {% call %} block {% inner_block %} renders (null: none)
  std::size_t pos_ = 0;
  std::optional<parse_error> err_;
};

}  // namespace

html_template::html_template(std::shared_ptr<const template_node> root)
    : root_(std::move(root)), memo_(std::make_shared<detail::diff_memo>(*root_)) {}

result<html_template, parse_error> html_template::parse(std::string_view source, const parse_options& opts,
                                                        std::string_view name) {
  if (source.size() > opts.max_source_bytes)
    return parse_error{std::string(name), 1, 1, "template larger than " + std::to_string(opts.max_source_bytes) + " bytes"};
  std::map<std::string, std::shared_ptr<const computed>, std::less<>> fns;
  parser p(source, name, opts, 0, fns);
  auto root = p.run();
  if (!root) return p.take_error();
  return html_template(std::move(root));
}

namespace {
result<std::string> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return error{errc::io_error, "cannot open " + file.string()};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return error{errc::io_error, "cannot read " + file.string()};
  return ss.str();
}
}  // namespace

result<html_template, parse_error> html_template::load(const std::filesystem::path& file, parse_options opts) {
  auto src = read_file(file);
  if (!src) return parse_error{file.string(), 0, 0, src.error().message};
  if (!opts.loader) {
    opts.loader = [dir = file.parent_path()](std::string_view name) { return read_file(dir / name); };
  }
  return parse(*src, opts, file.string());
}

}  // namespace corvid::live
