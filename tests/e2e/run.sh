#!/usr/bin/env bash
# Browser end-to-end tests of the live demo, corvid-load's report and the convention example
# (called by scripts/test.sh; builds nothing):
#   tests/e2e/run.sh            LIVE_DEMO_BIN=path to test another binary (default: build/examples/live_demo/live_demo)
# Starts the demo (with this tree's templates) on a free port on 127.0.0.1, drives /usr/bin/chromium with playwright-core, and
# prints "N passed, N failed" last; exits non-zero on any failure. The demo is always killed at exit.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${LIVE_DEMO_BIN:-$repo/build/examples/live_demo/live_demo}"

fail() {
  echo "e2e: $*"
  echo "0 passed, 1 failed"
  exit 1
}
[[ -x "$bin" ]] || fail "no demo binary at $bin (build first, or set LIVE_DEMO_BIN)"
[[ -x /usr/bin/chromium ]] || fail "/usr/bin/chromium missing (scripts/setup.sh --browser)"
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund >&2) || fail "npm ci in tests/e2e failed"
fi

work="$(mktemp -d /tmp/corvid-e2e.XXXXXX)"
pidfile="$work/demo.pid"
cleanup() {
  if [[ -s "$pidfile" ]]; then
    pid="$(cat "$pidfile")"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "e2e: $bin on 127.0.0.1:$port"
# A fresh state directory: the demo makes its session secret there (as on a new machine) and finds
# it again after the restart test's restart.
XDG_STATE_HOME="$work/state" LIVE_DEMO_BIN="$bin" E2E_TEMPLATES="$repo/examples/live_demo/templates" E2E_PORT="$port" E2E_PIDFILE="$pidfile" E2E_PROFILE="$work/profile" \
  node "$here/live_demo.mjs" | tee "$work/demo.out"
demo_rc=${PIPESTATUS[0]}
read -r p1 f1 < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$work/demo.out" | tail -1)
p1=${p1:-0}; f1=${f1:-1}
[[ $demo_rc -ne 0 && $f1 -eq 0 ]] && f1=1

# corvid-load against a fresh demo: a short run of the counter scenario, then Chromium reads its report.
load_bin="${CORVID_LOAD_BIN:-$(dirname "$bin")/../../tools/corvid_load/corvid-load}"
p2=0; f2=0
load_check() {  # name, then a command that must succeed
  local name="$1"; shift
  if "$@"; then echo "ok   - $name"; p2=$((p2 + 1)); else echo "FAIL - $name"; f2=$((f2 + 1)); fi
}
if [[ ! -x "$load_bin" ]]; then
  echo "FAIL - corvid-load: no binary at $load_bin"
  f2=1
else
  lport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  XDG_STATE_HOME="$work/state2" "$bin" --port "$lport" --address 127.0.0.1 --templates "$repo/examples/live_demo/templates" \
    >"$work/load-demo.log" 2>&1 &
  echo $! >"$pidfile"
  disown  # killed at exit without a "Killed" line
  for _ in $(seq 1 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $lport), 0.2)" 2>/dev/null && break
    sleep 0.1  # polling the demo's port until it listens: this script is not a test of timing
  done
  load_check "corvid-load runs 20 users of the counter scenario with no error" \
    timeout 120 "$load_bin" --port "$lport" --scenario counter --users 20 --rate 20 --server-pid "$(cat "$pidfile")" \
      --quiet --json "$work/load.json" --html "$work/load.html"
  load_check "the JSON result counts every user completed and every click measured" python3 - "$work/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
u = r["users"]
assert u["completed"] == 20 and u["failed"] == 0, u
assert r["phases"]["event"]["count"] == 20 * 21, r["phases"]["event"]["count"]
assert r["phases"]["mount"]["count"] == 20 and r["phases"]["mount"]["p99"] > 0
assert r["diff_bytes"]["event_reply"]["count"] == 20 * 21
assert r["server"]["rss_kib_max"] > 0 and len(r["timeline"]) >= 2
PY
  load_check "corvid-load --workers 2 --source A,B spreads 20 users over two worker nodes and two source addresses, every one completed" \
    timeout 120 "$load_bin" --port "$lport" --scenario index --users 20 --rate 20 --workers 2 --source 127.0.0.2,127.0.0.3 \
      --quiet --json "$work/dist.json"
  load_check "the distributed result merges both workers' measurements" python3 - "$work/dist.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["workers"] == 2, r["workers"]
assert r["users"]["completed"] == 20 and r["users"]["failed"] == 0, r["users"]
assert r["phases"]["mount"]["count"] == 20 and r["phases"]["join"]["count"] == 20
PY
  charts=latency,users,server_cpu,server_rss,hist-get,hist-upgrade,hist-join,hist-mount,hist-event,hist-step-1,hist-step-2,hist-step-3,hist-step-4
  LOAD_REPORT_HTML="$work/load.html" LOAD_REPORT_TITLE=counter LOAD_REPORT_EXPECT="$charts" node "$here/load_report.mjs" | tee "$work/report.out"
  report_rc=${PIPESTATUS[0]}
  read -r p3 f3 < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$work/report.out" | tail -1)
  p2=$((p2 + ${p3:-0})); f2=$((f2 + ${f3:-1}))
  [[ $report_rc -ne 0 && ${f3:-1} -eq 0 ]] && f2=$((f2 + 1))
fi
# The convention example in the browser: participants and the chair's page, one node, --naive, two nodes.
conv_bin="${CONVENTION_BIN:-$(dirname "$bin")/../convention/convention}"
if [[ ! -x "$conv_bin" ]]; then
  echo "FAIL - convention: no binary at $conv_bin"
  p4=0; f4=1
else
  mkdir -p "$work/conv"
  CONVENTION_BIN="$conv_bin" E2E_WORK="$work/conv" node "$here/convention.mjs" | tee "$work/conv.out"
  conv_rc=${PIPESTATUS[0]}
  read -r p4 f4 < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$work/conv.out" | tail -1)
  p4=${p4:-0}; f4=${f4:-1}
  [[ $conv_rc -ne 0 && $f4 -eq 0 ]] && f4=1
fi
echo "$((p1 + p2 + p4)) passed, $((f1 + f2 + f4)) failed"
[[ $((f1 + f2 + f4)) -eq 0 ]]
