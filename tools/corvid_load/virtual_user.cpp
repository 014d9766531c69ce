#include "virtual_user.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <random>
#include <cctype>
#include <set>

#include <caf/allowed_unsafe_message_type.hpp>

#include "corvid/runtime/error.hpp"
#include "corvid/runtime/process.hpp"

namespace corvid::load {
namespace {

struct next_step {};
struct give_up {};
struct step_timeout {
  std::uint64_t seq;
};

} // namespace
} // namespace corvid::load

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::load::lv_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::load::next_step)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::load::give_up)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::load::step_timeout)

namespace corvid::load {
namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

class user_state {
public:
  user_state(std::shared_ptr<const user_context> ctx, std::uint64_t user)
    : ctx_(std::move(ctx)), user_(user), rng_(ctx_->seed * 1'000'003 + user) {}

  behavior make_behavior(process& self) {
    self_ = &self;
    auto& attempt = (*ctx_->attempts)[user_ - ctx_->first_user];
    auto n = attempt.fetch_add(1);
    restarted_ = n > 0;
    if (n > ctx_->max_attempts) {
      ctx_->rec->error("gave_up");
      ctx_->rec->ended.fetch_add(1);
      self.send(self.self(), give_up{});
      return {[&self](give_up) { self.exit(); }};
    }
    ctx_->rec->user_started();
    ctx_->rec->active.fetch_add(1);
    self.on_terminate([this](const caf::error&) {
      ctx_->rec->active.fetch_sub(1);
      if (mounting_)
        ctx_->rec->mounting.fetch_sub(1);
      if (conn_)
        conn_->close();
    });
    if (restarted_) {
      // Back off before starting over, so that a refusing server is not hammered: 0.2 s doubling to 10 s,
      // with jitter so that users that failed together do not come back together.
      auto n = std::min<std::uint32_t>(attempt.load(), 7);
      auto base = std::chrono::milliseconds(100 << n);
      auto wait = std::min<std::chrono::milliseconds>(base, 10s);
      std::uniform_int_distribution<long> jitter(0, wait.count() / 2);
      self.send_after(wait + std::chrono::milliseconds(jitter(rng_)), self.self(), next_step{});
    } else {
      self.send(self.self(), next_step{});
    }
    return {
      [this](next_step) { run(); },
      [this](step_timeout t) {
        if (t.seq == seq_ && waiting_)
          fail(timeout_kind(), "no answer within " + std::to_string(current().timeout.count()) + " ms");
      },
      [this](lv_event& e) { on_event(e); },
    };
  }

private:
  const step& current() const { return ctx_->plan->steps()[pc_]; }

  const char* timeout_kind() const {
    switch (current().type) {
      case step::kind::mount: return "mount_timeout";
      case step::kind::wait_for: return "wait_timeout";
      default: return "event_timeout";
    }
  }

  void fail(const std::string& kind, const std::string& detail) {
    ctx_->rec->error(kind);
    ctx_->rec->user_failed();
    waiting_ = false;
    self_->exit(make_error(errc::bad_argument, "user " + std::to_string(user_) + ", step '" +
                                                   (pc_ < ctx_->plan->steps().size() ? current().label : "") +
                                                   "': " + kind + ": " + detail));
  }

  void arm(const step& s) {
    waiting_ = true;
    started_ = clk::now();
    self_->send_after(s.timeout, self_->self(), step_timeout{++seq_});
  }

  void done_step(std::uint64_t us) {
    ctx_->rec->record_step(current().label, us);
    waiting_ = false;
    ++pc_;
    run();
  }

  std::uint64_t since_start() const {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(clk::now() - started_).count());
  }

