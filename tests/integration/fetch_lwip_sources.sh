#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# fetch_lwip_sources.sh - fetch-lwip.sh turns the system's apt entries into deb-src entries for
# its private apt configuration: one-line entries (with options) and deb822 stanzas, skipping
# disabled stanzas and files apt itself ignores. Runs on a fake /etc/apt; needs no network.
set -u
FETCH=${1:?usage: $0 /path/to/fetch-lwip.sh}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "[fetch_lwip_sources] FAIL: $*" >&2; cat "$WORK/out" >&2; exit 1; }

mkdir -p "$WORK/apt/sources.list.d"
cat >"$WORK/apt/sources.list" <<'LIST'
# a comment
deb http://deb.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://opt.example.org/debian bookworm main contrib
deb-src http://src.example.org/debian bookworm main
LIST
cat >"$WORK/apt/sources.list.d/debian.sources" <<'STANZAS'
Types: deb
URIs: http://a.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src
URIs: http://only-src.example.org/debian
Suites: bookworm
Components: main
STANZAS
echo "deb http://ignored.example.org/ bookworm main" >"$WORK/apt/sources.list.d/old.list.disabled"

APT_ETC="$WORK/apt" "$FETCH" --print-sources >"$WORK/out" 2>&1 || fail "--print-sources failed"
grep -qx "deb-src http://deb.example.org/debian bookworm main" "$WORK/out" || fail "one-line entry not derived"
grep -qx "deb-src \[arch=amd64 signed-by=/usr/share/keyrings/x.gpg\] http://opt.example.org/debian bookworm main contrib" "$WORK/out" ||
  fail "one-line entry with options not derived"
grep -q "URIs: http://a.example.org/debian" "$WORK/out" || fail "deb822 stanza not derived"
grep -q "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" "$WORK/out" || fail "Signed-By not kept"
[ "$(grep -c '^Types: deb-src$' "$WORK/out")" = 1 ] || fail "expected exactly one deb822 deb-src stanza"
if grep -q "disabled.example.org\|only-src.example.org\|ignored.example.org\|src.example.org/debian bookworm main$" "$WORK/out"; then
  fail "derived an entry it should have skipped"
fi
if grep -q "^deb " "$WORK/out"; then fail "a binary 'deb' entry leaked through"; fi
echo "[fetch_lwip_sources] ok"
