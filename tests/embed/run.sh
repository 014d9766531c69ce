#!/usr/bin/env bash
# Builds tests/embed/consumer against corvid pulled in through a wrap file, as a user would:
# the current tree is packed like a release tarball into subprojects/packagecache, so the
# build works offline (--wrap-mode=nodownload). Prints "N passed, N failed" last.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/corvid-embed.XXXXXX)
trap 'rm -rf "$work"' EXIT
version=$(grep -m1 "version :" "$repo/meson.build" | sed -E "s/.*'([0-9.]+)'.*/\1/")
name="corvid-$version"

fail() { echo "embed: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

cp -r "$repo/tests/embed/consumer/." "$work/" || fail "copy"
mkdir -p "$work/subprojects/packagecache"
tarball="$work/subprojects/packagecache/$name.tar.gz"
( cd "$repo" && git ls-files -co --exclude-standard -z \
    | grep -zv '^tests/embed/' \
    | tar --null -czf "$tarball" --transform "s,^,$name/," -T - ) || fail "packing the tree"
hash=$(sha256sum "$tarball" | cut -d' ' -f1)
cat > "$work/subprojects/corvid.wrap" <<WRAP
[wrap-file]
directory = $name
source_url = https://example.invalid/$name.tar.gz
source_filename = $name.tar.gz
source_hash = $hash

[provide]
dependency_names = corvid
WRAP

meson setup "$work/build" "$work" --wrap-mode=nodownload >"$work/setup.log" 2>&1 \
  || { cat "$work/setup.log" >&2; fail "meson setup"; }
ninja -C "$work/build" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "build"; }
out=$(timeout 60 "$work/build/consumer") || fail "consumer exited with $?: $out"
echo "$out"
case "$out" in
  *"embed ok"*) echo "1 passed, 0 failed" ;;
  *) fail "unexpected output" ;;
esac
