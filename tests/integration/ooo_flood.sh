#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ooo_flood.sh - one peer, one echo connection, COUNT (50,000) one-byte segments out of order,
# then every hole filled (issue 12; raw_peer ooo-flood). Passes if the stack takes the flood
# within 10 s, tunstack's peak RSS grows by less than MAX_GROWTH_KB (8 MiB), every ping (10/s,
# during the flood and 1 s after) is answered within 1 s, and the stream is then acknowledged,
# echoed intact and closed in order (or the stack reset the connection).
# usage: ooo_flood.sh TUNSTACK RAW_PEER [COUNT [MAX_GROWTH_KB]]  (MAX_GROWTH_KB 0: only report)
#
# The segments carry every other byte, never the first, as fast as the stack answers them (at
# most 1,000 ahead: the ping behind them measures the stack, not the device's queue). A fix must
# bound the out-of-order queue of a connection (in segments or in memory), so that a segment
# costs a bounded walk and memory stays flat, keep answering each segment, and keep what it
# queues right, so that the stream is whole once the holes are filled.
#
# Why 8 MiB: the flood carries 50 KB of payload. A stack that keeps all 50,000 segments, each in
# its own packet buffer (about 1.7 KB with lwIP's bookkeeping), needs 80 MB; one that bounds its
# out-of-order queue (by segments, as lwIP's TCP_OOSEQ_MAX_PBUFS does, or by memory, as Linux
# charges each segment's true size to the receive buffer and prunes the queue) needs a few
# hundred KB. The same 50,000 segments in order (raw_peer ooo-flood --in-order), which the stack
# frees as they come, raise the peak RSS by 0.5 MB. 8 MiB leaves room for the allocator and
# fails anything that grows with the segment count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
RAW_PEER=${2:?usage: $0 TUNSTACK RAW_PEER [COUNT [MAX_GROWTH_KB]]}
COUNT=${3:-50000}
MAX_GROWTH_KB=${4:-8192}
require_root_and_tun
require_tools ping
new_netns
small_asan_quarantine

start_tunstack main
rss_before=$(proc_kb "$TS_PID" VmRSS)
log "baseline: RSS ${rss_before} kB"

start_ping flood 0.1
sleep 0.5
start=$(date +%s.%N)
in_ns "$RAW_PEER" ooo-flood --count "$COUNT" --echo --deadline 10 >"$WORK/raw_peer.log" 2>&1
status=$?
took=$(echo "$(date +%s.%N) $start" | awk '{ printf "%.1f", $1 - $2 }')
sleep 1
stop_ping
rss_after=$(proc_kb "$TS_PID" VmRSS)
peak=$(proc_kb "$TS_PID" VmHWM)
sed 's/^/  /' "$WORK/raw_peer.log"
growth=$((peak - rss_before))
log "memory: RSS ${rss_before} kB before, peak ${peak} kB (+${growth} kB), ${rss_after} kB after; raw_peer took ${took} s"

case $status in
  0) log "ok: the flood was taken, the holes filled, the stream acknowledged, echoed intact and closed in order" ;;
  4) log "ok: the stack reset the connection (an answer to the attack, not a failure)" ;;
  *) failed "raw_peer ooo-flood (exit status $status): $(sed -n 's/^raw_peer: ooo-flood result FAILED: //p' "$WORK/raw_peer.log")" ;;
esac
if [ "$MAX_GROWTH_KB" -gt 0 ]; then
  sent=$(sed -n 's/^raw_peer: ooo-flood: sent \([0-9]*\) of .*/\1/p' "$WORK/raw_peer.log")
  [ "$growth" -lt "$MAX_GROWTH_KB" ] || failed "tunstack's peak RSS grew by ${growth} kB for ${sent:-?} one-byte segments (bound ${MAX_GROWTH_KB} kB)"
else
  log "RSS growth only reported in this build (see CMakeLists.txt)"
fi
ping_verdict "during and after the flood" 1000
finish