  void run() {
    observing_ = false;
    auto& steps = ctx_->plan->steps();
    if (pc_ >= steps.size()) {
      ctx_->rec->user_completed();
      ctx_->rec->ended.fetch_add(1);
      if (conn_)
        conn_->close();
      conn_.reset();
      self_->exit();
      return;
    }
    const step& s = steps[pc_];
    switch (s.type) {
      case step::kind::mount: {
        if (conn_)
          conn_->close();
        recent_.clear();
        auto pid = self_->self();
        // A frame this user's mailbox refuses is a measurement lost: counted, never silent.
        auto target = ctx_->targets[user_ % ctx_->targets.size()];
        if (!target.sources.empty())  // spread each server's users over the source addresses
          target.source = target.sources[(user_ / ctx_->targets.size()) % target.sources.size()];
        conn_ = lv_session::make(*ctx_->io, std::move(target),
                                 [pid, rec = ctx_->rec](lv_event&& e) {
                                   if (corvid::send(pid, std::move(e)) == errc::overloaded)
                                     rec->error("frame_lost");  // (a user that has ended just misses it)
                                 });
        mounting_ = true;
        ctx_->rec->mounting.fetch_add(1);
        arm(s);
        // --mount-path (the var mount_path) sends every mount to another route: the same scenario
        // against a server whose page lives elsewhere (Phoenix's bench page is "/", corvid's "/bench").
        auto where = ctx_->vars.find("mount_path");
        conn_->mount(substitute(where != ctx_->vars.end() ? where->second : s.path, user_, rng_(), ctx_->vars), cookies_);
        return;
      }
      case step::kind::click:
      case step::kind::submit: {
        if (!conn_)
          return fail("no_connection", "an event before any mount");
        std::map<std::string, std::string> values;
        auto r = rng_();
        for (auto& [k, v] : s.values)
          values[k] = substitute(v, user_, r, ctx_->vars);
        recent_.clear();
        arm(s);
        ref_ = conn_->push(s.type == step::kind::click ? "click" : "form", s.event, std::move(values));
        return;
      }
      case step::kind::wait_for: {
        want_ = substitute(s.text, user_, 0, ctx_->vars);
        // "{rand}" cannot be known in advance: a wait names what it needs with "{user}" only.
        started_ = clk::now();
        for (auto& t : recent_)
          if (t.find(want_) != std::string::npos)
            return done_step(0);
        arm(s);
        return;
      }
      case step::kind::think: {
        auto [lo, hi] = span_of(s);
        std::uniform_int_distribution<long> d(lo.count(), hi.count());
        ++pc_;
        self_->send_after(std::chrono::milliseconds(d(rng_)), self_->self(), next_step{});
        return;
      }
      case step::kind::observe:
        observing_ = true;
        observe_label_ = s.label;
        marker_ = substitute(s.text, user_, 0, ctx_->vars);
        ++pc_;
        self_->send_after(span_of(s).second, self_->self(), next_step{});
        return;
      case step::kind::cookie: {
        auto value = substitute(s.text, user_, rng_(), ctx_->vars);
        std::string kept;
        for (std::size_t at = 0; at < cookies_.size();) {  // replace an earlier value of the same name
          auto end = cookies_.find("; ", at);
          auto pair = cookies_.substr(at, end == std::string::npos ? std::string::npos : end - at);
          if (pair.rfind(s.event + "=", 0) != 0)
            kept += (kept.empty() ? "" : "; ") + pair;
          if (end == std::string::npos)
            break;
          at = end + 2;
        }
        cookies_ = kept + (kept.empty() ? "" : "; ") + s.event + "=" + value;
        ++pc_;
        return run();
      }
      case step::kind::leave:
        if (conn_)
          conn_->close();
        conn_.reset();
        ctx_->rec->record_step(s.label, 0);
        ++pc_;
        return run();
    }
  }

  // Records the age of each new "<marker><13 digits>" token (a wall-clock time in ms) in `text`. A token
  // counts once per user, over all its observe steps; those already on the page when it mounted are
  // older than the watching and are only marked as seen (`record` false).
  void observe(const std::string& text, bool record = true) {
    if ((record && !observing_) || marker_.empty())
      return;
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    for (auto at = text.find(marker_); at != std::string::npos; at = text.find(marker_, at + 1)) {
      auto d = at + marker_.size();
      if (d + 13 > text.size())
        break;
      std::int64_t ms = 0;
      bool digits = true;
      for (std::size_t i = d; i < d + 13; ++i) {
        if (text[i] < '0' || text[i] > '9') {
          digits = false;
          break;
        }
        ms = ms * 10 + (text[i] - '0');
      }
      if (!digits || (d + 13 < text.size() && text[d + 13] >= '0' && text[d + 13] <= '9'))
        continue;
      // One token is one join (say), however often it shows: the list, the feed, later updates. It is
      // named by the word before the marker and the time.
      auto w = at;
      while (w > 0 && (std::isalnum(static_cast<unsigned char>(text[w - 1])) || text[w - 1] == '-' || text[w - 1] == '_'))
        --w;
      if (!seen_.insert(text.substr(w, d + 13 - w)).second)
        continue;
      if (record && now_ms >= ms)
        ctx_->rec->record_step(observe_label_, static_cast<std::uint64_t>(now_ms - ms) * 1000);
    }
  }

