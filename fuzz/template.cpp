// Template sources: parse either fails with a position inside the text it was reading, or the
// template renders (dead render, join render, diff) to frames the browser can read.
#include <map>

#include <boost/json.hpp>

#include "corvid/live/component.hpp"
#include "corvid/live/diff.hpp"
#include "corvid/live/protocol.hpp"
#include "corvid/live/rendered.hpp"
#include "corvid/live/template.hpp"
#include "corvid/live/utf8.hpp"
#include "fuzz_check.hpp"

using namespace corvid::live;

namespace {

const std::map<std::string, std::string, std::less<>> includes{
    {"header", "<h1>{{ title }}</h1>"},
    {"row", "<li id=\"{{ item.id }}\">{{ item.name }}</li>"},
    {"loop", "{% include \"loop\" %}"},  // a cycle: must end at max_include_depth
    {"broken", "a\n  {% if flag %}"},
    {"card", "<div>{{ title }}{% inner_block %}{{ n }}</div>"},
};

// Stands in for the channel's component table: a cid per component name and id, HTML of its own.
struct fake_components : component_host {
  std::map<std::string, std::int64_t> cids;
  std::int64_t place(const dynamic_part& slot, value::map args) override {
    auto key = slot.fn_name + '\0' + boost::json::serialize(value(std::move(args["id"])).to_json());
    return cids.try_emplace(std::move(key), static_cast<std::int64_t>(cids.size()) + 1).first->second;
  }
  void place_html(const dynamic_part& slot, value::map, std::string& out) override { out += "<i>" + slot.fn_name + "</i>"; }
  void place_view(const dynamic_part& slot, value::map args, std::string& out) override {
    out += "<div id=\"" + boost::json::serialize(value(std::move(args["id"])).to_json()) + "\">" + slot.fn_name + "</div>";
  }
};

// The options, assigns and their changed copy are built once; per input only parse and render run.
struct fixture {
  parse_options opts;
  assigns a, b;
  fixture() {
    opts.loader = [](std::string_view name) -> result<std::string> {
      auto i = includes.find(name);
      if (i == includes.end()) return error{errc::not_found, "no template " + std::string(name)};
      return i->second;
    };
    opts.functions.emplace("total", computed{{"items"}, [](const assigns& x) -> value {
                                               auto* l = x["items"].as_list();
                                               return static_cast<std::int64_t>(l ? l->size() : 0);
                                             }});
    opts.components.emplace("card", [] { return std::unique_ptr<component>{}; });  // the fake host makes none
    auto item = [](int id, std::string name) {
      return value{value::map{{"id", id}, {"name", std::move(name)}, {"tags", value::list{"a", "<b>"}}}};
    };
    for (assigns* x : {&a, &b}) {
      x->assign("title", "<script>\"&'</script>");
      x->assign("flag", true);
      x->assign("n", 42);
      x->assign("x", 1.5);
      x->assign("html", safe_html{"<em>ok</em>"});
      x->assign("items", value::list{item(1, "one"), item(2, "zwei \xc3\xbc")});
      x->assign("user", value::map{{"name", "ada"}, {"roles", value::list{"admin"}}});
      x->stream("feed", value::list{item(7, "s1"), item(8, "s2")});
    }
    b.clear_changes();
    b.assign("title", "changed");
    b.assign("flag", false);
    b.assign("items", value::list{item(3, "three")});
    b.stream_insert("feed", item(9, "s3"));
  }
};

const fixture& fx() {
  static const fixture f;
  return f;
}

// 1-based line and column of an error must point into (or just past the end of) its source.
void check_position(const parse_error& e, std::string_view input) {
  std::string_view src = input;
  if (e.source != "<string>") {
    auto i = includes.find(e.source);
    FUZZ_CHECK(i != includes.end());
    src = i->second;
  }
  FUZZ_CHECK(e.line >= 1 && e.column >= 1);
  std::size_t start = 0;
  for (int l = 1; l < e.line; ++l) {
    auto nl = src.find('\n', start);
    FUZZ_CHECK(nl != std::string_view::npos);
    start = nl + 1;
  }
  const auto end = std::min(src.find('\n', start), src.size());
  FUZZ_CHECK(static_cast<std::size_t>(e.column) <= end - start + 1);
  FUZZ_CHECK(!e.message.empty());
}

void check_frame(const boost::json::object& rendered) {
  const std::string f = encode_diff("1", "lv:phx-fuzz", rendered);
  FUZZ_CHECK(valid_utf8(f));
  FUZZ_CHECK(parse_frame(f, {std::size_t{1} << 26, 256}).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view src = corvid_fuzz::as_text(data, size);
  const fixture& f = fx();
  auto t = html_template::parse(src, f.opts);
  if (!t) {
    check_position(t.error(), src);
    return 0;
  }
  try {
    fake_components host;
    const std::string html = render_html(*t, f.a, &host);
    // The assigns are valid UTF-8, so only the template's own bytes could spoil the page.
    if (valid_utf8(src)) FUZZ_CHECK(valid_utf8(html));
    render_state st;
    auto full = render(*t, f.a, st, &host);
    check_frame(full);
    auto d = diff(*t, f.b, st, &host);
    check_frame(d);
    // Nothing changed since: nothing to send.
    FUZZ_CHECK(diff(*t, f.b, change_set{}, st, &host).empty());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "render threw: %s\n", e.what());
    corvid_fuzz::fail("a parsed template failed to render", __FILE__, __LINE__);
  }
  return 0;
}
