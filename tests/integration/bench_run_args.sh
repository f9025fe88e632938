#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# bench_run_args.sh BENCH-RUN BUILD - bench/run refuses bad loss options with exit 2 and a message
# naming the option, before it creates a namespace or starts anything.
set -u
run=$1 build=$2
fails=0
# As root, in a network namespace of its own: a run that got past its checks reaches nothing.
wrap=""
[ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null && wrap="unshare -n"
check() {  # WANT-STATUS WANT-TEXT ARGS...
  want=$1 text=$2; shift 2
  out=$($wrap "$run" --build "$build" "$@" 2>&1); status=$?
  if [ "$status" != "$want" ] || ! printf '%s\n' "$out" | grep -qF -- "$text"; then
    echo "FAIL: bench/run $*: exit $status (want $want), output: $out"
    fails=$((fails + 1))
  else
    echo "ok: bench/run $* -> exit $status, '$text'"
  fi
}
check 2 "--loss-direction takes in, out or both (not 'sideways')" --loss 1 --loss-direction sideways
check 2 "--loss takes percentages from 0 to 99.99" --loss 150 --loss-direction in
check 2 "unknown loss workload upload" --loss 1 --loss-workloads upload
check 0 "--loss-direction in|out|both" --help
[ "$fails" = 0 ]
