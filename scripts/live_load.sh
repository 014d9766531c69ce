#!/usr/bin/env bash
# LiveView load test of the live demo:
#   scripts/live_load.sh [--sessions N]... [--max] [--no-build] [live_load options...]
# Builds build-release/ (release; ninja -j2 unless CORVID_JOBS is set, under nice -n CORVID_BUILD_NICE if
# set: the build only, never the measured processes) with the two targets it needs, then
# for each session count (default 1000 and 10000; --max adds 19000; each --sessions N replaces the
# defaults) starts a fresh live_demo on a free port on 127.0.0.1 with its open-file limit raised to the hard
# limit, waits until it answers, runs bench/live_load/live_load --server-pid against it and kills it.
# Other options go to live_load (e.g. --path /counter, --rate 2000, --reuse-page; see live_load --help).
# Prints "# <N> sessions" and then live_load's "figure<TAB>value<TAB>unit" lines per run; exit code is
# non-zero if a run failed. LIVE_DEMO_BIN / LIVE_LOAD_BIN (with --no-build) test other binaries.
# --compare BASE: also builds commit BASE (scripts/build_base.sh) and, at each session count, runs BASE's
# demo and client and then this tree's, one after the other; ends with a table of both and this/base.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
dir="${CORVID_BUILD_DIR:-build-release}"
jobs="${CORVID_JOBS:-2}"
build_nice="${CORVID_BUILD_NICE:-0}"

counts=()
base_rev=""
want_max=0
build=1
pass=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sessions)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || { echo "live_load.sh: --sessions needs a number" >&2; exit 2; }
      counts+=("$2"); shift 2 ;;
    --max) want_max=1; shift ;;
    --no-build) build=0; shift ;;
    --compare)
      [[ $# -ge 2 ]] || { echo "live_load.sh: --compare needs a commit" >&2; exit 2; }
      base_rev="$2"; shift 2 ;;
    -h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) pass+=("$1"); shift ;;
  esac
done
[[ ${#counts[@]} -eq 0 ]] && counts=(1000 10000)
[[ $want_max -eq 1 ]] && counts+=(19000)

demo="${LIVE_DEMO_BIN:-$dir/examples/live_demo/live_demo}"
load="${LIVE_LOAD_BIN:-$dir/bench/live_load/live_load}"
if [[ $build -eq 1 ]]; then
  if [[ ! -f "$dir/build.ninja" ]]; then
    meson setup "$dir" --buildtype=release >&2 || exit 1
  fi
  nice -n "$build_nice" ninja -C "$dir" -j "$jobs" bench/live_load/live_load examples/live_demo/live_demo >&2 || exit 1
fi
[[ -x "$demo" ]] || { echo "live_load.sh: no demo binary at $demo" >&2; exit 1; }
[[ -x "$load" ]] || { echo "live_load.sh: no live_load binary at $load" >&2; exit 1; }

server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
  fi
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# One run: a fresh demo ($1) on a free port, the client ($2) with n=$3 sessions; figures also go,
# prefixed with the session count, to the file $4.
run_one() {
  local demo_bin="$1" load_bin="$2" n="$3" out="$4"
  local port log rc up
  port="$(free_port)"
  log="$(mktemp /tmp/live_load_demo.XXXXXX.log)"
  # exec: the background job's pid is the demo's own, so --server-pid reads the right /proc entry
  (ulimit -n "$(ulimit -Hn)" && exec "$demo_bin" --port "$port" --address 127.0.0.1 --max-connections 19500) >"$log" 2>&1 &
  server_pid=$!
  up=0
  for _ in $(seq 100); do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then up=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ $up -ne 1 ]]; then
    echo "live_load.sh: the demo did not answer on port $port; its output:" >&2
    cat "$log" >&2
    stop_server
    rm -f "$log"
    return 1
  fi
  echo "# $n sessions (live_demo pid $server_pid, port $port)"
  local figures
  figures="$(mktemp /tmp/live_load_figures.XXXXXX)"
  "$load_bin" --port "$port" --sessions "$n" --server-pid "$server_pid" "${pass[@]}" >"$figures"
  rc=$?
  cat "$figures"
  sed "s/^/$n:/" "$figures" >>"$out"
  rm -f "$figures"
  if [[ $rc -ne 0 ]]; then echo "live_load.sh: live_load exited $rc at $n sessions" >&2; fi
  stop_server
  if grep -qi "error\|too many" "$log"; then
    echo "live_load.sh: the demo's log mentions errors:" >&2
    grep -i "error\|too many" "$log" | sort | uniq -c | head -5 >&2
  fi
  rm -f "$log"
  return $rc
}

base_dir=""
if [[ -n "$base_rev" ]]; then
  base_dir="$(scripts/build_base.sh "$base_rev" bench/live_load/live_load examples/live_demo/live_demo | tail -1)"
  [[ -d "$base_dir" ]] || { echo "live_load.sh: building $base_rev failed" >&2; exit 1; }
fi
this_out="$(mktemp /tmp/live_load_this.XXXXXX.tsv)"
base_out="$(mktemp /tmp/live_load_base.XXXXXX.tsv)"
status=0
for n in "${counts[@]}"; do
  if [[ -n "$base_dir" ]]; then
    echo "## base $base_rev"
    run_one "$base_dir/examples/live_demo/live_demo" "$base_dir/bench/live_load/live_load" "$n" "$base_out" || status=1
    echo "## this tree"
  fi
  run_one "$demo" "$load" "$n" "$this_out" || status=1
done
if [[ -n "$base_dir" ]]; then
  echo
  python3 scripts/bench_table.py "$this_out" --base "$base_out"
fi
rm -f "$this_out" "$base_out"
exit $status
