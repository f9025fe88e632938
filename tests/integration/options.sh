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
run_expect_failure verbose-3 2 "\-v: at most -vv" "$TUNSTACK" -vvv

"$TUNSTACK" --help >"$WORK/help.out" 2>&1 || fail "--help did not exit 0"
for word in --dev --addr --host-addr --addr6 --mtu --verbose --version --echo --www --http-max-connections --stats-interval --user Examples setcap; do
  grep -q -- "$word" "$WORK/help.out" || fail "--help does not mention $word"
done
"$TUNSTACK" --version >"$WORK/version.out" 2>&1 || fail "--version did not exit 0"
grep -q "tunstack .*lwIP 2.1.3" "$WORK/version.out" || { cat "$WORK/version.out"; fail "--version does not name lwIP"; }
"$TUNSTACK" -V | grep -q "tunstack .*lwIP 2.1.3" || fail "-V does not print the version"
log "ok: --help, --version and -V"

# --help's commands paste as written: started by its path, the examples use that path (also
# for setcap); found on PATH, they say tunstack and look the file up. Every line fits 80
# columns when the program is called tunstack.
grep -q "^  sudo setcap cap_net_admin+ep $TUNSTACK\$" "$WORK/help.out" || fail "--help's setcap line does not name $TUNSTACK"
grep -q "^  sudo $TUNSTACK --pcap /tmp/tun0.pcap\$" "$WORK/help.out" || fail "--help's examples do not call $TUNSTACK"
mkdir "$WORK/bin" && ln -s "$TUNSTACK" "$WORK/bin/tunstack" || fail "cannot link the binary"
PATH="$WORK/bin:$PATH" tunstack --help >"$WORK/help-path.out" 2>&1 || fail "tunstack --help (on PATH) did not exit 0"
grep -q '^  sudo setcap cap_net_admin+ep "$(command -v tunstack)"$' "$WORK/help-path.out" ||
  fail "--help on PATH: no setcap line with \$(command -v tunstack)"
awk 'length($0) > 80 { print; bad = 1 } END { exit bad }' "$WORK/help-path.out" || fail "--help has lines over 80 columns"
if grep -q ':INT\| in \[' "$WORK/help-path.out"; then fail "--help shows CLI11's type noise"; fi
log "ok: --help fits 80 columns and its examples call the program as it was started"
