#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# offload.sh - TUN offloads on a real device (tunstack's default): the kernel hands tunstack
# TCP super-packets and takes super-packets back, over IPv4 and IPv6, and the data comes back
# intact through echo; the counters show both directions used them. With --no-offload (and
# with --pcap, which records single packets) the device runs without them and says so.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools jq nc sha256sum
new_netns

start_tunstack main -v
grep -q "offloads: checksums, TCP segmentation (IPv4, IPv6)" "$WORK/main.log" ||
  fail "tunstack did not report TUN offloads: $(grep -m1 offloads "$WORK/main.log")"
# The default --txqueuelen on a device tunstack creates (a burst of 10,000 connects needs it).
[ "$(in_ns cat /sys/class/net/tun0/tx_queue_len)" = 40000 ] ||
  fail "tun0's txqueuelen is $(in_ns cat /sys/class/net/tun0/tx_queue_len), not the default 40000"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$WORK/echo.in"
sent=$(sha256sum <"$WORK/echo.in" | cut -d' ' -f1)
for address in 10.0.3.50 fd00:3::50; do
  in_ns nc -N -w 20 "$address" 7 <"$WORK/echo.in" >"$WORK/echo.out" || fail "TCP echo over $address failed"
  received=$(sha256sum <"$WORK/echo.out" | cut -d' ' -f1)
  [ "$sent" = "$received" ] ||
    fail "20 MiB through echo over $address came back different ($(wc -c <"$WORK/echo.out") bytes, sha256 $received, sent $sent)"
  log "ok: 20 MiB through TCP echo over $address intact (sha256 $sent)"
done
stats_json >"$WORK/stats.json" || fail "GET /stats.json failed"
device() { jq -r ".interfaces[0].device.$1" "$WORK/stats.json"; }
rx=$(device tun_rx_super_packets)
tx=$(device tun_tx_super_packets)
trusted=$(device tun_rx_checksum_trusted)
# 2 x 20 MiB each way: with MTU-sized packets that would be about 29,000 packets per direction.
[ "$rx" -gt 100 ] 2>/dev/null || fail "the kernel handed over $rx super-packets, expected many"
[ "$tx" -gt 100 ] 2>/dev/null || fail "tunstack sent $tx super-packets, expected many"
[ "$trusted" -gt "$rx" ] 2>/dev/null || fail "$trusted packets with checksums the kernel vouched for, expected more than $rx"
chkerr=$(jq -r '.protocols.tcp.chkerr' "$WORK/stats.json")
[ "$chkerr" = 0 ] || fail "lwIP counted $chkerr TCP checksum errors"
in_packets=$(jq -r '.interfaces[0].rx_packets' "$WORK/stats.json")
log "ok: $rx super-packets in, $tx out, $in_packets packets in all; no checksum errors"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"

start_tunstack plain -v --no-offload
grep -q "offloads: off (turned off)" "$WORK/plain.log" || fail "--no-offload was not reported"
in_ns nc -N -w 20 10.0.3.50 7 <"$WORK/echo.in" >"$WORK/echo.out" || fail "TCP echo without offloads failed"
[ "$(sha256sum <"$WORK/echo.out" | cut -d' ' -f1)" = "$sent" ] || fail "20 MiB through echo without offloads came back different"
stats_json >"$WORK/stats.json" || fail "GET /stats.json failed"
[ "$(jq -r '.interfaces[0].device.tun_rx_super_packets // "none"' "$WORK/stats.json")" = none ] ||
  fail "without offloads the device still reports offload counters"
log "ok: --no-offload: no offloads, 20 MiB intact"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"

start_tunstack capture -v --pcap "$WORK/c.pcap"
grep -q "offloads: off (--pcap works on single packets)" "$WORK/capture.log" || fail "--pcap did not turn offloads off"
log "ok: --pcap turns offloads off and says so"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"
