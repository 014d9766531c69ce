#include "load_node.hpp"

#include <limits>

#include "corvid/runtime/process.hpp"
#include "corvid/runtime/supervisor.hpp"

namespace corvid::load {

load_node::load_node(runtime& rt, node_plan p)
  : rt_(rt), plan_(std::move(p)), attempts_(plan_.count) {}

load_node::~load_node() { stop(); }

caf::error load_node::start() {
  ctx_ = std::make_shared<user_context>();
  ctx_->plan = plan_.plan;
  ctx_->targets = plan_.targets;
  ctx_->io = &io_;
  ctx_->rec = &rec_;
  ctx_->attempts = &attempts_;
  ctx_->first_user = plan_.first_user;
  ctx_->seed = plan_.seed;
  ctx_->max_attempts = plan_.max_attempts;
  ctx_->vars = plan_.vars;
  // Failing users are the load test's findings, not a reason to give up: the supervisor's intensity is
  // practically unbounded, and each user backs off before it starts over.
  supervisor_flags f;
  f.intensity = std::numeric_limits<int>::max();
  f.period = std::chrono::seconds(1);
  spawn_options so;
  so.label = "corvid-load users";
  auto sup = start_dynamic_supervisor(rt_, f, so);
  if (!sup)
    return sup.error();
  sup_ = *sup;
  work_.emplace(io_.get_executor());
  for (int i = 0; i < std::max(1, plan_.io_threads); ++i)
    threads_.emplace_back([this] { io_.run(); });
  t0_ = std::chrono::steady_clock::now();
  return caf::none;
}

void load_node::tick() {
  if (stopped_ || !sup_)
    return;
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  auto due = plan_.rate <= 0 ? plan_.count
                             : std::min<std::uint64_t>(plan_.count, static_cast<std::uint64_t>(elapsed * plan_.rate) + 1);
  while (next_ < due && static_cast<std::uint64_t>(std::max<std::int64_t>(0, rec_.mounting.load())) < plan_.max_mounting) {
    auto user = plan_.first_user + next_;
    if (auto r = start_child(sup_, user_spec(ctx_, user)); !r)
      rec_.error("start_failed");
    ++next_;
  }
}

bool load_node::finished() const {
  return next_ >= plan_.count && static_cast<std::uint64_t>(rec_.ended.load()) >= plan_.count;
}

void load_node::stop() {
  if (stopped_)
    return;
  stopped_ = true;
  if (sup_) {
    exit(sup_, reason::shutdown());
    // The users close their sockets as they end; the I/O threads finish those closes.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sup_.alive() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  work_.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (!io_.stopped() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  io_.stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

} // namespace corvid::load
