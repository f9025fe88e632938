#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# netem.sh - 100 MiB through TCP echo arrive intact while the kernel's side of tun0 loses 5% of
# the packets it sends into the device, delays them 10 ms +/- 5 ms, duplicates 1% and reorders
# 1% (`tc qdisc add dev tun0 root netem ...`, iproute2). Needs the kernel's netem qdisc
# (sch_netem); skips with the reason when the kernel has none. NETEM_MIB sets the amount.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools nc tc
MIB=${NETEM_MIB:-100}
new_netns

start_tunstack main --no-http

NETEM="loss 5% delay 10ms 5ms duplicate 1% reorder 1%"
add_netem() { in_ns tc qdisc add dev tun0 root netem $NETEM 2>"$WORK/tc.err"; }
if ! add_netem; then
  # tc asks the kernel to load sch_netem itself; try once more by hand if modprobe can.
  command -v modprobe >/dev/null 2>&1 && modprobe sch_netem 2>/dev/null
  if ! add_netem; then
    if grep -qi "unknown" "$WORK/tc.err"; then
      config=""
      [ -r /proc/config.gz ] && config=$(zcat /proc/config.gz | grep "NET_SCH_NETEM")
      skip_kernel_lacks "this kernel ($(uname -r)) has no netem qdisc: $(cat "$WORK/tc.err")${config:+ ($config)}; load sch_netem or use a kernel with CONFIG_NET_SCH_NETEM"
    fi
    fail "tc qdisc add dev tun0 root netem $NETEM: $(cat "$WORK/tc.err")"
  fi
fi
in_ns tc qdisc show dev tun0 | grep -q "netem" || fail "no netem qdisc on tun0 after adding it"
log "netem on tun0: $(in_ns tc qdisc show dev tun0 | head -n 1)"

# The delay shows in ping's round trips (only the way into tun0 is delayed).
in_ns ping -c 20 -i 0.05 -W 2 10.0.3.50 >"$WORK/ping.out" || true
grep -q " 0% packet loss\| [1-9][0-9]* received" "$WORK/ping.out" || fail "no ping replies through netem"
log "ping through netem: $(grep -E 'received|rtt' "$WORK/ping.out" | tr '\n' ' ')"

head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/echo.in"
started=$(date +%s%N)
in_ns timeout 600 nc -N -w 60 10.0.3.50 7 <"$WORK/echo.in" >"$WORK/echo.out"
status=$?
ms=$((($(date +%s%N) - started) / 1000000))
[ "$status" = 0 ] || fail "TCP echo through netem failed (nc exit $status after $ms ms, $(wc -c <"$WORK/echo.out") of $((MIB * 1024 * 1024)) bytes back)"
sent=$(sha256sum <"$WORK/echo.in" | cut -d' ' -f1)
got=$(sha256sum <"$WORK/echo.out" | cut -d' ' -f1)
[ "$sent" = "$got" ] || fail "$MIB MiB through TCP echo under netem came back different ($(wc -c <"$WORK/echo.out") bytes, sha256 $got, sent $sent)"
log "ok: $MIB MiB through TCP echo under netem intact (sha256 $sent) in $ms ms: $((MIB * 1024 * 1000 / (ms > 0 ? ms : 1))) KiB/s each way"
log "netem counters: $(in_ns tc -s qdisc show dev tun0 | grep -E 'Sent|dropped' | tr -s ' ' | tr '\n' ' ')"

kill -0 "$TS_PID" 2>/dev/null || fail "tunstack died during the transfer"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0 on SIGTERM"
