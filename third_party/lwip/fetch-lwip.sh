#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# fetch-lwip.sh - get lwIP 2.1.3 from Debian's source package `lwip`, verify it, unpack it.
#
# tunstack builds lwIP from source with its own lwipopts.h, so it needs lwIP's source tree,
# never the distribution's prebuilt liblwip. The source comes from Debian's archive through
# `apt-get source --download-only`, using a private, temporary apt configuration derived from
# the system's `deb` entries: the system's own apt configuration and package lists are never
# changed. The upstream tarball is checked against the SHA-256 committed in lwip.sha256 before
# anything is unpacked. CMake runs this script at configure time (third_party/lwip/CMakeLists.txt).
#
# Then it applies tunstack's patch series on lwIP (patches/series, Debian/quilt style: each patch
# says what it changes and why), so every build uses the same patched lwIP.
#
# Usage: fetch-lwip.sh --dest DIR [--cache DIR] [--source TREE]
#   --dest DIR   unpack the patched lwIP tree here (DIR/src/include/lwip/...); replaced if stale
#   --cache DIR  keep the verified tarball here, so other build trees skip the download
#   --source TREE  copy this lwIP 2.1.3 tree instead of downloading (no network, no checksum:
#                it is yours); the series is applied to the copy, TREE is never changed
#   --print-sources  print the derived deb-src entries and exit (for tests and curious users)
# Environment: LWIP_TARBALL=/path/to/lwip_2.1.3+dfsg1.orig.tar.xz uses a local copy (still verified);
#              APT_ETC=DIR reads the system's entries from DIR instead of /etc/apt (tests).
set -eu

PACKAGE=lwip
VERSION=2.1.3+dfsg1-2
TARBALL=lwip_2.1.3+dfsg1.orig.tar.xz
HERE=$(cd "$(dirname "$0")" && pwd)
SHA256=$(awk -v f="$TARBALL" '$2 == f { print $1 }' "$HERE/lwip.sha256")

die() { echo "fetch-lwip: error: $*" >&2; exit 1; }
say() { echo "fetch-lwip: $*" >&2; }

sha_of() { sha256sum "$1" | awk '{ print $1 }'; }

# The sources.list entries of this system, turned into deb-src entries in $1 (a private
# SourceList file) and $2 (a private SourceParts directory). apt reads sources.list,
# sources.list.d/*.list (one-line format) and sources.list.d/*.sources (deb822 format);
# other files in sources.list.d are ignored by apt, and so here.
derive_sources() {
  list=$1 parts=$2
  : >"$list"
  for f in "$APT_ETC/sources.list" "$APT_ETC"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # "deb [options] uri suite components" -> "deb-src [options] uri suite components"
    sed -n 's/^[[:space:]]*deb[[:space:]]\{1,\}/deb-src /p' "$f" >>"$list"
  done
  for f in "$APT_ETC"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # One stanza per paragraph: keep enabled stanzas whose Types include "deb", as deb-src.
    awk '
      function flush() {
        if (n > 0 && has_deb && !disabled) {
          for (i = 1; i <= n; i++) print lines[i]
          print ""
        }
        n = 0; has_deb = 0; disabled = 0
      }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      /^Types:/ {
        for (i = 2; i <= NF; i++) if ($i == "deb") has_deb = 1
        lines[++n] = "Types: deb-src"; next
      }
      /^Enabled:[[:space:]]*[Nn]o/ { disabled = 1 }
      { lines[++n] = $0 }
      END { flush() }
    ' "$f" >"$parts/$(basename "$f")"
  done
}

download_with_apt() {
  out=$1
  command -v apt-get >/dev/null 2>&1 ||
    die "apt-get not found: lwIP's source comes from Debian's archive. On a system without apt, unpack lwIP 2.1.3 yourself and configure with -DLWIP_SOURCE_DIR=/path/to/lwip-2.1.3"
  work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-lwip.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial" "$work/download"
  derive_sources "$work/sources.list" "$work/parts"
  if [ ! -s "$work/sources.list" ] && [ -z "$(find "$work/parts" -type f -size +0c)" ]; then
    die "found no 'deb' entries in $APT_ETC/sources.list or $APT_ETC/sources.list.d/ to derive deb-src entries from"
  fi
  # apt drops privileges to _apt when run as root; let it write into our private folders.
  if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chmod 755 "$work"
    chown -R _apt "$work/lists" "$work/cache" "$work/download" 2>/dev/null || true
  fi
  set -- -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts" \
         -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" \
         -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "Acquire::Languages=none"
  say "downloading Debian source package $PACKAGE $VERSION (private apt lists in $work; system apt configuration untouched)"
  # A third-party repository without deb-src may fail to update; that is fine as long as the
  # Debian archive answered, which the `apt-get source` below proves.
  apt-get -q "$@" update >"$work/update.log" 2>&1 || true
  if ! (cd "$work/download" && apt-get -q "$@" source --download-only "$PACKAGE=$VERSION") >"$work/source.log" 2>&1; then
    cat "$work/update.log" "$work/source.log" >&2
    die "could not download source package $PACKAGE=$VERSION. It is in Debian 12 (bookworm); check that the Debian archive is reachable, or configure with -DLWIP_SOURCE_DIR=/path/to/lwip-2.1.3"
  fi
  [ -f "$work/download/$TARBALL" ] || die "apt-get source did not produce $TARBALL"
  mv "$work/download/$TARBALL" "$out"
}

APT_ETC=${APT_ETC:-/etc/apt}
dest= cache= print_sources= source_tree=
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) [ $# -ge 2 ] || die "--dest needs a directory"; dest=$2; shift 2 ;;
    --cache) [ $# -ge 2 ] || die "--cache needs a directory"; cache=$2; shift 2 ;;
    --source) [ $# -ge 2 ] || die "--source needs a directory"; source_tree=$2; shift 2 ;;
    --print-sources) print_sources=1; shift ;;
    -h|--help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
