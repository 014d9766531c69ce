#!/usr/bin/env bash
# Chaos run of the cluster (issue 10): three nodes as OS processes under a broadcast storm, one
# killed with SIGKILL and restarted every few seconds; nothing may be lost silently and
# Presence must converge (tests/cluster/chaos_test.cpp). Not part of the test command.
#   scripts/chaos.sh [SECONDS]        (default 60; CHAOS_KILL_EVERY_MS=3000)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
dir=build
scripts/setup.sh >&2
[[ -f "$dir/meson-private/coredata.dat" ]] || meson setup "$dir" >&2
ninja -C "$dir" tests/cluster/cluster_chaos tests/cluster/test_node >&2
CHAOS_SECONDS="${1:-${CHAOS_SECONDS:-60}}" CORVID_TEST_NODE="$dir/tests/cluster/test_node" \
  "$dir/tests/cluster/cluster_chaos" --success=false -s 2>&1 | grep -v '^\[doctest\] \(doctest version\|run with\)'
exit "${PIPESTATUS[0]}"
