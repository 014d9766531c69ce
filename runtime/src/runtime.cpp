// The runtime: actor system configuration and the process table.

#include "corvid/runtime/runtime.hpp"

#include <random>
#include <thread>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "corvid/runtime/process.hpp"
#include "runtime_state.hpp"
#include "scheduler.hpp"

namespace corvid {

namespace detail {

void process_table::add(const std::shared_ptr<process_block>& b) {
  auto& sh = shards[b->id % shard_count];
  {
    std::lock_guard g{sh.m};
    sh.map.emplace(b->id, b);
  }
  live.fetch_add(1);
}

void process_table::remove(uint64_t id) {
  auto& sh = shards[id % shard_count];
  {
    std::lock_guard g{sh.m};
    if (sh.map.erase(id) == 0)
      return;
  }
  live.fetch_sub(1);
  std::lock_guard<std::mutex> g{idle_m};
  idle_cv.notify_all();
}

std::shared_ptr<process_block> process_table::find(uint64_t id) {
  auto& sh = shards[id % shard_count];
  std::lock_guard g{sh.m};
  auto i = sh.map.find(id);
  return i == sh.map.end() ? nullptr : i->second.lock();
}

void process_table::for_each(const std::function<void(const std::shared_ptr<process_block>&)>& f) {
  for (auto& sh : shards) {
    std::vector<std::shared_ptr<process_block>> xs;
    {
      std::lock_guard g{sh.m};
      xs.reserve(sh.map.size());
      for (auto& [id, w] : sh.map)
        if (auto b = w.lock())
          xs.push_back(std::move(b));
    }
    for (auto& b : xs)
      f(b);
  }
}

// A node restarted under the same name must not be confused with its former self (its old
// pids are dead): every start draws a fresh, non-zero incarnation.
uint64_t new_incarnation() {
  std::random_device rd;
  uint64_t x = (uint64_t{rd()} << 32) ^ rd()
               ^ static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  return x ? x : 1;
}

} // namespace detail

void configure(caf::actor_system_config& cfg, const runtime_options& opts) {
  auto threads = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.max-throughput", opts.max_throughput);
  if (opts.scheduler == "corvid")
    detail::use_runnext_scheduler(cfg);
  else
    cfg.set("scheduler.policy", caf::atom_from_string(opts.scheduler));
  cfg.add_error_category(errc_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    return describe(caf::error{code, errc_category, ctx});
  });
}

runtime::runtime(runtime_options opts) : own_cfg_(std::make_unique<caf::actor_system_config>()) {
  configure(*own_cfg_, opts);
  sys_ = std::make_unique<caf::actor_system>(*own_cfg_);
  st_ = std::make_unique<detail::runtime_state>();
  st_->owner = this;
  st_->sys = sys_.get();
  st_->opts = std::move(opts);
  st_->node = {st_->opts.node, detail::new_incarnation()};
}

runtime::runtime(caf::actor_system_config& cfg, runtime_options opts) {
  configure(cfg, opts);
  sys_ = std::make_unique<caf::actor_system>(cfg);
  st_ = std::make_unique<detail::runtime_state>();
  st_->owner = this;
  st_->sys = sys_.get();
  st_->opts = std::move(opts);
  st_->node = {st_->opts.node, detail::new_incarnation()};
}

runtime::~runtime() {
  if (!shutdown_all(std::chrono::seconds(5))) {
    // Stragglers (e.g. a handler stuck in a loop) get killed; the system then waits for them.
    st_->table.for_each([](const std::shared_ptr<detail::process_block>& b) {
      exit(pid{b}, reason::kill());
    });
    shutdown_all(std::chrono::seconds(5));
  }
  set_transport(*this, nullptr);
  detail::forget_nodes(st_.get());
  sys_.reset();
}

caf::actor_system& runtime::system() noexcept { return *sys_; }

const runtime_options& runtime::options() const noexcept { return st_->opts; }

size_t runtime::process_count() const noexcept { return st_->table.live.load(); }

bool runtime::shutdown_all(std::chrono::milliseconds timeout) {
  // Supervisors stop their own children in order; everything else gets a shutdown signal.
  st_->table.for_each([](const std::shared_ptr<detail::process_block>& b) {
    if (b->supervisor.load() == 0)
      exit(pid{b}, reason::shutdown());
  });
  if (st_->opts.scheduler == "testing") {
    // The deterministic scheduler runs nothing by itself: run it here until all are gone.
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    sched.run();
    while (sched.trigger_timeouts() > 0)
      sched.run();
    return st_->table.live.load() == 0;
  }
  std::unique_lock<std::mutex> g{st_->table.idle_m};
  return st_->table.idle_cv.wait_for(g, timeout, [this] { return st_->table.live.load() == 0; });
}

} // namespace corvid
