#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# errors.sh - the classic TUN failures give exit status 1 and a message that names the fix:
# device busy (EBUSY), a device of another kind (EINVAL), no CAP_NET_ADMIN (EPERM), no
# /dev/net/tun or something else there (ENOTTY), a kernel-side address already in use (also by
# another running tunstack), an address the kernel would route
# elsewhere or answer itself, and the device deleted under a running tunstack.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
new_netns

# EBUSY: a second tunstack on the device the first one holds.
start_tunstack first
run_expect_failure busy 1 "in use by another process" in_ns "$TUNSTACK" --host-addr none
in_ns ping -c 1 -W 2 10.0.3.50 | grep -q "1 received" || fail "the first tunstack stopped answering"
# A second instance on another device, with the same addresses: the conflict names the running
# one, and the advice must not be to delete the address it serves.
run_expect_failure second-instance 1 "already in use on tun0, a TUN device that process $TS_PID (tunstack) serves" \
  in_ns "$TUNSTACK" --dev tun1
grep -q "would cut off the program serving it" "$WORK/second-instance.err" || fail "second instance: no warning against removing the address"
if grep -q "ip addr del" "$WORK/second-instance.err"; then fail "second instance: the advice deletes the running instance's address"; fi
in_ns ping -c 1 -W 2 10.0.3.50 | grep -q "1 received" || fail "the first tunstack stopped answering after the second failed"
stop_tunstack "$TS_PID" TERM || fail "the first tunstack did not exit 0"

# EINVAL: the name belongs to a TAP device, or to another kind of interface.
ip -n "$NS" tuntap add dev tap0 mode tap || fail "cannot create tap0"
run_expect_failure tap 1 "TAP (Ethernet) device" in_ns "$TUNSTACK" --dev tap0
ip -n "$NS" link add veth0 type veth peer name veth1 || fail "cannot create a veth pair"
run_expect_failure veth 1 "'veth' interface" in_ns "$TUNSTACK" --dev veth0

# EPERM: without CAP_NET_ADMIN (as nobody, no capabilities). /dev/net/tun may itself be closed
# to nobody (mode 0600 on some systems), so a world-usable node is bind-mounted over it in a
# private mount namespace: then TUNSETIFF is what says no.
mknod "$WORK/tun" c 10 200 && chmod 0666 "$WORK/tun" && chmod 0755 "$WORK" || fail "cannot make a tun node"
run_expect_failure no-capability 1 "creating or attaching TUN device tun0 needs CAP_NET_ADMIN" \
  in_ns unshare --mount --propagation private sh -c \
  'mount --bind "$1" /dev/net/tun && exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$0"' \
  "$TUNSTACK" "$WORK/tun"
grep -q "setcap cap_net_admin+ep" "$WORK/no-capability.err" || fail "no setcap advice"

# No /dev/net/tun: hide it behind an empty tmpfs in a private mount namespace.
run_expect_failure no-tun-node 1 "modprobe tun" \
  in_ns unshare --mount --propagation private sh -c 'mount -t tmpfs none /dev/net && exec "$0"' "$TUNSTACK"
grep -q "/dev/net/tun does not exist" "$WORK/no-tun-node.err" || fail "message does not say the node is missing"

# /dev/net/tun is something else (a regular file, /dev/null): TUNSETIFF answers ENOTTY, which
# alone would read "Inappropriate ioctl for device".
: >"$WORK/not-tun"
run_expect_failure regular-file-node 1 "/dev/net/tun is a regular file" \
  in_ns unshare --mount --propagation private sh -c 'mount --bind "$1" /dev/net/tun && exec "$0"' "$TUNSTACK" "$WORK/not-tun"
grep -q "sudo mknod /dev/net/tun c 10 200" "$WORK/regular-file-node.err" || fail "not a TUN node: no mknod advice"
run_expect_failure null-node 1 "/dev/net/tun is the character device 1:3, not the TUN driver's 10:200" \
  in_ns unshare --mount --propagation private sh -c 'mount --bind /dev/null /dev/net/tun && exec "$0"' "$TUNSTACK"

# The kernel-side address is already on another interface (a veth, since not every kernel
# has the dummy driver).
ip -n "$NS" link add busy0 type veth peer name busy1 || fail "cannot create a veth pair"
ip -n "$NS" link set busy0 up && ip -n "$NS" link set busy1 up
ip -n "$NS" addr add 10.0.3.1/24 dev busy0
run_expect_failure host-addr-in-use 1 "already in use on busy0" in_ns "$TUNSTACK"
grep -q "host-addr\|kernel-side address" "$WORK/host-addr-in-use.err" || fail "message does not name the kernel-side address"
if in_ns ip link show tun0 >/dev/null 2>&1; then fail "tun0 left behind after a failed start"; fi
ip -n "$NS" addr del 10.0.3.1/24 dev busy0

# The stack's address is one of the kernel's own.
ip -n "$NS" addr add 10.0.3.50/32 dev busy0
run_expect_failure addr-is-local 1 "kernel's own addresses" in_ns "$TUNSTACK"
ip -n "$NS" addr del 10.0.3.50/32 dev busy0

# A more specific route sends the stack's address elsewhere.
ip -n "$NS" addr add 10.0.3.49/28 dev busy0
run_expect_failure route-elsewhere 1 "routes 10.0.3.50 via busy0" in_ns "$TUNSTACK"
ip -n "$NS" addr del 10.0.3.49/28 dev busy0

# The device deleted under a running tunstack: exit 1 with a message, promptly.
start_tunstack doomed
ip -n "$NS" link delete tun0 || fail "cannot delete tun0"
_deadline=$(($(date +%s) + 10))
while kill -0 "$TS_PID" 2>/dev/null; do
  [ "$(date +%s)" -lt "$_deadline" ] || fail "tunstack still running 10 s after its device was deleted"
  sleep 0.05
done
wait "$TS_PID"
status=$?
[ "$status" = 1 ] || { cat "$WORK/doomed.log"; fail "device deleted: exit status $status, expected 1"; }
grep -q "stopped working" "$WORK/doomed.log" || { cat "$WORK/doomed.log"; fail "no message about the vanished device"; }
log "ok: device deleted -> exit 1: $(grep 'stopped working' "$WORK/doomed.log")"
