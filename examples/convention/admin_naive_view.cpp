// The chair's page as the post-mortem built it (--naive): every presence diff of the whole
// convention comes straight into this page's (unbounded) mailbox, and each one re-reads and
// re-assigns the whole participant list, the tally and the feed, rendered as plain loops that
// are sent again in full.

#include <map>
#include <stdexcept>

#include "admin_assigns.hpp"
#include "corvid/runtime/error.hpp"
#include "views.hpp"

namespace convention {

namespace live = corvid::live;

namespace {

class admin_naive_view : public live::view {
 public:
  admin_naive_view(hall& h, const page_templates& t) : h_(h), t_(t) {}

  live::html_template render() const override { return t_.admin_naive; }

  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("page_title", "Convention chair (naive)");
    s.assign("node", h_.node());
    s.assign("naive", true);
    s.assign("error", "");
    s.assign("events", live::value::list{});
    if (s.connected()) {
      for (auto* t : {&participants_topic, &motion_topic})
        if (auto err = h_.hub().subscribe(s.self(), *t)) throw std::runtime_error("subscribe: " + corvid::describe(err));
    }
    refresh(s);
  }

  void terminate(live::socket& s) override {
    for (auto* t : {&participants_topic, &motion_topic}) h_.hub().unsubscribe(s.self(), *t);
  }

  live::status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    if (ev == "open_motion") return open_motion(h_, v, s);
    return live::status::unknown_event(ev);
  }

  void handle_info(const caf::message& msg, live::socket& s) override {
    if (auto* d = live::message_as<corvid::pubsub::presence_diff>(msg)) {
      if (d->topic != participants_topic) return;
      auto c = reconcile(known_, *d, h_.presence());
      s.update("events", [&](live::value& v) {
        auto* l = v.get_if<live::value::list>();
        if (!l) return;
        for (auto& e : c.events) {
          e.seq = ++lines_;
          l->insert(l->begin(), line_of(e));
        }
        if (l->size() > max_feed) l->resize(max_feed);
      });
      refresh(s);
    } else if (live::message_as<motion_changed>(msg)) {
      refresh(s);
    }
  }

 private:
  void refresh(live::socket& s) {
    auto m = h_.motion();
    show_motion(m, s);
    show_tally(h_.current_tally(), s);
    live::value::list rows;
    for (auto& p : h_.participants()) {
      rows.push_back(row_of(p, m.id()));
      known_.insert_or_assign(p.id, p);
    }
    s.update("participants", [&](live::value& v) { v = live::value{std::move(rows)}; });  // changed, always
  }

  hall& h_;
  const page_templates& t_;
  std::uint64_t lines_ = 0;
  std::map<std::string, participant> known_;  // to tell joins, votes and leaves apart
};

}  // namespace

std::unique_ptr<live::view> make_admin_naive_view(hall& h, const page_templates& t) {
  return std::make_unique<admin_naive_view>(h, t);
}

}  // namespace convention
