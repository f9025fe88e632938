#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# install.sh BUILD_DIR SOURCE_DIR - `cmake --install` into a scratch prefix, then configure,
# build and run a separate project (tests/install/consumer) against the installed package:
# what a user of find_package(tunstack) gets, with nothing from the build tree.
set -eu
build=$1
source=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
for f in include/tunstack/stack.hpp include/tunstack/sim/network.hpp include/tunstack/netif/link.hpp \
         lib/cmake/tunstack/tunstackConfig.cmake; do
  test -f "$scratch/prefix/$f" || { echo "install.sh: $f was not installed" >&2; exit 1; }
done
if find "$scratch/prefix/include" -name 'lwip*' | grep -q .; then
  echo "install.sh: lwIP headers were installed; tunstack's public headers must not need them" >&2
  exit 1
fi
# A sanitizer build's libraries need the sanitizer runtime in the program too.
sanitize=
if grep -q '^TUNSTACK_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  sanitize=-fsanitize=address,undefined
fi
cmake -S "$source/tests/install/consumer" -B "$scratch/consumer" -G Ninja \
      -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_EXE_LINKER_FLAGS="$sanitize" >"$scratch/configure.log" 2>&1 ||
  { cat "$scratch/configure.log" >&2; exit 1; }
cmake --build "$scratch/consumer" >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; exit 1; }
"$scratch/consumer/consumer"
