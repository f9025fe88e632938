#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# deb.sh BUILD_DIR - `cpack -G DEB` in the build tree, then inspects the two packages with
# dpkg-deb: tunstack has the program, its man page, the systemd unit, the docs and a copyright
# with tunstack's and lwIP's licences, and depends on the shared libraries the program uses;
# tunstack-dev has the libraries, headers, CMake and pkg-config files and depends on what
# building against them needs. The unpacked program must run.
set -eu
build=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "deb.sh: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$scratch/packages" >"$scratch/cpack.log" 2>&1) || { cat "$scratch/cpack.log" >&2; fail "cpack failed"; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
program=$(find "$scratch/packages" -maxdepth 1 -name "tunstack_${version}_*.deb")
dev=$(find "$scratch/packages" -maxdepth 1 -name "tunstack-dev_${version}_*.deb")
[ -f "$program" ] && [ -f "$dev" ] || { ls -l "$scratch/packages" >&2; fail "expected tunstack_${version}_ARCH.deb and tunstack-dev_${version}_ARCH.deb"; }

# has DEB PATH...: each PATH is in the package's file list.
has() {
  deb=$1
  shift
  dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$scratch/list"
  for f in "$@"; do
    grep -qx "$f" "$scratch/list" || { cat "$scratch/list" >&2; fail "$(basename "$deb") lacks $f"; }
  done
}
has "$program" /usr/bin/tunstack /usr/share/man/man1/tunstack.1.gz /usr/lib/systemd/system/tunstack.service \
    /usr/share/doc/tunstack/copyright /usr/share/doc/tunstack/LICENSE /usr/share/doc/tunstack/COPYING.lwip \
    /usr/share/doc/tunstack/README.md /usr/share/doc/tunstack/docs/api.md
has "$dev" /usr/include/tunstack/tunstack.hpp /usr/lib/libtunstack_stack.a /usr/lib/libtunstack_lwip.a \
    /usr/lib/libtunstack_autostart.a /usr/lib/cmake/tunstack/tunstackConfig.cmake \
    /usr/lib/pkgconfig/tunstack.pc /usr/share/doc/tunstack-dev/copyright
if grep -q '^/usr/bin/' "$scratch/list"; then fail "tunstack-dev has programs"; fi

depends=$(dpkg-deb -f "$program" Depends)
for d in libc6 libmnl0 libpcap0.8; do
  echo "$depends" | grep -q "$d" || fail "tunstack's Depends ($depends) lacks $d"
done
dev_depends=$(dpkg-deb -f "$dev" Depends)
for d in libasio-dev libmnl-dev libpcap-dev pkg-config; do
  echo "$dev_depends" | grep -q "$d" || fail "tunstack-dev's Depends ($dev_depends) lacks $d"
done

dpkg-deb -x "$program" "$scratch/root"
grep -q "Swedish Institute of Computer Science" "$scratch/root/usr/share/doc/tunstack/copyright" || fail "copyright lacks lwIP's licence"
grep -q "^ExecStart=/usr/bin/tunstack " "$scratch/root/usr/lib/systemd/system/tunstack.service" || fail "the unit does not start /usr/bin/tunstack"
banner=$(ASAN_OPTIONS=detect_leaks=0 "$scratch/root/usr/bin/tunstack" --version)
case "$banner" in "tunstack $version"*) ;; *) fail "the packaged program says '$banner'" ;; esac
echo "deb.sh: ok: $(basename "$program") (Depends: $depends), $(basename "$dev") (Depends: $dev_depends); $banner"
