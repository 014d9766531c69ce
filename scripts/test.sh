#!/usr/bin/env bash
# corvid's whole test run (what the README and CI use):
#   1. scripts/setup.sh --browser         install what is missing (no-op on a ready machine)
#   2. build/       meson setup + compile + meson test --print-errorlogs
#   3. build-asan/  same with -Db_sanitize=address,undefined -Db_lundef=false (-O1 -g1)
#   4. tests/embed/run.sh, if present     (corvid used as a Meson subproject)
#   5. tests/e2e/run.sh, if present       (browser tests, Debian chromium)
# Every stage runs even when an earlier one failed. The last line printed is the total
# "N passed, N failed" (scripts/summarize.py); the exit code is non-zero if anything failed.
#
#   scripts/test.sh            CORVID_JOBS=N to change build parallelism (default: core count)
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

jobs="${CORVID_JOBS:-$(nproc 2>/dev/null || echo 2)}"
logs="$repo_root/build-logs"
ledger="$logs/ledger.tsv"
mkdir -p "$logs"
: >"$ledger"
overall=0
t_start=$SECONDS

banner() { printf '\n==== %s ====\n' "$*"; }

# record KIND LABEL PATH RC
record() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$ledger"
  if [[ $4 -ne 0 ]]; then overall=1; fi
}

# meson_stage DIR [meson setup options...]
meson_stage() {
  local dir="$1"; shift
  local t0=$SECONDS rc
  banner "$dir: configure"
  if [[ -f "$dir/meson-private/coredata.dat" ]]; then
    meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
  else
    rm -rf "$dir"
    meson setup "$dir" "$@"
  fi
  rc=$?
  record step "$dir configure" - "$rc"
  if [[ $rc -ne 0 ]]; then return; fi

  banner "$dir: compile (-j$jobs)"
  meson compile -C "$dir" -j "$jobs"
  rc=$?
  record step "$dir compile" - "$rc"
  if [[ $rc -ne 0 ]]; then return; fi

  banner "$dir: test"
  local testlog="$dir/meson-logs/testlog.json"
  rm -f "$testlog"
  # Sanitizer builds run slower: give their tests three times the timeout.
  local mult=1
  [[ "$dir" == *asan* ]] && mult=3
  meson test -C "$dir" --print-errorlogs --timeout-multiplier "$mult"
  rc=$?
  record meson "$dir" "$testlog" "$rc"
  echo "($dir: $((SECONDS - t0)) s)"
}

# script_stage LABEL PATH
script_stage() {
  local label="$1" script="$2" out="$logs/$1.log" t0=$SECONDS rc
  if [[ ! -f "$script" ]]; then
    banner "$label: $script not present, skipped"
    return
  fi
  banner "$label: $script"
  bash "$script" </dev/null 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  record stage "$label" "$out" "$rc"
  echo "($label: $((SECONDS - t0)) s)"
}

banner "setup"
scripts/setup.sh --browser
record step setup - $?

meson_stage build

(
  export ASAN_OPTIONS=detect_leaks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # -O1 -g1, the sanitizers' usual settings: about 45% less compile time than -O2 -g here (the
  # stage is most of the test command's wall time), with line numbers still in every report.
  meson_stage build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false -Dexamples=false \
    -Doptimization=1 -Ddebug=false -Dcpp_args=-g1
  # the subshell's ledger lines are in the file; pass its verdict up
  exit "$overall"
) || overall=1

script_stage embed tests/embed/run.sh
script_stage e2e tests/e2e/run.sh

banner "total: $((SECONDS - t_start)) s"
python3 scripts/summarize.py "$ledger" || overall=1
exit "$overall"
