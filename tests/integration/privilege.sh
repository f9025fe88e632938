#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# privilege.sh - running with fewer privileges: `--user nobody` gives up root and every
# capability once the device is set up, and the stack keeps answering; a copy of the binary
# given cap_net_admin+ep by setcap creates the device as an unprivileged user (and with --user
# drops that capability too); without the capability, exit 1 with the setcap advice.
. "$(dirname "$0")/lib.sh"
require_root_and_tun
require_tools nc setpriv
NOBODY_UID=$(id -u nobody 2>/dev/null) || skip "needs the user nobody"
NOBODY_GID=$(id -g nobody)
new_netns

# forget PID: a process already reaped is no longer the cleanup's to kill (its PID may be reused).
forget() { PIDS=$(echo " $PIDS " | sed "s/ $1 / /g"); }

# status_field PID FIELD: the value of FIELD in /proc/PID/status, tabs as spaces.
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr '\t' ' '; }

# expect_credentials PID UID GID CAPEFF CAPPRM: what /proc/PID/status says about the process.
expect_credentials() {
  [ "$(status_field "$1" Uid)" = "$2 $2 $2 $2" ] || fail "PID $1: Uid is '$(status_field "$1" Uid)', expected $2 four times"
  [ "$(status_field "$1" Gid)" = "$3 $3 $3 $3" ] || fail "PID $1: Gid is '$(status_field "$1" Gid)', expected $3 four times"
  [ "$(status_field "$1" CapEff)" = "$4" ] || fail "PID $1: CapEff is $(status_field "$1" CapEff), expected $4"
  [ "$(status_field "$1" CapPrm)" = "$5" ] || fail "PID $1: CapPrm is $(status_field "$1" CapPrm), expected $5"
}

# serves: ping and a TCP echo of 1 MiB answered.
head -c $((1024 * 1024)) /dev/urandom >"$WORK/echo.in"
serves() {
  in_ns ping -c 3 -i 0.2 -W 2 10.0.3.50 | grep -q "3 received" || fail "$1: no ping replies"
  in_ns nc -N -w 10 10.0.3.50 7 <"$WORK/echo.in" >"$WORK/echo.out" || fail "$1: TCP echo failed"
  cmp -s "$WORK/echo.in" "$WORK/echo.out" || fail "$1: 1 MiB through TCP echo came back different"
}

# --- As root, --user nobody: the ids change, no capability is left, and it serves ---------------
start_tunstack dropped --user nobody -v --pcap "$WORK/dropped.pcap"
grep -q "dropped privileges to user nobody (uid $NOBODY_UID, gid $NOBODY_GID.*no capabilities left" "$WORK/dropped.log" ||
  { cat "$WORK/dropped.log"; fail "no 'dropped privileges to user nobody' line at -v"; }
expect_credentials "$TS_PID" "$NOBODY_UID" "$NOBODY_GID" 0000000000000000 0000000000000000
[ "$(status_field "$TS_PID" CapInh)" = 0000000000000000 ] || fail "CapInh is not empty"
[ "$(status_field "$TS_PID" CapAmb)" = 0000000000000000 ] || fail "CapAmb is not empty"
[ "$(status_field "$TS_PID" NoNewPrivs)" = 1 ] || fail "no_new_privs is not set"
[ "$(status_field "$TS_PID" CapBnd)" = 0000000000000000 ] || fail "CapBnd is $(status_field "$TS_PID" CapBnd), not empty"
grep -q "no capabilities left, bounding set empty" "$WORK/dropped.log" || fail "-v does not say the bounding set was emptied"
for g in $(status_field "$TS_PID" Groups); do
  [ "$g" = 0 ] && fail "the root group is still among the supplementary groups"
done
serves "--user nobody"
stop_tunstack "$TS_PID" TERM || fail "tunstack --user nobody did not exit 0 on SIGTERM"
forget "$TS_PID"
grep -q "captured [1-9][0-9]* packets" "$WORK/dropped.log" || fail "--pcap, opened before the drop, captured nothing"
if in_ns ip link show tun0 >/dev/null 2>&1; then fail "tun0 stayed after tunstack --user nobody exited"; fi
log "ok: --user nobody: uid/gid $NOBODY_UID/$NOBODY_GID, CapEff, CapPrm and CapBnd 0, no_new_privs; ping, 1 MiB echo and --pcap work"

# --- Unprivileged users need a world-usable /dev/net/tun ------------------------------------------
# /dev/net/tun may be closed to other users on this machine (mode 0600), so a world-usable node
# is bind-mounted over it in a private mount namespace, as a distribution's 0666 node would be.
mknod "$WORK/tun" c 10 200 && chmod 0666 "$WORK/tun" && chmod 0755 "$WORK" || fail "cannot make a tun node"
# as_nobody NAME PROGRAM ARGS...: runs PROGRAM as nobody (no groups, no inherited capabilities)
# in the namespace, in the background, logging to $WORK/NAME.log; sets TS_PID (exec all the way).
as_nobody() {
  _name=$1
  shift
  ip netns exec "$NS" unshare --mount --propagation private sh -c \
    'mount --bind "$1" /dev/net/tun && shift && exec setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --inh-caps=-all "$@"' \
    sh "$WORK/tun" "$@" >"$WORK/$_name.log" 2>&1 &
  TS_PID=$!
  PIDS="$PIDS $TS_PID"
}
# wait_ready NAME: waits for tunstack's ready line, or fails with its log.
wait_ready() {
  wait_for_line "$WORK/$1.log" "answering" 10 || { cat "$WORK/$1.log" >&2; fail "$1: tunstack did not start"; }
}

