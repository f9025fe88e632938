#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# services.sh - the tunstack program's services, with the kernel's own tools as clients: the
# HTTP server (status page, /stats.json, /metrics, keep-alive, static files, conditional GETs,
# traversal attempts, error statuses, other HTTP versions, Expect: 100-continue, every limit),
# TCP echo full duplex, UDP echo, discard.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools curl jq nc
new_netns

BASE=http://10.0.3.50
stat_json() { in_ns curl -sf "$BASE/stats.json"; }
service_counter() {  # service_counter NAME PROTOCOL FIELD
  stat_json | jq -r ".services[] | select(.name == \"$1\" and .protocol == \"$2\") | .$3"
}
# http_raw REQUEST: sends raw bytes to port 80 and prints the status code of the answer.
http_raw() {
  printf "$1" | in_ns nc -w 3 10.0.3.50 80 | head -n 1 | cut -d' ' -f2
}

# A site for --www: a 4 MiB file, an index, and a symlink that leads out of it.
mkdir -p "$WORK/site/sub" "$WORK/outside"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$WORK/site/big.bin"
echo "<h1>hello</h1>" >"$WORK/site/sub/index.html"
echo "private" >"$WORK/outside/secret.txt"
ln -s "$WORK/outside/secret.txt" "$WORK/site/escape.txt"

start_tunstack main --stats-interval 0.5 --www "$WORK/site" --http-max-request-line 200 --http-max-header-bytes 1024 \
  --http-max-headers 10 --http-max-body 1000 --http-header-timeout 2 --http-idle-timeout 3

# --- HTTP: the built-in pages ---------------------------------------------------------------
in_ns curl -sf -D "$WORK/home.head" -o "$WORK/home.html" "$BASE/" || fail "GET / failed"
grep -q "<h1>tunstack</h1>" "$WORK/home.html" || fail "the status page has no title"
grep -q "http-equiv=\"refresh\"" "$WORK/home.html" || fail "the status page does not refresh itself"
for section in Traffic "<b>TCP</b>" "<b>Memory</b>" Interfaces "Drops by reason" Protocols "TCP connections" Services; do
  grep -q "$section" "$WORK/home.html" || fail "the status page has no '$section' section"
done
for header in "HTTP/1.1 200 OK" "Date: " "Server: tunstack/" "Content-Type: text/html" "Content-Length: "; do
  grep -q "^$header" "$WORK/home.head" || fail "GET / has no '$header' header"
done
in_ns curl -sf -I "$BASE/" >"$WORK/head.out" || fail "HEAD / failed"
grep -q "^Content-Length: [1-9]" "$WORK/head.out" || fail "HEAD / has no Content-Length"
[ "$(in_ns curl -s -X HEAD --max-time 3 -o - -w '%{size_download}' "$BASE/" 2>/dev/null)" = 0 ] || fail "HEAD / sent a body"
log "ok: GET and HEAD of the status page"

stat_json >"$WORK/before.json" || fail "GET /stats.json failed"
jq -e '.interfaces[0].name == "tun0" and (.tcp_connections | length) > 0 and (.services | length) == 5' \
  "$WORK/before.json" >/dev/null || fail "/stats.json lacks interfaces, connections or services"
in_ns ping -c 3 -i 0.2 -W 2 10.0.3.50 >/dev/null || fail "ping failed"
stat_json >"$WORK/after.json"
before=$(jq '.interfaces[0].rx_packets' "$WORK/before.json")
after=$(jq '.interfaces[0].rx_packets' "$WORK/after.json")
[ "$after" -gt "$before" ] || fail "rx_packets did not increase after traffic ($before -> $after)"
[ "$(jq '.protocols.icmp.recv' "$WORK/after.json")" -ge 3 ] || fail "ICMP counter did not count the pings"
log "ok: /stats.json is valid JSON and its counters increase ($before -> $after packets)"

# /stats.json and the page list one page of the connections (?connections=N|all&offset=M) and
# count all of them; a bad value is a 400 that names it.
in_ns curl -sf "$BASE/stats.json?connections=1" >"$WORK/page.json" || fail "GET /stats.json?connections=1 failed"
jq -e '(.tcp_connections | length) == 1 and .tcp_connections_total >= 4 and .tcp_connections_by_state.LISTEN == 3' \
  "$WORK/page.json" >/dev/null || fail "/stats.json?connections=1: $(jq -c '{n: (.tcp_connections | length), total: .tcp_connections_total, by: .tcp_connections_by_state}' "$WORK/page.json")"
