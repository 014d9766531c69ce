#!/usr/bin/env bash
# Browser end-to-end tests of the live demo (called by scripts/test.sh; builds nothing):
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
  node "$here/live_demo.mjs"
