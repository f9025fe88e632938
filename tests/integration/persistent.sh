#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# persistent.sh - tunstack attaches to an existing persistent TUN device, answers on it, and
# leaves it in place when it stops; a second run attaches again, also with --host-addr none.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
new_netns

ip -n "$NS" tuntap add dev tun0 mode tun || fail "cannot create a persistent tun0"

start_tunstack first
in_ns ping -c 3 -i 0.2 -W 2 10.0.3.50 | grep -q "3 received" || fail "no replies on the persistent device"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"
in_ns ip link show tun0 >/dev/null 2>&1 || fail "the persistent tun0 disappeared after tunstack exited"
log "ok: persistent tun0 served and left in place"

# The kernel side keeps its address from the first run; attach again without configuring it.
start_tunstack second --host-addr none -v
grep -q "attached to persistent TUN device tun0" "$WORK/second.log" || { cat "$WORK/second.log"; fail "expected 'attached to persistent' at -v"; }
in_ns ping -c 3 -i 0.2 -W 2 10.0.3.50 | grep -q "3 received" || fail "no replies after re-attaching with --host-addr none"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"
in_ns ip link show tun0 >/dev/null 2>&1 || fail "the persistent tun0 disappeared"
log "ok: re-attached with --host-addr none"

# Without root: a persistent device made for a user is attached by that user without any
# capability (README's recipe). /dev/net/tun may be closed to other users on this machine
# (mode 0600), so a world-usable node is bind-mounted over it in a private mount namespace.
ip -n "$NS" link delete tun0
ip -n "$NS" tuntap add dev tun7 mode tun user 65534 || fail "cannot create tun7 for user 65534"
ip -n "$NS" addr add 10.0.3.1/24 dev tun7 && ip -n "$NS" link set tun7 up
mknod "$WORK/tun" c 10 200 && chmod 0666 "$WORK/tun" && chmod 0755 "$WORK" || fail "cannot make a tun node"
ip netns exec "$NS" unshare --mount --propagation private sh -c \
  'mount --bind "$1" /dev/net/tun && exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$0" --dev tun7 --host-addr none --host-addr6 none' \
  "$TUNSTACK" "$WORK/tun" >"$WORK/unprivileged.log" 2>&1 &
TS_PID=$!
PIDS="$PIDS $TS_PID"
wait_for_line "$WORK/unprivileged.log" "answering" 10 || { cat "$WORK/unprivileged.log"; fail "unprivileged tunstack did not start"; }
in_ns ping -c 3 -i 0.2 -W 2 10.0.3.50 | grep -q "3 received" || fail "no replies from the unprivileged tunstack"
[ "$(ps -o uid= -p "$TS_PID" | tr -d ' ')" = 65534 ] || fail "tunstack did not run as user 65534"
stop_tunstack "$TS_PID" TERM || fail "the unprivileged tunstack did not exit 0"
log "ok: a user's persistent device served without root or capabilities"
