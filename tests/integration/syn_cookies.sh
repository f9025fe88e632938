#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# syn_cookies.sh - 10,000 spoofed SYNs must not lock a listener out (issue 12): syn_flood sends
# COUNT SYNs from random addresses of the subnet (nobody answers their SYN-ACKs) to the echo
# port, and at once a kernel client connects there and exchanges an echo (conn_load, one
# connection, one attempt). Passes if that succeeds within 3 s of the flood's end.
#
# If it does not, the test goes on trying (a fresh client every 0.5 s, each attempt given 3 s)
# for up to 40 s, to report how long the listener stayed locked.
#
# Stock lwIP kept every half-open connection up to the backlog (4,096 of them; it removes them
# after 20 s in SYN-RECEIVED) and dropped the SYNs beyond it, the client's too: locked out for
# 20-30 s. A correct stack answers a SYN with a full queue by a SYN cookie (RFC 4987 3.6: the state goes
# into the ISN, and the ACK that completes the handshake re-creates it), so the client's SYN is
# answered as soon as the stack reads it behind the flood (tunstack's lwIP patch 0013 does);
# evicting old half-open connections for new ones (RFC 4987 3.4, 3.5) would pass as well.
# usage: syn_cookies.sh TUNSTACK CONN_LOAD SYN_FLOOD [COUNT]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
CONN_LOAD=${2:?usage: $0 TUNSTACK CONN_LOAD SYN_FLOOD [COUNT]}
SYN_FLOOD=${3:?usage: $0 TUNSTACK CONN_LOAD SYN_FLOOD [COUNT]}
COUNT=${4:-10000}
require_root_and_tun
require_tools curl jq
new_netns

# one_client NAME: one echo connection from the kernel (one connect attempt with the kernel's
# own SYN retries, 3 s in all), its echo verified, closed in order; returns conn_load's status.
one_client() {
  in_ns "$CONN_LOAD" 10.0.3.50 7 1 --payload 64 --attempts 1 --connect-timeout 3 --phase-timeout 3 >"$WORK/$1.log" 2>&1
}

start_tunstack main
one_client before || { cat "$WORK/before.log"; fail "the echo client failed before the flood"; }

in_ns "$SYN_FLOOD" 10.0.3.50 7 "$COUNT" --random-source 10.0.3.0/24 --exclude 10.0.3.1 >"$WORK/flood.log" 2>&1 ||
  { cat "$WORK/flood.log"; fail "syn_flood failed"; }
flood_end=$(date +%s.%N)
log "flood: $(cat "$WORK/flood.log")"
one_client first
status=$?
took=$(echo "$(date +%s.%N) $flood_end" | awk '{ printf "%.2f", $1 - $2 }')
stats_json >"$WORK/after.json" || fail "GET /stats.json failed after the flood"
log "the stack after the flood: $(jq '.tcp_connections_by_state["SYN-RECEIVED"] // 0' "$WORK/after.json") connections in SYN-RECEIVED, $(jq '.tcp_listen_drops' "$WORK/after.json") SYNs dropped by listeners, $(jq '.tcp_defense.syncookies_sent' "$WORK/after.json") SYN cookies sent, $(jq '.tcp_defense.syncookies_accepted' "$WORK/after.json") accepted"
if [ "$status" = 0 ] && awk -v t="$took" 'BEGIN { exit !(t <= 3) }'; then
  log "ok: a client connected and got its echo ${took} s after $COUNT spoofed SYNs: $(grep 'result' "$WORK/first.log" | sed 's/^conn_load: //')"
else
  failed "no echo connection within 3 s of $COUNT spoofed SYNs (conn_load status $status after ${took} s: $(grep -v '^conn_load: result' "$WORK/first.log" | grep -m1 ' x ' | sed 's/^conn_load: *//'))"
  # How long the listener stays locked: a fresh client every 0.5 s (each given 3 s).
  while awk -v t="$(echo "$(date +%s.%N) $flood_end" | awk '{ print $1 - $2 }')" 'BEGIN { exit !(t < 40) }'; do
    if one_client retry; then
      log "the first client that got through connected $(echo "$(date +%s.%N) $flood_end" | awk '{ printf "%.1f", $1 - $2 }') s after the flood"
      break
    fi
    sleep 0.5
  done
  one_client last || failed "still no echo connection 40 s after the flood"
fi
finish
