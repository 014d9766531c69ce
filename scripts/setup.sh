#!/usr/bin/env bash
# Install what corvid needs on a Debian 12 machine. Idempotent: on a ready machine it does no
# apt work and no npm work.
#
#   scripts/setup.sh [--browser] [--erlang]
#
#   --browser   also Debian's chromium and the npm packages of tests/e2e (playwright-core, ws)
#   --erlang    also erlang-base (Erlang/OTP 25), for bench/erlang
#
# Sources: Debian apt and the npm registry only. No browser or toolchain download ever runs
# (npm installs with --ignore-scripts; playwright-core drives /usr/bin/chromium).
set -euo pipefail

usage() { sed -n '2,11s/^# \{0,1\}//p' "$0"; }

want_browser=0
want_erlang=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    --erlang) want_erlang=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { echo "setup: $*"; }

# Run as root, or through sudo when we are not root.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup.sh: need root for '$*' and sudo is not installed" >&2
    exit 1
  fi
}

installed() {
  # (not "dpkg -s | grep -q": under pipefail an early-exiting grep can fail the pipeline)
  local status
  status="$(dpkg -s "$1" 2>/dev/null)" || return 1
  [[ $status == *$'\nStatus: install ok installed'$'\n'* ]]
}

# ---------------------------------------------------------------- Debian packages
packages=(
  g++ meson ninja-build pkg-config
  libcaf-dev libboost1.81-dev libboost-json1.81-dev
  libprotobuf-dev protobuf-compiler doctest-dev libssl-dev libsodium-dev
  python3
)
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
# Node.js and npm: any node/npm on PATH will do (e.g. a NodeSource build that bundles npm);
# otherwise Debian's packages.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [[ $want_browser -eq 1 ]] && ! installed chromium; then missing+=(chromium); fi
if [[ $want_erlang -eq 1 ]] && ! installed erlang-base; then missing+=(erlang-base); fi

if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
else
  log "Debian packages: all present"
fi

# ---------------------------------------------------------------- npm packages
# node_modules is not committed. Install exactly what package-lock.json pins; a stamp holding the
# hash of package.json + package-lock.json makes a second run a no-op.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

npm_install() {
  local dir="$1"
  local stamp="$dir/node_modules/.corvid-setup-stamp"
  local want
  want="$(cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "npm packages in ${dir#"$repo_root"/}: up to date"
    return 0
  fi
  log "npm packages in ${dir#"$repo_root"/}: installing"
  if [[ -f "$dir/package-lock.json" ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts)
  else
    (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts)
    want="$(cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)"
  fi
  echo "$want" >"$stamp"
}

npm_install "$repo_root/live/assets"
if [[ $want_browser -eq 1 ]]; then
  npm_install "$repo_root/tests/e2e"
fi

log "done"
