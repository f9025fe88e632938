#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# impairment.sh - the tunstack program with --loss 2 --reorder 2 on a real TUN device: TCP
# still delivers 10 MiB intact through the echo service (lwIP and the kernel recover the lost
# and reordered segments), the seed is printed, and the status endpoint counts what the
# impairment did in both directions. The device keeps its offloads: the impairment cuts the
# kernel's super-packets into the segments it impairs and has the stack send no super-packets,
# and a direction left unimpaired (--loss in:1) keeps sending them.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools curl jq nc sha256sum
new_netns

start_tunstack main --loss 2 --reorder 2 --seed 7 -v
grep -q "impairment seed 7 (repeat with --seed 7)" "$WORK/main.log" || fail "the seed was not printed"
grep -q "offloads: checksums, TCP segmentation" "$WORK/main.log" ||
  fail "impairments turned offloads off: $(grep -m1 offloads "$WORK/main.log")"
log "ok: the seed is printed, offloads stay on"

head -c $((10 * 1024 * 1024)) /dev/urandom >"$WORK/echo.in"
started=$(date +%s)
in_ns nc -N -w 20 10.0.3.50 7 <"$WORK/echo.in" >"$WORK/echo.out" || fail "TCP echo failed"
elapsed=$(($(date +%s) - started))
sent=$(sha256sum <"$WORK/echo.in" | cut -d' ' -f1)
received=$(sha256sum <"$WORK/echo.out" | cut -d' ' -f1)
[ "$sent" = "$received" ] || fail "10 MiB through TCP echo came back different ($(wc -c <"$WORK/echo.out") bytes, sha256 $received, sent $sent)"
log "ok: 10 MiB through TCP echo with 2% loss and 2% reordering arrived intact in ${elapsed} s (sha256 $sent)"

in_ns curl -sf --retry 5 --retry-delay 1 --retry-all-errors "http://10.0.3.50/stats.json" >"$WORK/stats.json" ||
  fail "GET /stats.json failed"
device() { jq -r ".interfaces[0].device.$1" "$WORK/stats.json"; }
for counter in impair_in_packets impair_in_lost impair_in_reordered impair_out_packets impair_out_lost impair_out_reordered; do
  value=$(device "$counter")
  [ "$value" -gt 0 ] 2>/dev/null || fail "/stats.json: $counter is '$value', expected more than 0"
done
# 2% of what passed, within generous bounds (thousands of packets each way).
for d in in out; do
  packets=$(device "impair_${d}_packets")
  lost=$(device "impair_${d}_lost")
  [ "$packets" -gt 1000 ] || fail "only $packets packets went $d"
  [ $((lost * 100)) -ge "$packets" ] && [ $((lost * 100)) -le $((packets * 3)) ] ||
    fail "$d: $lost of $packets packets lost, expected about 2%"
  log "ok: $d: $lost of $packets packets lost, $(device "impair_${d}_reordered") reordered"
done
in_ns curl -sf "http://10.0.3.50/metrics" | grep -q 'tunstack_link_device_total{interface="tun0",counter="impair_out_lost"} [1-9]' ||
  fail "/metrics lacks the impairment counters"
log "ok: the counters are in /stats.json and /metrics"
# The kernel handed over super-packets, which were cut up and impaired segment by segment; the
# stack sent none, since what it sends is impaired too.
[ "$(device tun_rx_super_packets)" -gt 0 ] && [ "$(device impair_in_segmented)" -gt 0 ] ||
  fail "no super-packets cut up ($(device tun_rx_super_packets) received, $(device impair_in_segmented) cut)"
[ "$(device tun_tx_super_packets)" = 0 ] || fail "$(device tun_tx_super_packets) super-packets sent through an impaired direction"
log "ok: $(device impair_in_segmented) super-packets in cut into segments, none out"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"

# Only inbound impaired: outbound the stack still sends super-packets.
start_tunstack inbound --loss in:1 --seed 3
in_ns nc -N -w 20 10.0.3.50 7 <"$WORK/echo.in" >"$WORK/echo.out" || fail "TCP echo with --loss in:1 failed"
[ "$(sha256sum <"$WORK/echo.out" | cut -d' ' -f1)" = "$sent" ] || fail "10 MiB through echo with --loss in:1 came back different"
in_ns curl -sf --retry 5 --retry-delay 1 --retry-all-errors "http://10.0.3.50/stats.json" >"$WORK/stats.json" ||
  fail "GET /stats.json failed"
[ "$(device impair_in_lost)" -gt 0 ] && [ "$(device impair_in_segmented)" -gt 0 ] && [ "$(device tun_tx_super_packets)" -gt 0 ] ||
  fail "--loss in:1: $(device impair_in_lost) lost, $(device impair_in_segmented) cut up, $(device tun_tx_super_packets) super-packets out"
[ "$(jq -r '.protocols.tcp.chkerr' "$WORK/stats.json")" = 0 ] || fail "lwIP counted TCP checksum errors"
log "ok: --loss in:1: 10 MiB intact, $(device impair_in_lost) segments lost in, $(device tun_tx_super_packets) super-packets out"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"
