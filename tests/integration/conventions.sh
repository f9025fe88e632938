#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# conventions.sh - tunstack behaves as a daemon should: stdout carries only --trace tcp's lines
# (the ready line and every log line go to stderr), each log line starts with the date and time
# (not with --no-timestamps, nor when stderr is the systemd journal), SIGHUP reopens the --pcap
# and --trace-json files once log rotation has moved them and says so, and a SIGHUP with no file
# to reopen leaves it serving. Offloads turned off by --pcap are reported without -v.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools nc jq tcpdump ping
new_netns

STAMP='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} tunstack: '

# start NAME ARGS...: tunstack in the namespace, stdout to NAME.out, stderr to NAME.log; waits
# for the ready line on stderr. Sets TS_PID.
start() {
  _name=$1
  shift
  ip netns exec "$NS" "$TUNSTACK" "$@" >"$WORK/$_name.out" 2>"$WORK/$_name.log" &
  TS_PID=$!
  PIDS="$PIDS $TS_PID"
  wait_for_line "$WORK/$_name.log" answering 10 || { cat "$WORK/$_name.out" "$WORK/$_name.log"; fail "$_name: not ready in 10 s"; }
}
echo_once() { [ "$(printf '%s\n' "$1" | in_ns nc -N -w 3 10.0.3.50 7)" = "$1" ] || fail "TCP echo of '$1' failed"; }

# --- stdout is the trace, stderr the log, with timestamps ------------------------------------
day=$(date +%F)
start main --trace tcp --pcap "$WORK/cap.pcap" --trace-json "$WORK/trace.jsonl" --no-discard
echo_once before
wait_for_line "$WORK/main.out" "LAST-ACK -> CLOSED" 5 || fail "no trace of the echo connection on stdout"
if grep -Ev '^ *[0-9]+\.[0-9]+ (in|out|state|cc) ' "$WORK/main.out" >"$WORK/not-trace"; then
  cat "$WORK/not-trace"
  fail "stdout has lines other than --trace tcp's"
fi
grep -q "answering" "$WORK/main.log" || fail "the ready line is not on stderr"
if grep -Ev "$STAMP" "$WORK/main.log" >"$WORK/unstamped"; then
  cat "$WORK/unstamped"
  fail "log lines without a leading date and time"
fi
if cut -c1-10 "$WORK/main.log" | grep -v -e "^$day\$" -e "^$(date +%F)\$" >"$WORK/dates"; then
  fail "log lines dated $(sort -u "$WORK/dates" | tr '\n' ' ')rather than today ($day)"
fi
grep -Eq "${STAMP}offloads off: --pcap works on packets as the wire carries them" "$WORK/main.log" ||
  fail "without -v, nothing says that --pcap turned offloads off"
log "ok: stdout carries only the trace; stderr has the ready line, each line dated: $(head -n 1 "$WORK/main.log")"

# --- SIGHUP: the files are still in place, then moved by a log rotation ----------------------
kill -HUP "$TS_PID"
wait_for_line "$WORK/main.log" "SIGHUP: --trace-json .* is still the file being written; nothing to reopen" 5 ||
  fail "SIGHUP with the files in place: no message"
grep -q "SIGHUP: --pcap $WORK/cap.pcap is still the file being written" "$WORK/main.log" || fail "SIGHUP: nothing said about --pcap"
kill -0 "$TS_PID" 2>/dev/null || fail "SIGHUP stopped tunstack"
echo_once still
mv "$WORK/cap.pcap" "$WORK/cap.pcap.1" && mv "$WORK/trace.jsonl" "$WORK/trace.jsonl.1"
kill -HUP "$TS_PID"
wait_for_line "$WORK/main.log" "SIGHUP: reopened --trace-json $WORK/trace.jsonl: a new file" 5 ||
  fail "SIGHUP after the rotation: no 'reopened --trace-json'"
grep -Eq "SIGHUP: reopened --pcap $WORK/cap.pcap: a new file, after [0-9]+ packets" "$WORK/main.log" ||
  fail "SIGHUP after the rotation: no 'reopened --pcap'"
echo_once after
in_ns ping -c 2 -i 0.2 -W 2 10.0.3.50 | grep -q "2 received" || fail "no ping replies after SIGHUP"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0 on SIGTERM after two SIGHUPs"

# The rotated files hold what came before, the new ones what came after; all of them whole.
tcpdump -r "$WORK/cap.pcap.1" -nn -A 2>/dev/null >"$WORK/old.txt" || fail "the rotated pcap file does not read"
tcpdump -r "$WORK/cap.pcap" -nn -A 2>/dev/null >"$WORK/new.txt" || fail "the new pcap file does not read"
grep -q "before" "$WORK/old.txt" && grep -q "still" "$WORK/old.txt" || fail "the rotated pcap lacks the echoes before the rotation"
grep -q "after" "$WORK/new.txt" && grep -q "ICMP echo request" "$WORK/new.txt" || fail "the new pcap lacks the echo and ping after it"
if grep -q "before" "$WORK/new.txt"; then fail "the new pcap repeats packets of the old one"; fi
jq -e . "$WORK/trace.jsonl.1" >/dev/null && jq -e . "$WORK/trace.jsonl" >/dev/null || fail "a --trace-json file is not JSON lines"
[ "$(jq -r 'select(.event == "state") | .to' "$WORK/trace.jsonl" | grep -c ESTABLISHED)" = 1 ] ||
  fail "the new --trace-json file does not hold the one connection made after the rotation"
log "ok: SIGHUP reopens --pcap and --trace-json after a rotation ($(wc -l <"$WORK/old.txt") + $(wc -l <"$WORK/new.txt") lines of tcpdump -A), and leaves them otherwise"

# --- SIGHUP with nothing to reopen; --no-timestamps ------------------------------------------
start plain --no-timestamps
kill -HUP "$TS_PID"
wait_for_line "$WORK/plain.log" "SIGHUP: no --pcap or --trace-json file to reopen; still running" 5 ||
  fail "SIGHUP without files: no message"
in_ns ping -c 1 -W 2 10.0.3.50 | grep -q "1 received" || fail "no ping reply after a SIGHUP without files"
stop_tunstack "$TS_PID" INT || fail "tunstack did not exit 0 on SIGINT after SIGHUP"
if grep -v '^tunstack: ' "$WORK/plain.log" >"$WORK/odd"; then cat "$WORK/odd"; fail "--no-timestamps: lines not starting with 'tunstack: '"; fi
log "ok: SIGHUP without files keeps serving; --no-timestamps: $(head -n 1 "$WORK/plain.log")"

# --- stderr is the journal: JOURNAL_STREAM names it, and journald stamps lines itself --------
: >"$WORK/journal.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/journal.log") ip netns exec "$NS" "$TUNSTACK" >>"$WORK/journal.log" 2>&1 &
TS_PID=$!
PIDS="$PIDS $TS_PID"
wait_for_line "$WORK/journal.log" answering 10 || fail "tunstack (journal) did not start"
stop_tunstack "$TS_PID" TERM || fail "tunstack (journal) did not exit 0"
grep -q '^tunstack: answering' "$WORK/journal.log" || { cat "$WORK/journal.log"; fail "with JOURNAL_STREAM naming stderr, lines still carry timestamps"; }
log "ok: no timestamps when stderr is the journal"
