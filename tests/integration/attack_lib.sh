# SPDX-License-Identifier: BSD-3-Clause
# attack_lib.sh - helpers for the attack tests of issue 12 (sourced after lib.sh): a ping that
# runs alongside an attack and its verdict, failures collected so that a test reports every
# criterion it measured before it fails, and a check that the kernel stayed silent towards the
# spoofed peer (raw_peer's address, which the namespace's kernel neither owns nor forwards to).

FAILURES=""

# failed TEXT: records a failed criterion (printed now, and again by finish).
failed() {
  log "FAILED: $*"
  FAILURES="$FAILURES
  - $*"
}

# finish: fails the test with every recorded criterion, or passes it.
finish() {
  kill -0 "$TS_PID" 2>/dev/null || failed "tunstack died"
  [ -z "$FAILURES" ] || fail "failed checks ($(echo "$FAILURES" | grep -c .)):$FAILURES"
  log "ok"
}

# start_ping NAME INTERVAL: pings 10.0.3.50 every INTERVAL seconds in the background until
# stop_ping (ip netns exec execs, so PING_PID is ping's own PID).
start_ping() {
  ip netns exec "$NS" ping -n -i "$2" -W 2 10.0.3.50 >"$WORK/$1.ping" 2>&1 &
  PING_PID=$!
  PIDS="$PIDS $PING_PID"
  PING_FILE="$WORK/$1.ping"
}

# stop_ping: SIGINT, so that ping prints its summary.
stop_ping() {
  kill -INT "$PING_PID" 2>/dev/null
  wait "$PING_PID" 2>/dev/null
}

# ping_verdict WHAT MAX_MS: after stop_ping, prints the figures of the ping and records a
# failure unless every request but the last (which may have been in flight at SIGINT) was
# answered and no answer took MAX_MS or longer. Replies that come late are still counted by
# ping (with their time), so a stall shows as a long time or, if it outlasted ping, a loss.
ping_verdict() {
  _sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$PING_FILE")
  _got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$PING_FILE")
  _times=$(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$PING_FILE")
  _figures=$(echo "$_times" | awk -v max="$2" '
    NF { n++; if ($1 > worst) worst = $1; if ($1 >= 100) o100++; if ($1 >= max) over++ }
    END { printf "slowest %.1f ms, %d at 100 ms or more, %d at %d ms or more", worst, o100, over, max }')
  _over=$(echo "$_figures" | sed -n 's/.*, \([0-9]*\) at [0-9]* ms or more$/\1/p')
  log "ping $1: ${_got:-0} of ${_sent:-0} answered; $_figures"
  [ -n "$_sent" ] || { cat "$PING_FILE" >&2; failed "ping $1 printed no summary"; return; }
  [ "$((_sent - ${_got:-0}))" -le 1 ] || failed "ping $1: $((_sent - ${_got:-0})) of $_sent requests never answered"
  [ "${_over:-0}" = 0 ] || failed "ping $1: ${_over} answers took ${2} ms or more"
}

# kernel_silent: records a failure if the namespace's kernel sent any ICMP message (it must
# drop the stack's packets to the spoofed address without an error: not local, not forwarded).
# Only where nothing else sends ICMP (ping counts too).
kernel_silent() {
  _icmp=$(in_ns awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "OutMsgs") c = i; h = 1 } else print $c }' /proc/net/snmp)
  _dropped=$(in_ns awk '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InAddrErrors") c = i; h = 1 } else print $c }' /proc/net/snmp)
  log "kernel: dropped ${_dropped} packets not addressed to it (the stack's to the spoofed peer), sent ${_icmp} ICMP messages"
  [ "$_icmp" = 0 ] || failed "the namespace's kernel sent $_icmp ICMP messages: the spoofed peer is not silent"
}

# small_asan_quarantine: for tests that bound tunstack's RSS. In an ASan build, freed memory
# stays resident in ASan's quarantine (256 MB by default), so 50,000 packets that come and go
# raise RSS by 100 MB even when the stack keeps none of them; with 8 MB, by about 11 MB. Only
# ASan reads ASAN_OPTIONS: elsewhere this changes nothing.
small_asan_quarantine() {
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
  export ASAN_OPTIONS
}

# tunstack_accepts NAME OPTION...: starts tunstack with OPTION... and returns 0 if it started; if
# it refused the option (exit status 2, "bad option"), records that failure and returns 1, with
# tunstack's message, so the test can go on without the option to measure the behaviour.
tunstack_accepts() {
  _name=$1
  shift
  ip netns exec "$NS" "$TUNSTACK" "$@" >"$WORK/$_name.log" 2>&1 &
  TS_PID=$!
  PIDS="$PIDS $TS_PID"
  _deadline=$(($(date +%s) + 10))
  until grep -q "answering" "$WORK/$_name.log" 2>/dev/null; do
    if ! kill -0 "$TS_PID" 2>/dev/null; then
      wait "$TS_PID"
      _status=$?
      failed "tunstack does not take $* (exit status $_status: $(head -n 1 "$WORK/$_name.log"))"
      mv "$WORK/$_name.log" "$WORK/$_name.refused"
      return 1
    fi
    [ "$(date +%s)" -lt "$_deadline" ] || fail "tunstack ($_name) did not start within 10 s"
    sleep 0.05
  done
  return 0
}
