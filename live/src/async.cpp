// socket::assign_async: work in a task process, its result assigned when it lands.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "corvid/live/view.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/task.hpp"

namespace corvid::live::detail {
/// A task's value on its way back to the session process.
struct async_payload {
  value v;
  std::optional<std::string> error;  // what() of the exception fn threw
};
}  // namespace corvid::live::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::async_payload)

namespace corvid::live {

value async_result::loading() { return value::map{{"loading", true}, {"ok", false}, {"failed", false}}; }

value async_result::ok(value result) {
  return value::map{{"loading", false}, {"ok", true}, {"failed", false}, {"result", std::move(result)}};
}

value async_result::failed(std::string reason) {
  return value::map{{"loading", false}, {"ok", false}, {"failed", true}, {"error", std::move(reason)}};
}

// Owned by the socket; tasks hold it weakly, so a result for a socket that is gone is dropped.
struct socket::async_state {
  socket* owner = nullptr;
  std::map<std::string, std::uint64_t, std::less<>> running;  // name -> generation of its latest task
  std::uint64_t next = 0;
};

void socket::assign_async(std::string name, std::function<value()> fn) {
  assigns_.assign(name, async_result::loading());
  if (!connected_ || !proc_) return;
  run_async(name, std::move(fn), [name](socket& s, async_outcome o) {
    s.assigns_.assign(name, o.ok ? async_result::ok(std::move(o.result)) : async_result::failed(std::move(o.error)));
  });
}

void socket::start_async(std::string name, std::function<value()> fn) {
  if (!connected_ || !proc_) return;
  run_async(name, std::move(fn), [name](socket& s, async_outcome o) { s.rare().landed.emplace_back(name, std::move(o)); });
}

void socket::cancel_async(std::string_view name) {
  if (async_) async_->running.erase(std::string(name));
}

void socket::run_async(std::string name, std::function<value()> fn, std::function<void(socket&, async_outcome)> on_land) {
  if (!async_) {
    async_ = std::make_shared<async_state>();
    async_->owner = this;
  }
  const auto gen = ++async_->next;
  async_->running.insert_or_assign(name, gen);
  // Runs in the session process (a continuation of the task call), never concurrently with the view.
  auto land = [weak = std::weak_ptr<async_state>(async_), name, gen, proc = proc_, on_land](async_outcome o) {
    auto st = weak.lock();
    if (!st) return;  // the view went away
    auto it = st->running.find(name);
    if (it == st->running.end() || it->second != gen) return;  // superseded or cancelled
    st->running.erase(it);
    on_land(*st->owner, std::move(o));
    (void)proc->send(proc->self(), async_done{});  // the channel renders the diff on this message
  };
  // Unlinked: a task that dies fails only itself; the session sees that as on_err. An exception is
  // caught in the task so its message reaches the failed state.
  auto err = corvid::async(
      *proc_,
      [fn = std::move(fn)] {
        try {
          return detail::async_payload{fn(), std::nullopt};
        } catch (const std::exception& e) {
          return detail::async_payload{value{}, std::string(e.what())};
        }
      },
      [land](const detail::async_payload& p) {
        land(p.error ? async_outcome{false, value{}, *p.error} : async_outcome{true, p.v, {}});
      },
      [land](caf::error& e) { land(async_outcome{false, value{}, corvid::describe(e)}); }, false);
  if (err) {  // not even started: the outcome lands now, in this process
    async_->running.erase(name);
    on_land(*this, async_outcome{false, value{}, corvid::describe(err)});
    (void)proc_->send(proc_->self(), async_done{});
  }
}

}  // namespace corvid::live
