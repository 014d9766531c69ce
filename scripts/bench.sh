#!/usr/bin/env bash
# corvid's benchmarks, optionally beside Erlang/OTP's:
#   scripts/bench.sh [--erlang]
# Builds build-release/ (--buildtype=release), runs every build-release/bench/bench_* executable
# (each prints "figure<TAB>value<TAB>unit" lines; raw-CAF baselines are named rawcaf_<figure>),
# with --erlang also bench/erlang/run.sh, then prints a side-by-side table with ratios.
# Raw lines are kept in build-release/bench-results.tsv. Exit code non-zero if a benchmark failed.
set -uo pipefail

want_erlang=0
for arg in "$@"; do
  case "$arg" in
    --erlang) want_erlang=1 ;;
    -h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
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
meson compile -C "$dir" -j "$jobs" || exit 1

corvid_out="$dir/bench-results.tsv"
erlang_out="$dir/bench-results-erlang.tsv"
: >"$corvid_out"
rm -f "$erlang_out"
status=0
found=0
for exe in "$dir"/bench/bench_*; do
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
  bench/erlang/run.sh </dev/null | tee "$erlang_out"
  rc=${PIPESTATUS[0]}
  if [[ $rc -ne 0 ]]; then echo "bench.sh: bench/erlang/run.sh exited $rc" >&2; status=1; fi
  table_args+=(--erlang "$erlang_out")
fi

echo
python3 scripts/bench_table.py "${table_args[@]}"
exit $status