if [ -n "$print_sources" ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-lwip.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  derive_sources "$tmp/sources.list" "$tmp"
  cat "$tmp/sources.list"
  for f in "$tmp"/*.sources; do [ -f "$f" ] && { echo "# $(basename "$f")"; cat "$f"; }; done
  exit 0
fi
[ -n "$dest" ] || die "--dest DIR is required (see --help)"
[ -n "$SHA256" ] || die "no SHA-256 for $TARBALL in $HERE/lwip.sha256"

PATCHES=$HERE/patches
# The series and every patch in it, as one digest: a changed patch re-creates the tree.
series_digest() {
  {
    cat "$PATCHES/series"
    for p in $(series_patches); do cat "$PATCHES/$p"; done
  } | sha256sum | awk '{ print $1 }'
}
# Patch names from the series file, in order (quilt's format: one per line, '#' comments).
series_patches() {
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$PATCHES/series" | awk 'NF { print $1 }'
}
# Applies the series to the tree in $1, except the patches named in $2 (one per line: those a
# quilt tree says it has applied). A patch that does not apply exactly stops the build.
apply_series() {
  tree=$1 skip=${2:-}
  command -v patch >/dev/null 2>&1 || die "'patch' not found: install it (sudo apt-get install patch, or sudo scripts/install-deps)"
  n=0
  for p in $(series_patches); do
    [ -f "$PATCHES/$p" ] || die "patches/series names $p, which is not in $PATCHES"
    if printf '%s\n' "$skip" | grep -qxF "$p"; then
      say "$p is applied in the tree already (quilt)"
      continue
    fi
    if ! patch -d "$tree" -p1 --dry-run --batch --forward --fuzz=0 -s <"$PATCHES/$p" >/dev/null 2>&1; then
      patch -d "$tree" -p1 --dry-run --batch --forward --fuzz=0 <"$PATCHES/$p" >&2 || true
      die "patch $p does not apply to $tree (tunstack's series is made for lwIP 2.1.3; see third_party/lwip/patches/README.md)"
    fi
    patch -d "$tree" -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch -s <"$PATCHES/$p" ||
      die "applying $p to $tree failed"
    n=$((n + 1))
  done
  echo "$n"
}

stamp="$dest/.tunstack-fetched"
digest=$(series_digest)
if [ -n "$source_tree" ]; then
  [ -f "$source_tree/src/Filelists.cmake" ] ||
    die "$source_tree is not an lwIP source tree (no src/Filelists.cmake)"
  want="source $(cd "$source_tree" && pwd) series $digest"
else
  want="sha256 $SHA256 series $digest"
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dest/src/Filelists.cmake" ]; then
  exit 0   # already unpacked (or copied) and patched with this series
fi

rm -rf "$dest" "$dest.unpack"
mkdir -p "$dest.unpack"
if [ -n "$source_tree" ]; then
  # A tree of the user's: copy it (without its version control), never patch it in place. A
  # tree this script made (another build's, with this series) is taken as it is; a quilt tree
  # keeps the patches it has applied.
  tar -C "$source_tree" --exclude=.git --exclude=.pc -cf - . | tar -C "$dest.unpack" -xf -
  if [ -f "$source_tree/.tunstack-fetched" ] &&
     [ "$(sed -n 's/.* series //p' "$source_tree/.tunstack-fetched")" = "$digest" ]; then
    applied=0
    say "$source_tree carries this patch series already"
  else
    quilt_applied=
    [ -f "$source_tree/.pc/applied-patches" ] && quilt_applied=$(cat "$source_tree/.pc/applied-patches")
    applied=$(apply_series "$dest.unpack" "$quilt_applied")
  fi
  mv "$dest.unpack" "$dest"
  echo "$want" >"$stamp"
  say "lwIP copied from $source_tree into $dest; $applied of $(series_patches | wc -l) tunstack patches applied"
  exit 0
fi

# 1. Find a verified tarball: LWIP_TARBALL, the cache, or a fresh download.
tarball=
if [ -n "${LWIP_TARBALL:-}" ]; then
  [ -f "$LWIP_TARBALL" ] || die "LWIP_TARBALL=$LWIP_TARBALL does not exist"
  tarball=$LWIP_TARBALL
elif [ -n "$cache" ] && [ -f "$cache/$TARBALL" ] && [ "$(sha_of "$cache/$TARBALL")" = "$SHA256" ]; then
  tarball="$cache/$TARBALL"
else
  store=${cache:-$dest.download}
  mkdir -p "$store"
  download_with_apt "$store/$TARBALL.part"
  mv "$store/$TARBALL.part" "$store/$TARBALL"
  tarball="$store/$TARBALL"
fi

got=$(sha_of "$tarball")
if [ "$got" != "$SHA256" ]; then
  [ -n "${LWIP_TARBALL:-}" ] || rm -f "$tarball"
  rm -rf "$dest.unpack"
  die "SHA-256 mismatch for $tarball: expected $SHA256, got $got. Refusing to build from it."
fi

# 2. Unpack it into a fresh directory, apply the series (only after the checksum matched),
#    then move it into place.
tar -xJf "$tarball" -C "$dest.unpack" --strip-components=1
[ -f "$dest.unpack/src/Filelists.cmake" ] || die "$TARBALL does not contain src/Filelists.cmake"
applied=$(apply_series "$dest.unpack")
mv "$dest.unpack" "$dest"
echo "$want" >"$stamp"
say "lwIP 2.1.3 source verified (sha256 $SHA256), unpacked into $dest, $applied tunstack patches applied"
