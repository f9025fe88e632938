#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# orphan_zero_window.sh - a peer that keeps a zero window must not hold a closed connection
# forever (issue 12). With tunstack --orphan-timeout 3, both connections below must be gone from
# /stats.json within 10 s of their close, and raw_peer's next poke answered by a RST.
#
# Two raw_peers advertise a zero window from their SYN on. One sends 1,000,000 bytes and a FIN to
# echo; echo writes it all back (queued: the window is zero), sees the end of the stream and
# closes: LAST-ACK with the data queued. The other sends GET / with "Connection: close"; the
# server queues its response and closes first: FIN-WAIT-1. Both answer every persist probe
# (window still 0) and poke their connection once a second.
#
# The fix must drop a connection the application has closed when it stays stuck this long: a
# timeout, which tunstack is to expose as --orphan-timeout SECONDS (Linux, too, bounds what
# orphans may cost: net.ipv4.tcp_orphan_retries, tcp_max_orphans, tcp_fin_timeout). lwIP resets
# its probe counter on every segment it receives, so a peer that answers keeps the connection,
# and what it has queued, for good. The test checks the option first (tunstack --orphan-timeout 3
# must start), then the behaviour: with the option, or without it if tunstack refused it, to
# show what happens today.
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

# Two peers at once, from two ports of raw_peer's address: echo's side closes second (LAST-ACK,
# 1,000,000 bytes queued), the HTTP server's first (FIN-WAIT-1, its response queued).
# Not through in_ns: a backgrounded shell function is a subshell, and $! would be its PID.
ip netns exec "$NS" "$RAW_PEER" zero-window-close --source-port 40007 --bytes 1000000 --watch 12 --expect-freed 11 \
  >"$WORK/echo-peer.log" 2>&1 &
ECHO_PEER=$!
ip netns exec "$NS" "$RAW_PEER" zero-window-close --source-port 40080 --http --watch 12 --expect-freed 11 \
  >"$WORK/http-peer.log" 2>&1 &
HTTP_PEER=$!
PIDS="$PIDS $ECHO_PEER $HTTP_PEER"
for peer in echo http; do
  wait_for_line "$WORK/$peer-peer.log" "all acknowledged" 20 ||
    { cat "$WORK/$peer-peer.log"; fail "raw_peer could not hand its data to $peer"; }
done
closed=$(date +%s.%N)

# row PORT: the stack's view of the connection from raw_peer's PORT in now.json, or nothing.
row() { jq -c --arg r "10.0.3.77:$1" '[.tcp_connections[] | select(.remote == $r) | {state, send_queued, send_window}] | first // empty' "$WORK/now.json"; }
echo_gone="" echo_row="" http_gone="" http_row=""
while :; do
  stats_json >"$WORK/now.json" || fail "GET /stats.json failed"
  elapsed=$(echo "$(date +%s.%N) $closed" | awk '{ printf "%.1f", $1 - $2 }')
  if [ -z "$echo_gone" ]; then
    r=$(row 40007)
    [ -n "$r" ] || echo_gone=$elapsed
    [ -n "$echo_row" ] || [ -z "$r" ] || log "echo, after the close: $r"
    echo_row=$r
  fi
  if [ -z "$http_gone" ]; then
    r=$(row 40080)
    [ -n "$r" ] || http_gone=$elapsed
    [ -n "$http_row" ] || [ -z "$r" ] || log "http, after the close: $r"
    http_row=$r
  fi
  [ -n "$echo_gone" ] && [ -n "$http_gone" ] && break
  awk -v t="$elapsed" 'BEGIN { exit !(t < 10) }' || break
  sleep 0.5
done

# verdict NAME PID GONE ROW: raw_peer's report and the checks for one connection.
verdict() {
  wait "$2"
  _status=$?
  sed 's/^/  /' "$WORK/$1-peer.log"
  if [ -n "$3" ]; then
    log "ok: the $1 connection left /stats.json ${3} s after the close"
  else
    failed "the closed $1 connection is still there ${elapsed} s after the close: $4"
  fi
  [ "$_status" = 0 ] ||
    failed "raw_peer zero-window-close to $1 (exit status $_status): $(sed -n 's/^raw_peer: zero-window-close result FAILED: //p' "$WORK/$1-peer.log")"
}
verdict echo "$ECHO_PEER" "$echo_gone" "$echo_row"
verdict http "$HTTP_PEER" "$http_gone" "$http_row"
# Both left because the orphan timeout reset them, and the counters say so.
stats_json >"$WORK/now.json" || fail "GET /stats.json failed"
reset=$(jq '.tcp_defense.orphans_reset' "$WORK/now.json")
if [ "$reset" = 2 ]; then
  log "ok: tcp_defense.orphans_reset is 2"
else
  failed "tcp_defense.orphans_reset is $reset after the two orphans left, expected 2"
fi
kernel_silent
finish