  // A think's or observe's time: the step's own, or [S, 1.1 S] from its --var.
  std::pair<std::chrono::milliseconds, std::chrono::milliseconds> span_of(const step& s) const {
    if (!s.seconds_var.empty())
      if (auto v = ctx_->vars.find(s.seconds_var); v != ctx_->vars.end()) {
        auto ms = std::chrono::milliseconds(static_cast<long>(std::strtod(v->second.c_str(), nullptr) * 1000));
        if (ms.count() > 0)
          return {ms, ms + ms / 10};
      }
    return {s.think_min, s.think_max};
  }

  void remember(std::string&& text) {
    recent_.push_back(std::move(text));
    if (recent_.size() > 32)
      recent_.pop_front();
  }

  void on_event(lv_event& e) {
    switch (e.type) {
      case lv_event::kind::failed:
        if (mounting_) {
          mounting_ = false;
          ctx_->rec->mounting.fetch_sub(1);
        }
        return fail(e.error, e.detail);
      case lv_event::kind::mounted: {
        if (!waiting_ || current().type != step::kind::mount)
          return;
        mounting_ = false;
        ctx_->rec->mounting.fetch_sub(1);
        auto& r = *ctx_->rec;
        r.record(phase::get, e.get_us);
        r.record(phase::upgrade, e.upgrade_us);
        r.record(phase::join, e.join_us);
        r.record(phase::mount, e.get_us + e.upgrade_us + e.join_us);
        r.record_bytes("join_reply", e.bytes);
        if (restarted_ && !reconnect_counted_) {
          reconnect_counted_ = true;
          r.reconnected();
        }
        for (auto& st : ctx_->plan->steps())
          if (st.type == step::kind::observe) {
            marker_ = substitute(st.text, user_, 0, ctx_->vars);
            observe(e.text, false);
            break;
          }
        remember(std::move(e.text));
        return done_step(since_start());
      }
      case lv_event::kind::reply: {
        ctx_->rec->record_bytes("event_reply", e.bytes);
        observe(e.text);
        bool mine = waiting_ && e.ref == ref_ &&
                    (current().type == step::kind::click || current().type == step::kind::submit);
        if (!mine)
          return;
        if (!e.ok)
          return fail("event_error", e.text.substr(0, 200));
        ctx_->rec->record(phase::event, e.rtt_us);
        remember(std::move(e.text));
        return done_step(e.rtt_us);
      }
      case lv_event::kind::push: {
        ctx_->rec->record_bytes(e.event == "diff" ? "diff" : "other_push", e.bytes);
        if (e.event == "phx_error")
          return fail("channel_error", e.text.substr(0, 200));
        if (e.event == "phx_close")
          return fail("channel_closed", e.text.substr(0, 200));
        if (e.event == "redirect" || e.event == "live_redirect")
          return fail("redirected", e.text.substr(0, 200));
        observe(e.text);
        bool hit = waiting_ && current().type == step::kind::wait_for && e.text.find(want_) != std::string::npos;
        remember(std::move(e.text));
        if (hit)
          done_step(since_start());
        return;
      }
    }
  }

  std::shared_ptr<const user_context> ctx_;
  std::uint64_t user_;
  std::mt19937_64 rng_;
  process* self_ = nullptr;
  std::shared_ptr<lv_session> conn_;
  std::size_t pc_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t ref_ = 0;
  bool waiting_ = false;
  bool mounting_ = false;
  bool restarted_ = false;
  bool reconnect_counted_ = false;
  std::string want_;
  std::string cookies_;  // set by cookie steps, sent with each mount
  bool observing_ = false;
  std::string observe_label_, marker_;
  std::set<std::string> seen_;
  std::deque<std::string> recent_;
  clk::time_point started_;
};

} // namespace

child_spec user_spec(std::shared_ptr<const user_context> ctx, std::uint64_t user) {
  spawn_options so;
  so.label = "virtual user";
  return child_spec::worker("user-" + std::to_string(user),
                            [ctx = std::move(ctx), user](process& self) {
                              auto st = std::make_shared<user_state>(ctx, user);
                              auto b = st->make_behavior(self);
                              self.hold(std::move(st));
                              return b;
                            },
                            so, restart::transient);
}

} // namespace corvid::load
