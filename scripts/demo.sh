#!/usr/bin/env bash
# Build corvid and run its main demo, passing any arguments through:
#   scripts/demo.sh [demo args...]
# Setup and build chatter goes to stderr, so the demo's own stdout stays clean.
set -euo pipefail

BUILD_DIR=build
# The main demo, relative to $BUILD_DIR: the live-view demo on port 4000 (--port to change).
DEMO=examples/live_demo/live_demo

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

scripts/setup.sh >&2
if [[ ! -f "$BUILD_DIR/meson-private/coredata.dat" ]]; then
  rm -rf "$BUILD_DIR"
  meson setup "$BUILD_DIR" >&2
fi
# Build just the demo (and what it needs); the output path is ninja's target name.
if ! ninja -C "$BUILD_DIR" "$DEMO" >&2; then
  echo "demo.sh: could not build $BUILD_DIR/$DEMO (see the errors above)" >&2
  exit 1
fi
if [[ ! -x "$BUILD_DIR/$DEMO" ]]; then
  echo "demo.sh: demo binary $BUILD_DIR/$DEMO does not exist after the build" >&2
  exit 1
fi
exec "$BUILD_DIR/$DEMO" "$@"
