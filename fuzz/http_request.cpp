// HTTP requests as a client sends them: Boost.Beast's parser with the server's limits, then what the
// server does with a parsed GET that needs no socket: the dead render of the target.
#if defined(__GNUC__) && !defined(__clang__)
// As in live/src/server.cpp: g++ 12 with -fsanitize reports a false -Wmaybe-uninitialized inside
// Beast's HTTP parser (boost::optional in basic_parser::do_field), inlined into this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "corvid/live/channel.hpp"
#include "corvid/live/page.hpp"
#include "fuzz_check.hpp"
#include "token_fixture.hpp"

namespace http = boost::beast::http;
using namespace corvid::live;

namespace {

html_template parse_once(std::string_view src) {
  auto t = html_template::parse(src);
  if (!t) corvid_fuzz::fail("fixture template does not parse", __FILE__, __LINE__);
  return *t;
}

// Echoes the query and path parameters (and a title) into the page: what the target controls.
struct echo_view : view {
  html_template render() const override {
    static const html_template t =
        parse_once("<p>{{ name }}</p><ul>{% for p in pairs %}<li>{{ p.k }}={{ p.v }}</li>{% endfor %}</ul>");
    return t;
  }
  void mount(const params& query, const session&, corvid::live::socket& s) override {
    value::list pairs;
    for (auto& [k, v] : query) pairs.push_back(value::map{{"k", k}, {"v", v}});
    s.assign("pairs", std::move(pairs));
    if (auto i = query.find("name"); i != query.end()) {
      s.assign("name", i->second);
      s.assign("page_title", i->second);
    }
  }
};

const router& routes() {
  static const router r = [] {
    router x;
    x.add("/", make_view<echo_view>);
    x.add("/counter", make_view<echo_view>);
    x.add("/user/:name", make_view<echo_view>);
    return x;
  }();
  return r;
}

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto i = hay.find(needle); i != std::string_view::npos; i = hay.find(needle, i + 1)) ++n;
  return n;
}

// The attribute value after `name="` (the page escapes what it puts there, so '"' ends it).
std::string_view attribute(std::string_view page, std::string_view name) {
  auto i = page.find(name);
  FUZZ_CHECK(i != std::string_view::npos);
  i += name.size();
  auto end = page.find('"', i);
  FUZZ_CHECK(end != std::string_view::npos);
  return page.substr(i, end - i);
}

void check_page(std::string_view target) {
  auto rendered = render_page(routes(), corvid_fuzz::session_signer(), corvid_fuzz::csrf_signer(), target);
  if (!rendered) {
    // A view that throws (io_error) would be a 500; these views never do.
    FUZZ_CHECK(rendered.error().code == errc::not_found || rendered.error().code == errc::bad_encoding);
    return;
  }
  FUZZ_CHECK(rendered->redirect_to.empty());  // these routes have no on_mount hooks
  const std::string_view page = rendered->html;
  // Nothing from the target may open markup of its own: the three boot scripts and no other.
  FUZZ_CHECK(count(page, "<script") == 3);
  // Attribute text from the target is escaped, so it can never contain a quote of its own.
  FUZZ_CHECK(count(page, "data-phx-session=\"") == 1);
  // The session the page carries is ours, for the route the target named, and the CSRF token is bound to it.
  const auto token = attribute(page, "data-phx-session=\"");
  auto claims = corvid_fuzz::session_signer().verify(token, std::chrono::hours(1));
  FUZZ_CHECK(claims.ok());
  auto parts = split_url(target);
  FUZZ_CHECK(parts.ok() && claims->route == parts->path);
  const auto csrf = attribute(page, "name=\"csrf-token\" content=\"");
  FUZZ_CHECK(csrf_matches(corvid_fuzz::csrf_signer(), csrf, *claims, std::chrono::hours(1)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  // As in the server's http_conn::read.
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(8 * 1024);
  boost::beast::error_code ec;
  boost::asio::const_buffer in(data, size);
  // What http::read does with bytes that are all there already: put until done or an error; once the
  // parser can take nothing more, the connection ends, and as in http::read only a started message
  // is told so.
  while (!parser.is_done()) {
    const auto used = in.size() == 0 ? 0 : parser.put(in, ec);
    in += used;
    if (ec == http::error::need_more) ec = {};
    if (ec) break;
    if (used == 0) {
      if (parser.got_some()) parser.put_eof(ec);
      break;
    }
  }
  if (ec || !parser.is_done()) return 0;
  const auto req = parser.release();
  FUZZ_CHECK(req.body().size() <= 8 * 1024);
  if (req.method() != http::verb::get && req.method() != http::verb::head) return 0;
  check_page(req.target());
  return 0;
}
