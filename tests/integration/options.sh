#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# options.sh - bad command-line options exit with status 2 and a message naming the option;
# --help and --version exit 0. Needs no root: tunstack stops before it opens a device.
. "$(dirname "$0")/lib.sh"

run_expect_failure mtu-low 2 "\-\-mtu" "$TUNSTACK" --mtu 10
run_expect_failure mtu-high 2 "\-\-mtu" "$TUNSTACK" --mtu 70000
run_expect_failure mtu-word 2 "\-\-mtu" "$TUNSTACK" --mtu big
run_expect_failure txqueuelen-high 2 "\-\-txqueuelen" "$TUNSTACK" --txqueuelen 2000000
run_expect_failure addr-octet 2 "\-\-addr" "$TUNSTACK" --addr 10.0.3.500/24
run_expect_failure addr-no-prefix 2 "\-\-addr" "$TUNSTACK" --addr 10.0.3.50
run_expect_failure addr-network 2 "\-\-addr" "$TUNSTACK" --addr 10.0.3.0/24
run_expect_failure host-addr 2 "\-\-host-addr" "$TUNSTACK" --host-addr nowhere
run_expect_failure same-addr 2 "\-\-host-addr" "$TUNSTACK" --addr 10.0.3.1/24
run_expect_failure other-subnet 2 "outside the kernel side's subnet" "$TUNSTACK" --addr 10.0.4.50/24
run_expect_failure dev-long 2 "\-\-dev" "$TUNSTACK" --dev abcdefghijklmnopq
run_expect_failure dev-slash 2 "\-\-dev" "$TUNSTACK" --dev a/b
run_expect_failure unknown 2 "\-\-frobnicate" "$TUNSTACK" --frobnicate
run_expect_failure www-missing 2 "\-\-www" "$TUNSTACK" --www /nonexistent/directory
run_expect_failure www-no-http 2 "\-\-www" "$TUNSTACK" --www / --no-http
run_expect_failure same-port 2 "\-\-echo" "$TUNSTACK" --echo 80
run_expect_failure bad-port 2 "\-\-http" "$TUNSTACK" --http 70000
run_expect_failure bad-interval 2 "\-\-stats-interval" "$TUNSTACK" --stats-interval 0
run_expect_failure bad-timeout 2 "\-\-http-header-timeout" "$TUNSTACK" --http-header-timeout soon
run_expect_failure addr6 2 "\-\-addr6" "$TUNSTACK" --addr6 fd00::zz/64
run_expect_failure user-missing 2 "\-\-user: there is no user" "$TUNSTACK" --user tunstack-no-such-user
run_expect_failure user-root 2 "\-\-user: 'root' is root" "$TUNSTACK" --user root

"$TUNSTACK" --help >"$WORK/help.out" 2>&1 || fail "--help did not exit 0"
for word in --dev --addr --host-addr --addr6 --mtu --verbose --version --echo --www --http-max-connections --stats-interval --user Examples setcap; do
  grep -q -- "$word" "$WORK/help.out" || fail "--help does not mention $word"
done
"$TUNSTACK" --version >"$WORK/version.out" 2>&1 || fail "--version did not exit 0"
grep -q "tunstack .*lwIP 2.1.3" "$WORK/version.out" || { cat "$WORK/version.out"; fail "--version does not name lwIP"; }
log "ok: --help and --version"
