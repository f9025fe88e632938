#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# trace.sh - tunstack --trace tcp and --trace-json FILE over a real TUN device: a TCP echo
# exchange with the kernel as the client shows its handshake with options, every state of the
# stack's side from LISTEN to CLOSED in order, the data both ways, and the same events as JSON.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools nc jq

run_expect_failure bad-trace 2 "--trace" "$TUNSTACK" --trace udp
run_expect_failure missing-dir 2 "--trace-json" "$TUNSTACK" --trace-json "$WORK/no-such-dir/t.json"

new_netns
JSON="$WORK/trace.json"
start_tunstack main --trace tcp --trace-json "$JSON" --no-http --no-discard
reply=$(printf 'hello trace\n' | in_ns nc -N -w 3 10.0.3.50 7)
[ "$reply" = "hello trace" ] || fail "TCP echo answered '$reply'"
# The last transition of the stack's side comes with the kernel's final ACK.
wait_for_line "$WORK/main.log" "LAST-ACK -> CLOSED" 5 || { cat "$WORK/main.log"; fail "no LAST-ACK -> CLOSED in the trace"; }
stop_tunstack "$TS_PID" INT || fail "SIGINT: tunstack exited with an error"
T="$WORK/main.log"

expect() {  # expect PATTERN WHAT: the trace has a line matching PATTERN (grep -E)
  grep -Eq -- "$1" "$T" || { cat "$T"; fail "trace: no line for $2 (pattern: $1)"; }
}
expect ' in +tun0 10\.0\.3\.1:[0-9]+ > 10\.0\.3\.50:7 \[S\] seq 0 win [0-9]+ len 0 <mss 1460,sackOK,TS [0-9]+ 0,wscale [0-9]+>' \
  "the kernel's SYN with its options"
expect ' out +tun0 10\.0\.3\.50:7 > 10\.0\.3\.1:[0-9]+ \[S\.\] seq 0 ack 1 win 65535 len 0 <mss 1460,sackOK,TS [0-9]+ [0-9]+,wscale 5>' \
  "the stack's SYN-ACK with its options"
expect ' in +tun0 10\.0\.3\.1:[0-9]+ > 10\.0\.3\.50:7 \[P\.\] seq 1 ack 1 win [0-9]+ len 12' "the 12 bytes in"
expect ' out +tun0 10\.0\.3\.50:7 > 10\.0\.3\.1:[0-9]+ \[P\.\] seq 1 ack 1[0-9]? win [0-9]+ len 12' "the 12 bytes echoed"
expect ' cc +10\.0\.3\.50:7 10\.0\.3\.1:[0-9]+ cwnd [0-9]+ ssthresh [0-9]+ srtt [0-9.]+ms rttvar [0-9.]+ms rto [0-9]+ms' \
  "the connection's congestion figures"

# The stack's side, in order: the listener, then the connection through its states.
grep ' state ' "$T" | sed -E 's/^ *[0-9.]+ state //' >"$WORK/states"
cat >"$WORK/expected" <<'STATES'
[::]:7 CLOSED -> LISTEN
10.0.3.50:7 10.0.3.1:PORT LISTEN -> SYN-RECEIVED
10.0.3.50:7 10.0.3.1:PORT SYN-RECEIVED -> ESTABLISHED
10.0.3.50:7 10.0.3.1:PORT ESTABLISHED -> CLOSE-WAIT
10.0.3.50:7 10.0.3.1:PORT CLOSE-WAIT -> LAST-ACK
10.0.3.50:7 10.0.3.1:PORT LAST-ACK -> CLOSED
[::]:7 LISTEN -> CLOSED
STATES
sed -E 's/10\.0\.3\.1:[0-9]+/10.0.3.1:PORT/' "$WORK/states" | diff -u "$WORK/expected" - ||
  fail "the state transitions differ from the expected sequence"
log "ok: --trace tcp shows the handshake with options, the data, and LISTEN .. LAST-ACK -> CLOSED in order"

# The JSON lines: every line parses, and they are the same events as the text lines.
jq -e . "$JSON" >/dev/null || fail "$JSON: not JSON lines"
text_events=$(grep -Ec '^ *[0-9]+\.[0-9]+ (in|out|state|cc) ' "$T")
json_events=$(wc -l <"$JSON")
[ "$text_events" = "$json_events" ] || fail "--trace tcp printed $text_events events, --trace-json wrote $json_events"
syn=$(jq -c 'select(.event == "segment" and .flags == "S")' "$JSON")
[ "$(printf '%s\n' "$syn" | jq -r '.dir, .dst, .options.mss, .options.sack_permitted' | tr '\n' ' ')" = "in 10.0.3.50:7 1460 true " ] ||
  fail "--trace-json: the SYN reads $syn"
[ "$(jq -r 'select(.event == "state") | .to' "$JSON" | tr '\n' ' ')" = "LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED CLOSED " ] ||
  fail "--trace-json: the states are $(jq -r 'select(.event == "state") | .to' "$JSON" | tr '\n' ' ')"
log "ok: --trace-json wrote the same $json_events events as JSON lines"
