// A participant's page. Safe: its inbox brings each new motion once. Naive (the post-mortem):
// a timer re-reads everything every second and assigns it afresh, so every poll re-renders.

#include <chrono>
#include <ctime>
#include <stdexcept>

#include "corvid/live/view.hpp"
#include "corvid/runtime/error.hpp"
#include "inbox.hpp"
#include "text.hpp"
#include "views.hpp"

namespace convention {

namespace live = corvid::live;

namespace {

class participant_view : public live::view {
 public:
  participant_view(hall& h, const page_templates& t) : h_(h), t_(t) {}

  live::html_template render() const override { return t_.participant; }

  void mount(const live::params&, const live::session& session, live::socket& s) override {
    if (auto it = session.find("id"); it != session.end()) me_.id = it->second;
    me_.node = h_.node();
    s.assign("page_title", "Convention");
    s.assign("joined", false);
    s.assign("error", "");
    s.assign("node", h_.node());
    s.assign("polled_at", "");
    show_motion(h_.motion(), s);
    if (!s.connected()) return;
    if (h_.settings().inbox_capacity > 0) {
      auto box = start_inbox(*s.proc(), h_.hub(), {motion_topic}, h_.settings().inbox_capacity);
      if (!box) throw std::runtime_error("inbox: " + corvid::describe(box.error()));
      inbox_ = *box;
      show_motion(h_.motion(), s);  // again: it may have changed before the inbox subscribed
    }
    if (h_.settings().poll.count() > 0) s.proc()->send_interval(h_.settings().poll, s.self(), poll_tick{});
  }

  void terminate(live::socket& s) override {
    if (tracked_) h_.presence().untrack(s.self(), participants_topic, me_.id);
    if (inbox_) corvid::exit(inbox_, caf::error{});
  }

  live::status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    if (ev == "join") {
      if (tracked_) return live::status::ok();
      auto it = v.values.find("name");
      auto name = clean_text(it == v.values.end() ? std::string{} : it->second, max_name_bytes);
      if (name.empty()) {
        s.assign("error", "Please type your name (valid text, up to 40 bytes).");
        return live::status::ok();
      }
      me_.name = name;
      if (auto r = h_.presence().track(s.self(), participants_topic, me_.id, to_meta(me_)); !r)
        return live::status::error("cannot join: " + corvid::describe(r.error()));
      tracked_ = true;
      s.assign("name", name);
      s.assign("joined", true);
      s.assign("error", "");
      return live::status::ok();
    }
    if (ev == "vote") {
      auto it = v.values.find("vote");
      auto choice = parse_vote(it == v.values.end() ? std::string{} : it->second);
      if (!choice) return live::status::error("vote needs yes, no or abstain");
      auto m = h_.motion();
      if (!tracked_ || !m.open()) return live::status::ok();  // nothing to vote on (a stale page)
      me_.cast = *choice;
      me_.motion_id = m.id();
      // One entry per participant: its meta holds one vote, so changing it replaces the old one.
      if (auto r = h_.presence().update(s.self(), participants_topic, me_.id, to_meta(me_)); !r)
        return live::status::error("cannot vote: " + corvid::describe(r.error()));
      show_motion(m, s);
      return live::status::ok();
    }
    return live::status::unknown_event(ev);
  }

  void handle_info(const caf::message& msg, live::socket& s) override {
    if (auto* d = live::message_as<inbox_delivery>(msg)) {
      if (d->motion) show_motion(*d->motion, s);
      (void)s.proc()->send(inbox_, inbox_ready{});
    } else if (live::message_as<poll_tick>(msg)) {
      poll(s);
    }
  }

 private:
  void show_motion(const motion_record& m, live::socket& s) {
    std::string mine = me_.cast && me_.motion_id == m.id() ? std::string(name_of(*me_.cast)) : "";
    s.assign("motion_open", m.open());
    s.assign("motion_version", static_cast<std::int64_t>(m.version));
    s.assign("motion_text", m.text);
    s.assign("my_vote", mine);
    for (auto c : {vote::yes, vote::no, vote::abstain})
      s.assign(std::string(name_of(c)) + "_class", mine == name_of(c) ? "chosen" : "");
  }

  // Naive: everything again, and marked changed whether it changed or not (update() always
  // touches), the way a polling page that re-assigns fresh maps makes LiveView send it all.
  void poll(live::socket& s) {
    auto m = h_.motion();
    show_motion(m, s);
    for (auto* name : {"motion_open", "motion_version", "motion_text", "my_vote", "name", "node"})
      s.update(name, [](live::value&) {});
    (void)h_.participants();  // what the post-mortem's poll read each second: the whole list
    auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char buf[16];
    std::tm local{};
    localtime_r(&now, &local);
    std::strftime(buf, sizeof buf, "%H:%M:%S", &local);
    s.assign("polled_at", std::string(buf));
  }

  hall& h_;
  const page_templates& t_;
  participant me_;
  bool tracked_ = false;
  corvid::pid inbox_;
};

}  // namespace

std::unique_ptr<live::view> make_participant_view(hall& h, const page_templates& t) {
  return std::make_unique<participant_view>(h, t);
}

}  // namespace convention
