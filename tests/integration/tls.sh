#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# tls.sh - TLS over tunstack against the kernel's TCP and OpenSSL's own client: the
# tls_echo_server example (asio::ssl::stream<tunstack::tcp::socket>) with a throwaway
# certificate made here; `openssl s_client` in the namespace verifies it (trust, host name),
# negotiates TLS 1.3 and TLS 1.2 over IPv4 and IPv6, and gets its bytes back; a client that does
# not trust the certificate is refused.
# Usage: tls.sh TUNSTACK EXAMPLES_DIR
. "$(dirname "$0")/lib.sh"
EXAMPLES=${2:?usage: $0 TUNSTACK EXAMPLES_DIR}
require_root_and_tun
require_tools openssl timeout
new_netns

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=tunstack.test \
  -addext subjectAltName=DNS:tunstack.test -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >"$WORK/openssl-req.out" 2>&1 ||
  { cat "$WORK/openssl-req.out"; fail "openssl req could not make a certificate"; }

ip netns exec "$NS" "$EXAMPLES/tls_echo_server" "$WORK/cert.pem" "$WORK/key.pem" 4433 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_for_line "$WORK/server.log" "TLS echo on port" 10 || fail "tls_echo_server did not start"

# s_client ADDRESS NAME EXTRA...: one session; the line sent comes back, then stdin ends (after
# a second: s_client ends the session at the end of its input) and s_client closes it.
s_client() {
  _address=$1 _name=$2
  shift 2
  { printf 'hello over TLS %s\n' "$_name"; sleep 1; } |
    in_ns timeout 20 openssl s_client -brief -connect "$_address" -servername tunstack.test \
      -CAfile "$WORK/cert.pem" -verify_hostname tunstack.test -verify_return_error "$@" \
      >"$WORK/$_name.out" 2>"$WORK/$_name.err"
}

check_session() {
  _name=$1 _protocol=$2
  grep -q "^hello over TLS $_name\$" "$WORK/$_name.out" || { cat "$WORK/$_name.out" "$WORK/$_name.err"; fail "$_name: no echo"; }
  grep -q "Verification: OK" "$WORK/$_name.err" || { cat "$WORK/$_name.err"; fail "$_name: the certificate was not verified"; }
  grep -q "Protocol version: $_protocol" "$WORK/$_name.err" || { cat "$WORK/$_name.err"; fail "$_name: not $_protocol"; }
  log "ok: $_name: $(grep -m1 'Ciphersuite' "$WORK/$_name.err"), certificate verified, echoed"
}

s_client 10.0.3.50:4433 tls13-ipv4 || { cat "$WORK/tls13-ipv4.err"; fail "s_client over IPv4 failed"; }
check_session tls13-ipv4 TLSv1.3
s_client '[fd00:3::50]:4433' tls13-ipv6 || { cat "$WORK/tls13-ipv6.err"; fail "s_client over IPv6 failed"; }
check_session tls13-ipv6 TLSv1.3
s_client 10.0.3.50:4433 tls12 -tls1_2 || { cat "$WORK/tls12.err"; fail "s_client with TLS 1.2 failed"; }
check_session tls12 TLSv1.2

# A client that trusts another certificate (same name, another key) must not get through.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=tunstack.test \
  -addext subjectAltName=DNS:tunstack.test -keyout "$WORK/other-key.pem" -out "$WORK/other.pem" >/dev/null 2>&1 ||
  fail "openssl req could not make the second certificate"
if printf 'not for you\n' | in_ns timeout 20 openssl s_client -brief -connect 10.0.3.50:4433 -servername tunstack.test \
  -CAfile "$WORK/other.pem" -verify_hostname tunstack.test -verify_return_error >"$WORK/untrusted.out" 2>"$WORK/untrusted.err"; then
  cat "$WORK/untrusted.err"
  fail "a client that does not trust the certificate completed a session"
fi
grep -q "verify error\|certificate verify failed" "$WORK/untrusted.err" ||
  { cat "$WORK/untrusted.err"; fail "the untrusted session failed for another reason"; }
log "ok: a client trusting another certificate is refused ($(grep -m1 'verify error' "$WORK/untrusted.err"))"

kill -0 "$SERVER_PID" 2>/dev/null || fail "tls_echo_server died"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "tls_echo_server exited with status $? on SIGTERM"
log "ok: tls_echo_server stopped cleanly"
