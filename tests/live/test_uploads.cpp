// Uploads at the frame level: entries from a form change, the preflight, lvu: channels with binary
// chunks, progress, consume and cancel, and the files' removal.

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>

#include "binary_push.hpp"
#include "channel_env.hpp"
#include "client_model.hpp"
#include "corvid/live/component.hpp"

using namespace corvid::live;
namespace json = boost::json;

namespace {

std::string consumed;  // what the last save read from the files, "name=content;"

struct upload_view : view {
  html_template render() const override {
    return *html_template::parse(
        R"(<form phx-change="v" phx-submit="save">{{ uploads.doc.input }}</form>{% for e in uploads.doc.entries %}[{{ e.name }} {{ e.progress }} {% for x in e.errors %}{{ x }}{% endfor %}]{% endfor %}{% for x in uploads.doc.errors %}!{{ x }}{% endfor %})");
  }
  void mount(const params&, const session&, socket& s) override {
    upload_options o;
    o.accept = {".txt", "image/*"};
    o.max_entries = 2;
    o.max_file_size = 100;
    s.allow_upload("doc", o);
  }
  status handle_event(const std::string& ev, const event_value& v, socket& s) override {
    if (ev == "v") return status::ok();
    if (ev == "save") {
      consumed.clear();
      s.consume_uploaded_entries("doc", [](const upload_entry& e) {
        std::ifstream in(e.path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        consumed += e.name + "=" + ss.str() + ";";
      });
      return status::ok();
    }
    if (ev == "cancel") {
      s.cancel_upload("doc", v.values.at("ref"));
      return status::ok();
    }
    return status::unknown_event(ev);
  }
};

// "v" (a change) validates; "save" consumes every finished "doc" entry into `consumed`, described by `describe`.
status upload_form_event(const std::string& ev, socket& s, std::string (*describe)(const upload_entry&)) {
  if (ev == "v") return status::ok();
  if (ev != "save") return status::unknown_event(ev);
  consumed.clear();
  s.consume_uploaded_entries("doc", [&](const upload_entry& e) { consumed += describe(e); });
  return status::ok();
}

// The same form and upload inside a stateful component: its events and upload messages carry its cid.
struct upload_card : component {
  html_template render() const override {
    static const auto t = html_template::parse(
        R"(<form phx-change="v" phx-submit="save" phx-target="{{ myself }}">{{ uploads.doc.input }}</form>{% for e in uploads.doc.entries %}[{{ e.name }} {{ e.progress }}]{% endfor %})");
    return *t;
  }
  void mount(socket& s) override {
    upload_options o;
    o.max_entries = 2;
    o.max_file_size = 100;
    s.allow_upload("doc", o);
  }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    return upload_form_event(ev, s, [](const upload_entry& e) {
      std::ifstream in(e.path, std::ios::binary);
      return e.name + "=" + std::string(std::istreambuf_iterator<char>(in), {}) + ";";
    });
  }
};

struct card_host_view : view {
  html_template render() const override {
    parse_options o;
    o.components["upload_card"] = make_component<upload_card>;
    static const auto t = html_template::parse(R"(<h1>host</h1>{% if show %}{% live_component upload_card id="u" %}{% endif %})", o);
    return *t;
  }
  void mount(const params&, const session&, socket& s) override { s.assign("show", true); }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    if (ev != "hide") return status::unknown_event(ev);
    s.assign("show", false);
    return status::ok();
  }
};

