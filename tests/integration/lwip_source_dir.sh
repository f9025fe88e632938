#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# lwip_source_dir.sh - configuring with -DLWIP_SOURCE_DIR builds lwIP from a copy of that tree
# with tunstack's patch series applied, downloads nothing and leaves the given tree as it was;
# a tree that already carries the series is accepted as it is; a directory that is not an lwIP
# tree is refused with a clear message.
set -u
SOURCE=${1:?usage: $0 SOURCE_DIR LWIP_TREE}
LWIP_TREE=${2:?usage: $0 SOURCE_DIR LWIP_TREE}   # the build's patched lwIP tree
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "[lwip_source_dir] FAIL: $*" >&2; exit 1; }
PATCHES=$SOURCE/third_party/lwip/patches
series=$(sed -e 's/#.*//' "$PATCHES/series" | awk 'NF { print $1 }')

# A pristine lwIP 2.1.3 tree: the build's tree with the series taken off again, last patch first.
cp -a "$LWIP_TREE" "$WORK/pristine"
rm -f "$WORK/pristine/.tunstack-fetched"   # the build's stamp: this copy is made pristine below
for p in $(printf '%s\n' $series | sed -n '1!G;h;$p'); do
  patch -d "$WORK/pristine" -p1 -R --batch --fuzz=0 -s <"$PATCHES/$p" || fail "could not take $p off a copy of $LWIP_TREE"
done
before=$(cd "$WORK/pristine" && find . -type f ! -name .tunstack-fetched -exec sha256sum {} + | sort | sha256sum)

cmake -S "$SOURCE" -B "$WORK/build" -G Ninja -DTUNSTACK_BUILD_TESTS=OFF -DTUNSTACK_BUILD_BENCH=OFF \
  -DLWIP_SOURCE_DIR="$WORK/pristine" >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; fail "configure failed"; }
grep -q "lwIP: using the source tree $WORK/pristine" "$WORK/configure.log" || { cat "$WORK/configure.log"; fail "LWIP_SOURCE_DIR not used"; }
if grep -q "downloading" "$WORK/configure.log"; then fail "downloaded lwIP although LWIP_SOURCE_DIR was given"; fi
n=$(printf '%s\n' $series | wc -l)
grep -q "$n of $n tunstack patches applied" "$WORK/configure.log" || { cat "$WORK/configure.log"; fail "the series was not applied to the copy"; }
after=$(cd "$WORK/pristine" && find . -type f ! -name .tunstack-fetched -exec sha256sum {} + | sort | sha256sum)
[ "$before" = "$after" ] || fail "configure changed the tree given as LWIP_SOURCE_DIR"
cmake --build "$WORK/build" --target tunstack_lwip >"$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; fail "lwIP did not build from $WORK/pristine"; }
echo "[lwip_source_dir] ok: a pristine tree is copied, its copy patched ($n patches) and built; nothing downloaded, the tree unchanged"

cmake -S "$SOURCE" -B "$WORK/build2" -G Ninja -DTUNSTACK_BUILD_TESTS=OFF -DTUNSTACK_BUILD_BENCH=OFF \
  -DLWIP_SOURCE_DIR="$LWIP_TREE" >"$WORK/configure2.log" 2>&1 || { cat "$WORK/configure2.log"; fail "configure with an already patched tree failed"; }
grep -q "carries this patch series already" "$WORK/configure2.log" &&
  grep -q "0 of $n tunstack patches applied" "$WORK/configure2.log" || { cat "$WORK/configure2.log"; fail "an already patched tree was not recognised"; }
echo "[lwip_source_dir] ok: a tree that already carries the series (another build's) is taken as it is"

mkdir -p "$WORK/not-lwip"
if cmake -S "$SOURCE" -B "$WORK/bad" -G Ninja -DTUNSTACK_BUILD_TESTS=OFF -DLWIP_SOURCE_DIR="$WORK/not-lwip" >"$WORK/bad.log" 2>&1; then
  fail "configure accepted a directory that is not an lwIP tree"
fi
grep -q "is not an lwIP source tree" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "no clear message for a bad LWIP_SOURCE_DIR"; }
echo "[lwip_source_dir] ok: a non-lwIP directory is refused"
