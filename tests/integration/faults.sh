#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# faults.sh - tunstack under faults of its surroundings: the TUN device deleted under it while
# traffic flows (exit 1 with a message that says so, promptly, no crash), also when it runs as
# nobody and when the device is persistent; and the process killed with SIGKILL, then started
# again on the same persistent device: it attaches, its kernel-side configuration from the
# first run is accepted as its own, and it serves. (netem.sh covers loss, delay and the rest.)
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools nc
new_netns

# forget PID: a process already reaped is no longer the cleanup's to kill (its PID may be reused).
forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /g"); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
head -c $((64 * 1024 * 1024)) /dev/urandom >"$WORK/big.in"
head -c $((1024 * 1024)) /dev/urandom >"$WORK/echo.in"

# serves NAME: ping and a TCP echo of 1 MiB answered.
serves() {
  in_ns ping -c 3 -i 0.2 -W 2 10.0.3.50 | grep -q "3 received" || fail "$1: no ping replies"
  in_ns nc -N -w 10 10.0.3.50 7 <"$WORK/echo.in" >"$WORK/echo.out" || fail "$1: TCP echo failed"
  cmp -s "$WORK/echo.in" "$WORK/echo.out" || fail "$1: 1 MiB through TCP echo came back different"
}

# traffic: a 64 MiB TCP echo and a ping flood in the background (their PIDs are cleaned up).
TRAFFIC=""
traffic() {
  ip netns exec "$NS" nc -N 10.0.3.50 7 <"$WORK/big.in" >/dev/null 2>&1 &
  TRAFFIC="$TRAFFIC $!"
  ip netns exec "$NS" ping -q -i 0.01 10.0.3.50 >/dev/null 2>&1 &
  TRAFFIC="$TRAFFIC $!"
  PIDS="$PIDS $TRAFFIC"
  sleep 0.5
}
stop_traffic() {
  for pid in $TRAFFIC; do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    forget "$pid"
  done
  TRAFFIC=""
}

# deleted_under NAME DEVICE: deletes DEVICE under the running tunstack ($TS_PID, log NAME) and
# checks that it exits 1 within 5 s with a message naming the deletion, and did not crash.
deleted_under() {
  _start=$(now_ms)
  ip -n "$NS" link delete "$2" || fail "$1: cannot delete $2"
  while kill -0 "$TS_PID" 2>/dev/null; do
    [ $(($(now_ms) - _start)) -lt 5000 ] || { cat "$WORK/$1.log" >&2; fail "$1: tunstack still running 5 s after $2 was deleted (a hang)"; }
    sleep 0.02
  done
  wait "$TS_PID"
  _status=$?
  forget "$TS_PID"
  _elapsed=$(($(now_ms) - _start))
  case $_status in
    1) ;;
    134 | 139 | 136 | 135) cat "$WORK/$1.log" >&2; fail "$1: tunstack crashed (exit status $_status) when $2 was deleted" ;;
    *) cat "$WORK/$1.log" >&2; fail "$1: exit status $_status when $2 was deleted, expected 1" ;;
  esac
  grep -q "error: $2 stopped working (.*): the device was deleted (ip link del $2)" "$WORK/$1.log" ||
    { cat "$WORK/$1.log" >&2; fail "$1: no message saying $2 was deleted"; }
  if grep -qE "Assertion|AddressSanitizer|runtime error|terminate called|Aborted" "$WORK/$1.log"; then
    cat "$WORK/$1.log" >&2
    fail "$1: tunstack reported an internal error when $2 was deleted"
  fi
  stop_traffic
  log "ok: $2 deleted under $1 with traffic flowing -> exit 1 after $_elapsed ms: $(grep -o "error: $2 stopped working.*" "$WORK/$1.log")"
}

# --- (b) the device deleted under a running tunstack -----------------------------------------------
start_tunstack doomed
traffic
deleted_under doomed tun0

start_tunstack doomed-nobody --user nobody
traffic
deleted_under doomed-nobody tun0

ip -n "$NS" tuntap add dev tunP mode tun || fail "cannot create the persistent device tunP"
start_tunstack doomed-persistent --dev tunP
traffic
deleted_under doomed-persistent tunP

# --- (c) SIGKILL, then a restart on the same persistent device ---------------------------------------
ip -n "$NS" tuntap add dev tunP mode tun || fail "cannot create the persistent device tunP again"
start_tunstack first --dev tunP
serves "first run"
traffic  # in flight when it dies: the kernel keeps retransmitting into tunP
kill -KILL "$TS_PID" || fail "cannot SIGKILL tunstack"
wait "$TS_PID"
status=$?
forget "$TS_PID"
[ "$status" = 137 ] || fail "SIGKILLed tunstack: exit status $status, expected 137"
in_ns ip link show tunP >/dev/null 2>&1 || fail "the persistent tunP disappeared with the killed tunstack"

# The kernel side still has the first run's addresses; the restart configures the same ones.
started=$(now_ms)
start_tunstack second --dev tunP -v
ready_ms=$(($(now_ms) - started))
grep -q "attached to persistent TUN device tunP" "$WORK/second.log" || { cat "$WORK/second.log" >&2; fail "the restart did not attach to tunP"; }
serves "restart after SIGKILL"
stop_traffic
[ "$(in_ns ip -4 -o addr show dev tunP | grep -c 'inet 10.0.3.1/24')" = 1 ] || { in_ns ip addr show dev tunP; fail "tunP does not have 10.0.3.1/24 exactly once"; }
[ "$(in_ns ip -6 -o addr show dev tunP | grep -c 'inet6 fd00:3::1/64')" = 1 ] || { in_ns ip addr show dev tunP; fail "tunP does not have fd00:3::1/64 exactly once"; }
in_ns ping -6 -c 2 -i 0.2 -W 2 fd00:3::50 | grep -q "2 received" || fail "no IPv6 ping replies after the restart"
log "ok: SIGKILL (status 137) with traffic in flight; the restart attached to tunP and served after $ready_ms ms"

# Twice more in a row, quickly: killed right after it became ready, restarted at once.
for round in 1 2; do
  kill -KILL "$TS_PID" && wait "$TS_PID"
  forget "$TS_PID"
  start_tunstack "again-$round" --dev tunP
done
serves "third restart"
stop_tunstack "$TS_PID" TERM || fail "the restarted tunstack did not exit 0 on SIGTERM"
forget "$TS_PID"
in_ns ip link show tunP >/dev/null 2>&1 || fail "tunP disappeared after a clean stop"
log "ok: killed and restarted twice more in a row; a clean stop leaves tunP in place"

# A device it created (not persistent) goes with the killed process; a restart creates it again.
# (tunP keeps 10.0.3.1/24, which tunstack would rightly refuse to reuse on tun0.)
ip -n "$NS" link delete tunP || fail "cannot delete tunP"
start_tunstack created
kill -KILL "$TS_PID" && wait "$TS_PID"
forget "$TS_PID"
if in_ns ip link show tun0 >/dev/null 2>&1; then fail "tun0 stayed after the tunstack that created it was killed"; fi
start_tunstack created-again -v
grep -q "created TUN device tun0" "$WORK/created-again.log" || fail "the restart did not create tun0"
serves "restart on a created device"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0 on SIGTERM"
forget "$TS_PID"
log "ok: a created device disappears with the killed process and is created again"