// Files that go to object storage: the presign names the page's uploader and the key; "deny.txt" is refused.
struct external_view : view {
  html_template render() const override {
    static const auto t = html_template::parse(
        R"(<form phx-change="v" phx-submit="save">{{ uploads.doc.input }}</form>{% for e in uploads.doc.entries %}[{{ e.name }} {{ e.progress }} {% for x in e.errors %}{{ x }}{% endfor %}]{% endfor %})");
    return *t;
  }
  void mount(const params&, const session&, socket& s) override {
    upload_options o;
    o.max_entries = 2;
    o.external = [](const upload_entry& e, socket&) {
      external_upload x;
      if (e.name == "deny.txt") x.error = "not_allowed_here";
      else if (e.name == "throw.txt") throw std::runtime_error("no credentials");
      else x.meta = value::map{{"uploader", "S3"}, {"key", "in/" + e.name}};
      return x;
    };
    s.allow_upload("doc", o);
  }
  status handle_event(const std::string& ev, const event_value&, socket& s) override {
    return upload_form_event(ev, s, [](const upload_entry& e) {
      return e.name + "=" + *e.meta.at("key").get_if<std::string>() + (e.path.empty() ? ";" : " with a file;");
    });
  }
};

json::object file(std::string ref, std::string name, std::int64_t size, std::string type = "text/plain") {
  return json::object{{"path", "doc"}, {"ref", ref}, {"name", name}, {"size", size}, {"type", type}, {"last_modified", 1}};
}

std::string chunk(const std::string& join_ref, const std::string& ref, const std::string& topic, std::string_view bytes) {
  return test::binary_push(join_ref, ref, topic, "chunk", bytes);
}

struct fixture : test::channel_env {
  std::filesystem::path dir;
  std::string config_ref;
  json::object tree;  // what the client holds
  // The page's HTML once the reply's diff is applied, as the client would.
  std::string html_after(const json::array& reply) {
    if (auto* d = test::response(reply).if_contains("diff")) tree = client_model::merge(std::move(tree), d->as_object());
    return client_model::to_html(tree);
  }
  std::int64_t cid = 0;  // the component the upload is in (0: the view)
  explicit fixture(const std::string& path = "/up") {
    dir = std::filesystem::temp_directory_path() / ("corvid-test-uploads-" + token_signer::random_base64url(6));
    std::filesystem::create_directories(dir);
    cfg.upload_dir = dir;
    routes.add("/up", make_view<upload_view>);
    routes.add("/card", make_view<card_host_view>);
    routes.add("/external", make_view<external_view>);
    if (path == "/card") cid = 1;
    auto r = join(path);
    REQUIRE(test::status_of(r) == "ok");
    tree = test::response(r).at("rendered").as_object();
    auto html = json::serialize(r);
    auto at = html.find("data-phx-upload-ref=\\\"") + 22;
    config_ref = html.substr(at, html.find('\\', at) - at);
  }
  ~fixture() { std::filesystem::remove_all(dir); }
  std::size_t files() const {
    std::size_t n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
  }
  // A form change listing `entries` for the upload input.
  json::array change(const std::string& ref, json::array entries) {
    return push(ref, "event", targeted({{"type", "form"}, {"event", "v"}, {"value", ""},
                                        {"uploads", json::object{{config_ref, std::move(entries)}}}}));
  }
  json::array preflight(const std::string& ref, json::array entries) {
    return push(ref, "allow_upload", targeted({{"ref", config_ref}, {"entries", std::move(entries)}}));
  }
  json::array progress(const std::string& ref, const std::string& entry, int percent) {
    return push(ref, "progress", targeted({{"ref", config_ref}, {"entry_ref", entry}, {"progress", percent}}));
  }
  json::object targeted(json::object payload) const {
    if (cid) payload["cid"] = cid;
    return payload;
  }
  json::array join_upload(const std::string& entry, const std::string& token) {
    ch.handle_frame(json::serialize(json::array{"9", "9", "lvu:" + entry, "phx_join", json::object{{"token", token}}}));
    auto out = host.take();
    REQUIRE(out.size() == 1);
    return out[0];
  }
  std::vector<json::array> send_chunk(const std::string& entry, std::string_view bytes, const std::string& ref = "10") {
    ch.handle_binary(chunk("9", ref, "lvu:" + entry, bytes));
    return host.take();
  }
  // Preflights one file and joins its upload channel; returns the entry's token reply.
  void start(const std::string& entry, const std::string& name, std::int64_t size) {
    auto r = preflight("5", json::array{file(entry, name, size)});
    auto token = std::string(test::response(r).at("entries").as_object().at(entry).as_string());
    REQUIRE(test::status_of(join_upload(entry, token)) == "ok");
  }
};

