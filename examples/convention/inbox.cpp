#include "inbox.hpp"

#include <memory>
#include <optional>

#include <caf/atom.hpp>

#include "messages.hpp"

namespace convention {

corvid::coalesce_key_fn inbox_key() {
  return [](const caf::message& m) -> std::optional<std::string> {
    if (m.size() == 1 && m.match_element<tally_update>(0)) return std::string{"tally"};
    if (m.size() == 1 && m.match_element<motion_changed>(0)) return std::string{"motion"};
    return std::nullopt;
  };
}

namespace {

using check_atom = caf::atom_constant<caf::atom("ibx_check")>;

struct inbox_state {
  corvid::pid page;
  inbox_delivery pending;
  bool busy = false;                 // a delivery is with the page
  std::uint64_t last_batch = 0;      // the chair's last batch number seen
  bool any() const { return pending.motion || pending.tally || pending.roster; }

  std::uint64_t sent = 0;             // deliveries handed to the page: names the watchdog's check

  void flush(corvid::process& self) {
    if (busy || !any()) return;
    if (self.send(page, pending)) {
      // The page's box is full of its client's frames: try again shortly rather than queue more.
      self.send_after(std::chrono::milliseconds(50), self.self(), inbox_ready{});
      busy = true;
      return;
    }
    pending = {};
    busy = true;
    // The page's "ready" travels through this inbox's own bounded box, where a full box of change
    // batches can drop it; a check of our own (self-sends are never dropped) then unblocks the inbox.
    self.send_after(std::chrono::seconds(2), self.self(), check_atom::value, ++sent);
  }
  void take(roster_update r) {
    if (last_batch != 0 && r.seq != last_batch + 1) r.resync = true;  // a batch was lost (or the chair restarted)
    last_batch = r.seq;
    if (pending.roster) merge(*pending.roster, std::move(r));
    else pending.roster = std::move(r);
  }
};

}  // namespace

caf::expected<corvid::pid> start_inbox(corvid::process& page, corvid::pubsub::hub& hub,
                                       const std::vector<std::string>& topics, std::size_t capacity) {
  corvid::spawn_options so;
  so.label = "convention_inbox";
  so.mailbox = corvid::mailbox_options{};
  so.mailbox->capacity = capacity;
  so.mailbox->policy = corvid::overflow::coalesce;
  so.mailbox->key = inbox_key();
  auto owner = page.self();
  auto p = page.spawn(
      [owner](corvid::process& self) -> corvid::behavior {
        auto st = std::make_shared<inbox_state>();
        st->page = owner;
        self.monitor(owner);
        self.on_down([&self](corvid::down_signal&) { self.exit(); });
        return {
            [st, &self](const motion_changed& m) {
              st->pending.motion = m.motion;
              st->flush(self);
            },
            [st, &self](const tally_update& t) {
              st->pending.tally = t;
              st->flush(self);
            },
            [st, &self](const roster_update& r) {
              st->take(r);
              st->flush(self);
            },
            [st, &self](inbox_ready) {
              st->busy = false;
              st->flush(self);
            },
            [st, &self](check_atom, std::uint64_t n) {
              if (st->busy && n == st->sent) {  // no ready within 2 s: it was lost, not slow
                st->busy = false;
                st->flush(self);
              }
            },
        };
      },
      so);
  if (!p) return p;
  for (auto& t : topics)
    if (auto err = hub.subscribe(*p, t)) {
      corvid::exit(*p, err);
      return err;
    }
  return p;
}

}  // namespace convention
