#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# walkthrough.sh - the scenario behind docs/tcp-walkthrough.md: one HTTP download from tunstack
# in a network namespace of its own, over a link that delays every packet and loses one, to a
# client that stops reading for a while. It records the connection with --trace tcp,
# --trace-json and --pcap, checks that the trace shows each step of the walkthrough (handshake,
# slow start, a loss and its SACK recovery, a zero window, teardown to TIME-WAIT), and rewrites
# the excerpt blocks of the walkthrough between <!-- walkthrough:NAME --> and <!-- /walkthrough -->.
#
# usage: sudo docs/walkthrough.sh [--binary PATH] [--check]
#   (default)      run the scenario, wait out TIME-WAIT (2 MSL = 120 s: about 2 minutes in
#                  all), then rewrite the excerpts in docs/tcp-walkthrough.md and replace
#                  docs/walkthrough.pcap, docs/walkthrough.trace and docs/walkthrough.jsonl
#   --check        run it in a temporary directory (about 12 s, TIME-WAIT is not waited out)
#                  and verify each step; changes nothing (an integration test runs this)
#   --binary PATH  the tunstack to run (default: build/release/apps/tunstack)
# Exit status: 0 ok; 1 failure (the message names the missing step); 2 bad usage; 77 cannot
# run here (not root, no /dev/net/tun, a tool missing) - with CI=true that is a failure too.
set -u

# --- The scenario. The prose of docs/tcp-walkthrough.md describes these values. ---
SEED=31435        # with --loss out:1, this seed drops the 17th packet the stack sends and no
                  # other of its first 1000 (the decisions depend only on the packet count)
LOSS=out:1        # percent of the stack's packets lost
DELAY=20          # ms each way: a round trip of 40 ms that the trace's times show
SIZE=262144       # bytes of the file served (256 KiB); the pcap stays under 400 kB
PAUSE=10          # s the client's reader sleeps before reading: the window closes meanwhile
RMEM='4096 16384 32768'   # the namespace's net.ipv4.tcp_rmem: a small receive buffer
URL=http://10.0.3.50/walk.txt

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DOC=$HERE/tcp-walkthrough.md
BINARY=$ROOT/build/release/apps/tunstack
CHECK=""

say() { echo "[walkthrough] $*"; }
usage() {
  echo "usage: $0 [--binary PATH] [--check]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --binary) [ $# -ge 2 ] || usage; BINARY=$2; shift 2 ;;
    --binary=*) BINARY=${1#--binary=}; shift ;;
    --check) CHECK=1; shift ;;
    -h|--help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$0: unknown option '$1'" >&2; usage ;;
  esac
done

skip() {
  if [ "${CI:-}" = true ]; then
    echo "[walkthrough] FAIL: cannot run: $* (CI=true, so a skip counts as a failure)" >&2
    exit 1
  fi
  echo "[walkthrough] SKIP: $*"
  exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root for a network namespace and a TUN device (sudo $0)"
[ -c /dev/net/tun ] || skip "needs /dev/net/tun (load the TUN driver: sudo modprobe tun)"
for tool in ip curl sha256sum timeout; do
  command -v "$tool" >/dev/null 2>&1 || skip "needs $tool (sudo scripts/install-deps)"
done
[ -x "$BINARY" ] || {
  echo "[walkthrough] FAIL: no tunstack at $BINARY (build it: cmake --preset release && cmake --build --preset release, or pass --binary PATH)" >&2
  exit 1
}

NS="tunstack-walk-$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tunstack-walk.XXXXXX")
NS_CREATED=""
TS_PID=""
CLIENT_PID=""
cleanup() {
  for pid in $CLIENT_PID $TS_PID; do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  [ -n "$NS_CREATED" ] && ip netns delete "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
  echo "[walkthrough] FAIL: $*" >&2
  for f in "$WORK/tunstack.err" "$WORK/client.err"; do
    [ -s "$f" ] && { echo "[walkthrough] --- $(basename "$f"):" >&2; tail -n 15 "$f" >&2; }
  done
  exit 1
}

