#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# persistent.sh - tunstack attaches to an existing persistent TUN device, answers on it, and
# leaves it in place when it stops; a second run attaches again, also with --host-addr none;
# what an earlier owner left on the device (offloads, another virtio-net header size or byte
# order) does not break the next run; a user's device is served without privileges.
# Usage: persistent.sh TUNSTACK TUN_VNET (tests/tools/tun_vnet).
. "$(dirname "$0")/lib.sh"
TUN_VNET=${2:?usage: $0 /path/to/tunstack /path/to/tun_vnet}
require_root_and_tun
require_tools curl jq nc sha256sum
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

# echo_intact NAME: 4 MiB through TCP echo come back intact (IPv4 and IPv6).
head -c $((4 * 1024 * 1024)) /dev/urandom >"$WORK/echo.in"
sent=$(sha256sum <"$WORK/echo.in" | cut -d' ' -f1)
echo_intact() {
  for address in 10.0.3.50 fd00:3::50; do
    in_ns nc -N -w 10 "$address" 7 <"$WORK/echo.in" >"$WORK/echo.out" || fail "$1: TCP echo over $address failed"
    [ "$(sha256sum <"$WORK/echo.out" | cut -d' ' -f1)" = "$sent" ] ||
      fail "$1: 4 MiB through echo over $address came back different ($(wc -c <"$WORK/echo.out") bytes)"
  done
}

# The runs above left tun0 with TUN offloads on: a run without them must turn them off, or the
# kernel goes on handing over super-packets and unfinished checksums that nothing can read.
start_tunstack nooffload --host-addr none -v --no-offload
grep -q "offloads: off (turned off)" "$WORK/nooffload.log" || fail "--no-offload was not reported"
echo_intact "--no-offload after a run with offloads"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"
log "ok: --no-offload after a run with offloads: 4 MiB through echo intact"

# Another owner (QEMU uses 12-byte virtio-net headers) leaves tun0 with its own header format:
# tunstack must set its own (10 bytes, little-endian) whenever it uses the header, or every
# packet is cut at the wrong place. Big-endian headers exist only on kernels with cross-endian
# support (CONFIG_TUN_VNET_CROSS_LE); where there is none, no owner can have left them.
if in_ns "$TUN_VNET" tun0 --big-endian 1 >/dev/null 2>&1; then
  left=$(in_ns "$TUN_VNET" tun0 --header-size 12 --little-endian 0 --big-endian 1)
  expected_left="header-size 12 little-endian 0 big-endian 1"
  restored="header-size 10 little-endian 1 big-endian 1"  # LE wins over BE (tun_is_little_endian)
else
  left=$(in_ns "$TUN_VNET" tun0 --header-size 12 --little-endian 0) || fail "tun_vnet could not set the header size"
  expected_left="header-size 12 little-endian 0 big-endian unsupported"
  restored="header-size 10 little-endian 1 big-endian unsupported"
  log "note: this kernel has no cross-endian TUN support, so only the header size is exercised"
fi
[ "$left" = "$expected_left" ] || fail "tun_vnet left '$left', expected '$expected_left'"
start_tunstack vnet --host-addr none -v
grep -q "offloads: checksums, TCP segmentation" "$WORK/vnet.log" || fail "no offloads: $(grep -m1 offloads "$WORK/vnet.log")"
in_ns ping -c 3 -i 0.2 -W 2 10.0.3.50 | grep -q "3 received" || fail "no ping replies after another owner's header format"
echo_intact "after another owner's virtio-net header format"
stats_json >"$WORK/stats.json" || fail "GET /stats.json failed"
rx=$(jq -r '.interfaces[0].device.tun_rx_super_packets' "$WORK/stats.json")
tx=$(jq -r '.interfaces[0].device.tun_tx_super_packets' "$WORK/stats.json")
[ "$rx" -gt 0 ] && [ "$tx" -gt 0 ] || fail "super-packets: $rx in, $tx out; expected both"
stop_tunstack "$TS_PID" TERM || fail "tunstack did not exit 0"
[ "$(in_ns "$TUN_VNET" tun0)" = "$restored" ] || fail "tunstack left the device with '$(in_ns "$TUN_VNET" tun0)', expected '$restored'"
log "ok: attached over '$left': ping, 4 MiB echo with $rx super-packets in and $tx out; left '$restored'"

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
