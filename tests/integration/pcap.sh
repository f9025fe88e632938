#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pcap.sh - tunstack --pcap FILE: ping and a TCP echo exchange, read back with tcpdump while
# tunstack still runs (each packet is flushed as it passes), and again after SIGINT, when the
# file must still parse and hold as many packets as tunstack says it captured.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools tcpdump nc

# A capture file in a directory that does not exist is a bad option, refused before anything runs.
run_expect_failure missing-dir 2 "--pcap" "$TUNSTACK" --pcap "$WORK/no-such-dir/x.pcap"

new_netns
PCAP="$WORK/capture.pcap"
start_tunstack main -v --pcap "$PCAP"
grep -q "capturing every packet of tun0 to $PCAP" "$WORK/main.log" || fail "-v does not say where the capture goes"

in_ns ping -c 3 -i 0.2 -W 2 10.0.3.50 >"$WORK/ping.out" 2>&1
grep -q "3 packets transmitted, 3 received" "$WORK/ping.out" || { cat "$WORK/ping.out"; fail "ping failed"; }
reply=$(printf 'hello pcap\n' | in_ns nc -N -w 3 10.0.3.50 7)
[ "$reply" = "hello pcap" ] || fail "TCP echo answered '$reply'"

# Counts the lines of tcpdump's reading of the file that contain TEXT.
count() { grep -c -- "$1" "$WORK/$2"; }
check_capture() {  # check_capture NAME: reads $PCAP into $WORK/NAME.txt and checks its contents
  tcpdump -r "$PCAP" -nn >"$WORK/$1.txt" 2>"$WORK/$1.err" || { cat "$WORK/$1.err"; fail "$1: tcpdump cannot read $PCAP"; }
  if grep -qi "truncated\|bogus\|error" "$WORK/$1.err"; then cat "$WORK/$1.err"; fail "$1: tcpdump complains about $PCAP"; fi
  [ "$(count 'IP 10.0.3.1 > 10.0.3.50: ICMP echo request' "$1.txt")" = 3 ] || { cat "$WORK/$1.txt"; fail "$1: not 3 echo requests in the capture"; }
  [ "$(count 'IP 10.0.3.50 > 10.0.3.1: ICMP echo reply' "$1.txt")" = 3 ] || { cat "$WORK/$1.txt"; fail "$1: not 3 echo replies in the capture"; }
  # The TCP echo: handshake both ways, and the 11 bytes of data each way.
  [ "$(count '10.0.3.1\.[0-9]* > 10.0.3.50\.7: Flags \[S\],' "$1.txt")" = 1 ] || { cat "$WORK/$1.txt"; fail "$1: no SYN to port 7"; }
  [ "$(count '10.0.3.50\.7 > 10.0.3.1\.[0-9]*: Flags \[S\.\],' "$1.txt")" = 1 ] || { cat "$WORK/$1.txt"; fail "$1: no SYN-ACK from port 7"; }
  grep -q '10.0.3.1\.[0-9]* > 10.0.3.50\.7: Flags \[P\.\].*length 11' "$WORK/$1.txt" || { cat "$WORK/$1.txt"; fail "$1: no data to port 7"; }
  grep -q '10.0.3.50\.7 > 10.0.3.1\.[0-9]*: Flags \[P\.\].*length 11' "$WORK/$1.txt" || { cat "$WORK/$1.txt"; fail "$1: no echoed data from port 7"; }
}

kill -0 "$TS_PID" 2>/dev/null || fail "tunstack is no longer running"
check_capture live
log "ok: while tunstack runs, tcpdump reads 3 echo requests, 3 replies and the TCP echo from $PCAP"

# The capture's counters are on the status page's data too.
captured=$(in_ns curl -sf http://10.0.3.50/stats.json | jq '.interfaces[0].device.pcap_packets')
[ "${captured:-0}" -ge "$(wc -l <"$WORK/live.txt")" ] 2>/dev/null || fail "/stats.json: pcap_packets is '$captured'"
log "ok: /stats.json counts $captured captured packets"

stop_tunstack "$TS_PID" INT
status=$?
[ "$status" = 0 ] || fail "SIGINT: exit status $status, expected 0"
check_capture final
records=$(wc -l <"$WORK/final.txt")
grep -q "captured $records packets in $PCAP (0 could not be written)" "$WORK/main.log" ||
  { grep captured "$WORK/main.log"; fail "tunstack's summary does not say it captured the $records packets tcpdump reads"; }
log "ok: after SIGINT the file parses, and its $records packets are those tunstack says it captured"