# --- The namespace: loopback up, no IPv6 (so the capture holds only the connection), and the
# small receive buffer. Both sysctls are per namespace. ---
ip netns add "$NS" || fail "cannot create network namespace $NS"
NS_CREATED=1
ip -n "$NS" link set lo up || fail "cannot bring up loopback in $NS"
ip netns exec "$NS" sh -c "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6" 2>/dev/null
ip netns exec "$NS" sh -c "echo '$RMEM' >/proc/sys/net/ipv4/tcp_rmem" ||
  fail "cannot set net.ipv4.tcp_rmem in $NS"

mkdir "$WORK/www" && yes 'tunstack walkthrough: one connection, five steps of TCP.' | head -c "$SIZE" >"$WORK/www/walk.txt"

# --- tunstack, serving the file with the trace, the JSON lines and the capture on. ip netns exec
# execs, so $! is tunstack's own PID. ---
started=$(date +%s)
ip netns exec "$NS" "$BINARY" --addr6 none --no-echo --no-discard --www "$WORK/www" \
  --trace tcp --trace-json "$WORK/walkthrough.jsonl" --pcap "$WORK/walkthrough.pcap" \
  --delay "$DELAY" --loss "$LOSS" --seed "$SEED" >"$WORK/tunstack.out" 2>"$WORK/tunstack.err" &
TS_PID=$!
deadline=$(($(date +%s) + 10))
until grep -q answering "$WORK/tunstack.err" 2>/dev/null; do  # the ready line is on stderr
  kill -0 "$TS_PID" 2>/dev/null || { wait "$TS_PID"; fail "tunstack exited with status $? before it was ready"; }
  [ "$(date +%s)" -lt "$deadline" ] || fail "tunstack did not start within 10 s"
  sleep 0.05
done
say "tunstack $BINARY: --delay $DELAY --loss $LOSS --seed $SEED, serving $SIZE bytes"

# --- The client: curl asks the stack to close after the answer (so the stack closes first and
# ends in TIME-WAIT); its output goes to a reader that sleeps first, so curl blocks on the full
# pipe, stops reading the socket, and the kernel's receive window closes. ---
timeout 60 ip netns exec "$NS" sh -c "
  { curl -sS -H 'Connection: close' '$URL'; echo \$? >'$WORK/curl.status'; } |
  { sleep $PAUSE; cat >'$WORK/received'; }" 2>"$WORK/client.err" &
