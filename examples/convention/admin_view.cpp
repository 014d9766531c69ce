// The chair's page, safe design: the participant list and the event feed are LiveView streams
// (the server keeps none of their items and sends only what changed), the tally is a handful
// of numbers, and everything arrives through the page's coalescing inbox at most once per
// interval from the node's throttled chair. The participant list holds at most
// settings().admin_rows rows, the latest to join or vote: the client drops the oldest (a stream
// limit), and a reload or a large batch sends no more than that.

#include <cstdint>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>

#include "admin_assigns.hpp"
#include "corvid/runtime/error.hpp"
#include "inbox.hpp"
#include "views.hpp"

namespace convention {

namespace live = corvid::live;

namespace {

class admin_view : public live::view {
 public:
  admin_view(hall& h, const page_templates& t) : h_(h), t_(t) {}

  live::html_template render() const override { return t_.admin; }

  void mount(const live::params&, const live::session&, live::socket& s) override {
    s.assign("page_title", "Convention chair");
    s.assign("node", h_.node());
    s.assign("naive", false);
    s.assign("error", "");
    s.assign("rows_note", rows_note());
    if (s.connected()) {
      auto box = start_inbox(*s.proc(), h_.hub(), {motion_topic, tally_topic, roster_topic}, h_.settings().inbox_capacity);
      if (!box) throw std::runtime_error("inbox: " + corvid::describe(box.error()));
      inbox_ = *box;
    }
    // After subscribing: whatever changes from here on also comes as a delivery.
    motion_ = h_.motion();
    show_motion(motion_, s);
    show_tally(h_.current_tally(), s);
    reload(s, false);
  }

  void terminate(live::socket&) override {
    if (inbox_) corvid::exit(inbox_, caf::error{});
  }

  live::status handle_event(const std::string& ev, const live::event_value& v, live::socket& s) override {
    if (ev == "open_motion") return open_motion(h_, v, s);
    return live::status::unknown_event(ev);
  }

  void handle_info(const caf::message& msg, live::socket& s) override {
    auto* d = live::message_as<inbox_delivery>(msg);
    if (!d) return;
    bool reloaded = false;
    if (d->motion && d->motion->id() != motion_.id()) {
      motion_ = *d->motion;
      show_motion(motion_, s);
      reload(s, true);  // the votes shown were for the old motion
      reloaded = true;
    }
    if (d->tally && d->tally->motion.id() == motion_.id()) show_tally(d->tally->counts, s);
    if (d->roster) apply(*d->roster, reloaded, s);
    (void)s.proc()->send(inbox_, inbox_ready{});
  }

 private:
  std::size_t rows() const { return h_.settings().admin_rows; }

  std::string rows_note() const {
    return rows() == 0 ? std::string{} : "(the latest " + std::to_string(rows()) + " to join or vote)";
  }

  std::optional<std::int64_t> limit() const {
    if (rows() == 0) return std::nullopt;
    return -static_cast<std::int64_t>(rows());  // keep the last rows() on the client
  }

  void reload(live::socket& s, bool reset) {
    live::value::list list;
    for (auto& p : h_.participants(rows() == 0 ? SIZE_MAX : rows())) list.push_back(row_of(p, motion_.id()));
    s.assigns().stream("participants", list, reset, live::stream_at::append, limit());
  }

  void apply(const roster_update& r, bool reloaded, live::socket& s) {
    if (r.resync && !reloaded) reload(s, true);
    else if (!reloaded) {
      for (auto& id : r.removed) s.stream_delete("participants", live::value::map{{"id", id}});
      // More changes than rows: only the last rows() would stay on the client; send only those.
      auto first = r.upserts.begin();
      if (rows() != 0 && r.upserts.size() > rows()) std::advance(first, r.upserts.size() - rows());
      for (auto it = first; it != r.upserts.end(); ++it)
        s.stream_insert("participants", row_of(it->second, motion_.id()), live::stream_at::append, limit());
    }
    for (auto& e : r.events) s.stream_insert("events", line_of(e), live::stream_at::prepend, max_feed);
  }

  hall& h_;
  const page_templates& t_;
  motion_record motion_;
  corvid::pid inbox_;
};

}  // namespace

std::unique_ptr<live::view> make_admin_view(hall& h, const page_templates& t) {
  return std::make_unique<admin_view>(h, t);
}

}  // namespace convention