[ "$(in_ns curl -s -o "$WORK/bad-page.html" -w '%{http_code}' "$BASE/?connections=many")" = 400 ] || fail "/?connections=many: not 400"
grep -q "connections=many: expected a number" "$WORK/bad-page.html" || fail "/?connections=many: the 400 does not say why"
jq -e '.interfaces[0].rates.rx_packets >= 0 and .rates_interval_seconds > 0' "$WORK/after.json" >/dev/null || fail "/stats.json has no rates"
log "ok: /stats.json?connections=1 lists 1 of $(jq .tcp_connections_total "$WORK/page.json") connections; a bad page is a 400"

in_ns curl -sf -D "$WORK/metrics.head" -o "$WORK/metrics.txt" "$BASE/metrics" || fail "GET /metrics failed"
grep -q "^Content-Type: text/plain; version=0.0.4" "$WORK/metrics.head" || fail "/metrics has the wrong Content-Type"
grep -q '^tunstack_link_packets_total{interface="tun0",direction="rx"} [0-9]' "$WORK/metrics.txt" || fail "/metrics lacks link counters"
grep -q '^# TYPE tunstack_link_packets_total counter' "$WORK/metrics.txt" || fail "/metrics lacks TYPE lines"
if grep -v '^#' "$WORK/metrics.txt" | grep -qvE '^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$'; then
  grep -v '^#' "$WORK/metrics.txt" | grep -vE '^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$' | head -3
  fail "/metrics has lines that are not Prometheus samples"
fi
log "ok: /metrics in Prometheus text format"

connections=$(service_counter http tcp connections_total)
in_ns curl -sv "$BASE/" "$BASE/stats.json" "$BASE/metrics" "$BASE/sub/" "$BASE/" -o /dev/null -o /dev/null \
  -o /dev/null -o /dev/null -o /dev/null 2>"$WORK/keepalive.err" || fail "keep-alive requests failed"
[ "$(grep -c 'Re-using existing connection' "$WORK/keepalive.err")" = 4 ] || { grep -i connect "$WORK/keepalive.err"; fail "five requests did not share one connection"; }
[ "$(service_counter http tcp connections_total)" = $((connections + 2)) ] ||  # curl's, and ours for stats
  fail "the server saw more than one connection for five keep-alive requests"
log "ok: five requests on one keep-alive connection"

answers=$(printf 'GET /stats.json HTTP/1.1\r\nHost: a\r\n\r\nGET /nothing HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
  in_ns nc -w 3 10.0.3.50 80 | grep -a '^HTTP/1.1' | cut -d' ' -f2 | tr '\n' ' ')
[ "$answers" = "200 404 200 " ] || fail "pipelined requests answered '$answers', expected '200 404 200 '"
log "ok: pipelined requests answered in order"

# --- HTTP: static files --------------------------------------------------------------------
in_ns curl -sf -D "$WORK/big.head" -o "$WORK/big.copy" "$BASE/big.bin" || fail "GET /big.bin failed"
cmp -s "$WORK/site/big.bin" "$WORK/big.copy" || fail "the 4 MiB file arrived corrupted"
grep -q "^Content-Type: application/octet-stream" "$WORK/big.head" || fail "big.bin has the wrong Content-Type"
grep -q "^Last-Modified: " "$WORK/big.head" || fail "no Last-Modified"
[ "$(in_ns curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $(sed -n 's/^Last-Modified: //p' "$WORK/big.head" | tr -d '\r')" "$BASE/big.bin")" = 304 ] ||
  fail "If-Modified-Since did not give 304"
[ "$(in_ns curl -s -o /dev/null -w '%{content_type}' "$BASE/sub/")" = "text/html; charset=utf-8" ] || fail "index.html of a directory"
log "ok: a 4 MiB file arrives byte-identical; Last-Modified/If-Modified-Since give 304"

