#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# install.sh BUILD_DIR SOURCE_DIR - `cmake --install` into a scratch prefix and check what a user
# gets, with nothing from the build tree: the program, its man page (every option of --help in
# it), the systemd unit (systemd-analyze verify), the docs and licences; then separate programs
# built against the prefix, run: tests/install/consumer with find_package(tunstack), the same
# main.cpp with pkg-config (tunstack-sim), and Asio's coroutine echo server with only its
# `using` line changed, on tunstack-autostart, both ways. Without a TUN device it cannot serve,
# so it is run with a bad TUNSTACK_MTU: the autostart's error must show, not be swallowed.
set -eu
build=$1
source=$2
scratch=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "install.sh: $*" >&2; exit 1; }
prefix=$scratch/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/tunstack share/man/man1/tunstack.1.gz lib/systemd/system/tunstack.service \
         share/doc/tunstack/README.md share/doc/tunstack/docs/api.md share/doc/tunstack/LICENSE \
         share/doc/tunstack/COPYING.lwip share/doc/tunstack/copyright share/doc/tunstack-dev/copyright \
         include/tunstack/stack.hpp include/tunstack/sim/network.hpp include/tunstack/netif/link.hpp \
         lib/cmake/tunstack/tunstackConfig.cmake lib/libtunstack_autostart.a \
         lib/pkgconfig/tunstack.pc lib/pkgconfig/tunstack-sim.pc lib/pkgconfig/tunstack-autostart.pc; do
  test -f "$prefix/$f" || fail "$f was not installed"
done
if find "$prefix/include" -name 'lwip*' | grep -q .; then
  fail "lwIP headers were installed; tunstack's public headers must not need them"
fi
grep -q "Swedish Institute of Computer Science" "$prefix/share/doc/tunstack/copyright" || fail "copyright lacks lwIP's licence"
grep -q "BSD 3-Clause License" "$prefix/share/doc/tunstack/copyright" || fail "copyright lacks tunstack's licence"

# The man page is generated from --help: every option --help names is in it.
ASAN_OPTIONS=detect_leaks=0 "$prefix/bin/tunstack" --help >"$scratch/help.txt"
MANWIDTH=200 man -l "$prefix/share/man/man1/tunstack.1.gz" 2>/dev/null | col -b >"$scratch/man.txt"
grep -q "^NAME" "$scratch/man.txt" && grep -q "^EXIT STATUS" "$scratch/man.txt" || fail "the man page has no NAME or EXIT STATUS"
options=$(grep -o -- '--[a-z][a-z0-9-]*' "$scratch/help.txt" | sort -u)
[ "$(echo "$options" | wc -l)" -gt 20 ] || fail "--help named only: $options"
for o in $options; do
  grep -q -- "$o" "$scratch/man.txt" || fail "the man page lacks $o, which --help lists"
done
echo "install.sh: ok: man page with all $(echo "$options" | wc -l) options of --help"

unit=$prefix/lib/systemd/system/tunstack.service
grep -q "^ExecStart=$prefix/bin/tunstack " "$unit" || fail "the unit does not start $prefix/bin/tunstack: $(grep ExecStart "$unit")"
command -v systemd-analyze >/dev/null 2>&1 || fail "systemd-analyze is missing (Debian: systemd; scripts/install-deps)"
# Only the unit's own findings count: the machine may lack units it orders itself after.
systemd-analyze verify --man=no "$unit" >"$scratch/verify.log" 2>&1 || true
if grep -q "tunstack.service" "$scratch/verify.log"; then cat "$scratch/verify.log" >&2; fail "systemd-analyze verify found problems"; fi
echo "install.sh: ok: systemd-analyze verify tunstack.service"

# A sanitizer build's libraries need the sanitizer runtime in the program too.
sanitize=
if grep -q '^TUNSTACK_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  sanitize=-fsanitize=address,undefined
fi
example=$(sed -n 's/^ASIO_COROUTINE_ECHO_EXAMPLE:FILEPATH=//p' "$build/CMakeCache.txt")
[ -f "$example" ] || fail "Asio's echo server example ($example) is missing (libasio-doc)"

cmake -S "$source/tests/install/consumer" -B "$scratch/consumer" -G Ninja \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release -DASIO_ECHO_EXAMPLE="$example" \
      -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_EXE_LINKER_FLAGS="$sanitize" >"$scratch/configure.log" 2>&1 ||
  { cat "$scratch/configure.log" >&2; exit 1; }
cmake --build "$scratch/consumer" >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; exit 1; }
"$scratch/consumer/consumer"

# pkg-config, with the prefix found from the .pc files' own place.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046 # pkg-config's flags are words
c++ -std=c++20 -O1 $sanitize -o "$scratch/consumer-pc" "$source/tests/install/consumer/main.cpp" \
    $(pkg-config --cflags --libs tunstack-sim) 2>"$scratch/pc.log" || { cat "$scratch/pc.log" >&2; fail "pkg-config tunstack-sim build failed"; }
"$scratch/consumer-pc" | sed 's/^consumer:/consumer (pkg-config):/'
sed 's/using asio::ip::tcp;/using tunstack::tcp;/' "$example" >"$scratch/asio_echo_server.cpp"
# shellcheck disable=SC2046
c++ -std=c++20 -O1 $sanitize -include tunstack/tcp.hpp -o "$scratch/asio-echo-pc" "$scratch/asio_echo_server.cpp" \
    $(pkg-config --cflags --libs tunstack-autostart) 2>"$scratch/pc.log" || { cat "$scratch/pc.log" >&2; fail "pkg-config tunstack-autostart build failed"; }

# expect_autostart_error NAME PROGRAM: with TUNSTACK_MTU=12 the autostart refuses to make a stack
# inside the example's detached coroutine; the error must reach stderr (the program then waits
# for SIGINT, as Asio's example does).
expect_autostart_error() {
  TUNSTACK_MTU=12 "$2" >"$scratch/$1.log" 2>&1 &
  pid=$!
  i=0
  until grep -q "TUNSTACK_MTU='12' is not an MTU" "$scratch/$1.log"; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
      cat "$scratch/$1.log" >&2
      fail "$1: no autostart error on stderr within 10 s"
    fi
    sleep 0.1
  done
  kill -INT "$pid"
  wait "$pid" || true
  pid=
  echo "install.sh: ok: $1 (Asio's echo server, only its using line changed) reports: $(head -n 1 "$scratch/$1.log")"
}
expect_autostart_error "find_package" "$scratch/consumer/asio_echo_server"
expect_autostart_error "pkg-config" "$scratch/asio-echo-pc"
