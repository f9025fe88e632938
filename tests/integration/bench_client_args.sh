#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# bench_client_args.sh CLIENT - the bench load generator refuses to run without --host (it has
# no default address, so run by hand outside bench/run it loads nothing), prints its usage on
# --help, and rejects an option without a value. None of these cases opens a socket.
set -u
client=$1
fails=0
# As root, in a network namespace of its own (no routes): a client that regressed to a default
# address then reaches nothing rather than the host's network.
wrap=""
[ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null && wrap="unshare -n"
check() {  # WANT-STATUS WANT-TEXT ARGS...
  want=$1 text=$2; shift 2
  out=$($wrap "$client" "$@" 2>&1); status=$?
  if [ "$status" != "$want" ] || ! printf '%s\n' "$out" | grep -qF -- "$text"; then
    echo "FAIL: $client $*: exit $status (want $want), output: $out"
    fails=$((fails + 1))
  else
    echo "ok: $client $* -> exit $status, '$text'"
  fi
}
check 1 "--host is required" duplex
check 1 "--host is required" tcp_rr --port 7
check 0 "usage: tunstack-bench-client" duplex --help
check 1 "option --host needs a value" duplex --host
check 1 "unknown option --bogus" duplex --bogus 1
[ "$fails" = 0 ]