using test::response;
using test::status_of;
std::string diff_text(const json::array& reply) { return json::serialize(response(reply).at("diff")); }

}  // namespace

TEST_SUITE("live.uploads") {
  TEST_CASE("allow_upload renders the input the client's hook reads; a form change lists the entries, checked") {
    fixture f;
    auto r = f.change("4", json::array{file("0", "a.txt", 10), file("1", "big.txt", 500), file("2", "x.exe", 5, "")});
    auto d = f.html_after(r);
    CHECK(d.find("[a.txt 0 ]") != std::string::npos);
    CHECK(d.find("[big.txt 0 too_large]") != std::string::npos);
    CHECK(d.find("[x.exe 0 not_accepted]") != std::string::npos);
    CHECK(d.find("!too_many_files") != std::string::npos);
    CHECK(d.find(R"(data-phx-active-refs="0,1,2")") != std::string::npos);
    CHECK(d.find(R"(data-phx-error-refs=)") != std::string::npos);
    CHECK(d.find(R"( multiple)") != std::string::npos);
  }

  TEST_CASE("a preflight with errors answers them for the client to drop; a good one gives a token per entry") {
    fixture f;
    auto bad = f.preflight("5", json::array{file("0", "big.txt", 500)});
    CHECK(status_of(bad) == "ok");
    CHECK(json::serialize(response(bad).at("error")) == R"([["0","too_large"]])");
    auto good = f.preflight("6", json::array{file("1", "a.txt", 10)});
    auto& g = response(good);
    CHECK(g.at("ref").as_string() == f.config_ref);
    CHECK(g.at("config").as_object().at("chunk_size") == 64000);
    CHECK(g.at("config").as_object().at("max_file_size") == 100);
    CHECK(g.at("entries").as_object().at("1").is_string());
    CHECK(json::serialize(g.at("diff")).find(R"(data-phx-preflighted-refs=\"1\")") != std::string::npos);
  }

  TEST_CASE("chunks go to a file; progress 100 with every byte makes it done; save consumes it and closes the channel") {
    fixture f;
    f.start("0", "a.txt", 10);
    CHECK(f.files() == 1);
    auto r1 = f.send_chunk("0", "hello");
    REQUIRE(r1.size() == 1);
    CHECK(status_of(r1[0]) == "ok");
    CHECK(r1[0][2] == "lvu:0");
    f.send_chunk("0", "world", "11");
    auto p = f.push("7", "progress", json::object{{"ref", f.config_ref}, {"entry_ref", "0"}, {"progress", 100}});
    CHECK(diff_text(p).find(R"(data-phx-done-refs=\"0\")") != std::string::npos);
    CHECK(diff_text(p).find(R"("100")") != std::string::npos);
    f.ch.handle_frame(R"(["4","8","lv:phx-1","event",{"type":"form","event":"save","value":""}])");
    auto out = f.host.take();
    CHECK(consumed == "a.txt=helloworld;");
    bool closed = false;
    for (auto& m : out) closed = closed || (m[2] == "lvu:0" && m[3] == "phx_close");
    CHECK(closed);
    CHECK(f.files() == 0);
  }

  TEST_CASE("progress 100 before every byte arrived is not done, and save leaves it") {
    fixture f;
    f.start("0", "a.txt", 10);
    f.send_chunk("0", "hel");
    f.push("7", "progress", json::object{{"ref", f.config_ref}, {"entry_ref", "0"}, {"progress", 100}});
    f.push("8", "event", json::object{{"type", "form"}, {"event", "save"}, {"value", ""}});
    CHECK(consumed.empty());
    CHECK(f.files() == 1);
  }

  TEST_CASE("more bytes than declared: file_size_limit_exceeded, the channel closes, the file goes") {
    fixture f;
    f.start("0", "a.txt", 4);
    auto out = f.send_chunk("0", "too many bytes");
    REQUIRE(out.size() == 2);
    CHECK(status_of(out[0]) == "error");
    CHECK(response(out[0]).at("reason") == "file_size_limit_exceeded");
    CHECK(out[1][3] == "phx_close");
    CHECK(f.files() == 0);
  }

  TEST_CASE("upload channel joins: a bad token, a second join, a token used twice") {
    fixture f;
    CHECK(response(f.join_upload("0", "forged")).at("reason") == "invalid_token");
    auto r = f.preflight("5", json::array{file("0", "a.txt", 10)});
    auto token = std::string(response(r).at("entries").as_object().at("0").as_string());
    CHECK(response(f.join_upload("1", token)).at("reason") == "invalid_token");  // another entry's topic
    CHECK(status_of(f.join_upload("0", token)) == "ok");
    CHECK(response(f.join_upload("0", token)).at("reason") == "invalid_token");  // one join per token
  }

  TEST_CASE("a client listing a flood of entries gets too_many_files; the server keeps a handful") {
    fixture f;
    json::array many;
    for (int i = 0; i < 1000; ++i) many.push_back(file(std::to_string(i), "a.txt", 1));
    auto html = f.html_after(f.change("4", std::move(many)));
    CHECK(html.find("!too_many_files") != std::string::npos);
    auto at = html.find("data-phx-active-refs=\"");
    auto refs = html.substr(at, html.find('"', at + 22) - at);
    CHECK(std::count(refs.begin(), refs.end(), ',') < 12);
  }

  TEST_CASE("cancel_upload drops the entry and its file; the view leaving drops every file") {
    fixture f;
    f.start("0", "a.txt", 10);
    f.send_chunk("0", "12345");
    f.push("6", "event", json::object{{"type", "click"}, {"event", "cancel"}, {"value", json::object{{"ref", "0"}}}});
    CHECK(f.files() == 0);
    f.start("1", "b.txt", 10);
    f.send_chunk("1", "1234567890");
    CHECK(f.files() == 1);
    f.ch.handle_frame(R"(["4","9","lv:phx-1","phx_leave",{}])");
    f.host.take();
    CHECK(f.files() == 0);
  }

  TEST_CASE("an upload inside a component: preflight, chunks and progress go to its socket, its render shows them, its save consumes") {
    fixture f{"/card"};
    auto r = f.preflight("5", json::array{file("0", "a.txt", 10)});
    auto token = std::string(response(r).at("entries").as_object().at("0").as_string());
    CHECK(json::serialize(response(r).at("diff").at("c")).find(R"(data-phx-preflighted-refs=\"0\")") != std::string::npos);
    REQUIRE(status_of(f.join_upload("0", token)) == "ok");
    CHECK(f.files() == 1);
    f.send_chunk("0", "0123456789");
    auto p = f.progress("7", "0", 100);
    auto c = json::serialize(response(p).at("diff").at("c"));
    CHECK(c.find(R"(data-phx-done-refs=\"0\")") != std::string::npos);
    CHECK(c.find(R"("100")") != std::string::npos);
    f.ch.handle_frame(json::serialize(
        json::array{"4", "8", "lv:phx-1", "event", f.targeted({{"type", "form"}, {"event", "save"}, {"value", ""}})}));
    auto out = f.host.take();
    REQUIRE(out.size() == 2);
    CHECK(out[0][2] == "lvu:0");  // consumed: its channel closes
    CHECK(out[0][3] == "phx_close");
    CHECK(status_of(out[1]) == "ok");
    CHECK(consumed == "a.txt=0123456789;");
    CHECK(f.files() == 0);
  }

  TEST_CASE("a component that goes takes its files and upload channels with it") {
    fixture f{"/card"};
    f.start("0", "a.txt", 10);
    f.send_chunk("0", "01234");
    CHECK(f.files() == 1);
    f.click("9", "hide");
    f.push("10", "cids_will_destroy", json::object{{"cids", json::array{1}}});
    f.ch.handle_frame(R"(["4","11","lv:phx-1","cids_destroyed",{"cids":[1]}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 2);
    CHECK(out[0][2] == "lvu:0");  // the client stops sending that file
    CHECK(out[0][3] == "phx_close");
    CHECK(json::serialize(response(out[1]).at("cids")) == "[1]");
    CHECK(f.files() == 0);
    auto late = f.send_chunk("0", "56789", "12");  // a chunk still in flight: refused
    REQUIRE(late.size() == 1);
    CHECK(status_of(late[0]) == "error");
  }

  TEST_CASE("external uploads: the preflight gives each entry the presign's meta, the page's progress 100 makes it done, save gets the meta") {
    fixture f{"/external"};
    auto r = f.preflight("5", json::array{file("0", "a.txt", 10), file("1", "b.txt", 20)});
    auto& entries = response(r).at("entries").as_object();
    CHECK(json::serialize(entries.at("0")) == R"({"key":"in/a.txt","uploader":"S3"})");
    CHECK(entries.at("1").at("key") == "in/b.txt");
    CHECK(f.files() == 0);  // nothing comes here
    auto early = f.join_upload("0", "any");  // no upload channel for an external entry
    CHECK(status_of(early) == "error");
    f.progress("6", "0", 40);
    f.progress("7", "0", 100);
    f.ch.handle_frame(R"(["4","8","lv:phx-1","event",{"type":"form","event":"save","value":""}])");
    f.host.take();
    CHECK(consumed == "a.txt=in/a.txt;");  // b.txt is still on its way
    f.progress("9", "1", 100);
    f.ch.handle_frame(R"(["4","10","lv:phx-1","event",{"type":"form","event":"save","value":""}])");
    f.host.take();
    CHECK(consumed == "b.txt=in/b.txt;");
  }

  TEST_CASE("external uploads: a presign error or throw refuses that file with the reason; the view lives") {
    fixture f{"/external"};
    auto r = f.preflight("5", json::array{file("0", "deny.txt", 10)});
    CHECK(json::serialize(response(r).at("error")) == R"([["0","not_allowed_here"]])");
    r = f.preflight("6", json::array{file("1", "throw.txt", 10)});
    CHECK(json::serialize(response(r).at("error")) == R"([["1","external_failed"]])");
    CHECK(f.ch.joined() == 1);
  }

  TEST_CASE("binary pushes outside an upload channel, or malformed, are refused without harm") {
    fixture f;
    auto out = f.send_chunk("nope", "x");
    REQUIRE(out.size() == 1);
    CHECK(response(out[0]).at("reason") == "unmatched topic");
    f.ch.handle_binary(std::string("\x00\x09", 2));  // lengths past the end
    f.ch.handle_binary("");
    CHECK(f.host.take().empty());
    CHECK(f.ch.joined() == 1);
  }
}

TEST_SUITE("live.uploads.pure") {
  TEST_CASE("accept: extensions, exact MIME types and type/*, case-insensitive; empty accepts all") {
    upload_options o;
    CHECK(upload_accepts(o, "x", ""));
    o.accept = {".PNG", "image/*", "text/plain"};
    CHECK(upload_accepts(o, "a.png", ""));
    CHECK(upload_accepts(o, "a.bin", "image/jpeg"));
    CHECK(upload_accepts(o, "a", "TEXT/PLAIN"));
    CHECK_FALSE(upload_accepts(o, "a.txt", "application/pdf"));
    CHECK_FALSE(upload_accepts(o, "png", "image"));
  }

  TEST_CASE("binary frames: the header's lengths, and refusals") {
    const auto bytes = chunk("12", "13", "lvu:0", "abc");
    auto b = parse_binary_frame(bytes);
    REQUIRE(b.ok());
    CHECK(b->join_ref == "12");
    CHECK(b->ref == "13");
    CHECK(b->topic == "lvu:0");
    CHECK(b->event == "chunk");
    CHECK(b->payload == "abc");
    CHECK_FALSE(parse_binary_frame(std::string("\x01\x00\x00\x01\x00x", 6)).ok());
    CHECK_FALSE(parse_binary_frame(std::string("\x00\x00\x00\x00\x00", 5)).ok());  // no topic
  }
}
