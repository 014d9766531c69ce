#!/usr/bin/env bash
# corvid's benchmarks, optionally beside Erlang/OTP's:
#   scripts/bench.sh [--cluster] [--erlang]
# Builds build-release/ (--buildtype=release), runs every build-release/bench/bench_* executable
# (each prints "figure<TAB>value<TAB>unit" lines; raw-CAF baselines are named rawcaf_<figure>),
# with --erlang also bench/erlang/run.sh, then prints a side-by-side table with ratios.
# --cluster: only the cluster figures (bench_cluster, bench_cluster_nodes, bench_presence_cluster; Erlang: bench_dist),
# and only their targets are built. Takes about 2 minutes with --erlang (a frozen Erlang node
# needs up to 75 s to be noticed at the default net_ticktime).
# Raw lines are kept in build-release/bench-results.tsv. Exit code non-zero if a benchmark failed.
set -uo pipefail

want_erlang=0
want_cluster=0
for arg in "$@"; do
  case "$arg" in
    --erlang) want_erlang=1 ;;
    --cluster) want_cluster=1 ;;
    -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
dir=build-release
jobs="${CORVID_JOBS:-$(nproc 2>/dev/null || echo 2)}"

setup_args=()
[[ $want_erlang -eq 1 ]] && setup_args+=(--erlang)
scripts/setup.sh "${setup_args[@]}" || exit 1

if [[ -f "$dir/meson-private/coredata.dat" ]]; then
  meson setup --reconfigure "$dir" --buildtype=release || exit 1
else
  rm -rf "$dir"
  meson setup "$dir" --buildtype=release || exit 1
fi
# Which benchmark programs run (and, with --cluster, the only targets built), and which Erlang ones.
if [[ $want_cluster -eq 1 ]]; then
  benches=("$dir"/bench/bench_cluster "$dir"/bench/bench_cluster_nodes "$dir"/bench/bench_presence_cluster)
  erlang_benches=(bench_dist)
  meson compile -C "$dir" -j "$jobs" bench/bench_cluster bench/bench_cluster_nodes bench/bench_presence_cluster bench/cluster_peer || exit 1
else
  benches=("$dir"/bench/bench_*)
  erlang_benches=()
  meson compile -C "$dir" -j "$jobs" || exit 1
fi

corvid_out="$dir/bench-results.tsv"
erlang_out="$dir/bench-results-erlang.tsv"
: >"$corvid_out"
rm -f "$erlang_out"
status=0
found=0
for exe in "${benches[@]}"; do
  [[ -f "$exe" && -x "$exe" ]] || continue
  found=1
  echo "==== $exe"
  "$exe" </dev/null | tee -a "$corvid_out"
  rc=${PIPESTATUS[0]}
  if [[ $rc -ne 0 ]]; then echo "bench.sh: $exe exited $rc" >&2; status=1; fi
done
if [[ $found -eq 0 ]]; then echo "bench.sh: no $dir/bench/bench_* executables" >&2; status=1; fi

table_args=("$corvid_out")
if [[ $want_erlang -eq 1 ]]; then
  echo "==== bench/erlang/run.sh"
  bench/erlang/run.sh "${erlang_benches[@]}" </dev/null | tee "$erlang_out"
  rc=${PIPESTATUS[0]}
  if [[ $rc -ne 0 ]]; then echo "bench.sh: bench/erlang/run.sh exited $rc" >&2; status=1; fi
  table_args+=(--erlang "$erlang_out")
fi

echo
python3 scripts/bench_table.py "${table_args[@]}"
exit $status
