#include "phoenix_pages.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string_view>
#include <system_error>

#include <boost/json.hpp>

#include "corvid/live/component.hpp"
#include "corvid/live/form_params.hpp"
#include "corvid/live/view.hpp"

namespace demo {

namespace live = corvid::live;

const char* hooks_script = R"(<script>
  // corvid_boot.js hands window.corvidHooks to the LiveSocket.
  window.corvidHooks = {
    // Marks the element the view names (socket::push_event("highlight", {id})).
    Highlight: {
      mounted() {
        this.handleEvent("highlight", (p) => {
          document.querySelectorAll(".highlighted").forEach((e) => e.classList.remove("highlighted"));
          const t = document.getElementById(p.id);
          if (t) t.classList.add("highlighted");
        });
      },
    },
    // The demo's "login": a cookie the server reads into the page's session (server_options::session_values).
    Login: {
      mounted() {
        this.el.addEventListener("click", () => {
          document.cookie = "demo_user=" + this.el.dataset.user + "; path=/; SameSite=Lax";
          window.location = "/private";
        });
      },
    },
    Logout: {
      mounted() {
        this.el.addEventListener("click", () => {
          document.cookie = "demo_user=; path=/; Max-Age=0";
          window.location = "/private";
        });
      },
    },
    // Asks the view and writes the pong of its reply (status::reply) into #pong.
    Ping: {
      mounted() {
        this.el.addEventListener("click", () =>
          this.pushEvent("ping", {}).then((r) => { document.getElementById("pong").textContent = r.pong; }));
      },
    },
  };
</script>
)";

namespace {

struct flash_view : live::view {
  explicit flash_view(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(const live::params&, const live::session&, live::socket& s) override { s.assign("page_title", "Flash"); }
  live::status handle_event(const std::string& ev, const live::event_value&, live::socket& s) override {
    if (ev == "info") {
      s.put_flash("info", "Saved. (An info flash: the close button sends lv:clear-flash.)");
    } else if (ev == "nav") {
      s.put_flash("info", "This flash came along with a live navigation.");
      s.push_navigate("/counter");
    } else {
      return live::status::unknown_event(ev);
    }
    return live::status::ok();
  }
  live::html_template t_;
};

struct hooks_view : live::view {
  explicit hooks_view(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("page_title", "Hooks");
    s.assign("pings", 0);
  }
  live::status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    if (ev == "highlight") {  // phx-click with phx-value-id
      auto id = v.values.find("id");
      if (id == v.values.end()) return live::status::error("highlight needs an id");
      s.push_event("highlight", live::value::map{{"id", id->second}});
      return live::status::ok();
    }
    if (ev == "ping") {  // a hook's pushEvent: its promise resolves with the reply
      auto n = *s["pings"].get_if<std::int64_t>() + 1;
      s.assign("pings", n);
      return live::status::reply(live::value::map{{"pong", "pong #" + std::to_string(n)}});
    }
    return live::status::unknown_event(ev);
  }
  live::html_template t_;
};

struct form_view : live::view {
  explicit form_view(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("page_title", "Form");
    s.assign("params", "");
    s.assign("email_hint", "");
  }
  live::status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    if (ev == "validate") {  // Phoenix's used_input?: no complaint about a field not typed in yet
      auto* user = v.form.if_contains("user");
      auto* email = user && user->is_object() ? user->as_object().if_contains("email") : nullptr;
      bool empty = !email || (email->is_string() && email->as_string().empty());
      s.assign("email_hint", empty && live::used_input(v.form, {"user", "email"}) ? "an email is needed" : "");
      return live::status::ok();
    }
    if (ev == "save") {
      s.assign("params", boost::json::serialize(v.form));
      return live::status::ok();
    }
    return live::status::unknown_event(ev);
  }
  live::html_template t_;
};