# Without the capability: exit 1, naming CAP_NET_ADMIN and the setcap command.
as_nobody no-capability "$TUNSTACK" --user nobody
wait "$TS_PID"
status=$?
forget "$TS_PID"
[ "$status" = 1 ] || { cat "$WORK/no-capability.log" >&2; fail "unprivileged without CAP_NET_ADMIN: exit $status, expected 1"; }
grep -q "needs CAP_NET_ADMIN" "$WORK/no-capability.log" || { cat "$WORK/no-capability.log" >&2; fail "the message does not name CAP_NET_ADMIN"; }
grep -q "sudo setcap cap_net_admin+ep $TUNSTACK" "$WORK/no-capability.log" || fail "the message lacks 'sudo setcap cap_net_admin+ep $TUNSTACK'"
log "ok: without CAP_NET_ADMIN -> exit 1: $(grep -o 'needs CAP_NET_ADMIN.*ep [^ .]*' "$WORK/no-capability.log" | head -n 1)"

# --- setcap cap_net_admin+ep on a copy (never on the build output itself) --------------------------
mkdir "$WORK/bin" && cp "$TUNSTACK" "$WORK/bin/tunstack" && chmod 0755 "$WORK/bin" "$WORK/bin/tunstack" || fail "cannot copy the binary"
COPY="$WORK/bin/tunstack"
require_tools setcap
case ",$(findmnt -n -o OPTIONS -T "$WORK" 2>/dev/null)," in
  *,nosuid,*) skip "$WORK is on a nosuid file system, where file capabilities are ignored (set TMPDIR elsewhere)" ;;
esac
setcap cap_net_admin+ep "$COPY" 2>"$WORK/setcap.err" ||
  skip "the file system of $WORK does not take file capabilities ($(cat "$WORK/setcap.err")); set TMPDIR elsewhere"
getcap "$COPY" | grep -q "cap_net_admin[=+]ep" || skip "setcap did not stick on $WORK ($(getcap "$COPY"))"

# As nobody, with the capability from the file: it creates tun0, configures it, and answers.
as_nobody setcap "$COPY" -v
wait_ready setcap
grep -q "created TUN device tun0" "$WORK/setcap.log" || { cat "$WORK/setcap.log" >&2; fail "setcap copy: tun0 not created"; }
expect_credentials "$TS_PID" "$NOBODY_UID" "$NOBODY_GID" 0000000000001000 0000000000001000  # CAP_NET_ADMIN only
serves "setcap copy as nobody"
stop_tunstack "$TS_PID" TERM || fail "the setcap copy did not exit 0 on SIGTERM"
forget "$TS_PID"
log "ok: setcap cap_net_admin+ep copy run by nobody creates tun0 (CapEff 0000000000001000) and serves"

# And with --user nobody (the user it already is): the capability is dropped too.
as_nobody setcap-user "$COPY" -v --user nobody
wait_ready setcap-user
grep -q "running as user nobody (uid $NOBODY_UID, gid $NOBODY_GID.*no capabilities left" "$WORK/setcap-user.log" ||
  { cat "$WORK/setcap-user.log" >&2; fail "setcap copy --user nobody: no 'no capabilities left' line"; }
expect_credentials "$TS_PID" "$NOBODY_UID" "$NOBODY_GID" 0000000000000000 0000000000000000
# Without CAP_SETPCAP the bounding set cannot be emptied: it stays, and -v says so.
[ "$(status_field "$TS_PID" CapBnd)" = "$(status_field $$ CapBnd)" ] || fail "the bounding set changed without CAP_SETPCAP"
grep -q "the bounding set stays as inherited (emptying it needs CAP_SETPCAP)" "$WORK/setcap-user.log" ||
  fail "setcap copy --user nobody: -v does not say the bounding set stays"
serves "setcap copy as nobody with --user nobody"
stop_tunstack "$TS_PID" TERM || fail "the setcap copy with --user did not exit 0 on SIGTERM"
forget "$TS_PID"
log "ok: the setcap copy with --user nobody ends with CapEff and CapPrm 0 and serves"

# Another user needs CAP_SETUID/CAP_SETGID, which the file does not give: exit 1 naming them.
OTHER=$(getent passwd daemon >/dev/null && echo daemon || echo bin)
as_nobody setcap-other "$COPY" --user "$OTHER"
wait "$TS_PID"
status=$?
forget "$TS_PID"
[ "$status" = 1 ] || { cat "$WORK/setcap-other.log" >&2; fail "--user $OTHER without CAP_SETUID: exit $status, expected 1"; }
grep -q "needs CAP_SETUID and CAP_SETGID, and tunstack lacks CAP_SETGID and CAP_SETUID" "$WORK/setcap-other.log" ||
  { cat "$WORK/setcap-other.log" >&2; fail "--user $OTHER without CAP_SETUID: the message does not name the missing capabilities"; }
if in_ns ip link show tun0 >/dev/null 2>&1; then fail "tun0 left behind after the failed --user"; fi
log "ok: --user $OTHER without CAP_SETUID/CAP_SETGID -> exit 1: $(head -n 1 "$WORK/setcap-other.log")"
