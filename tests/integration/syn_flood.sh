#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# syn_flood.sh - a SYN flood against tunstack's echo port while established connections keep
# exchanging data on it: 100,000 SYNs (syn_flood, a raw socket) from the kernel side's address
# with random source ports, then 10,000 from random (spoofed) addresses of the subnet. The
# established echo connections must be served throughout (every echo verified, conn_load), the
# stack must answer ping and HTTP during the flood, and afterwards its TCP pcbs and lwIP pools
# must return to their baseline: at once for the first flood (the kernel answers each SYN-ACK
# with a RST), after lwIP's SYN-RECEIVED timeout for the spoofed one (nobody answers).
# usage: syn_flood.sh TUNSTACK CONN_LOAD SYN_FLOOD [COUNT]
. "$(dirname "$0")/lib.sh"
CONN_LOAD=${2:?usage: $0 TUNSTACK CONN_LOAD SYN_FLOOD [COUNT]}
SYN_FLOOD=${3:?usage: $0 TUNSTACK CONN_LOAD SYN_FLOOD [COUNT]}
COUNT=${4:-100000}
SPOOFED=$((COUNT / 10))
require_root_and_tun
require_tools curl jq ping
new_netns

# syn_received_gone SECONDS: waits until the stack has no connection in SYN-RECEIVED and prints
# how long that took (the echo connections keep other pcbs and pool elements busy meanwhile).
syn_received_gone() {
  _deadline=$(($(date +%s) + $1))
  _start=$(date +%s.%N)
  while :; do
    stats_json >"$WORK/now.json" || fail "GET /stats.json failed after the flood"
    _n=$(jq '.tcp_connections_by_state["SYN-RECEIVED"] // 0' "$WORK/now.json")
    [ "$_n" = 0 ] && break
    [ "$(date +%s)" -lt "$_deadline" ] || fail "$_n connections still in SYN-RECEIVED $1 s after the flood"
    sleep 0.25
  done
  echo "$(date +%s.%N) $_start" | awk '{ printf "%.1f", $1 - $2 }'
}

start_tunstack main
stats_json >"$WORK/baseline.json" || fail "GET /stats.json failed"
log "baseline: $(tcp_pcbs "$WORK/baseline.json") TCP pcbs besides listeners, $(pool_use "$WORK/baseline.json")"
rx_before=$(jq '.interfaces[0].rx_packets' "$WORK/baseline.json")

# 20 echo connections exchanging 1 KiB echoes, a round on all of them every 10 ms, for the
# whole flood. conn_load fails if any echo is wrong or missing, or a round takes longer than
# --phase-timeout.
in_ns "$CONN_LOAD" 10.0.3.50 7 20 --payload 1024 --duration 30 --interval 0.01 --phase-timeout 5 >"$WORK/conn_load.log" 2>&1 &
LOAD=$!
PIDS="$PIDS $LOAD"
wait_for_line "$WORK/conn_load.log" "exchanging" 20 || { cat "$WORK/conn_load.log"; fail "the 20 echo connections did not open"; }

# Ping and HTTP while the floods run (ping at 5/s; HTTP: a GET every half second).
in_ns ping -i 0.2 -W 2 -c 100 10.0.3.50 >"$WORK/ping.log" 2>&1 &
PING=$!
PIDS="$PIDS $PING"
(
  ok=0 failed=0
  while [ ! -e "$WORK/flood.done" ]; do
    if in_ns curl -sf --max-time 5 -o /dev/null http://10.0.3.50/; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
    sleep 0.5
  done
  echo "http ok=$ok failed=$failed" >"$WORK/http.result"
) &
HTTP=$!
PIDS="$PIDS $HTTP"

