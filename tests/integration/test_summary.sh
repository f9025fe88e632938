#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# test_summary.sh - scripts/test ends with a summary: the time of each phase, every skipped test
# with the reason it gave, what CI=true adds, and on a failure the phase that failed. Runs a copy
# of scripts/test in a scratch tree where cmake, ctest and install-deps are stand-ins (ctest
# writes a LastTest.log with a skip), so it takes a second and needs no root.
# usage: test_summary.sh SCRIPTS_TEST
set -u
SCRIPT=${1:?usage: $0 path/to/scripts/test}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tunstack-test-summary.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "[test_summary] FAIL: $*" >&2; cat "$WORK/out" >&2; exit 1; }

mkdir -p "$WORK/repo/scripts" "$WORK/bin"
cp "$SCRIPT" "$WORK/repo/scripts/test"
printf '#!/bin/sh\nexit 0\n' >"$WORK/repo/scripts/install-deps"
printf '#!/bin/sh\nexit 0\n' >"$WORK/bin/cmake"
cat >"$WORK/bin/ctest" <<'STUB'
#!/bin/sh
# ctest --preset NAME -j N: a log with one skipped test, as lib.sh's skip() prints it.
mkdir -p "build/$2/Testing/Temporary"
printf '1/2 Test #1: integration.netem\n[netem] SKIP (kernel lacks a feature; not testable on this machine): no sch_netem\n[ping] ok\n' \
  >"build/$2/Testing/Temporary/LastTest.log"
[ "$2" = "${FAIL_PRESET:-}" ] && exit 8
exit 0
STUB
chmod +x "$WORK/bin/"* "$WORK/repo/scripts/"*

PATH="$WORK/bin:$PATH" CI= sh "$WORK/repo/scripts/test" >"$WORK/out" 2>&1 || fail "scripts/test failed with stand-ins that pass"
for phase in "release build" "release: all tests" "asan build" "asan: all tests again" "in all"; do
  grep -Eq "^  $phase.* [0-9]+ s$" "$WORK/out" || fail "the summary has no time for '$phase'"
done
grep -q "^  release: \[netem\] SKIP (kernel lacks a feature; not testable on this machine): no sch_netem$" "$WORK/out" ||
  fail "the summary does not list the release skip with its reason"
grep -q "^  asan: \[netem\] SKIP" "$WORK/out" || fail "the summary does not list the asan skip"
grep -q "CI=true .*soak" "$WORK/out" && grep -q "bench/run --smoke" "$WORK/out" && grep -q "scripts/fuzz 60" "$WORK/out" ||
  fail "the summary does not say what CI=true adds"
[ "$(tail -n 1 "$WORK/out")" = "all tests passed" ] || fail "the last line is not 'all tests passed'"
echo "[test_summary] ok: times per phase, skips with reasons, what CI=true adds"

PATH="$WORK/bin:$PATH" CI= FAIL_PRESET=asan sh "$WORK/repo/scripts/test" >"$WORK/out" 2>&1
status=$?
[ "$status" = 8 ] || fail "a failing ctest gave exit status $status, expected its own 8"
tail -n 1 "$WORK/out" | grep -q "^FAILED in: asan: all tests again, under ASan + UBSan (exit status 8" ||
  fail "the last line does not name the failed phase"
grep -q "^  release: \[netem\] SKIP" "$WORK/out" || fail "after a failure, the summary lost the skips"
echo "[test_summary] ok: a failure names its phase and keeps the exit status"
