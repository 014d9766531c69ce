#include "scenario.hpp"

#include <algorithm>

namespace corvid::load {

step& scenario::add(step::kind k, std::string what) {
  step s;
  s.type = k;
  s.timeout = timeout_;
  s.label = std::to_string(++defined_) + ". " + std::move(what);
  steps_.push_back(std::move(s));
  return steps_.back();
}

scenario& scenario::mount(std::string path) {
  add(step::kind::mount, "mount " + path).path = std::move(path);
  return *this;
}

scenario& scenario::click(std::string event, std::map<std::string, std::string> values) {
  auto& s = add(step::kind::click, "click " + event);
  s.event = std::move(event);
  s.values = std::move(values);
  return *this;
}

scenario& scenario::submit(std::string event, std::map<std::string, std::string> form) {
  auto& s = add(step::kind::submit, "submit " + event);
  s.event = std::move(event);
  s.values = std::move(form);
  return *this;
}

scenario& scenario::wait_for(std::string text) {
  add(step::kind::wait_for, "wait for \"" + text + "\"").text = std::move(text);
  return *this;
}

scenario& scenario::think(std::chrono::milliseconds min, std::chrono::milliseconds max) {
  auto& s = add(step::kind::think, "think");
  s.think_min = std::min(min, max);
  s.think_max = std::max(min, max);
  return *this;
}

scenario& scenario::observe(std::string marker, std::chrono::milliseconds for_how_long) {
  auto& s = add(step::kind::observe, "observe " + marker);
  s.text = std::move(marker);
  s.think_min = s.think_max = for_how_long;
  return *this;
}

scenario& scenario::seconds_from(std::string name) {
  if (!steps_.empty())
    steps_.back().seconds_var = std::move(name);
  return *this;
}

scenario& scenario::cookie(std::string name, std::string value) {
  auto& s = add(step::kind::cookie, "cookie " + name);
  s.event = std::move(name);
  s.text = std::move(value);
  return *this;
}

scenario& scenario::leave() {
  add(step::kind::leave, "leave");
  return *this;
}

scenario& scenario::timeout(std::chrono::milliseconds t) {
  timeout_ = t;
  return *this;
}

scenario& scenario::repeat(int n, const std::function<void(scenario&)>& body) {
  // Define the body once (its labels), then copy its steps n-1 more times.
  auto first = steps_.size();
  body(*this);
  std::vector<step> once(steps_.begin() + static_cast<std::ptrdiff_t>(first), steps_.end());
  if (n <= 0) {
    steps_.resize(first);
    return *this;
  }
  for (int i = 1; i < n; ++i)
    steps_.insert(steps_.end(), once.begin(), once.end());
  return *this;
}

std::vector<std::string> scenario::labels() const {
  std::vector<std::string> out;
  for (auto& s : steps_)
    if (std::find(out.begin(), out.end(), s.label) == out.end())
      out.push_back(s.label);
  return out;
}

std::string substitute(const std::string& text, std::uint64_t user, std::uint64_t rand, const variables& vars) {
  if (text.find('{') == std::string::npos)
    return text;
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    auto close = text[i] == '{' ? text.find('}', i) : std::string::npos;
    if (close == std::string::npos) {
      out += text[i++];
      continue;
    }
    auto name = text.substr(i + 1, close - i - 1);
    if (name == "user") {
      out += std::to_string(user);
    } else if (name == "rand") {
      out += std::to_string(rand);
    } else if (name == "now_ms") {
      out += std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());
    } else if (auto v = vars.find(name); v != vars.end()) {
      out += v->second;
    } else {
      out += text[i++];
      continue;
    }
    i = close + 1;
  }
  return out;
}

