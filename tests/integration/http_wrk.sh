#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# http_wrk.sh - 1,000 keep-alive HTTP clients (Debian's wrk) for 10 s against a small file
# served by tunstack (--www): no socket errors, no non-2xx answers; reports requests/s. The
# server's connection cap (--http-max-connections, default 512) is raised above the client
# count, or the clients beyond it would get 503.
# TIMEOUT is wrk's per-request timeout (its default, 2 s; the ASan build, about 2.5 times
# slower, is given 10 s: it checks memory safety under this load, not latency).
# usage: http_wrk.sh TUNSTACK [CONNECTIONS [SECONDS [TIMEOUT]]]
. "$(dirname "$0")/lib.sh"
CONNECTIONS=${2:-1000}
SECONDS_RUN=${3:-10}
TIMEOUT=${4:-2s}
require_root_and_tun
require_tools wrk curl jq
new_netns

mkdir -p "$WORK/www"
printf 'hello from tunstack\n' >"$WORK/www/hello.txt"
start_tunstack main --www "$WORK/www" --http-max-connections $((CONNECTIONS + 100))
# 1,000 clients that each send a request as soon as the last answer arrives keep up to 1,000
# packets queued towards the stack at once: more than the kernel's default TUN queue (500
# packets), whose drops cost a kernel retransmission timeout each (measured: 8,000 drops and
# 100-400 requests over wrk's 2 s timeout). tunstack sets a deeper one (--txqueuelen, 40000).
[ "$(in_ns cat /sys/class/net/tun0/tx_queue_len)" -ge 1000 ] || fail "tun0's txqueuelen is $(in_ns cat /sys/class/net/tun0/tx_queue_len), not tunstack's default"
stats_json >"$WORK/baseline.json" || fail "GET /stats.json failed"
[ "$(in_ns curl -sf http://10.0.3.50/hello.txt)" = "hello from tunstack" ] || fail "GET /hello.txt failed"

# wrk needs a descriptor per connection; requests slower than TIMEOUT count as errors.
(ulimit -n $((CONNECTIONS + 1024)) && in_ns wrk -t 2 -c "$CONNECTIONS" -d "${SECONDS_RUN}s" --timeout "$TIMEOUT" --latency \
  http://10.0.3.50/hello.txt) >"$WORK/wrk.log" 2>&1 || { cat "$WORK/wrk.log"; fail "wrk failed"; }
cat "$WORK/wrk.log"
log "tun0: $(in_ns cat /sys/class/net/tun0/statistics/tx_dropped) packets dropped at the kernel's queue (txqueuelen $(in_ns cat /sys/class/net/tun0/tx_queue_len)); kernel TCP: $(in_ns nstat -az TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPSynRetrans 2>/dev/null | awk 'NR > 1 { printf "%s %s ", $1, $2 }')"
requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$WORK/wrk.log")
rate=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/wrk.log")
[ "${requests:-0}" -gt 0 ] || fail "wrk made no requests"
if grep -q "Socket errors" "$WORK/wrk.log"; then fail "wrk saw socket errors: $(grep 'Socket errors' "$WORK/wrk.log")"; fi
if grep -q "Non-2xx" "$WORK/wrk.log"; then fail "wrk saw answers other than 2xx: $(grep 'Non-2xx' "$WORK/wrk.log")"; fi

# The server's side of the story: every connection accepted, none turned away, no 5xx.
stats_json >"$WORK/after.json" || fail "GET /stats.json failed after wrk"
http=$(jq -c '.services[] | select(.name == "http") | {connections_total, errors, extra}' "$WORK/after.json")
rejected=$(jq '.services[] | select(.name == "http") | .extra.rejected_busy // 0' "$WORK/after.json")
[ "$rejected" = 0 ] || fail "the server answered 503 to $rejected connections: $http"
log "ok: $CONNECTIONS keep-alive connections for ${SECONDS_RUN} s: $requests requests, $rate requests/s, no errors; server: $http"

took=$(wait_for_baseline 60 "$WORK/baseline.json")
log "ok: TCP pcbs and lwIP pools back to the baseline ${took} s after wrk ended"
