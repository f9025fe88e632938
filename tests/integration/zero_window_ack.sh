#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# zero_window_ack.sh - one spoofed ACK must not freeze a live connection (issue 12): raw_peer
# runs an echo exchange, then sends one ACK on it with window 0, a random acknowledgment number
# and a sequence number far ahead. Passes if every chunk sent afterwards is echoed within 1.5 s
# for 3 s and the echo is intact.
#
# The exchange: a 1,000-byte chunk every 2 ms, 8 waiting at most. The acknowledgment number is
# about 2^31 away from the stack's SND.NXT, so never acceptable; the sequence number about 2^30
# past raw_peer's (within 2^31 of SND.WL1, so a bare "SEG.SEQ > SND.WL1" check takes it as newer).
#
# A correct stack drops the segment: its sequence number is outside the receive window (RFC 9293
# 3.10.7.4, "first check sequence number": answer with an ACK, discard), and its acknowledgment
# number is unacceptable too (RFC 5961 5.2; RFC 9293 updates the window only if SND.UNA =<
# SEG.ACK =< SND.NXT). Both checks belong before the window update; either one alone passes
# this test, since the segment fails both.
# usage: zero_window_ack.sh TUNSTACK RAW_PEER
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
RAW_PEER=${2:?usage: $0 TUNSTACK RAW_PEER}
require_root_and_tun
new_netns

start_tunstack main
in_ns "$RAW_PEER" zero-window-ack --before 1 --after 3 --stall 1.5 >"$WORK/raw_peer.log" 2>&1
status=$?
sed 's/^/  /' "$WORK/raw_peer.log"
[ "$status" = 0 ] ||
  failed "raw_peer zero-window-ack (exit status $status): $(sed -n 's/^raw_peer: zero-window-ack result FAILED: //p' "$WORK/raw_peer.log")"
kernel_silent
finish