std::vector<scenario> builtin_scenarios() {
  using namespace std::chrono_literals;
  std::vector<scenario> all;
  all.emplace_back("index", "examples/live_demo /: mount, read, leave");
  all.back().mount("/").wait_for("corvid").think(1s, 3s).leave();

  all.emplace_back("counter", "examples/live_demo /counter: 20 clicks of inc with 0.5-1.5 s thinking, then reset");
  all.back()
      .mount("/counter")
      .repeat(20, [](scenario& r) { r.click("inc").think(500ms, 1500ms); })
      .click("reset")
      .leave();

  all.emplace_back("chat", "examples/live_demo /chat: type, post a message, see it come back, read");
  all.back()
      .mount("/chat")
      .repeat(5, [](scenario& r) {
        r.think(1s, 3s)
            .submit("typing", {{"body", "hello from {user}"}})
            .submit("send", {{"body", "hello from {user} #{rand}"}})
            .wait_for("#");
      })
      .think(1s, 2s)
      .leave();

  all.emplace_back("bench", "examples/live_demo /bench: clicks, one broadcast per user, waits for it");
  all.back()
      .mount("/bench")
      .repeat(10, [](scenario& r) { r.click("inc").think(200ms, 800ms); })
      .submit("bcast", {{"value", "u{user}-{rand}"}})
      .wait_for("u{user}-")
      .think(1s, 2s)
      .leave();

  all.emplace_back("flash", "examples/live_demo /flash: show a flash, clear it");
  all.back()
      .mount("/flash")
      .repeat(5, [](scenario& r) { r.click("info").think(300ms, 900ms).click("lv:clear-flash", {{"key", "info"}}); })
      .leave();

  all.emplace_back("form", "examples/live_demo /form: validate while typing, then save");
  all.back()
      .mount("/form")
      .repeat(6, [](scenario& r) {
        r.submit("validate", {{"user[name]", "user {user}"}, {"user[email]", "u{user}@example.org"}}).think(150ms, 400ms);
      })
      .submit("save", {{"user[name]", "user {user}"}, {"user[email]", "u{user}@example.org"}, {"tags[]", "a"}})
      .think(1s, 2s)
      .leave();

  all.emplace_back("hooks", "examples/live_demo /hooks: a hook's pushEvent, answered");
  all.back()
      .mount("/hooks")
      .repeat(5, [](scenario& r) {
        r.click("highlight", {{"id", "target-1"}}).think(300ms, 900ms).click("highlight", {{"id", "target-2"}});
      })
      .leave();

  all.emplace_back("components", "examples/live_demo /components: toggle, reverse, reset");
  all.back()
      .mount("/components")
      .repeat(5, [](scenario& r) { r.click("toggle").think(200ms, 600ms).click("reverse").think(200ms, 600ms); })
      .click("reset")
      .leave();

  all.emplace_back("private", "examples/live_demo /login then /private: the login's cookie, a live_session's on_mount");
  all.back()
      .mount("/login")
      .think(300ms, 900ms)
      .leave()
      .cookie("demo_user", "ann{user}")
      .mount("/private")
      .wait_for("ann{user}")
      .think(1s, 3s)
      .leave();

  all.emplace_back("upload", "examples/live_demo /upload: mount the upload page and read it (no file is sent)");
  all.back().mount("/upload").think(1s, 3s).leave();

  all.emplace_back("dashboard", "examples/live_demo /dashboard?token={token} (--var token=T): watch it refresh 10 s");
  all.back().mount("/dashboard?token={token}").think(10s, 12s).leave();

  all.emplace_back("nested", "examples/live_demo /nested: mount a page of nested views, read");
  all.back().mount("/nested").think(1s, 3s).leave();

  // The convention: participants join with a name that carries the time they joined ("@{now_ms}"),
  // so that an admin page (convention_admin) can measure how long a join takes to reach it.
  all.emplace_back("convention",
                   "examples/convention /: join with a name, vote, change the vote, stay 30-60 s (--var hold=S: S-1.1 S)");
  all.back()
      .mount("/")
      .submit("join", {{"name", "d{user}@{now_ms}"}})
      .wait_for("d{user}@")
      .think(500ms, 2s)
      .click("vote", {{"vote", "yes"}})
      .think(5s, 15s)
      .click("vote", {{"vote", "no"}})
      .think(30s, 60s)
      .seconds_from("hold")
      .leave();

  all.emplace_back("convention_admin",
                   "examples/convention /admin?token={token} (--var token=T): watch joins arrive for 60 s, open a "
                   "motion, watch 60 s more (--var watch=S for S s each)");
  all.back()
      .mount("/admin?token={token}")
      .observe("@", 60s)
      .seconds_from("watch")
      .submit("open_motion", {{"text", "Motion from admin {user} at {now_ms}"}})
      .observe("@", 60s)
      .seconds_from("watch")
      .leave();
  return all;
}

std::shared_ptr<const scenario> find_scenario(const std::string& name) {
  for (auto& s : builtin_scenarios())
    if (s.name() == name)
      return std::make_shared<const scenario>(std::move(s));
  return nullptr;
}

} // namespace corvid::load
