#!/usr/bin/env bash
# Compile and run corvid's Erlang/OTP peer benchmarks; prints "figure<TAB>value<TAB>unit" lines.
#   bench/erlang/run.sh [bench_name ...]      (default: all; e.g. bench_pg, bench_dist)
# Needs erl/erlc (Debian: erlang-base; scripts/setup.sh --erlang installs it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
benches=("$@")
if [[ ${#benches[@]} -eq 0 ]]; then
  benches=(bench_spawn bench_pingpong bench_call bench_crash bench_pg bench_flood bench_dist)
fi

for tool in erl erlc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "run.sh: $tool not found (scripts/setup.sh --erlang)" >&2; exit 1; }
done

out="$(mktemp -d "${TMPDIR:-/tmp}/corvid-erlbench.XXXXXX")"
trap 'rm -rf "$out"' EXIT
erlc -o "$out" "$here"/*.erl

# A crash dump of a failed run stays out of the work tree.
export ERL_CRASH_DUMP="$out/erl_crash.dump"

status=0
for b in "${benches[@]}"; do
  # +P: room for the 1M processes of bench_spawn (default limit 262,144).
  erl -noshell +P 2000000 -pa "$out" -eval "$b:main(), halt()." || { echo "run.sh: $b failed" >&2; status=1; }
done
exit $status
