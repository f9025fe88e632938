#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# api.sh - the socket API against the kernel's own TCP/IP: Asio's coroutine echo server example
# (only its `using` line changed) answers nc; our coroutine echo answers over IPv4 and IPv6;
# the callback line server speaks an async_read_until protocol; ping -6 is answered; and the
# blocking facade moves 10 MiB each way to a kernel listener, checked with sha256.
# Usage: api.sh TUNSTACK EXAMPLES_DIR
. "$(dirname "$0")/lib.sh"
EXAMPLES=${2:?usage: $0 TUNSTACK EXAMPLES_DIR}
require_root_and_tun
require_tools nc
new_netns

# start_example NAME PROGRAM ARGS...: runs an example in the namespace until it reports ready.
start_example() {
  _name=$1
  shift
  ip netns exec "$NS" "$@" >"$WORK/$_name.log" 2>&1 &
  EX_PID=$!
  PIDS="$PIDS $EX_PID"
  wait_for_line "$WORK/$_name.log" "answering\|example: stack" 10 || { cat "$WORK/$_name.log"; fail "$_name did not start"; }
  sleep 0.2
}
stop_example() {
  kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# 1. Asio's own example, unmodified but for `using tunstack::tcp;` (tunstack::autostart makes
#    the stack from TUNSTACK_* variables; the defaults are used here).
start_example asio "$EXAMPLES/asio_coroutine_echo_server"
reply=$(printf 'hello from the kernel\n' | in_ns nc -N -w 3 10.0.3.50 55555)
[ "$reply" = "hello from the kernel" ] || { cat "$WORK/asio.log"; fail "Asio's echo example answered '$reply'"; }
log "ok: Asio's coroutine echo_server example echoes over tunstack"
stop_example "$EX_PID"

# 2. Our coroutine echo, both families on one dual-stack acceptor.
start_example echo "$EXAMPLES/coroutine_echo_server" 7
reply=$(printf 'four\n' | in_ns nc -N -w 3 10.0.3.50 7)
[ "$reply" = "four" ] || fail "IPv4 echo answered '$reply'"
reply=$(printf 'six\n' | in_ns nc -6 -N -w 3 fd00:3::50 7)
[ "$reply" = "six" ] || fail "IPv6 echo answered '$reply'"
in_ns ping -6 -c 3 -i 0.2 -W 2 fd00:3::50 >"$WORK/ping6.out" 2>&1
grep -q "3 received" "$WORK/ping6.out" || { cat "$WORK/ping6.out"; fail "ping -6 fd00:3::50 not answered"; }
log "ok: coroutine echo over IPv4 and IPv6; ping -6 answered"
stop_example "$EX_PID"

# 3. A line protocol with callbacks and async_read_until.
start_example lines "$EXAMPLES/callback_line_server" 7000
printf 'hello\r\nsecond line\nbye\n' | in_ns nc -N -w 3 10.0.3.50 7000 >"$WORK/lines.out"
printf 'you said: hello\nyou said: second line\ngoodbye\n' >"$WORK/lines.expected"
cmp -s "$WORK/lines.out" "$WORK/lines.expected" || { cat "$WORK/lines.out"; fail "line protocol answers differ"; }
log "ok: async_read_until line protocol"
stop_example "$EX_PID"

# 4. The blocking facade, connecting out to kernel listeners: 10 MiB each way, intact.
head -c $((10 * 1024 * 1024)) /dev/urandom >"$WORK/original.bin"
expected=$(sha256sum <"$WORK/original.bin" | cut -d' ' -f1)
in_ns nc -l -p 9000 >"$WORK/uploaded.bin" &
NC_PID=$!
PIDS="$PIDS $NC_PID"
sleep 0.3
ip netns exec "$NS" "$EXAMPLES/blocking_transfer" send 10.0.3.1 9000 "$WORK/original.bin" >"$WORK/send.log" 2>&1 ||
  { cat "$WORK/send.log"; fail "blocking_transfer send failed"; }
wait "$NC_PID"
[ "$(sha256sum <"$WORK/uploaded.bin" | cut -d' ' -f1)" = "$expected" ] || fail "upload corrupted ($(wc -c <"$WORK/uploaded.bin") bytes arrived)"
in_ns nc -l -N -p 9001 <"$WORK/original.bin" &
NC_PID=$!
PIDS="$PIDS $NC_PID"
sleep 0.3
ip netns exec "$NS" "$EXAMPLES/blocking_transfer" receive 10.0.3.1 9001 "$WORK/downloaded.bin" >"$WORK/receive.log" 2>&1 ||
  { cat "$WORK/receive.log"; fail "blocking_transfer receive failed"; }
[ "$(sha256sum <"$WORK/downloaded.bin" | cut -d' ' -f1)" = "$expected" ] || fail "download corrupted ($(wc -c <"$WORK/downloaded.bin") bytes arrived)"
log "ok: 10 MiB each way through the blocking facade, sha256 $expected"
