#!/usr/bin/env bash
# Soak benchmark of the live demo (issue 10, "Proof that stays"); a benchmark, not part of the tests:
#   scripts/soak.sh [--minutes M (30)] [--sessions N (10000)] [--rate R (1000)] [--no-build] [live_load options...]
# Joins N LiveView sessions on the demo's /bench page, then sends R updates/s spread at random over all of
# them for M minutes, open loop (a stalled server shows up as latency, not as a lower rate). An update is
# a click "inc": it changes the session's count assign and its reply carries the diff. /bench's push
# variant ("bcast", a pubsub broadcast) is not used: one bcast fans out to every session, so R of them
# per second would be R x N diffs per second, a fan-out test rather than a steady update load.
# Every minute one Markdown table row (live_load --report-every 60): server RSS, server CPU % of one core
# over the minute, clicks sent/answered, click round trip p50/p99, errors and lost sessions (no reconnects),
# queue depths from the demo's /metrics (corvid_mailbox_messages = messages queued in all corvid process
# mailboxes, corvid_live_inbound_queued_bytes = client frames queued in sessions), live sessions, and the
# client's own RSS. At the end, soak_*_slope_* figures: least-squares slopes per minute over the minutes
# after the first (warm-up). Reading them: a slope near 0 with the same sign noise from run to run is flat;
# RSS is called flat below 0.5% of its mean per minute (the "# verdict" line); a positive queue-depth or
# p99 slope means the server falls behind; multiply a slope by M to see the drift over the run.
# Builds like scripts/live_load.sh (whose machinery this uses) but with ninja -j1 under nice -n 10 unless
# CORVID_JOBS / CORVID_BUILD_NICE say otherwise: soaks run on shared machines. /metrics is guarded by the
# dashboard token: a random CORVID_DASHBOARD_TOKEN is made for the run unless one is set.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
minutes=30
sessions=10000
rate=1000
pass=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes|--sessions|--rate)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || { echo "soak.sh: $1 needs a positive whole number" >&2; exit 2; }
      case "$1" in --minutes) minutes="$2" ;; --sessions) sessions="$2" ;; --rate) rate="$2" ;; esac
      shift 2 ;;
    -h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) pass+=("$1"); shift ;;
  esac
done

export CORVID_JOBS="${CORVID_JOBS:-1}"
export CORVID_BUILD_NICE="${CORVID_BUILD_NICE:-10}"
if [[ -z "${CORVID_DASHBOARD_TOKEN:-}" ]]; then
  CORVID_DASHBOARD_TOKEN="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  export CORVID_DASHBOARD_TOKEN
fi

echo "# soak: $sessions sessions, $rate clicks/s on /bench for $minutes min, started $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "# machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
# a short idle phase and no broadcast rounds: the soak is about the load phase
exec "$here/live_load.sh" --sessions "$sessions" --rate "$rate" --duration "$((minutes * 60))" --report-every 60 \
  --idle-clicks 200 --broadcasts 0 "${pass[@]}"
