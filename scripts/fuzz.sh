#!/usr/bin/env bash
# Long libFuzzer runs of the fuzz targets in fuzz/ (the test command only runs a short smoke of them).
#
#   scripts/fuzz.sh [--runs N] [--seconds S] [--workers W] [target...]
#
# Builds build-fuzz/ with Debian's clang-14 (-Dfuzz=libfuzzer: ASan + UBSan, libFuzzer), then runs
# each target, one at a time under nice, on a scratch copy of its corpus: whatever it finds stays in
# the scratch directory, never in the repo. Default: 10,000,000 executions per target, every target.
# One line per target: name, executions, seconds, exec/s, result. Exit status 1 on any crash, leak,
# undefined behaviour, failed property or timeout. CORVID_JOBS=N sets build parallelism (default 1).
# --workers W: W fuzzer processes per target at once, each on its own copy of the corpus with its own
# random seed and a W-th of the runs (a target whose corpus has grown slow gets its count W times
# sooner on W cores); the line gives their executions summed and the slowest one's seconds.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

runs=10000000
seconds=0
workers=1
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(live_frame urlencoded token template http_request cluster_frames upload_chunk host_origin)
[[ ${#targets[@]} -eq 0 ]] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ -f "fuzz/$t.cpp" ]] || { echo "fuzz.sh: no target $t (have: ${all[*]})" >&2; exit 2; }
done

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz.sh: clang++-14 missing: apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 2
fi
if [[ ! -f "$(clang++-14 -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]] &&
   [[ ! -f "$(clang++-14 -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a" ]]; then
  echo "fuzz.sh: libFuzzer runtime missing: apt-get install libclang-rt-14-dev" >&2
  exit 2
fi

build=build-fuzz
if [[ ! -f "$build/meson-private/coredata.dat" ]]; then
  CXX=clang++-14 meson setup "$build" -Dfuzz=libfuzzer -Db_sanitize=address,undefined -Db_lundef=false \
    -Dtests=false -Dbench=false -Dexamples=false || exit 1
fi
for t in "${targets[@]}"; do
  nice -n 10 meson compile -C "$build" -j "${CORVID_JOBS:-1}" "fuzz/fuzz_$t" || exit 1
done

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
scratch="$(mktemp -d "${TMPDIR:-/tmp}/corvid-fuzz.XXXXXX")"
echo "scratch: $scratch (logs, new inputs, crash artifacts)"
printf '%-16s %14s %9s %9s  %s\n' target executions seconds 'exec/s' result
overall=0
for t in "${targets[@]}"; do
  per_worker=$(( (runs + workers - 1) / workers ))
  t0=$(date +%s.%N)
  for ((w = 1; w <= workers; w++)); do
    dir="$scratch/$t"
    (( workers > 1 )) && dir="$scratch/$t/w$w"
    mkdir -p "$dir/new"
    cp -r "fuzz/corpus/$t" "$dir/seeds"
    args=(-runs="$per_worker" -timeout=25 -print_final_stats=1 -artifact_prefix="$dir/")
    [[ "$seconds" != 0 ]] && args+=(-max_total_time="$seconds")
    [[ -f "fuzz/$t.dict" ]] && args+=(-dict="fuzz/$t.dict")
    # Past these sizes the parsers only repeat what they already did, at a fraction of the speed
    # (a token over 4 KiB is refused on its length alone; the smoke runs the corpus's long one whole).
    case "$t" in
      urlencoded|token) args+=(-max_len=1024) ;;
      live_frame|template) args+=(-max_len=2048) ;;
    esac
    ( nice -n 10 "$build/fuzz/fuzz_$t" "${args[@]}" "$dir/new" "$dir/seeds" >"$dir/log" 2>&1; echo $? >"$dir/rc" ) &
  done
  wait
  t1=$(date +%s.%N)
  execs=0
  result=ok
  for ((w = 1; w <= workers; w++)); do
    dir="$scratch/$t"
    (( workers > 1 )) && dir="$scratch/$t/w$w"
    rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    # Without final stats (a crash), the last status line still says how far it got.
    [[ -z "$n" ]] && n=$(grep -oE '^#[0-9]+' "$dir/log" | tail -1 | tr -d '#')
    execs=$(( execs + ${n:-0} ))
    if [[ $rc -ne 0 && $result == ok ]]; then
      overall=1
      if grep -q 'ERROR: LeakSanitizer' "$dir/log"; then result=LEAK
      elif grep -q 'runtime error:' "$dir/log"; then result=UB
      elif grep -q 'property violated' "$dir/log"; then result=PROPERTY
      elif grep -q 'ERROR: libFuzzer: timeout' "$dir/log"; then result=TIMEOUT
      else result=CRASH
      fi
      artifact=$(sed -n 's/.*Test unit written to //p' "$dir/log" | tail -1)
      result="$result (log $dir/log${artifact:+, input $artifact})"
    fi
  done
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
  rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')
  (( workers > 1 )) && result="$result ($workers workers)"
  printf '%-16s %14s %9s %9s  %s\n' "$t" "${execs:-?}" "$secs" "$rate" "$result"
done
exit "$overall"