CLIENT_PID=$!
wait "$CLIENT_PID"
status=$?
CLIENT_PID=""
[ "$status" = 0 ] || fail "the client failed (status $status)"
[ "$(cat "$WORK/curl.status" 2>/dev/null)" = 0 ] || fail "curl failed (status $(cat "$WORK/curl.status" 2>/dev/null))"
want=$(sha256sum <"$WORK/www/walk.txt" | cut -d' ' -f1)
got=$(sha256sum <"$WORK/received" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "the file arrived damaged: sha256 $got, served $want"
say "transfer complete: $SIZE bytes, sha256 matches"

# wait_for TEXT SECONDS: until the trace has TEXT.
wait_for() {
  deadline=$(($(date +%s) + $2))
  while ! grep -q -- "$1" "$WORK/tunstack.out"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
wait_for '-> TIME-WAIT' 5 || fail "teardown: the stack's side never reached TIME-WAIT"
if [ -z "$CHECK" ]; then
  say "waiting out TIME-WAIT (2 MSL = 120 s in lwIP) ..."
  wait_for 'TIME-WAIT -> CLOSED' 140 || fail "teardown: TIME-WAIT did not end within 140 s"
fi
kill -INT "$TS_PID"
wait "$TS_PID"
status=$?
TS_PID=""
[ "$status" = 0 ] || fail "tunstack exited with status $status on SIGINT"

# --- The trace: only the event lines (the second column is in, out, state or cc). ---
grep -E '^ *[0-9]+\.[0-9]+ (in|out|state|cc) ' "$WORK/tunstack.out" >"$WORK/walkthrough.trace"

# One pass finds each step, writes its excerpt to $WORK/excerpt.NAME and says what is missing.
# Annotations after "  <-" are added here; the trace lines themselves are unchanged.
awk -v dir="$WORK" -v full="$([ -z "$CHECK" ] && echo 1 || echo 0)" '
function val(name,   i) { for (i = 3; i < NF; i++) if ($i == name) return $(i + 1); return "" }
function missing(step, what) { print "missing step: " step ": " what > "/dev/stderr"; bad = 1 }
function emit(name, from, to,   i) {
  for (i = from; i <= to; i++) print line[i] (note[i] == "" ? "" : "  <- " note[i]) > (dir "/excerpt." name)
}
function gap(name) { print "   ..." > (dir "/excerpt." name) }
{
  n++; line[n] = $0; kind[n] = $2; t[n] = $1 + 0
  if ($2 == "in" || $2 == "out") {
    flags[n] = $7; seq[n] = val("seq") + 0; ack[n] = val("ack") + 0
    win[n] = val("win") + 0; len[n] = val("len") + 0
    # SACK blocks, "sack LEFT:RIGHT" each (relative, like seq and ack)
    s = $0
    while (match(s, /sack [0-9]+:[0-9]+/)) {
      split(substr(s, RSTART + 5, RLENGTH - 5), edge, ":")
      nsack[n]++; sl[n, nsack[n]] = edge[1] + 0; sr[n, nsack[n]] = edge[2] + 0
      s = substr(s, RSTART + RLENGTH)
    }
  }
  if ($2 == "cc") { cwnd[n] = val("cwnd") + 0; ssth[n] = val("ssthresh") + 0; srtt[n] = val("srtt") + 0 }
  if ($2 == "state" && $4 != "") to_state[n] = $NF
}
END {
  # 1. Handshake: the listener, the SYN, SYN-ACK, ACK, the request and the first answer.
  for (i = 1; i <= n; i++) if (kind[i] == "in" && flags[i] == "[S]") { syn = i; break }
  for (i = 1; i <= n; i++) if (kind[i] == "out" && flags[i] == "[S.]") { synack = i; break }
  if (!syn || line[syn] !~ /<mss [0-9]+,sackOK,TS [0-9]+ 0,wscale [0-9]+>/)
    missing("handshake", "the kernel SYN with mss, sackOK, TS and wscale")
  if (!synack || line[synack] !~ /<mss [0-9]+,sackOK,TS [0-9]+ [0-9]+,wscale [0-9]+>/)
    missing("handshake", "the stack SYN-ACK with mss, sackOK, TS and wscale")
  mss = 536; if (syn && match(line[syn], /<mss [0-9]+/)) mss = substr(line[syn], RSTART + 5, RLENGTH - 5) + 0
  for (i = 1; i <= n; i++) if (to_state[i] == "ESTABLISHED") { est = i; break }
  if (!est) missing("handshake", "SYN-RECEIVED -> ESTABLISHED")
  for (i = 1; i <= n; i++) if (kind[i] == "out" && len[i] > 0) { first_data = i; break }
  if (first_data) emit("handshake", 1, first_data)

  # 2. and 3. The first retransmission: an out segment that carries nothing new. hi[i] is the
  # end of what had been sent before line i (SND.NXT).
  for (i = 1; i <= n; i++) {
    hi[i] = sent
    if (kind[i] == "out" && len[i] > 0 && seq[i] + len[i] > sent) sent = seq[i] + len[i]
  }
  for (i = 1; i <= n; i++) if (kind[i] == "out" && len[i] > 0 && hi[i] && seq[i] + len[i] <= hi[i]) { retx = i; break }
  if (!retx) { missing("loss", "no retransmission in the trace"); exit 1 }
  for (i = 1; i < retx; i++) if (kind[i] == "out" && seq[i] == seq[retx] && len[i] > 0) { lost = i; break }
  if (!lost) { missing("loss", "the first retransmission (seq " seq[retx] ") repeats no segment sent before it"); exit 1 }
  note[lost] = "lost: dropped by --loss on its way to the kernel"
  hole = seq[lost]; hole_end = hole + len[lost]
  recover = hi[retx]   # what was outstanding when the recovery began: it ends when that is acknowledged

  # Slow start: cwnd grows with the ACKs before the loss, ssthresh stays where it started.
  grow = 0; for (i = first_data; i < retx; i++) if (kind[i] == "cc") {
    if (prev_cwnd && cwnd[i] > prev_cwnd && ssth[i] == first_ssth) grow++
    if (!prev_cwnd) first_ssth = ssth[i]
    prev_cwnd = cwnd[i]
  }
  if (grow < 3) missing("slow start", "cwnd growing on ACKs before the loss (" grow " increases)")
  emit("slowstart", first_data + 1, lost)

  # The recovery (RFC 6675 with RACK, RFC 8985: lwIP patch 0003). The kernel acknowledges the
  # hole again and again, with SACK blocks (RFC 2018) for what arrived above it; an ACK that
  # SACKs new data is a duplicate ACK, whatever its window (RFC 6675 section 2). sacked[i]: the
  # bytes that line i SACKs above its ack (D-SACK blocks, below the ack, do not count).
  for (i = lost + 1; i <= n; i++) if (kind[i] == "in") {
    for (k = 1; k <= nsack[i]; k++) if (sl[i, k] >= ack[i]) sacked[i] += sr[i, k] - sl[i, k]
  }
  for (i = retx + 1; i <= n; i++) if (kind[i] == "in" && ack[i] > hole) { recovered = i; break }
  if (!recovered) { missing("loss", "no ACK covers the retransmitted segment"); exit 1 }
  dups = 0; most = 0; sacked_hi = 0; prev_ack = -1
  for (i = lost + 1; i < recovered; i++) {
    if (kind[i] != "in") continue
    if (ack[i] == hole && sacked[i] > most) {
      most = sacked[i]
      for (k = 1; k <= nsack[i]; k++) if (sl[i, k] >= hole_end && sr[i, k] > sacked_hi) sacked_hi = sr[i, k]
      segs = int(most / len[lost] + 0.5)
      what = segs " segment" (segs == 1 ? "" : "s") " SACKed above the hole"
      # the first ACK up to the hole acknowledges new data as well: not a duplicate
      note[i] = prev_ack == hole ? "duplicate ACK " (++dups) ": " what : "acknowledges up to the hole; " what
      if (i < retx) { sacks_before++; sacked_at_retx = most; hi_at_retx = sacked_hi }
    }
    prev_ack = ack[i]
  }
  if (!sacks_before) missing("loss", "no ACK with SACK blocks above the lost segment before its retransmission")

  # What found the loss: RACK (a segment sent after it has arrived, later by more than the
  # reordering window, a quarter of the round trip) or DupThresh (three segments above it
  # SACKed); without either, the reordering timer of RACK (patch 0005).
  for (i = lost + 1; i < retx; i++) if (kind[i] == "out" && seq[i] + len[i] == hi_at_retx) last_sacked = i
  for (i = retx; i > 0; i--) if (kind[i] == "cc" && srtt[i] > 0) { rtt_ms = srtt[i]; break }
  dt = last_sacked ? (t[last_sacked] - t[lost]) * 1000 : 0
  rack = last_sacked && dt > rtt_ms / 4
  segs = int(sacked_at_retx / len[lost] + 0.5)
  dupthresh = segs >= 3
  how = rack && dupthresh ? "RACK and DupThresh" : rack ? "RACK" : dupthresh ? "DupThresh" : "RACK reordering timer"
  note[retx] = "the hole alone, sent again: " (rack ? sprintf("RACK, the SACKed segment left %.1f ms after it", dt) : "") \
    (rack && dupthresh ? "; " : "") (dupthresh ? segs " segments SACKed above it (DupThresh)" : "") \
    (!rack && !dupthresh ? "RACK reordering timer" : "")

  # Nothing the kernel holds is sent again, and the hole only once, before the cumulative ACK
  # (a retransmission of unSACKed data above the hole would be a tail loss probe: allowed).
  for (i = retx + 1; i < recovered; i++) if (kind[i] == "out" && len[i] > 0 && seq[i] + len[i] <= hi[i]) {
    if (seq[i] == hole) missing("loss", "the hole was retransmitted twice before the ACK that covers it")
    else if (seq[i] >= hole_end && seq[i] + len[i] <= sacked_hi) missing("loss", "seq " seq[i] ", which the kernel had SACKed, was sent again")
    else note[i] = "tail loss probe in the recovery"
  }
  if (ack[recovered] < sacked_hi) missing("loss", "the first ACK past the hole (ack " ack[recovered] ") does not cover what was SACKed (up to " sacked_hi ")")
  note[recovered] = "cumulative ACK: the hole and all that was SACKed above it"
  for (i = recovered; i <= n; i++) if (kind[i] == "in" && ack[i] >= recover) { rec_end = i; break }
  if (!rec_end) { missing("loss", "no ACK covers what was outstanding when the recovery began (" recover ")"); exit 1 }
  note[rec_end] = (rec_end == recovered ? note[recovered] "; " : "") "recovery ends: all sent before it began is acknowledged"

  # The cut: ssthresh and cwnd at half of what was in flight (RFC 6675 section 5 (4.2)); a
  # timeout would have left cwnd at one segment.
  for (i = lost + 1; i <= retx + 3 && i < recovered; i++) if (kind[i] == "cc" && ssth[i] < first_ssth) { cut = i; break }
  if (!cut) missing("loss", "no cc line with ssthresh cut at the recovery")
  else if (cwnd[cut] <= mss) missing("loss", "cwnd " cwnd[cut] " at the recovery: one segment, a timeout rather than a SACK recovery")
  else {
    flight = hi[cut] - hole
    note[cut] = "recovery begins: " (cwnd[cut] == ssth[cut] && ssth[cut] == int(flight / 2) ? \
      "cwnd = ssthresh = " flight " in flight / 2" : "cwnd and ssthresh cut")
    # New data in the recovery goes out as the pipe (sent, not SACKed, not lost: RFC 6675
    # SetPipe) leaves room in cwnd.
    cur_ack = hole; cur = sacked_at_retx
    for (i = retx + 1; i < rec_end; i++) {
      if (kind[i] == "in") { cur_ack = ack[i]; cur = sacked[i] }
      if (kind[i] == "out" && len[i] > 0 && seq[i] >= hi[i]) {
        pipe = seq[i] - cur_ack - cur
        if (pipe + len[i] <= cwnd[cut]) note[i] = "new data: pipe " pipe " + " len[i] " <= cwnd " cwnd[cut]
      }
    }
  }
  loss_end = rec_end
  for (i = rec_end + 1; i <= n && i <= rec_end + 5; i++) if (kind[i] == "cc") { loss_end = i; break }
  if (loss_end != rec_end && cut && cwnd[loss_end] == ssth[cut]) note[loss_end] = "cwnd stays at ssthresh: congestion avoidance"
  emit("loss", lost, loss_end)
  printf "a SACK recovery (%s; %d duplicate ACK%s with SACK blocks; the hole sent again, alone)", how, dups, dups == 1 ? "" : "s" > (dir "/recovery")

  # 4. Zero window: the kernel advertises win 0, lwIP probes, the window opens again.
  for (i = 1; i <= n; i++) if (kind[i] == "in" && win[i] == 0 && i > syn + 2) { zero = i; break }
  if (!zero) { missing("zero window", "no segment from the kernel with win 0"); exit 1 }
  for (i = zero - 1; i > loss_end; i--) if (kind[i] == "in" && win[i] >= 1448) { zw_start = i; break }
  if (!zw_start) zw_start = zero - 1
  note[zero] = "zero window"
  for (i = zw_start; i < zero; i++) {
    if (kind[i] == "in") small = win[i] < 1448 ? win[i] : 0
    if (kind[i] == "out" && small && len[i] == small) note[i] = "persist timer: the next segment, split to fit the window"
  }
  for (i = zero + 1; i <= n; i++) {
    if (kind[i] == "out" && len[i] == 1) {
      probes++
      note[i] = "zero-window probe " probes sprintf(", %.2f s after the %s", t[i] - t[probes > 1 ? last_probe : zero], probes > 1 ? "last" : "zero window")
      last_probe = i
    }
    if (kind[i] == "in" && win[i] > 0) { update = i; note[i] = "window update"; break }
  }
  if (!probes) missing("zero window", "no zero-window probe (an out segment of len 1) while the window was 0")
  if (!update) missing("zero window", "no window update after the zero window")

  # After the recovery: congestion avoidance (the cc lines) and, if the kernel was slow to
  # acknowledge, tail loss probes (RFC 8985 section 7, patch 0004): the last segment sent
  # again, its ACK, and the D-SACK (RFC 2883) that says the kernel got it twice.
  for (i = loss_end; i > 0; i--) if (kind[i] == "cc") { last_ssth = ssth[i]; last_cwnd = cwnd[i]; break }
  for (i = loss_end + 1; i < zero; i++) {
    if (kind[i] == "out" && len[i] > 0 && seq[i] + len[i] <= hi[i]) {
      for (j = i - 1; j > 0; j--) if (kind[j] == "out" && seq[j] == seq[i] && len[j] == len[i]) break
      note[i] = sprintf("tail loss probe: the last segment again, %.1f ms after it was sent", (t[i] - t[j]) * 1000)
      pick[i] = 1; tlps++; pending = 1
      for (j = i + 1; j < zero && kind[j] != "in"; j++);
      pick[j] = 1
      if (j < zero && ack[j] == seq[i] + len[i] && nsack[j] == 0)
        note[j] = "up to the end of the probe, without a D-SACK: the original arrived"
    }
    if (kind[i] == "in") for (k = 1; k <= nsack[i]; k++) if (sl[i, k] < ack[i]) { note[i] = "D-SACK: " sl[i, k] ":" sr[i, k] " arrived twice"; pick[i] = 1 }
    if (kind[i] == "cc") {
      if (pending && ssth[i] != last_ssth && cwnd[i] == ssth[i]) {
        # half of cwnd, which this ACK may have raised by a segment first
        half = ssth[i] == int(last_cwnd / 2) || ssth[i] == int((last_cwnd + mss) / 2)
        note[i] = "cwnd = ssthresh = " (half ? "half of cwnd" : ssth[i] == 2 * mss ? "2 segments, the floor" : "cut") \
          ": lwIP took the probe for a repaired loss"
        pending = 0
      }
      last_ssth = ssth[i]; last_cwnd = cwnd[i]
    }
  }
  for (i = loss_end + 1; i < zw_start; i++) if (kind[i] == "cc" || pick[i]) emit("avoidance", i, i)
  if (update) {
    for (i = update + 1; i <= n; i++) if (kind[i] == "out" && len[i] > 1) { if (++after == 2) { zw_end = i; break } }
    if (!zw_end) missing("zero window", "no data after the window update")
    else emit("zerowindow", zw_start, zw_end)
  }

  # 5. Teardown: the stack closed first (FIN-WAIT-1 when the server shut down its side), its
  # FIN, the kernel ACK and FIN, TIME-WAIT; in a full run, its end 2 MSL later. When the kernel
  # acknowledges our FIN in the segment that carries its own (a slower run, e.g. under ASan),
  # FIN-WAIT-1 goes straight to TIME-WAIT (RFC 9293 3.10.7.4): both orders are right.
  expect = "SYN-RECEIVED ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT"
  expect_combined = "SYN-RECEIVED ESTABLISHED FIN-WAIT-1 TIME-WAIT"
  for (i = 1; i <= n; i++) if (to_state[i] != "" && line[i] !~ /\[::\]:[0-9]+ [A-Z-]+ -> /) {
    states = states (states == "" ? "" : " ") to_state[i]
    if (to_state[i] == "FIN-WAIT-1") fw1 = i
    if (to_state[i] == "TIME-WAIT") tw = i
    if (to_state[i] == "CLOSED") closed = i
  }
  if (index(states, expect) != 1 && index(states, expect_combined) != 1)
    missing("teardown", "states " states ", expected " expect " (or without FIN-WAIT-2)")
  for (i = 1; i <= n; i++) if (kind[i] == "out" && flags[i] ~ /F/) { fin_out = i; break }
  for (i = 1; i <= n; i++) if (kind[i] == "in" && flags[i] ~ /F/) { fin_in = i; break }
  if (!fin_out) missing("teardown", "no FIN from the stack")
  if (!fin_in) missing("teardown", "no FIN from the kernel")
  for (i = fin_in + 1; i <= n; i++) if (kind[i] == "out") { last_ack = i; break }
  if (fin_in && !last_ack) missing("teardown", "no ACK of the kernel FIN")
  # 2 MSL (120 s) from entering TIME-WAIT (RFC 9293 3.10.7.4; lwIP patch 0010), ended on a tick
  # of the slow timer: not before, and certainly not at the shutdown of tunstack.
  if (full && (!closed || t[closed] - t[tw] < 119.9)) missing("teardown", "TIME-WAIT -> CLOSED 2 MSL (120 s) after TIME-WAIT began")
  if (closed) note[closed] = sprintf("%.1f s after TIME-WAIT began", t[closed] - t[tw])
  if (fw1 && fin_out && last_ack) {
    emit("teardown", fw1, fw1); gap("teardown")
    emit("teardown", fin_out - 1, last_ack)
    if (full && closed) { gap("teardown"); emit("teardown", closed, closed) }
  }
  exit bad
}' "$WORK/walkthrough.trace" || fail "the trace lacks a step of the walkthrough (see above); the trace: $(wc -l <"$WORK/walkthrough.trace") lines"

elapsed=$(($(date +%s) - started))
say "every step is in the trace: handshake with options, slow start, loss and $(cat "$WORK/recovery"), zero window with $(grep -c 'zero-window probe' "$WORK/excerpt.zerowindow") probe(s), teardown to TIME-WAIT ($elapsed s)"
[ -n "$CHECK" ] && exit 0

# --- Rewrite the excerpt blocks of the walkthrough and put the recordings beside it. Existing
# files are overwritten in place (they keep their owner); new ones get the doc's owner. ---
awk -v dir="$WORK" '
/^<!-- walkthrough:[a-z]+ -->$/ {
  print
  name = $0; sub(/^<!-- walkthrough:/, "", name); sub(/ -->$/, "", name)
  file = dir "/excerpt." name
  if ((getline l < file) <= 0) { print "no excerpt for block " name > "/dev/stderr"; bad = 1 }
  print "```"; print l; while ((getline l < file) > 0) print l; print "```"
  seen[name] = 1; skipping = 1; next
}
/^<!-- \/walkthrough -->$/ { skipping = 0 }
!skipping { print }
END {
  split("handshake slowstart loss avoidance zerowindow teardown", want, " ")
  for (i = 1; i in want; i++) if (!(want[i] in seen)) { print "no block <!-- walkthrough:" want[i] " --> in the doc" > "/dev/stderr"; bad = 1 }
  exit bad
}' "$DOC" >"$WORK/doc.md" || fail "cannot rewrite $DOC"
cat "$WORK/doc.md" >"$DOC"
for f in walkthrough.pcap walkthrough.trace walkthrough.jsonl; do
  new=""; [ -e "$HERE/$f" ] || new=1
  cat "$WORK/$f" >"$HERE/$f"
  [ -n "$new" ] && chown --reference="$DOC" "$HERE/$f" 2>/dev/null
done
say "rewrote the excerpts in $DOC; wrote docs/walkthrough.pcap ($(wc -c <"$HERE/walkthrough.pcap") bytes), docs/walkthrough.trace, docs/walkthrough.jsonl"
