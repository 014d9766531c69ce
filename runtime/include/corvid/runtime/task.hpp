#pragma once
// Tasks: work that runs in its own process and yields one result, like Elixir's Task.
//
//   auto t = corvid::async(rt, [] { return expensive(); });      // starts at once
//   caf::expected<int> r = t.await(std::chrono::seconds(5));    // from a thread
//
//   corvid::async(self, [] { return 42; },                       // from a process: never blocks
//                 [](int r) { ... }, [](caf::error& e) { ... });

#include <memory>
#include <type_traits>
#include <utility>

#include "corvid/runtime/process.hpp"
#include "corvid/runtime/supervisor.hpp"

namespace corvid {

namespace detail {
using task_run_atom = caf::atom_constant<caf::atom("cv_task")>;
/// Pushes a call whose answer a thread can await later.
std::shared_ptr<reply_slot> call_later(const pid& to, caf::message msg);
caf::expected<caf::message> await_slot(const std::shared_ptr<reply_slot>& slot, caf::timespan timeout);

// The task process: computes once on its first message, answers, and exits normally.
template <class F>
init_fn task_init(F fn) {
  return [fn = std::move(fn)](process& self) mutable -> behavior {
    return {[fn = std::move(fn), &self](task_run_atom) mutable {
      // Exit only after fn() returned: a throw must end the task with the error as reason.
      if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        fn();
        self.exit();
        return caf::make_message();
      } else {
        auto r = caf::make_message(fn());
        self.exit();
        return r;
      }
    }};
  };
}
} // namespace detail

/// A running task started from a thread; await() blocks that thread (never call it in a process).
template <class T>
class task {
public:
  task(pid worker, std::shared_ptr<detail::reply_slot> slot) : worker_(std::move(worker)), slot_(std::move(slot)) {}
  /// The task's result, or its failure (errc::down with the crash, errc::timeout).
  caf::expected<T> await(caf::timespan timeout) {
    return detail::unpack<T>(detail::await_slot(slot_, timeout));
  }
  const pid& worker() const noexcept { return worker_; }

private:
  pid worker_;
  std::shared_ptr<detail::reply_slot> slot_;
};

template <class F>
using task_result_t = std::conditional_t<std::is_void_v<std::invoke_result_t<F&>>, void, std::invoke_result_t<F&>>;

/// Starts `fn` in a new unlinked process.
template <class F>
caf::expected<task<task_result_t<F>>> async(runtime& rt, F fn) {
  spawn_options o;
  o.label = "task";
  auto w = spawn(rt, detail::task_init(std::move(fn)), o);
  if (!w)
    return std::move(w.error());
  return task<task_result_t<F>>{*w, detail::call_later(*w, caf::make_message(detail::task_run_atom::value))};
}

/// Starts `fn` as a temporary child of `task_sup` (a dynamic supervisor): supervised, not linked to the caller.
template <class F>
caf::expected<task<task_result_t<F>>> async_nolink(const pid& task_sup, F fn,
                                                   caf::timespan timeout = std::chrono::seconds(5)) {
  spawn_options o;
  o.label = "task";
  auto w = start_child(task_sup, child_spec::worker("task", detail::task_init(std::move(fn)), o, restart::temporary),
                       timeout);
  if (!w)
    return std::move(w.error());
  return task<task_result_t<F>>{*w, detail::call_later(*w, caf::make_message(detail::task_run_atom::value))};
}

/// From a process: runs `fn` in a child process (linked if `link`, as Task.async is) and
/// continues with on_ok(result) or on_err(caf::error&) inside the caller.
template <class F, class OnOk, class OnErr>
caf::error async(process& self, F fn, OnOk on_ok, OnErr on_err, bool link = true,
                 caf::timespan timeout = std::chrono::hours(24)) {
  spawn_options o;
  o.label = "task";
  o.link = link;
  auto w = self.spawn(detail::task_init(std::move(fn)), o);
  if (!w)
    return std::move(w.error());
  self.call(*w, timeout, detail::task_run_atom::value).then(std::move(on_ok), std::move(on_err));
  return caf::none;
}

} // namespace corvid
