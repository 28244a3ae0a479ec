#!/usr/bin/env bash
# t_health.sh: readiness and service-manager notifications (issue 17 item 4).
#  - GET/HEAD /healthz on a SCEP listener: 200 "ok"; 503 naming the store when
#    the store's file system is full (a small tmpfs filled up; a remount
#    read-only is refused while the store is open for writing), 200 again
#    once there is room; 503 naming the store when its directory becomes a
#    read-only mount (a bind mount remounted read-only in the daemon's own
#    mount namespace), 200 once it is read-write again; the admin API's
#    /healthz answers the same; probes
#    are not logged as warnings (one info line when the answer changes);
#  - sd_notify: a python3 datagram socket as $NOTIFY_SOCKET receives READY=1
#    once the sockets are bound, RELOADING=1 and READY=1 around a SIGHUP,
#    STOPPING=1 on SIGTERM.
# Runs as root (mount).
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "t_health: needs root (mounts a tmpfs)" >&2
	exit 1
fi

MNT=$T/db
mkdir -p "$MNT"
mount -t tmpfs -o size=8m,mode=0755 tmpfs "$MNT"
# stop the gateway before the tmpfs goes (it holds the store open)
# (set +e: `(exit $st)` hands the status to _cleanup without ending the trap)
trap 'st=$?; set +e; [ -z "$GW_PID" ] || _stop_pid "$GW_PID" 10; GW_PID=;
      umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; (exit $st); _cleanup' EXIT

gw_config "$CFG"
sed -i "s#path: \"$T/scepgw.db\"#path: \"$MNT/scepgw.db\"#" "$CFG"

# the notify socket: every datagram, one line each
python3 -u - "$T/notify.sock" "$T/notify.log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
EOF
track_pid $!
for ((i = 0; i < 50; i++)); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
: >"$T/notify.log"

# the daemon in a mount namespace of its own (unshare execs it: same pid), so
# that the read-only mount below is seen by it alone
printf '#!/bin/sh\nexec unshare -m --propagation private "%s" "$@"\n' "$SCEPGW" >"$T/scepgw-ns"
chmod +x "$T/scepgw-ns"
SCEPGW=$T/scepgw-ns NOTIFY_SOCKET=$T/notify.sock gw_start
wait_notify() { # LINE [COUNT]: until the notify log has COUNT (1) lines equal to LINE
	local n
	for ((n = 0; n < 100; n++)); do
		[ "$(grep -cx "$1" "$T/notify.log")" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
check "sd_notify: READY=1 once the sockets are bound" wait_notify READY=1
check "the gateway logged its listeners before READY=1" grep -q "listening on http://127.0.0.1:$PORT" "$GW_LOG"

hz() { curl -sS --max-time 5 -D "$T/hz.hdr" -o "$T/hz.body" -w '%{http_code}' "$@" "$BASE/healthz" || true; }
admin_hz() {
	curl -sS --max-time 5 --cacert "$PKI/chain.pem" -D "$T/ahz.hdr" -o "$T/ahz.body" \
		-w '%{http_code}' "$ADMIN_URL/healthz" || true
}
check "GET /healthz: 200" test "$(hz)" = 200
check "... body ok" grep -qx ok "$T/hz.body"
check "HEAD /healthz: 200" test "$(hz -I)" = 200
check "the admin /healthz: 200" test "$(admin_hz)" = 200

dd if=/dev/zero of="$MNT/fill" bs=64k >/dev/null 2>&1 || true
check "store full: /healthz 503" test "$(hz)" = 503
check "... naming the store check" grep -q "store: $MNT: no space left" "$T/hz.body"
check "... with Retry-After: 10" grep -qix 'retry-after: 10.' "$T/hz.hdr"
check "the admin /healthz agrees: 503" test "$(admin_hz)" = 503
check "... with Retry-After: 10" grep -qix 'retry-after: 10.' "$T/ahz.hdr"
check "... naming the store check" grep -q "no space left" "$T/ahz.body"
check "one info line says not ready" \
	test "$(grep -c 'info: healthz: not ready: store' "$GW_LOG")" -eq 1
check "a second probe while not ready adds no line" test "$(hz)" = 503
check "... still one line" test "$(grep -c 'healthz: not ready' "$GW_LOG")" -eq 1

rm -f "$MNT/fill"
check "room again: /healthz 200" test "$(hz)" = 200
check "... without Retry-After" not grep -qi '^retry-after' "$T/hz.hdr"
check "an enrollment works" \
	"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn health-1 --out "$T/h1.pem"
check "probes are never logged as warnings" not grep -q 'warn: .*healthz' "$GW_LOG"
check "probes make no request line" not grep -q 'op=.*healthz\|path .*healthz' "$GW_LOG"

# read-only: bind-mount the store's directory on itself in the daemon's
# namespace and make that mount read-only (the tmpfs stays read-write: the
# daemon's open files were opened through it, which is why a plain remount
# read-only is refused); undone before the test goes on
in_ns() { nsenter -t "$GW_PID" -m "$@"; }
check "bind mount of the store's directory in the daemon's namespace" in_ns mount --bind "$MNT" "$MNT"
check "... remounted read-only" in_ns mount -o remount,ro,bind "$MNT"
check "... the host's mount stays read-write" touch "$MNT/host-rw"
check "read-only store: /healthz 503" test "$(hz)" = 503
check "... naming the store check" grep -q "store: $MNT: read-only file system" "$T/hz.body"
check "the admin /healthz agrees: 503" test "$(admin_hz)" = 503
check "read-write again" in_ns mount -o remount,rw,bind "$MNT"
check "... ready again: /healthz 200" test "$(hz)" = 200
check "the bind mount is undone" bash -c "nsenter -t $GW_PID -m umount '$MNT' || nsenter -t $GW_PID -m umount -l '$MNT'"
check "an enrollment works after it" \
	"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn health-2 --out "$T/h2.pem"

kill -HUP "$GW_PID"
check "sd_notify: RELOADING=1 on SIGHUP" wait_notify RELOADING=1
check "... then READY=1 again" wait_notify READY=1 2
gw_stop
check "sd_notify: STOPPING=1 on SIGTERM" wait_notify STOPPING=1
finish