// One card of /components: a stateful component with its own count and +1 button.
struct card_component : live::component {
  explicit card_component(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(live::socket& s) override { s.assign("count", 0); }
  live::status handle_event(const std::string& ev, const live::event_value&, live::socket& s) override {
    if (ev != "inc") return live::status::unknown_event(ev);
    s.assign("count", *s["count"].get_if<std::int64_t>() + 1);
    return live::status::ok();
  }
  live::html_template t_;
};

struct components_view : live::view {
  explicit components_view(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("page_title", "Components");
    show(s, true);
  }
  live::status handle_event(const std::string& ev, const live::event_value&, live::socket& s) override {
    if (ev == "toggle") {
      show(s, !*s["all_shown"].get_if<bool>());
    } else if (ev == "reverse") {
      s.update("cards", [](live::value& v) {
        if (auto* l = v.get_if<live::value::list>()) std::reverse(l->begin(), l->end());
      });
    } else if (ev == "reset") {  // the cards keep their own counts: the view asks each to reset
      for (int i = 1; i <= 3; ++i) (void)live::send_update(s.self(), "card", live::value(std::to_string(i)), {{"count", 0}});
    } else {
      return live::status::unknown_event(ev);
    }
    return live::status::ok();
  }
  static void show(live::socket& s, bool all) {
    live::value::list cards;
    for (int i = 1; i <= (all ? 3 : 2); ++i)
      cards.push_back(live::value::map{{"id", std::to_string(i)}, {"title", "Card " + std::to_string(i)}});
    s.assign("cards", std::move(cards));
    s.assign("all_shown", all);  // (toggling puts the cards back in order)
  }
  live::html_template t_;
};

// /nested: the parent and its child (live_render) each count on their own.
struct counting_view : live::view {
  explicit counting_view(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(const live::params&, const live::session& session, live::socket& s) override {
    s.assign("count", 0);
    if (auto label = session.find("label"); label != session.end()) s.assign("label", label->second);
    else s.assign("page_title", "Nested views");
  }
  live::status handle_event(const std::string& ev, const live::event_value&, live::socket& s) override {
    if (ev != "inc") return live::status::unknown_event(ev);
    s.assign("count", *s["count"].get_if<std::int64_t>() + 1);
    return live::status::ok();
  }
  live::html_template t_;
};

// Consumes the finished entries of `name`: their names and sizes, for the page to list.
live::value::list consume_listing(live::socket& s, std::string_view name) {
  live::value::list got;
  s.consume_uploaded_entries(name, [&](const live::upload_entry& e) {
    std::error_code ec;  // a real app would move the file somewhere of its own here
    auto size = std::filesystem::file_size(e.path, ec);
    got.push_back(live::value::map{{"name", e.name}, {"size", static_cast<std::int64_t>(ec ? 0 : size)}});
  });
  return got;
}

// /upload's component: its own upload config, form and submit (the cid rides on every upload message).
struct note_upload_component : live::component {
  explicit note_upload_component(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(live::socket& s) override {
    s.assign("uploaded", live::value::list{});
    live::upload_options o;
    o.accept = {".txt"};
    o.max_file_size = 100'000;
    s.allow_upload("note", o);
  }
  live::status handle_event(const std::string& ev, const live::event_value&, live::socket& s) override {
    if (ev == "validate") return live::status::ok();
    if (ev != "save") return live::status::unknown_event(ev);
    s.assign("uploaded", consume_listing(s, "note"));
    return live::status::ok();
  }
  live::html_template t_;
};

// /upload: two files of at most 1 MB; the submit consumes them and lists what arrived.
struct upload_view : live::view {
  explicit upload_view(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("page_title", "Upload");
    s.assign("uploaded", live::value::list{});
    live::upload_options o;
    o.max_entries = 2;
    o.max_file_size = 1'000'000;
    s.allow_upload("avatar", o);
  }
  live::status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    if (ev == "validate") return live::status::ok();  // the entries and their errors render by themselves
    if (ev == "cancel") {
      auto ref = v.values.find("ref");
      if (ref != v.values.end()) s.cancel_upload("avatar", ref->second);
      return live::status::ok();
    }
    if (ev == "save") {
      s.assign("uploaded", consume_listing(s, "avatar"));
      return live::status::ok();
    }
    return live::status::unknown_event(ev);
  }
  live::html_template t_;
};

struct login_view : live::view {
  explicit login_view(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(const live::params&, const live::session&, live::socket& s) override { s.assign("page_title", "Log in"); }
  live::html_template t_;
};

// Shows the user the on_mount hook let in.
struct private_view : live::view {
  explicit private_view(live::html_template t) : t_(std::move(t)) {}
  live::html_template render() const override { return t_; }
  void mount(const live::params&, const live::session&, live::socket& s) override { s.assign("page_title", "Private"); }
  live::html_template t_;
};

// The "private" live_session's on_mount: a session without a user goes to /login.
bool require_user(const live::params&, const live::session& session, live::socket& s) {
  auto user = session.find("user");
  if (user == session.end() || user->second.empty()) {
    s.redirect("/login");
    return false;
  }
  s.assign("user", user->second);
  return true;
}

}  // namespace

live::params session_values(const live::auth_request& req) {
  auto user = live::cookie_of(req.cookie, "demo_user");
  if (!user || user->empty() || user->size() > 32 ||
      !std::all_of(user->begin(), user->end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }))
    return {};
  return {{"user", std::string(*user)}};
}

std::string add_phoenix_pages(live::server& srv, const std::filesystem::path& templates) {
  auto load = [&](const char* name) { return live::html_template::load(templates / name); };
  auto flash = load("flash.html");
  auto hooks = load("hooks.html");
  auto form = load("form.html");
  auto card = load("card.html");
  auto login = load("login.html");
  auto priv = load("private.html");
  auto nested = load("nested.html");
  auto child = load("child.html");
  auto note = load("note_upload.html");
  for (auto* t : {&flash, &hooks, &form, &card, &login, &priv, &nested, &child, &note})
    if (!*t) return t->error().to_string();
  live::parse_options with_card;
  with_card.components["card"] = [t = *card] { return std::make_unique<card_component>(t); };
  auto components = live::html_template::load(templates / "components.html", with_card);
  if (!components) return components.error().to_string();
  live::parse_options with_note;
  with_note.components["note_upload"] = [t = *note] { return std::make_unique<note_upload_component>(t); };
  auto upload = live::html_template::load(templates / "upload.html", with_note);
  if (!upload) return upload.error().to_string();
  srv.live("/flash", [t = *flash] { return std::make_unique<flash_view>(t); });
  srv.live("/hooks", [t = *hooks] { return std::make_unique<hooks_view>(t); });
  srv.live("/form", [t = *form] { return std::make_unique<form_view>(t); });
  srv.live("/components", [t = *components] { return std::make_unique<components_view>(t); });
  srv.live("/login", [t = *login] { return std::make_unique<login_view>(t); });
  srv.live("/nested", [t = *nested] { return std::make_unique<counting_view>(t); });
  srv.live("/upload", [t = *upload] { return std::make_unique<upload_view>(t); });
  srv.live_child("child_counter", [t = *child] { return std::make_unique<counting_view>(t); });
  srv.live_session("private", {.on_mount = {require_user}},
                   {{"/private", [t = *priv] { return std::make_unique<private_view>(t); }}});
  return {};
}

}  // namespace demo
