#include "session.hpp"

#include <caf/all.hpp>

#include "corvid/live/log.hpp"

namespace corvid::live::detail {

namespace {
// CAF 0.17 has no catch-all for event-based behaviors: wrap one so that every message the typed
// handlers do not take goes to `rest` (the views' handle_info).
class with_fallback final : public caf::detail::behavior_impl {
 public:
  with_fallback(caf::behavior inner, std::function<void(caf::message)> rest)
      : inner_(std::move(inner)), rest_(std::move(rest)) {}
  caf::match_case::result invoke(caf::detail::invoke_result_visitor& f, caf::type_erased_tuple& xs) override {
    auto r = inner_.as_behavior_impl()->invoke(f, xs);
    if (r != caf::match_case::no_match) return r;
    // The message itself, shared, when `xs` is one (a process's messages always are): a deep copy
    // per session was a broadcast's largest cost in a session after the socket write.
    if (auto* data = dynamic_cast<caf::detail::message_data*>(&xs))
      rest_(caf::message{caf::message::data_ptr{data}});
    else
      rest_(caf::message::copy(xs));
    f(caf::unit);
    return caf::match_case::match;
  }

 private:
  caf::behavior inner_;
  std::function<void(caf::message)> rest_;
};

struct session_state final : channel_host {
  session_state(process& p, const channel_config& cfg, std::shared_ptr<frame_sink> s)
      : self_(p), sink(std::move(s)), ch(cfg, *this) {}
  void send(std::string frame) override { sink->send(std::move(frame)); }
  void send_parts(std::string_view head, std::shared_ptr<const std::string> body, std::string_view tail) override {
    sink->send_parts(head, std::move(body), tail);
  }
  void schedule_flush(std::chrono::milliseconds delay) override { self_.send_after(delay, self_.self(), flush_tick{}); }
  corvid::pid self() const override { return self_.self(); }
  corvid::process* proc() override { return &self_; }
  void close_connection(std::uint16_t code) override { sink->close(code); }
  bool may_join(std::string_view path) const override { return sink->may_join(path); }

  process& self_;
  std::shared_ptr<frame_sink> sink;
  channel ch;
  bool joined = false;  // a view has been joined (the sink was told)
};
}  // namespace

corvid::init_fn session_init(const channel_config& cfg, std::shared_ptr<frame_sink> sink) {
  return [&cfg, sink](process& self) -> behavior {
    auto st = std::make_shared<session_state>(self, cfg, sink);
    self.hold(st);
    if (!sink->attach(self.self())) {  // started after its connection gave up waiting (start_child timed out)
      self.exit();
      return caf::behavior{[](connection_closed) {}};
    }
    if (cfg.first_join_timeout.count() > 0 && !sink->watches_first_join())
      self.send_after(cfg.first_join_timeout, self.self(), join_deadline{});
    self.on_terminate([st](const caf::error& why) {
      st->ch.close();  // views' terminate() runs while the process still exists
      // 1011 after a crash, 1001 on shutdown: both make the client reconnect and rejoin in place
      st->sink->close(why && !reason::is_normal(why) ? 1011 : 1001);
    });
    // Handlers take const references: a mutable one makes CAF copy a message that is still
    // shared (the connection holds its inbound frame until the turn it runs is over).
    caf::behavior own{
        [st](const inbound_frame& f) {
          if (f.binary) st->ch.handle_binary(f.text);
          else st->ch.handle_frame(f.text);
          if (!st->joined && st->ch.mounts() > 0) {
            st->joined = true;
            st->sink->joined();
          }
        },
        [st](const inbound_oversized& f) { st->ch.handle_oversized(f.head, f.bytes); },
        [st](flush_tick) { st->ch.flush(); },
        [st, &cfg](join_deadline) {
          if (st->ch.mounts() > 0) return;
          if (cfg.metrics) cfg.metrics->reject(rejection::join_timeout);
          log(log_kind::client, "closing a connection that joined no view within first_join_timeout (1008)");
          st->sink->close(1008);
        },
        [&self](connection_closed) { self.exit(); },
    };
    caf::behavior::impl_ptr all =
        caf::make_counted<with_fallback>(std::move(own), [st](caf::message m) { st->ch.handle_info(m); });
    return caf::behavior{std::move(all)};
  };
}

}  // namespace corvid::live::detail
