#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# subproject.sh HOW SOURCE_DIR LWIP_TREE - builds tests/install/subproject, a project with its
# own `asio` target that takes tunstack in with HOW (add_subdirectory, or FetchContent from a
# git repository of the source as it is now), offline (-DLWIP_SOURCE_DIR), with doctest,
# CLI11, nlohmann-json and Asio's examples made unfindable: tunstack as a subproject needs none
# of them. Then runs its program, which answers a crafted ping on the in-memory link.
set -eu
how=$1
source=$2
lwip=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "subproject.sh ($how): $*" >&2; exit 1; }

case "$how" in
  add_subdirectory) where="-DTUNSTACK_SOURCE=$source" ;;
  FetchContent)
    # A git repository of the tree as it is (committed or not), cloned by FetchContent through
    # file://, as a user's FetchContent_Declare(GIT_REPOSITORY ...) would clone it.
    mkdir "$scratch/repo"
    if git -C "$source" rev-parse --git-dir >/dev/null 2>&1; then
      git -C "$source" ls-files -z --cached --others --exclude-standard |
        (cd "$source" && tar --null --ignore-failed-read -T - -cf -) | tar -C "$scratch/repo" -xf -
    else
      (cd "$source" && tar --exclude=./build -cf - .) | tar -C "$scratch/repo" -xf -
    fi
    git -C "$scratch/repo" init -q
    git -C "$scratch/repo" add -A
    git -C "$scratch/repo" -c user.name=test -c user.email=test@localhost commit -q -m snapshot
    where="-DTUNSTACK_GIT=file://$scratch/repo -DTUNSTACK_GIT_TAG=$(git -C "$scratch/repo" rev-parse HEAD)"
    ;;
  *) fail "HOW must be add_subdirectory or FetchContent" ;;
esac

# shellcheck disable=SC2086 # $where is one or two -D words
cmake -S "$source/tests/install/subproject" -B "$scratch/build" -G Ninja -DHOW="$how" $where \
      -DLWIP_SOURCE_DIR="$lwip" \
      -DCMAKE_DISABLE_FIND_PACKAGE_doctest=ON -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON \
      -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON -DASIO_COROUTINE_ECHO_EXAMPLE=/nonexistent \
      >"$scratch/configure.log" 2>&1 || { cat "$scratch/configure.log" >&2; fail "configure failed"; }
grep -q "lwIP: using the source tree" "$scratch/configure.log" || { cat "$scratch/configure.log" >&2; fail "LWIP_SOURCE_DIR not used"; }
# fetch-lwip.sh copies and patches the given tree (its messages start with "fetch-lwip:"); it must
# not download anything.
if grep -q "downloading" "$scratch/configure.log"; then fail "reached for Debian's archive although LWIP_SOURCE_DIR was given"; fi
# What tunstack added to the build: its libraries only (tests/benchmarks would be dozens more).
targets=$(ninja -C "$scratch/build" -t targets all | sed -n 's|^\(.*/\)\{0,1\}\(libtunstack[a-z_]*\.a\):.*|\2|p' | sort -u | tr '\n' ' ')
echo "subproject.sh ($how): libraries built: $targets"
cmake --build "$scratch/build" -j 2 >"$scratch/build.log" 2>&1 || { tail -40 "$scratch/build.log" >&2; fail "build failed"; }
executables=$(find "$scratch/build" -type f -perm -u+x -name '*' ! -name '*.sh' ! -path '*/CMakeFiles/*' ! -path '*/_deps/*-src/*' | sed "s|$scratch/build/||" | sort | tr '\n' ' ')
[ "$executables" = "consumer " ] || fail "built programs other than the consumer's: $executables"
"$scratch/build/consumer"
