#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# garbage_flood.sh - with many connections open, segments that match none of them must stay
# cheap (issue 12): conn_load holds CONNECTIONS (10,000) echo connections, raw_peer sends COUNT
# (20,000) ACKs matching none of them as fast as the kernel takes them, and ping runs every
# 20 ms. Passes if every ping is answered within MAX_MS (300 ms) and the held connections all
# close in order afterwards.
#
# The ACKs have valid checksums and come from random addresses and ports of the subnet to random
# ports of the stack. Today lwIP walks its list of every PCB for each segment, so 20,000 of them
# queue up behind each other for seconds.
#
# This is a liveness check with a wide margin, not a benchmark: a stack that finds a segment's
# connection (or its absence) in constant time, e.g. by a hash of the four-tuple, spends a few
# microseconds on each of these segments and its RST, and 20,000 of them delay a ping by tens of
# milliseconds; MAX_MS allows for a loaded machine and, in the ASan build, for its slowdown.
# usage: garbage_flood.sh TUNSTACK CONN_LOAD RAW_PEER [CONNECTIONS [COUNT [MAX_MS]]]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
CONN_LOAD=${2:?usage: $0 TUNSTACK CONN_LOAD RAW_PEER [CONNECTIONS [COUNT [MAX_MS]]]}
RAW_PEER=${3:?usage: $0 TUNSTACK CONN_LOAD RAW_PEER [CONNECTIONS [COUNT [MAX_MS]]]}
CONNECTIONS=${4:-10000}
COUNT=${5:-20000}
MAX_MS=${6:-300}
require_root_and_tun
require_tools ping
new_netns
# As load_connections.sh: 10,000 connections from one address need as many ephemeral ports.
in_ns sysctl -qw net.ipv4.ip_local_port_range="1024 65000" || fail "cannot set ip_local_port_range"

start_tunstack main
# Not through in_ns: a backgrounded shell function is a subshell, and $! would be its PID.
ip netns exec "$NS" "$CONN_LOAD" 10.0.3.50 7 "$CONNECTIONS" --window 200 --payload 64 --hold 60 >"$WORK/conn_load.log" 2>&1 &
LOAD=$!
PIDS="$PIDS $LOAD"
wait_for_line "$WORK/conn_load.log" "holding all" 120 || { kill -0 "$LOAD" 2>/dev/null || wait "$LOAD"; cat "$WORK/conn_load.log"; fail "conn_load did not get all $CONNECTIONS connections open and verified"; }
log "$CONNECTIONS connections open and verified: $(grep -m1 'established' "$WORK/conn_load.log" | sed 's/^conn_load: //')"

start_ping quiet 0.02
sleep 1
stop_ping
ping_verdict "with $CONNECTIONS connections, before the flood" "$MAX_MS"

start_ping flood 0.02
sleep 0.5
in_ns "$RAW_PEER" garbage-flood --count "$COUNT" --subnet 10.0.3.0/24 --exclude 10.0.3.1 >"$WORK/raw_peer.log" 2>&1 ||
  failed "raw_peer garbage-flood failed: $(cat "$WORK/raw_peer.log")"
# One more ping, sent behind the flood: its answer says the stack is through it, so every ping
# of the background one has been answered by then (however late).
in_ns ping -n -c 1 -W 30 10.0.3.50 >"$WORK/behind.ping" 2>&1 || failed "no answer to a ping within 30 s of the flood"
log "a ping sent after the flood: $(sed -n 's/.*\(time=[0-9.]* ms\).*/\1/p' "$WORK/behind.ping")"
sleep 0.5
stop_ping
sed 's/^/  /' "$WORK/raw_peer.log"
ping_verdict "during $COUNT garbage segments" "$MAX_MS"

kill -USR1 "$LOAD"  # ends conn_load's hold: it closes all of them now
wait "$LOAD"
status=$?
sed 's/^/  /' "$WORK/conn_load.log"
[ "$status" = 0 ] || failed "the $CONNECTIONS held connections were not all closed in order after the flood (conn_load status $status)"
finish
