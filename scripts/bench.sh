#!/usr/bin/env bash
# corvid's benchmarks, optionally beside Erlang/OTP's or an earlier commit's:
#   scripts/bench.sh [--cluster] [--erlang] [--compare BASE]
# Builds build-release/ (--buildtype=release), runs every build-release/bench/bench_* executable
# (each prints "figure<TAB>value<TAB>unit" lines; raw-CAF baselines are named rawcaf_<figure>),
# with --erlang also bench/erlang/run.sh, then prints a side-by-side table with ratios.
# --cluster: only the cluster figures (bench_cluster, bench_cluster_nodes, bench_presence_cluster; Erlang: bench_dist),
# and only their targets are built. Takes about 2 minutes with --erlang (a frozen Erlang node
# needs up to 75 s to be noticed at the default net_ticktime).
# --compare BASE: also builds commit BASE (a git worktree in build-compare/src, release build) and runs
# each benchmark program of BASE and then this tree's, one after the other, adding the columns "base"
# and "this/base": noise here is about 30% in absolute time, so ratios from one sitting are what count.
# Raw lines are kept in build-release/bench-results.tsv (BASE's in build-compare/bench-results.tsv).
# Exit code non-zero if a benchmark failed.
set -uo pipefail

want_erlang=0
want_cluster=0
base_rev=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --erlang) want_erlang=1; shift ;;
    --cluster) want_cluster=1; shift ;;
    --compare)
      [[ $# -ge 2 ]] || { echo "bench.sh: --compare needs a commit" >&2; exit 2; }
      base_rev="$2"; shift 2 ;;
    -h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option '$1'" >&2; exit 2 ;;
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

# The base commit: its own worktree and release build (scripts/build_base.sh), the same targets.
base_dir=""
base_out=build-compare/bench-results.tsv
if [[ -n "$base_rev" ]]; then
  if [[ $want_cluster -eq 1 ]]; then
    base_dir="$(scripts/build_base.sh "$base_rev" bench/bench_cluster bench/bench_cluster_nodes bench/bench_presence_cluster bench/cluster_peer | tail -1)"
  else
    base_dir="$(scripts/build_base.sh "$base_rev" | tail -1)"
  fi
  [[ -d "$base_dir" ]] || { echo "bench.sh: building $base_rev failed" >&2; exit 1; }
  : >"$base_out"
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
  base_exe="$base_dir/bench/$(basename "$exe")"
  if [[ -n "$base_dir" && -x "$base_exe" ]]; then
    echo "==== $base_exe (base)"
    "$base_exe" </dev/null | tee -a "$base_out"
    rc=${PIPESTATUS[0]}
    if [[ $rc -ne 0 ]]; then echo "bench.sh: $base_exe exited $rc" >&2; status=1; fi
  fi
  echo "==== $exe"
  "$exe" </dev/null | tee -a "$corvid_out"
  rc=${PIPESTATUS[0]}
  if [[ $rc -ne 0 ]]; then echo "bench.sh: $exe exited $rc" >&2; status=1; fi
done
if [[ $found -eq 0 ]]; then echo "bench.sh: no $dir/bench/bench_* executables" >&2; status=1; fi

table_args=("$corvid_out")
[[ -n "$base_dir" ]] && table_args+=(--base "$base_out")
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