# If-Modified-Since in the two obsolete formats RFC 9110 5.6.7 has recipients accept too; an
# invalid date is ignored (the file is sent). HEAD: the status is what matters.
modified=$(date -u -d "$(sed -n 's/^Last-Modified: //p' "$WORK/big.head" | tr -d '\r')" +%s) || fail "Last-Modified is not a date"
since() { in_ns curl -s -I -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $1" "$BASE/big.bin"; }
rfc850() { LC_ALL=C date -u -d "@$1" '+%A, %d-%b-%y %H:%M:%S GMT'; }
asctime() { LC_ALL=C date -u -d "@$1" '+%a %b %e %H:%M:%S %Y'; }
[ "$(since "$(rfc850 "$modified")")" = 304 ] || fail "If-Modified-Since in RFC 850 form ($(rfc850 "$modified")) did not give 304"
[ "$(since "$(asctime "$modified")")" = 304 ] || fail "If-Modified-Since in asctime form ($(asctime "$modified")) did not give 304"
[ "$(since "$(asctime $((modified - 1)))")" = 200 ] || fail "If-Modified-Since a second before Last-Modified did not give 200"
[ "$(since "not a date")" = 200 ] || fail "an invalid If-Modified-Since was not ignored"
[ "$(since "Fri, 31 Nov 2099 00:00:00 GMT")" = 200 ] || fail "If-Modified-Since on a day that does not exist was not ignored"
log "ok: If-Modified-Since as RFC 850 and asctime dates give 304; invalid ones are ignored"

# Small files are served from memory for up to a second after they were read: a change shows
# after that, and a removed file is gone.
[ "$(in_ns curl -sf "$BASE/sub/index.html")" = "<h1>hello</h1>" ] || fail "sub/index.html"
echo "<h1>changed</h1>" >"$WORK/site/sub/index.html"
sleep 1.2
[ "$(in_ns curl -sf "$BASE/sub/index.html")" = "<h1>changed</h1>" ] || fail "a changed small file was still served old after 1.2 s"
mv "$WORK/site/sub/index.html" "$WORK/site/sub/index.old"
sleep 1.2
[ "$(in_ns curl -s -o /dev/null -w '%{http_code}' "$BASE/sub/index.html")" = 404 ] || fail "a removed small file was still served after 1.2 s"
mv "$WORK/site/sub/index.old" "$WORK/site/sub/index.html"
log "ok: a changed small file shows, and a removed one is gone, within 1.2 s"

code() { in_ns curl -s --path-as-is -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$BASE/no/such/file")" = 404 ] || fail "a missing file is not 404"
[ "$(code "$BASE/../outside/secret.txt")" = 403 ] || fail "../ traversal not refused"
[ "$(code "$BASE/sub/../../outside/secret.txt")" = 403 ] || fail "nested ../ traversal not refused"
[ "$(code "$BASE/%2e%2e/outside/secret.txt")" = 403 ] || fail "percent-encoded dots not refused"
[ "$(code "$BASE/..%2foutside%2fsecret.txt")" = 400 ] || fail "percent-encoded slashes not refused"
[ "$(code "$BASE/big.bin%00.html")" = 400 ] || fail "a NUL byte not refused"
[ "$(code "$BASE/escape.txt")" = 403 ] || fail "a symlink leaving the directory not refused"
log "ok: 404, and traversal by ../, %2e%2e, %2f, NUL and symlink all refused"

# --- HTTP: errors and limits ---------------------------------------------------------------
[ "$(code -X POST -d 'x=1' "$BASE/")" = 405 ] || fail "POST is not 405"
[ "$(http_raw 'GET / HTTP/2.0\r\nHost: a\r\n\r\n')" = 505 ] || fail "HTTP/2.0 is not 505"
[ "$(http_raw 'GET / HTTP/1.1\r\n\r\n')" = 400 ] || fail "a request without Host is not 400"
[ "$(http_raw 'BROKEN\r\n\r\n')" = 400 ] || fail "garbage is not 400"
[ "$(code "$BASE/$(head -c 300 /dev/zero | tr '\0' a)")" = 414 ] || fail "--http-max-request-line 200: not 414"
[ "$(code -H "X-Big: $(head -c 1500 /dev/zero | tr '\0' b)" "$BASE/")" = 431 ] || fail "--http-max-header-bytes 1024: not 431"
[ "$(code -H 'A: 1' -H 'B: 2' -H 'C: 3' -H 'D: 4' -H 'E: 5' -H 'F: 6' -H 'G: 7' -H 'H: 8' -H 'I: 9' -H 'J: 10' "$BASE/")" = 431 ] ||
  fail "--http-max-headers 10: not 431"
[ "$(code -X POST --data-binary "$(head -c 2000 /dev/zero | tr '\0' c)" "$BASE/")" = 413 ] || fail "--http-max-body 1000: not 413"
log "ok: 405, 505, 400, and the limits give 414, 431 (size), 431 (count), 413"

# Other HTTP versions get 505; HTTP/2's connection preface (RFC 9113 3.4) too, as sent by hand
# and by curl (which then fails: it cannot read an HTTP/1.1 answer as HTTP/2 frames).
[ "$(http_raw 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')" = 505 ] || fail "the HTTP/2 connection preface is not 505"
[ "$(http_raw 'GET / HTTP/3.0\r\nHost: a\r\n\r\n')" = 505 ] || fail "HTTP/3.0 is not 505"
[ "$(http_raw 'GET / HTTP/0.9\r\n\r\n')" = 505 ] || fail "HTTP/0.9 is not 505"
fivexx=$(service_counter http tcp 'extra.responses_5xx // 0')
if in_ns curl -s --http2-prior-knowledge --max-time 5 -o /dev/null "$BASE/"; then fail "curl --http2-prior-knowledge succeeded"; fi
[ "$(service_counter http tcp 'extra.responses_5xx // 0')" = $((fivexx + 1)) ] ||
  fail "curl --http2-prior-knowledge was not answered with a 5xx status"
log "ok: the HTTP/2 preface (by hand and from curl --http2-prior-knowledge), HTTP/3.0 and 0.9 get 505"

# Expect: 100-continue (RFC 9110 10.1.1): curl holds the body back until the server answers,
# here for up to 30 s of a request's 10: a server that waited for the body would fail each
# request. A body we read gets "100 Continue" first; a request we refuse from its head (405
# for POST, 413 over --http-max-body) gets its final status at once, and the body is never
# sent (curl's size_upload 0).
head -c 600 /dev/zero | tr '\0' d >"$WORK/body.600"
expect100() { in_ns curl -s --expect100-timeout 30 --max-time 10 -H 'Expect: 100-continue' "$@"; }
got=$(expect100 -X GET --data-binary @"$WORK/body.600" -D "$WORK/e100.head" -o /dev/null -w '%{http_code} %{size_upload}' "$BASE/metrics")
[ "$got" = "200 600" ] || fail "GET with a 600-byte body and Expect: 100-continue: '$got' (status, bytes sent), expected '200 600'"
grep -q "^HTTP/1.1 100 Continue" "$WORK/e100.head" || fail "no '100 Continue' before the body"
expect100 -v -X GET --data-binary @"$WORK/body.600" -o /dev/null -o /dev/null "$BASE/metrics" "$BASE/" 2>"$WORK/e100.err" ||
  fail "two requests with bodies on one connection failed"
[ "$(grep -c '^< HTTP/1.1 100 Continue' "$WORK/e100.err")" = 2 ] && [ "$(grep -c '^< HTTP/1.1 200 OK' "$WORK/e100.err")" = 2 ] &&
  grep -q 'Re-using existing connection' "$WORK/e100.err" ||
  { grep '^[<*]' "$WORK/e100.err" | head -20; fail "the second request after a 100-continue body was not answered on the same connection"; }
got=$(expect100 -X POST --data-binary @"$WORK/body.600" -o /dev/null -w '%{http_code} %{size_upload}' "$BASE/")
[ "$got" = "405 0" ] || fail "POST with Expect: 100-continue: '$got' (status, bytes sent), expected '405 0'"
head -c 2000000 /dev/zero >"$WORK/body.big"
in_ns curl -s -v --max-time 10 -X POST --data-binary @"$WORK/body.big" -o /dev/null -w '%{http_code} %{size_upload}\n' "$BASE/" \
  >"$WORK/e413.out" 2>"$WORK/e413.err"
grep -q '^> Expect: 100-continue' "$WORK/e413.err" || fail "curl sent no Expect: 100-continue with a 2 MB body (it does above 1 MiB)"
[ "$(cat "$WORK/e413.out")" = "413 0" ] || fail "a 2 MB POST body (curl's own Expect): '$(cat "$WORK/e413.out")', expected '413 0'"
[ "$(in_ns curl -s -o /dev/null -w '%{http_code}' -H 'Expect: teapot' "$BASE/")" = 417 ] || fail "an unknown expectation is not 417"
log "ok: Expect: 100-continue gets 100 before the body, or 405/413 at once without it; other expectations 417"

# Slowloris: a client that dribbles its header lines is dropped with 408 after
# --http-header-timeout (2 s), while a normal client is served meanwhile.
started=$(date +%s)
( printf 'GET / HTTP/1.1\r\nHost: a\r\n'; for i in 1 2 3 4 5 6 7 8; do sleep 1; printf 'X-Slow-%s: 1\r\n' "$i"; done ) |
  in_ns nc -w 10 10.0.3.50 80 >"$WORK/slow.out" 2>/dev/null &
SLOW=$!
PIDS="$PIDS $SLOW"
sleep 1
[ "$(code "$BASE/")" = 200 ] || fail "a normal client was not served during the slow one"
wait_for_line "$WORK/slow.out" "408" 6 || fail "the slow client was not answered 408"
elapsed=$(($(date +%s) - started))
[ "$elapsed" -le 6 ] || fail "the slow client was dropped only after $elapsed s (--http-header-timeout 2)"
log "ok: a slowloris client got 408 after ${elapsed} s while a normal client was served"

# Idle timeout: a connection that never sends a request is closed after 3 s.
started=$(date +%s)
in_ns nc -d 10.0.3.50 80 >/dev/null 2>&1 &
IDLE=$!
PIDS="$PIDS $IDLE"
while kill -0 "$IDLE" 2>/dev/null && [ $(($(date +%s) - started)) -lt 8 ]; do sleep 0.2; done
elapsed=$(($(date +%s) - started))
[ "$elapsed" -lt 8 ] || fail "an idle connection was not closed by --http-idle-timeout 3"
log "ok: an idle connection was closed after about ${elapsed} s"

# --- echo and discard ----------------------------------------------------------------------
head -c $((8 * 1024 * 1024)) /dev/urandom >"$WORK/echo.in"
in_ns nc -N -w 10 10.0.3.50 7 <"$WORK/echo.in" >"$WORK/echo.out" || fail "TCP echo failed"
cmp -s "$WORK/echo.in" "$WORK/echo.out" || fail "8 MiB through TCP echo came back different ($(wc -c <"$WORK/echo.out") bytes)"
log "ok: 8 MiB through TCP echo, full duplex, intact"

for i in 1 2 3; do
  reply=$(printf "datagram $i" | in_ns nc -u -w 1 10.0.3.50 7)
  [ "$reply" = "datagram $i" ] || fail "UDP echo answered '$reply' to 'datagram $i'"
done
[ "$(service_counter echo udp datagrams_in)" -ge 3 ] || fail "UDP echo did not count its datagrams"
log "ok: UDP echo of 3 datagrams"

head -c $((100 * 1024 * 1024)) /dev/zero | in_ns nc -N -w 10 10.0.3.50 9 || fail "TCP discard failed"
sleep 0.3
swallowed=$(service_counter discard tcp bytes_in)
[ "$swallowed" = $((100 * 1024 * 1024)) ] || fail "discard counted $swallowed bytes, expected 104857600"
log "ok: discard swallowed 100 MiB"

grep -q "tunstack: up .*tun0 rx .* pkt/s.*echo/tcp" "$WORK/main.log" || fail "--stats-interval printed no summary line"
log "ok: --stats-interval prints a summary line"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"

# --- connection limit, another echo port, services turned off ----------------------------------------------------------------------
start_tunstack limited --http-max-connections 2 --http-idle-timeout 30 --echo 7007 --no-discard
[ "$(printf 'moved\n' | in_ns nc -N -w 3 10.0.3.50 7007)" = moved ] || fail "--echo 7007: no echo there"
if printf 'x\n' | in_ns nc -N -w 2 10.0.3.50 7 >/dev/null 2>&1; then fail "echo still answered on port 7"; fi
if printf 'x\n' | in_ns nc -N -w 2 10.0.3.50 9 >/dev/null 2>&1; then fail "--no-discard: port 9 still open"; fi
[ "$(in_ns curl -sf "$BASE/stats.json" | jq -c '[.services[] | .name + "/" + .protocol + ":" + (.port|tostring)]')" = '["echo/tcp:7007","echo/udp:7007","http/tcp:80"]' ] ||
  fail "/stats.json lists other services than echo on 7007 and http"
log "ok: --echo 7007 moves echo, --no-discard turns discard off"
in_ns sh -c 'sleep 6 | nc 10.0.3.50 80' >/dev/null 2>&1 &
PIDS="$PIDS $!"
in_ns sh -c 'sleep 6 | nc 10.0.3.50 80' >/dev/null 2>&1 &
PIDS="$PIDS $!"
sleep 1
[ "$(code "$BASE/")" = 503 ] || fail "--http-max-connections 2: a third connection was not answered 503"
log "ok: beyond --http-max-connections a client gets 503"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"

start_tunstack bare --no-echo --no-http
grep -q "services: discard 9;" "$WORK/bare.log" || fail "the ready line does not list only discard"
if in_ns curl -s --max-time 2 "$BASE/" >/dev/null; then fail "--no-http: the HTTP server still answered"; fi
if printf 'x\n' | in_ns nc -N -w 2 10.0.3.50 7 >/dev/null 2>&1; then fail "--no-echo: port 7 still open"; fi
head -c 1000 /dev/zero | in_ns nc -N -w 3 10.0.3.50 9 || fail "discard stopped working with the others off"
log "ok: --no-echo and --no-http turn those services off"
