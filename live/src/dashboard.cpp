#include "corvid/live/dashboard.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "corvid/runtime/introspection.hpp"
#include "corvid/runtime/process.hpp"

namespace corvid::live::detail {
/// The dashboard's timer message.
struct dashboard_tick {};
}  // namespace corvid::live::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::dashboard_tick)

namespace corvid::live {

namespace {

using detail::dashboard_tick;

const char* dashboard_source = R"(<main class="wrap corvid-dashboard">
  <h1>{{ title }}</h1>
  <p id="totals"><span id="total-processes">{{ total.processes }}</span> processes ·
    mailboxes <span id="total-mailbox">{{ total.mailbox }}</span> ·
    memory <span id="total-memory">{{ total.memory }}</span> B ·
    handled <span id="total-handled">{{ total.handled }}</span> ·
    showing the top <span id="total-shown">{{ total.shown }}</span> by mailbox</p>
  {% if nodes %}<h2>Nodes</h2>
  <table id="nodes">
    <thead><tr><th>node</th><th>address</th><th>state</th><th>round trip</th><th>control queue</th><th>data queue</th><th>data bytes</th><th>refused</th></tr></thead>
    <tbody id="node-rows">{% for n in nodes %}<tr id="node-{{ n.name }}" class="node"><td>{{ n.name }}</td><td>{{ n.address }}</td><td class="state">{{ n.state }}</td><td>{{ n.rtt }}</td><td>{{ n.control }}</td><td>{{ n.data }}</td><td>{{ n.data_bytes }}</td><td>{{ n.refused }}</td></tr>{% endfor %}</tbody>
  </table>{% endif %}
  <table id="processes">
    <thead><tr><th>pid</th><th>name</th><th>mailbox</th><th>high-water</th><th>memory</th><th>restarts</th><th>handled</th></tr></thead>
    <tbody id="process-rows">{% for r in rows %}<tr id="proc-{{ r.id }}" class="proc"><td>{{ r.pid }}</td><td>{{ r.name }}</td><td class="mailbox">{{ r.mailbox }}</td><td>{{ r.high_water }}</td><td>{{ r.memory }}</td><td>{{ r.restarts }}</td><td>{{ r.handled }}</td></tr>{% endfor %}</tbody>
  </table>
</main>
)";

const html_template& dashboard_template() {
  static const html_template t = [] {
    auto r = html_template::parse(dashboard_source, {}, "corvid/live/dashboard");
    if (!r) throw std::logic_error("dashboard template: " + r.error().to_string());
    return *r;
  }();
  return t;
}

class dashboard final : public view {
 public:
  dashboard(runtime& rt, dashboard_options opts) : rt_(rt), opts_(std::move(opts)) {}

  html_template render() const override { return dashboard_template(); }

  void mount(const params&, const session&, socket& s) override {
    s.assign("page_title", opts_.title);
    s.assign("title", opts_.title);
    dashboard_snapshot(rt_, opts_, s.assigns());
    if (s.connected() && s.proc()) timer_ = s.proc()->send_interval(opts_.interval, s.self(), dashboard_tick{});
  }

  void handle_info(const caf::message& m, socket& s) override {
    if (message_as<dashboard_tick>(m)) dashboard_snapshot(rt_, opts_, s.assigns());
  }

  void terminate(socket& s) override {
    if (timer_ && s.proc()) s.proc()->cancel_timer(*timer_);
    timer_.reset();
  }

 private:
  runtime& rt_;
  dashboard_options opts_;
  std::optional<timer_ref> timer_;
};

}  // namespace

void dashboard_snapshot(runtime& rt, const dashboard_options& opts, assigns& out) {
  auto all = processes(rt);
  // longest mailboxes first; equal ones by pid, so rows only move when a mailbox really changes
  std::stable_sort(all.begin(), all.end(), [](const process_info& a, const process_info& b) {
    if (a.mailbox.length != b.mailbox.length) return a.mailbox.length > b.mailbox.length;
    return a.id.id() < b.id.id();
  });
  std::int64_t mailbox = 0, memory = 0, handled = 0;
  for (auto& p : all) {
    mailbox += static_cast<std::int64_t>(p.mailbox.length);
    memory += static_cast<std::int64_t>(p.memory);
    handled += static_cast<std::int64_t>(p.mailbox.handled);
  }
  const std::size_t shown = std::min(all.size(), opts.rows);
  value::list rows;
  rows.reserve(shown);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& p = all[i];
    std::string name = !p.name.empty() ? p.name : p.label;
    rows.emplace_back(value::map{
        {"id", p.id.id()},
        {"pid", p.id.to_string()},
        {"name", std::move(name)},
        {"mailbox", p.mailbox.length},
        {"high_water", p.mailbox.high_water},
        {"memory", p.memory},
        {"restarts", p.restarts},
        {"handled", p.mailbox.handled},
    });
  }
  out.assign("rows", std::move(rows));
  value::list nodes = dashboard_node_rows(opts);
  out.assign("nodes", std::move(nodes));
  out.assign("total", value::map{{"processes", all.size()},
                                 {"mailbox", mailbox},
                                 {"memory", memory},
                                 {"handled", handled},
                                 {"shown", shown}});
}

value::list dashboard_node_rows(const dashboard_options& opts) {
  value::list nodes;
  if (!opts.nodes) return nodes;
  for (auto& n : opts.nodes()) {
    char rtt[32] = "-";
    if (n.round_trip_us > 0) std::snprintf(rtt, sizeof rtt, "%.0f µs", n.round_trip_us);
    nodes.emplace_back(value::map{{"name", n.name},
                                  {"address", n.address},
                                  {"incarnation", std::to_string(n.incarnation)},
                                  {"state", n.up ? "up" : "down"},
                                  {"rtt", std::string{rtt}},
                                  {"control", n.control_queued},
                                  {"data", n.data_queued},
                                  {"data_bytes", n.data_queued_bytes},
                                  {"refused", n.refused}});
  }
  return nodes;
}

view_factory dashboard_view(runtime& rt, dashboard_options opts) {
  return [&rt, opts = std::move(opts)] { return std::make_unique<dashboard>(rt, opts); };
}

}  // namespace corvid::live
