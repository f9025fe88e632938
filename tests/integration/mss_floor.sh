#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# mss_floor.sh - a client that announces MSS 1 must still be answered (issue 12): raw_peer sends
# a SYN with MSS 1, then "GET /" to the HTTP server, once without and once with timestamps (whose
# 12 bytes of options do not fit in a 1-byte segment). Passes if both get the whole status page
# (200, ending with the server's FIN) within 8 s; prints the segment sizes the stack used.
#
# A correct stack either sends 1-byte segments or, as Linux does, raises the peer's MSS to a floor
# (net.ipv4.tcp_min_snd_mss, 48 by default; 536 or 88 would do as well): what it must not do is
# never send anything. The page is a few KB, so even 1-byte segments deliver it well within 8 s.
# usage: mss_floor.sh TUNSTACK RAW_PEER
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
RAW_PEER=${2:?usage: $0 TUNSTACK RAW_PEER}
require_root_and_tun
new_netns

start_tunstack main
for variant in --no-timestamps --timestamps; do
  in_ns "$RAW_PEER" mss1 --mss 1 "$variant" --timeout 8 >"$WORK/raw_peer.log" 2>&1
  status=$?
  sed 's/^/  /' "$WORK/raw_peer.log"
  if [ "$status" = 0 ]; then
    log "ok: MSS 1 ($variant) answered: $(sed -n 's/^raw_peer: mss1: \(the whole response in .*\)/\1/p' "$WORK/raw_peer.log")"
  else
    failed "MSS 1 ($variant), exit status $status: $(sed -n 's/^raw_peer: mss1 result FAILED: //p' "$WORK/raw_peer.log")"
  fi
done
kernel_silent
finish
