#!/usr/bin/env bash
# Builds an earlier commit beside this tree, for the --compare modes of bench.sh and live_load.sh:
#   scripts/build_base.sh BASE [target...]
# Checks BASE out in a git worktree at build-compare/src (made once, moved to BASE on later calls),
# configures build-compare/src/build-release (--buildtype=release) and builds the targets (all if
# none are named). Prints the build directory as its last line. CORVID_JOBS=N sets build parallelism.
set -uo pipefail

[[ $# -ge 1 ]] || { sed -n '2,6s/^# \{0,1\}//p' "$0" >&2; exit 2; }
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
base_rev="$1"
shift
jobs="${CORVID_JOBS:-$(nproc 2>/dev/null || echo 2)}"

commit="$(git rev-parse --verify --quiet "$base_rev^{commit}")" || { echo "build_base.sh: no commit $base_rev" >&2; exit 2; }
src=build-compare/src
if [[ -d "$src" ]]; then
  git -C "$src" checkout -q --detach "$commit" >&2 || exit 1
else
  mkdir -p build-compare && git worktree add -q --detach "$src" "$commit" >&2 || exit 1
fi
dir="$src/build-release"
# The build directory must be the worktree's: one configured from this tree (as a setup run here
# without the source argument made) would build this tree's code and compare it with itself.
if [[ -f "$dir/meson-info/meson-info.json" ]] &&
   ! python3 -c 'import json,os,sys; d=json.load(open(sys.argv[1]))["directories"]; sys.exit(os.path.realpath(d["source"]) != os.path.realpath(sys.argv[2]))' \
     "$dir/meson-info/meson-info.json" "$src"; then
  rm -rf "$dir"
fi
if [[ -f "$dir/meson-private/coredata.dat" ]]; then
  meson setup --reconfigure "$dir" "$src" --buildtype=release >&2 || exit 1
else
  meson setup "$dir" "$src" --buildtype=release >&2 || exit 1
fi
meson compile -C "$dir" -j "$jobs" "$@" >&2 || exit 1
echo "base: $base_rev = $(git log -1 --format='%h %s' "$commit" | cut -c1-80)" >&2
echo "$repo_root/$dir"
