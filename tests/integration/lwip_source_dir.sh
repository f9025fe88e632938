#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# lwip_source_dir.sh - configuring with -DLWIP_SOURCE_DIR builds lwIP from that tree and does
# not fetch anything; a directory that is not an lwIP tree is refused with a clear message.
set -u
SOURCE=${1:?usage: $0 SOURCE_DIR LWIP_TREE}
LWIP_TREE=${2:?usage: $0 SOURCE_DIR LWIP_TREE}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "[lwip_source_dir] FAIL: $*" >&2; exit 1; }

cmake -S "$SOURCE" -B "$WORK/build" -G Ninja -DTUNSTACK_BUILD_TESTS=OFF \
  -DLWIP_SOURCE_DIR="$LWIP_TREE" >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; fail "configure failed"; }
grep -q "lwIP: using the source tree $LWIP_TREE" "$WORK/configure.log" || { cat "$WORK/configure.log"; fail "LWIP_SOURCE_DIR not used"; }
if grep -q "fetch-lwip" "$WORK/configure.log"; then fail "fetched lwIP although LWIP_SOURCE_DIR was given"; fi
cmake --build "$WORK/build" --target tunstack_lwip >"$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; fail "lwIP did not build from $LWIP_TREE"; }
echo "[lwip_source_dir] ok: configured and built lwIP from $LWIP_TREE without fetching"

mkdir -p "$WORK/not-lwip"
if cmake -S "$SOURCE" -B "$WORK/bad" -G Ninja -DTUNSTACK_BUILD_TESTS=OFF -DLWIP_SOURCE_DIR="$WORK/not-lwip" >"$WORK/bad.log" 2>&1; then
  fail "configure accepted a directory that is not an lwIP tree"
fi
grep -q "is not an lwIP source tree" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "no clear message for a bad LWIP_SOURCE_DIR"; }
echo "[lwip_source_dir] ok: a non-lwIP directory is refused"
