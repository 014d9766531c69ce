// The runtime dashboard. mount_dashboard() puts its pages under one path (behind authentication):
//   /dashboard               home: charts of the last 5 minutes, drawn as SVG by the server, and system facts
//   /dashboard/processes     every process, sortable and filterable, paged (rows go out as a stream)
//   /dashboard/process/:id   one process: supervisor chain, links, monitors both ways, mailbox, the first queued
//                            messages' types, restart history; kill / exit with a reason (after a confirmation)
//   /dashboard/sessions      per view: live, mounts, mount and event latency (p50/p99), diff bytes; the slowest events
//   /dashboard/tree          the supervision tree from the roots down, with restart counts
//   /dashboard/pubsub        topics: subscribers, broadcasts/s, presences; the latest gap reports (with a hub)
//
//   corvid::live::dashboard_mount dm;
//   dm.auth.token = corvid::live::random_token();          // or user + password, or a custom hook
//   if (auto err = corvid::live::mount_dashboard(srv, rt, dm); !err.empty()) { ... refused ... }
//
// dashboard_view() below is the older single page, a live view of every process (pid, name/label, mailbox length and
// high-water mark, memory, restarts, handled), longest mailboxes first, plus totals; it re-reads
// corvid::processes(rt) on a timer and only the rows that changed travel as diffs.
//
//   server.live("/dashboard", corvid::live::dashboard_view(rt));
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "corvid/live/dashboard_auth.hpp"
#include "corvid/live/view.hpp"

namespace corvid {
class runtime;
}
namespace corvid::pubsub {
class hub;
class presence;
}

namespace corvid::live {

/// One cluster member as the dashboard's nodes table shows it.
struct dashboard_node {
  std::string name, address;
  std::uint64_t incarnation = 0;
  bool up = false;
  double round_trip_us = 0;                 ///< last heartbeat round trip (0 = none yet)
  std::uint64_t control_queued = 0, data_queued = 0, data_queued_bytes = 0, refused = 0;
};

struct dashboard_options {
  std::size_t rows = 50;                         ///< the processes shown (longest mailboxes first)
  std::chrono::milliseconds interval{1000};      ///< how often the table is re-read
  std::string title = "Processes";               ///< the page title
  std::function<std::vector<dashboard_node>()> nodes;  ///< a cluster's members; none = a single node
};

/// The nodes table's rows (name, address, incarnation, state, rtt, control, data, data_bytes,
/// refused), empty without opts.nodes.
value::list dashboard_node_rows(const dashboard_options& opts);

/// A view factory for the dashboard of `rt` (which must outlive the server).
view_factory dashboard_view(runtime& rt, dashboard_options opts = {});

/// The dashboard's assigns for one snapshot (exposed for tests): "rows" (a list of maps with
/// id, pid, name, mailbox, high_water, memory, restarts, handled) and "total" (processes, mailbox,
/// memory, handled, shown), and "nodes" (a list of maps: name, address, state, rtt, control,
/// data, data_bytes, refused; empty for a single node).
void dashboard_snapshot(runtime& rt, const dashboard_options& opts, assigns& out);

class server;

/// How mount_dashboard() mounts the pages.
struct dashboard_mount {
  std::string path = "/dashboard";  ///< the home page; the others are below it
  credentials auth;                 ///< a token and/or basic auth; empty = $CORVID_DASHBOARD_TOKEN
  auth_hook hook;                   ///< a custom authentication hook instead of `auth`
  bool open_on_loopback = false;    ///< no authentication at all, allowed on a loopback address only
  dashboard_options view;           ///< refresh interval, rows, the cluster's nodes
  corvid::pubsub::hub* hub = nullptr;  ///< broadcasts/s on the home page and the pubsub page (none = neither)
  corvid::pubsub::presence* presence = nullptr;  ///< presences per topic on the pubsub page
  std::size_t history = 300;        ///< samples kept (one a second: 5 minutes)
};

/// Mounts the dashboard on `srv` (before srv.start()); `rt` and `m.hub` must outlive the server.
/// The pages, and the server's metrics_path unless something else guards it, are behind the
/// authentication (server::protect). Returns "" or why it refused: no credentials (and not
/// open_on_loopback on a loopback address), or unusable ones. Actions (kill, exit) are logged.
std::string mount_dashboard(server& srv, runtime& rt, dashboard_mount m = {});

}  // namespace corvid::live
