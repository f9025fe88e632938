#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# load_connections.sh - COUNT (default 10,000) concurrent TCP connections from the kernel to
# tunstack's echo service, all open at once, each verified with a unique payload (conn_load);
# reports tunstack's peak RSS (VmHWM) and its RSS per connection, and checks that afterwards
# every connection is gone from the stack and lwIP's pools are back to their baseline.
# MAX_PER_CONNECTION bounds tunstack's RSS per open connection in bytes (an idle echo
# connection once held a 64 KiB read buffer: 73 KB each; then 9.5 KB; now about 2.7 KB).
# usage: load_connections.sh TUNSTACK CONN_LOAD [COUNT [MAX_PER_CONNECTION]]
. "$(dirname "$0")/lib.sh"
CONN_LOAD=${2:?usage: $0 TUNSTACK CONN_LOAD [COUNT [MAX_PER_CONNECTION]]}
COUNT=${3:-10000}
MAX_PER_CONNECTION=${4:-4096}
require_root_and_tun
require_tools curl jq
new_netns
# 10,000 connections from one address to one port need as many ephemeral ports, and those of
# an earlier run may still be in TIME-WAIT (the client closes first): widen the range.
in_ns sysctl -qw net.ipv4.ip_local_port_range="1024 65000" || fail "cannot set ip_local_port_range"

start_tunstack main
stats_json >"$WORK/baseline.json" || fail "GET /stats.json failed"
rss_before=$(proc_kb "$TS_PID" VmRSS)
log "baseline: $(tcp_pcbs "$WORK/baseline.json") TCP pcbs besides listeners, $(pool_use "$WORK/baseline.json"), RSS ${rss_before} kB"

in_ns "$CONN_LOAD" 10.0.3.50 7 "$COUNT" --window 200 --payload 64 --hold 3 >"$WORK/conn_load.log" 2>&1 &
LOAD=$!
PIDS="$PIDS $LOAD"
wait_for_line "$WORK/conn_load.log" "holding all" 240 || { kill -0 "$LOAD" 2>/dev/null || wait "$LOAD"; cat "$WORK/conn_load.log"; fail "conn_load did not get all $COUNT connections open and verified"; }
# All COUNT connections are open now: the stack's view and tunstack's memory at this moment.
rss_open=$(proc_kb "$TS_PID" VmRSS)
# Every connection listed (/stats.json lists 100 unless asked), to check each one's port.
in_ns curl -sf --max-time 30 "http://10.0.3.50/stats.json?connections=all" >"$WORK/open.json" ||
  fail "GET /stats.json?connections=all failed with $COUNT connections open"
[ "$(jq '.tcp_connections | length' "$WORK/open.json")" = "$(jq '.tcp_connections_total' "$WORK/open.json")" ] ||
  fail "/stats.json?connections=all did not list every connection"
established=$(jq '[.tcp_connections[] | select(.state == "ESTABLISHED" and (.local | endswith(":7")))] | length' "$WORK/open.json")
echo_active=$(jq '.services[] | select(.name == "echo" and .protocol == "tcp") | .connections_active' "$WORK/open.json")
wait "$LOAD"
status=$?
cat "$WORK/conn_load.log"
[ "$status" = 0 ] || fail "conn_load failed (exit status $status)"
[ "$established" = "$COUNT" ] || fail "the stack had $established ESTABLISHED echo connections, expected $COUNT"
[ "$echo_active" = "$COUNT" ] || fail "the echo service had $echo_active connections, expected $COUNT"
log "ok: $COUNT connections open at once (the stack listed $established ESTABLISHED on port 7), each echo verified"

peak=$(proc_kb "$TS_PID" VmHWM)
per_connection=$(( (rss_open - rss_before) * 1024 / COUNT ))
log "memory: tunstack's peak RSS (VmHWM) ${peak} kB; RSS ${rss_before} kB idle, ${rss_open} kB with $COUNT open: ${per_connection} bytes per connection"
[ "$per_connection" -le "$MAX_PER_CONNECTION" ] ||
  fail "tunstack needs ${per_connection} bytes of RSS per open echo connection, more than $MAX_PER_CONNECTION"

took=$(wait_for_baseline 60 "$WORK/baseline.json")
log "ok: all connections closed in order; TCP pcbs and lwIP pools back to the baseline ${took} s after the last close"
kill -0 "$TS_PID" 2>/dev/null || fail "tunstack died"
log "ok"
