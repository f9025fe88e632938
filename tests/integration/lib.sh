# SPDX-License-Identifier: BSD-3-Clause
# lib.sh - helpers for the integration tests (sourced by each *.sh test here).
#
# Each test runs tunstack in a network namespace of its own, with the TUN device and every
# client inside it, so nothing depends on or touches the host's network. An EXIT trap kills
# what the test started (by PID) and deletes the namespace, also when the test fails.
# Exit status: 0 pass, 1 fail, 77 skip (ctest's SKIP_RETURN_CODE). With CI=true a skip fails.

set -u
TUNSTACK=${1:?usage: $0 /path/to/tunstack}
TEST_NAME=$(basename "$0" .sh)
NS="tunstack-test-$TEST_NAME-$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tunstack-$TEST_NAME.XXXXXX")
PIDS=""
NS_CREATED=""

log() { echo "[$TEST_NAME] $*"; }
fail() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  # What the programs under test said, for the diagnosis.
  for f in "$WORK"/*.log; do
    [ -f "$f" ] || continue
    echo "[$TEST_NAME] --- last lines of $(basename "$f"):" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

cleanup() {
  for pid in $PIDS; do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  [ -n "$NS_CREATED" ] && ip netns delete "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

skip() {
  if [ "${CI:-}" = true ]; then
    echo "[$TEST_NAME] FAIL: cannot run: $* (CI=true, so a skip counts as a failure)" >&2
    exit 1
  fi
  echo "[$TEST_NAME] SKIP: $*"
  exit 77
}

# Skips, also under CI=true, when the running kernel lacks a feature the test needs (e.g. a
# qdisc that is not built): nothing in this repository can provide it, so the test reports
# itself as skipped with the reason (ctest lists it) instead of failing every CI run.
skip_kernel_lacks() {
  echo "[$TEST_NAME] SKIP (kernel lacks a feature; not testable on this machine): $*"
  exit 77
}

# Skips unless we can make namespaces and TUN devices.
require_root_and_tun() {
  [ "$(id -u)" = 0 ] || skip "needs root for network namespaces and TUN devices (run: sudo scripts/test)"
  [ -c /dev/net/tun ] || skip "needs /dev/net/tun (load the TUN driver: sudo modprobe tun)"
  require_tools ip
}

# require_tools COMMAND...: skips (fails under CI=true) unless every COMMAND is installed,
# naming the Debian package that has it.
require_tools() {
  for _tool in "$@"; do
    command -v "$_tool" >/dev/null 2>&1 && continue
    case $_tool in
      ip | tc) _package=iproute2 ;;
      nc) _package=netcat-openbsd ;;
      ping) _package=iputils-ping ;;
      setcap) _package=libcap2-bin ;;
      setpriv) _package=util-linux ;;
      sha256sum) _package=coreutils ;;
      *) _package=$_tool ;;
    esac
    skip "needs $_tool (Debian package $_package; sudo scripts/install-deps)"
  done
}

# Creates this test's namespace with loopback up.
new_netns() {
  ip netns add "$NS" || fail "cannot create network namespace $NS"
  NS_CREATED=1
  ip -n "$NS" link set lo up || fail "cannot configure namespace $NS (ip -n $NS link set lo up)"
}

in_ns() { ip netns exec "$NS" "$@"; }

# wait_for_line FILE TEXT SECONDS: waits until FILE contains TEXT.
wait_for_line() {
  _deadline=$(($(date +%s) + $3))
  while ! grep -q -- "$2" "$1" 2>/dev/null; do
    [ "$(date +%s)" -lt "$_deadline" ] || return 1
    sleep 0.05
  done
}

# start_tunstack NAME ARGS...: starts tunstack in the namespace, logging to $WORK/NAME.log,
# and waits until it answers. Sets TS_PID (ip netns exec execs, so it is tunstack's own PID).
start_tunstack() {
  _name=$1
  shift
  # Not through in_ns: backgrounding a shell function would fork a subshell, and $! would be
  # its PID instead of tunstack's.
  ip netns exec "$NS" "$TUNSTACK" "$@" >"$WORK/$_name.log" 2>&1 &
  TS_PID=$!
  PIDS="$PIDS $TS_PID"
  _deadline=$(($(date +%s) + 10))
  until grep -q "answering" "$WORK/$_name.log" 2>/dev/null; do
    if ! kill -0 "$TS_PID" 2>/dev/null; then
      wait "$TS_PID"
      _status=$?
      cat "$WORK/$_name.log" >&2
      fail "tunstack ($_name) exited with status $_status before it was ready"
    fi
    if [ "$(date +%s)" -ge "$_deadline" ]; then
      cat "$WORK/$_name.log" >&2
      fail "tunstack ($_name) did not start within 10 s"
    fi
    sleep 0.05
  done
}

# stop_tunstack PID SIGNAL: sends SIGNAL and returns tunstack's exit status (fails after 10 s).
stop_tunstack() {
  kill "-$2" "$1" || fail "cannot signal tunstack (PID $1)"
  _deadline=$(($(date +%s) + 10))
  while kill -0 "$1" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$_deadline" ]; then
      fail "tunstack (PID $1) did not exit within 10 s of SIG$2"
    fi
    sleep 0.05
  done
  wait "$1"
}

# run_expect_failure NAME STATUS TEXT COMMAND...: runs COMMAND (to completion), expects exit
# status STATUS and TEXT in its stderr.
run_expect_failure() {
  _name=$1 _status=$2 _text=$3
  shift 3
  "$@" >"$WORK/$_name.out" 2>"$WORK/$_name.err"
  _got=$?
  if [ "$_got" != "$_status" ]; then
    cat "$WORK/$_name.out" "$WORK/$_name.err" >&2
    fail "$_name: exit status $_got, expected $_status"
  fi
  if ! grep -q -- "$_text" "$WORK/$_name.err"; then
    cat "$WORK/$_name.err" >&2
    fail "$_name: stderr does not mention '$_text'"
  fi
  log "ok: $_name -> exit $_status: $(head -n 1 "$WORK/$_name.err")"
}

# --- Load tests: the stack's own view (/stats.json) and tunstack's memory --------------------

# stats_json: GET /stats.json from the stack (needs curl; HTTP on 10.0.3.50:80).
stats_json() { in_ns curl -sf --max-time 10 http://10.0.3.50/stats.json; }

# proc_kb PID FIELD: a line of /proc/PID/status in kB, e.g. proc_kb "$TS_PID" VmRSS.
proc_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# tcp_pcbs FILE: TCP pcbs in FILE (a /stats.json), LISTEN excluded; the connection that fetched
# FILE is counted too, so compare counts taken the same way. /stats.json lists only a page of
# the connections, but counts all of them by state.
tcp_pcbs() { jq '[.tcp_connections_by_state | to_entries[] | select(.key != "LISTEN") | .value] | add // 0' "$1"; }

# pool_use FILE: "NAME=USED ..." for every lwIP pool in FILE, and heap=USED.
pool_use() { jq -r '([.memory.pools[] | "\(.name)=\(.used)"] + ["heap=\(.memory.heap_used)"]) | join(" ")' "$1"; }

# wait_for_baseline SECONDS BASELINE_FILE: waits until the stack's TCP pcbs and pool use equal
# those in BASELINE_FILE (a /stats.json taken before the load); fails after SECONDS with both.
# Prints how long it took. The HTTP request that asks is itself one TCP pcb and a few pool
# elements, the same in both.
wait_for_baseline() {
  _deadline=$(($(date +%s) + $1))
  _start=$(date +%s.%N)
  _want="pcbs=$(tcp_pcbs "$2") $(pool_use "$2")"
  while :; do
    stats_json >"$WORK/now.json" || fail "GET /stats.json failed while waiting for the baseline"
    _got="pcbs=$(tcp_pcbs "$WORK/now.json") $(pool_use "$WORK/now.json")"
    [ "$_got" = "$_want" ] && break
    if [ "$(date +%s)" -ge "$_deadline" ]; then
      jq -r '.tcp_connections_by_state | to_entries | map("\(.key) \(.value)") | join(", ")' "$WORK/now.json" >&2
      fail "the stack did not return to its baseline within $1 s: want '$_want', have '$_got'"
    fi
    sleep 0.5
  done
  echo "$(date +%s.%N) $_start" | awk '{ printf "%.1f", $1 - $2 }'
}
