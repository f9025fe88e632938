#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# impairment.sh - the tunstack program with --loss 2 --reorder 2 on a real TUN device: TCP
# still delivers 10 MiB intact through the echo service (lwIP and the kernel recover the lost
# and reordered segments), the seed is printed, and the status endpoint counts what the
# impairment did in both directions.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools curl jq nc sha256sum
new_netns

start_tunstack main --loss 2 --reorder 2 --seed 7
grep -q "impairment seed 7 (repeat with --seed 7)" "$WORK/main.log" || fail "the seed was not printed"
# Without -v too: offloads are off, and TCP through tunstack costs more for it.
grep -q "offloads off: impairments work on packets as the wire carries them" "$WORK/main.log" ||
  fail "without -v, nothing says that the impairment turned offloads off"
log "ok: the seed is printed, and that offloads are off"

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
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"
