#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# orphan_zero_window.sh - a peer that keeps a zero window must not hold a closed connection
# forever (issue 12). With tunstack --orphan-timeout 3, the connection below must be gone from
# /stats.json within 10 s of its close, and raw_peer's next poke answered by a RST.
#
# raw_peer sends 1,000,000 bytes and a FIN to echo while advertising a zero window from its SYN
# on; echo writes it all back (queued: the window is zero), sees the end of the stream and
# closes, and the connection waits in LAST-ACK with the data queued. raw_peer answers every
# persist probe (window still 0) and pokes the connection once a second.
#
# The fix must drop a connection the application has closed when it stays stuck this long: a
# timeout, which tunstack is to expose as --orphan-timeout SECONDS (Linux kills orphans stuck in
# zero-window probing after net.ipv4.tcp_orphan_retries probes, and bounds FIN-WAIT-2 by
# tcp_fin_timeout). lwIP resets its probe counter on every segment it receives, so a peer that
# answers keeps the connection, and its 1 MB, for good. The test checks the option first
# (tunstack --orphan-timeout 3 must start), then the behaviour: with the option, or without it
# if tunstack refused it, to show what happens today.
# usage: orphan_zero_window.sh TUNSTACK RAW_PEER
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
RAW_PEER=${2:?usage: $0 TUNSTACK RAW_PEER}
require_root_and_tun
require_tools curl jq
new_netns

if tunstack_accepts main --orphan-timeout 3; then
  log "ok: tunstack takes --orphan-timeout 3"
else
  log "measuring the behaviour without the option"
  start_tunstack main
fi

# Not through in_ns: a backgrounded shell function is a subshell, and $! would be its PID.
ip netns exec "$NS" "$RAW_PEER" zero-window-close --bytes 1000000 --watch 12 --expect-freed 11 >"$WORK/raw_peer.log" 2>&1 &
PEER=$!
PIDS="$PIDS $PEER"
wait_for_line "$WORK/raw_peer.log" "all acknowledged" 20 || { kill -0 "$PEER" 2>/dev/null || wait "$PEER"; cat "$WORK/raw_peer.log"; fail "raw_peer could not hand its data and FIN to echo"; }
closed=$(date +%s.%N)
port=$(sed -n 's/^raw_peer: connected 10\.0\.3\.77:\([0-9]*\) > .*/\1/p' "$WORK/raw_peer.log")
gone=""
while :; do
  stats_json >"$WORK/now.json" || fail "GET /stats.json failed"
  elapsed=$(echo "$(date +%s.%N) $closed" | awk '{ printf "%.1f", $1 - $2 }')
  row=$(jq -c --arg r "10.0.3.77:$port" '[.tcp_connections[] | select(.remote == $r) | {state, send_queued, send_window}] | first // empty' "$WORK/now.json")
  if [ -z "$row" ]; then
    gone=$elapsed
    break
  fi
  [ -n "${first_row:-}" ] || { first_row=$row; log "after the close: $row"; }
  awk -v t="$elapsed" 'BEGIN { exit !(t < 10) }' || break
  sleep 0.5
done
wait "$PEER"
status=$?
sed 's/^/  /' "$WORK/raw_peer.log"
if [ -n "$gone" ]; then
  log "ok: the connection left /stats.json ${gone} s after the close"
else
  failed "the closed connection is still there ${elapsed} s after the close: $row"
fi
[ "$status" = 0 ] || failed "raw_peer zero-window-close (exit status $status): $(sed -n 's/^raw_peer: zero-window-close result FAILED: //p' "$WORK/raw_peer.log")"
kernel_silent
finish
