#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ping.sh - tunstack answers ping at 10.0.3.50 (and ping -6 at fd00:3::50) and stops cleanly on SIGTERM and SIGINT: exit 0,
# and the TUN device it created disappears with it.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
new_netns

start_tunstack first
in_ns ping -c 5 -i 0.2 -W 2 10.0.3.50 >"$WORK/ping.out" 2>&1
grep -q "5 packets transmitted, 5 received" "$WORK/ping.out" || { cat "$WORK/ping.out"; fail "expected 5 replies"; }
log "ok: $(grep 'packets transmitted' "$WORK/ping.out")"

in_ns ping -6 -c 3 -i 0.2 -W 2 fd00:3::50 >"$WORK/ping6.out" 2>&1
grep -q "3 packets transmitted, 3 received" "$WORK/ping6.out" || { cat "$WORK/ping6.out"; fail "expected 3 IPv6 replies"; }
log "ok: ping -6 fd00:3::50 answered"

# A large ping is fragmented by the kernel, reassembled by lwIP, and the reply fragmented back.
in_ns ping -c 2 -i 0.2 -W 2 -s 4000 10.0.3.50 >"$WORK/ping-big.out" 2>&1
grep -q "2 received" "$WORK/ping-big.out" || { cat "$WORK/ping-big.out"; fail "expected replies to 4000-byte pings"; }
log "ok: 4000-byte pings answered (fragmented both ways)"

stop_tunstack "$TS_PID" TERM
status=$?
[ "$status" = 0 ] || { cat "$WORK/first.log"; fail "SIGTERM: exit status $status, expected 0"; }
grep -q "stopped (SIGTERM)" "$WORK/first.log" || fail "no 'stopped (SIGTERM)' in the log"
if in_ns ip link show tun0 >/dev/null 2>&1; then fail "tun0 still exists after tunstack exited"; fi
log "ok: SIGTERM -> exit 0, tun0 removed"

# --mtu sets the device's MTU, and lwIP's: 8000-byte pings then pass unfragmented both ways.
start_tunstack second --mtu 9000
in_ns ip link show tun0 | grep -q "mtu 9000" || fail "--mtu 9000 did not set tun0's MTU"
in_ns ping -c 2 -i 0.2 -W 2 -M do -s 8000 10.0.3.50 >"$WORK/ping-jumbo.out" 2>&1
grep -q "2 received" "$WORK/ping-jumbo.out" || { cat "$WORK/ping-jumbo.out"; fail "8000-byte pings with DF set not answered at MTU 9000"; }
log "ok: --mtu 9000 set on tun0; 8000-byte pings with DF answered"
stop_tunstack "$TS_PID" INT
status=$?
[ "$status" = 0 ] || fail "SIGINT: exit status $status, expected 0"
log "ok: SIGINT -> exit 0"