dropped_before=$(in_ns cat /sys/class/net/tun0/statistics/tx_dropped)
in_ns "$SYN_FLOOD" 10.0.3.50 7 "$COUNT" --source 10.0.3.1 >"$WORK/flood1.log" 2>&1 || { cat "$WORK/flood1.log"; fail "syn_flood (from 10.0.3.1) failed"; }
dropped=$(( $(in_ns cat /sys/class/net/tun0/statistics/tx_dropped) - dropped_before ))
log "flood 1: $(cat "$WORK/flood1.log"); tun0's queue (txqueuelen $(in_ns cat /sys/class/net/tun0/tx_queue_len)) dropped $dropped packets meanwhile"
stats_json >"$WORK/after1.json" || fail "the stack did not answer HTTP right after $COUNT SYNs"
log "after flood 1: $(jq '.tcp_connections_by_state["SYN-RECEIVED"] // 0' "$WORK/after1.json") connections in SYN-RECEIVED"
# The kernel resets each SYN-ACK, but its RSTs queue behind the flood in tun0 and some are
# dropped; lwIP retransmits the SYN-ACK after its initial RTO (3 s), which is then reset.
took=$(syn_received_gone 15)
log "ok: no connection left in SYN-RECEIVED ${took} s after flood 1"

in_ns "$SYN_FLOOD" 10.0.3.50 7 "$SPOOFED" --random-source 10.0.3.0/24 --exclude 10.0.3.1 >"$WORK/flood2.log" 2>&1 ||
  { cat "$WORK/flood2.log"; fail "syn_flood (spoofed) failed"; }
flood2_end=$(date +%s.%N)
log "flood 2: $(cat "$WORK/flood2.log")"
stats_json >"$WORK/after2.json" || fail "the stack did not answer HTTP right after the spoofed SYNs"
syn_rcvd=$(jq '.tcp_connections_by_state["SYN-RECEIVED"] // 0' "$WORK/after2.json")
log "after flood 2: $syn_rcvd connections in SYN-RECEIVED (the echo listener's backlog, 4096, bounds them)"
# Nobody answers their SYN-ACKs: lwIP removes them after TCP_SYN_RCVD_TIMEOUT (20 s).
took=$(syn_received_gone 40)
since_flood=$(echo "$(date +%s.%N) $flood2_end" | awk '{ printf "%.1f", $1 - $2 }')
log "ok: the spoofed SYN-RECEIVED connections timed out ${since_flood} s after flood 2"
touch "$WORK/flood.done"

wait "$LOAD"
status=$?
cat "$WORK/conn_load.log"
[ "$status" = 0 ] || fail "the established echo connections were not served throughout the flood (conn_load status $status)"
log "ok: 20 established connections served throughout: $(grep 'rounds in' "$WORK/conn_load.log" | sed 's/^conn_load: //')"

wait "$HTTP"
http=$(cat "$WORK/http.result")
case "$http" in
  *" failed=0") ;;
  *) fail "HTTP requests failed during the flood: $http" ;;
esac
log "ok: HTTP during the flood: $http"

wait "$PING"
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping.log")
[ "${received:-0}" -ge 95 ] || { cat "$WORK/ping.log"; fail "ping during the flood: only ${received:-0} of 100 answered"; }
log "ok: ping during the flood: $received of 100 answered"

took=$(wait_for_baseline 30 "$WORK/baseline.json")
log "ok: TCP pcbs and lwIP pools back to the baseline ${took} s after the echo connections closed"

stats_json >"$WORK/end.json"
rx=$(( $(jq '.interfaces[0].rx_packets' "$WORK/end.json") - rx_before ))
tun_tx_dropped=$(in_ns cat /sys/class/net/tun0/statistics/tx_dropped)
log "figures: the stack read $rx packets in all; tun0 dropped $tun_tx_dropped on the kernel side (full queue); tcp recv $(jq '.protocols.tcp.recv' "$WORK/end.json") xmit $(jq '.protocols.tcp.xmit' "$WORK/end.json") drop $(jq '.protocols.tcp.drop' "$WORK/end.json")"
kill -0 "$TS_PID" 2>/dev/null || fail "tunstack died"
log "ok"
