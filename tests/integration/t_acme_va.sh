#!/usr/bin/env bash
# t_acme_va: the ACME order flow against pebble with its validation delay on
# (PEBBLE_VA_SLEEPTIME, no PEBBLE_VA_NOSLEEP), RFC 8555 7.5.1: one challenge
# POST per authorization, then polling.
#   (a) pebble with PEBBLE_VA_ALWAYS_VALID: 10 concurrent enrollments
#   (b) dns-01 validated for real: the gateway's hook publishes TXT records
#       through pebble-challtestsrv's management API and pebble resolves
#       through its DNS port; 10 concurrent enrollments for one name (each
#       order its own value), a wrong TXT value, a shutdown mid-order; no
#       record is left behind.
#   (c) an authorization pebble does not decide within validation_timeout.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
for p in pebble-challtestsrv flock python3; do
	command -v "$p" >/dev/null || { echo "$p not found (apt-get install pebble util-linux python3)"; exit 1; }
done
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
# shellcheck source=lib_acme.sh
. "$(dirname "$0")/lib_acme.sh"

VT=20 # validation_timeout of the test's backends
COMMON="$EAB_YAML
    wait: 40s
    validation_timeout: ${VT}s"

# challenge_posts_ok FROM_ORDERS FROM_CHALLS FROM_MARK: since these marks, as
# many challenge POSTs reached pebble as it made orders (one authorization
# each), and the gateway POSTed each challenge URL once.  The logs of the
# two processes may lag the replies the client saw: a few tries, 1 s apart.
chall_posts() { grep -c 'POST /chalZ/' "$PB_LOG" || true; }
challenge_posts_ok() {
	local try
	for try in 1 2 3 4 5; do
		challenge_posts_now "$@" && return 0
		sleep 1
	done
	return 1
}
challenge_posts_now() {
	local orders=$(($(pebble_orders) - $1)) posts=$(($(chall_posts) - $2)) urls uniq
	urls=$(gw_log_since "$3" | grep -o 'challenge POST [^ ]*' | wc -l)
	uniq=$(gw_log_since "$3" | grep -o 'challenge POST [^ ]*' | sort -u | wc -l)
	log "orders $orders, challenge POSTs at pebble $posts, gateway: $urls POSTs to $uniq URLs"
	[ "$orders" -gt 0 ] && [ "$posts" = "$orders" ] && [ "$urls" = "$orders" ] && [ "$uniq" = "$orders" ]
}

# ---- (a) pebble validates every challenge (after up to 2 s) ----------------------
pebble_start always PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_SLEEPTIME=2 PEBBLE_WFE_NONCEREJECT=0 \
	PEBBLE_AUTHZREUSE=0
acme_profiles "$T/state-a" acmeva "$COMMON"
gw_start "$CFG"
D=$T/a
mkdir -p "$D"
o0=$(pebble_orders) c0=$(chall_posts) mark=$(gw_log_mark)
acme_enroll acmeva --cn va --san-dns va.devices.test --parallel 10 >"$D/par.out" 2>"$D/par.err" || true
check "(a) 10 concurrent enrollments are all issued" grep -q '10 of 10 enrollments matched' "$D/par.err"
check "(a) one challenge POST per authorization" challenge_posts_ok "$o0" "$c0" "$mark"
gw_stop
pebble_stop

# ---- (b) dns-01 through pebble-challtestsrv ------------------------------------------
CTS_MGMT=$(free_port)
CTS_DNS=$(free_port)
pebble-challtestsrv -management "127.0.0.1:$CTS_MGMT" -dns01 "127.0.0.1:$CTS_DNS" -http01 '' \
	-https01 '' -tlsalpn01 '' >"$T/challtestsrv.log" 2>&1 &
track_pid $!
for ((i = 0; i < 50; i++)); do
	curl -fsS -o /dev/null -d '{"host":"probe.test."}' "http://127.0.0.1:$CTS_MGMT/clear-txt" 2>/dev/null && break
	sleep 0.1
done

# The hook: challtestsrv's clear-txt removes every value of a name, so the
# hook keeps the values per name and clears the name with its last value.
# Names under bad.devices.test get a wrong value.  Every call is logged.
HK=$T/hook
mkdir -p "$HK/vals"
cat >"$HK/hook.sh" <<EOF
#!/bin/bash
set -eu
verb=\$1 name=\$2 value=\$3
exec 9>"$HK/lock"
flock 9
echo "\$verb \$name \$value" >>"$HK/calls.log"
f="$HK/vals/\$name"
api=http://127.0.0.1:$CTS_MGMT
case \$verb in
add)
	v=\$value
	case \$name in _acme-challenge.bad.*) v=wrong-\$value ;; esac
	curl -fsS -d "{\"host\":\"\$name.\",\"value\":\"\$v\"}" "\$api/set-txt"
	echo "\$value" >>"\$f" ;;
del)
	{ grep -vxF -e "\$value" "\$f" 2>/dev/null || true; } >"\$f.new"
	mv "\$f.new" "\$f"
	if [ ! -s "\$f" ]; then
		curl -fsS -d "{\"host\":\"\$name.\"}" "\$api/clear-txt"
		rm -f "\$f"
	fi ;;
*) exit 2 ;;
esac
EOF
chmod 0755 "$HK/hook.sh"

# txt NAME: the TXT values challtestsrv's DNS port answers for NAME.
txt() {
	python3 - "$1" "$CTS_DNS" <<'EOF'
import random, socket, struct, sys
name, port = sys.argv[1], int(sys.argv[2])
q = struct.pack(">HHHHHH", random.randint(0, 65535), 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 16, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(q, ("127.0.0.1", port))
r = s.recv(65535)
off = len(q)
for _ in range(struct.unpack(">H", r[6:8])[0]):
    if r[off] & 0xC0 == 0xC0:
        off += 2
    else:
        while r[off]:
            off += r[off] + 1
        off += 1
    rtype, _, _, rdlen = struct.unpack(">HHIH", r[off : off + 10])
    off += 10
    rd, off = r[off : off + rdlen], off + rdlen
    i = 0
    while rtype == 16 and i < len(rd):
        print(rd[i + 1 : i + 1 + rd[i]].decode())
        i += 1 + rd[i]
EOF
}
no_txt() { local v; v=$(txt "_acme-challenge.$1"); log "TXT _acme-challenge.$1: '${v//$'\n'/ }'"; [ -z "$v" ]; }
# Each value the hook added for NAME was deleted exactly once, and no other.
adds_deleted_once() {
	local n=_acme-challenge.$1 adds dels
	adds=$(awk -v n="$n" '$1 == "add" && $2 == n {print $3}' "$HK/calls.log" | sort)
	dels=$(awk -v n="$n" '$1 == "del" && $2 == n {print $3}' "$HK/calls.log" | sort)
	log "$n: $(wc -w <<<"$adds") adds ($(sort -u <<<"$adds" | wc -w) distinct), $(wc -w <<<"$dels") dels"
	[ -n "$adds" ] && [ "$adds" = "$dels" ] && [ "$(sort -u <<<"$adds")" = "$adds" ]
}
count_adds() { awk -v n="_acme-challenge.$1" '$1 == "add" && $2 == n' "$HK/calls.log" | wc -l; }

PB_ARGS=(-dnsserver "127.0.0.1:$CTS_DNS")
pebble_start dns PEBBLE_VA_SLEEPTIME=2 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
DNS01="$COMMON
    challenge: dns-01
    dns01_hook: \"$HK/hook.sh\""
acme_profiles "$T/state-b" acmedns "$DNS01" acmeslow "$DNS01
    dns01_delay: 60s"
gw_start "$CFG"
D=$T/b
mkdir -p "$D"

# 10 concurrent enrollments, two for each of five names (each order has its
# own token, hence its own value).  Not ten for one name: challtestsrv answers
# over UDP without truncation, and ten values overflow pebble's 512 bytes.
o0=$(pebble_orders) c0=$(chall_posts) mark=$(gw_log_mark)
pids=()
for n in 1 2 3 4 5; do
	acme_enroll acmedns --cn "dns$n" --san-dns "dns$n.devices.test" --parallel 2 \
		>"$D/par$n.out" 2>"$D/par$n.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
all_issued() { # on failure: what scepreq and the gateway said about the orders that failed
	[ "$(cat "$D"/par?.err | grep -c '2 of 2 enrollments matched')" = 5 ] && return 0
	grep -L '2 of 2 enrollments matched' "$D"/par?.err | xargs tail -n 5
	grep -E 'profile=acmedns .*outcome=' "$GW_LOG" | grep -v 'outcome=success' | tail -n 5
	grep -E 'backend acme|acme' "$GW_LOG" | grep -Ei 'warn|error' | tail -n 10
	return 1
}
check "(b) dns-01: 10 concurrent enrollments (2 per name) are all issued" all_issued
check "(b) one challenge POST per authorization" challenge_posts_ok "$o0" "$c0" "$mark"
for n in 1 2 3 4 5; do
	check "(b) dns$n: 2 records added, one per authorization" test "$(count_adds "dns$n.devices.test")" = 2
	check "(b) dns$n: each order deleted its own value once, no other" adds_deleted_once "dns$n.devices.test"
	check "(b) dns$n: no TXT record is left at challtestsrv" no_txt "dns$n.devices.test"
done

# a wrong TXT value: pebble finds no matching record, the authorization is invalid
mark=$(gw_log_mark)
t0=$SECONDS
check "(b) a wrong TXT value: FAILURE badRequest" \
	acme_enroll acmedns --cn bad --san-dns bad.devices.test --expect failure --expect-failinfo badRequest
check "(b) ... within validation_timeout ($((SECONDS - t0)) s < $VT s)" test $((SECONDS - t0)) -lt "$VT"
check "(b) ... the reason is the invalid authorization" \
	grep -q 'authorization for bad.devices.test is invalid' <(gw_log_since "$mark")
check "(b) ... its record was deleted" adds_deleted_once bad.devices.test
check "(b) ... no TXT record is left" no_txt bad.devices.test

gw_stop

# shutdown while a record is published (dns01_delay 60s holds the POST back).
# Two SIGTERMs stop at once: the request in flight is dropped unanswered and
# freed (as in t_shutdown), with leak detection on.
GW_LOG=$T/scepgw-shutdown.log
gw_start "$CFG"
acme_enroll acmeslow --cn shut --san-dns shut.devices.test --timeout 90 >"$D/shut.out" 2>&1 &
SHUT_PID=$!
track_pid "$SHUT_PID"
for ((i = 0; i < 100; i++)); do
	[ "$(count_adds shut.devices.test)" = 1 ] && [ -n "$(txt _acme-challenge.shut.devices.test)" ] && break
	sleep 0.1
done
check "(b) shutdown: the record was published before the stop" not no_txt shut.devices.test
kill -TERM "$GW_PID"
sleep 0.2
kill -TERM "$GW_PID"
st=0
wait "$GW_PID" || st=$?
GW_PID=
check "(b) shutdown: the gateway exits 0 (got $st)" test "$st" -eq 0
check "(b) shutdown: no sanitizer report" \
	not grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$GW_LOG"
check "(b) shutdown: the gateway deleted the record as it stopped" adds_deleted_once shut.devices.test
check "(b) shutdown: no TXT record is left" no_txt shut.devices.test
wait "$SHUT_PID" 2>/dev/null || true

pebble_stop

# ---- (c) an authorization the CA does not decide in time ---------------------------
# pebble resolves through a UDP port that never answers: its lookup takes
# seconds, longer than validation_timeout 1s.  The device gets FAILURE and
# the record goes.
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$T/blackhole.port" &
track_pid $!
for ((i = 0; i < 50; i++)); do [ -s "$T/blackhole.port" ] && break; sleep 0.1; done
PB_ARGS=(-dnsserver "127.0.0.1:$(cat "$T/blackhole.port")")
pebble_start slowdns PEBBLE_VA_SLEEPTIME=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
GW_LOG=$T/scepgw-timeout.log
acme_profiles "$T/state-c" acmeto "$EAB_YAML
    challenge: dns-01
    dns01_hook: \"$HK/hook.sh\"
    validation_timeout: 1s"
gw_start "$CFG"
mark=$(gw_log_mark)
t0=$SECONDS
check "(c) undecided authorization: FAILURE" \
	acme_enroll acmeto --cn slow --san-dns slow.devices.test --expect failure
check "(c) ... soon after validation_timeout ($((SECONDS - t0)) s <= 8 s)" test $((SECONDS - t0)) -le 8
check "(c) ... the reason is the timeout" \
	grep -q 'authorization for slow.devices.test not decided within validation_timeout' \
	<(gw_log_since "$mark")
check "(c) ... one challenge POST" test "$(gw_log_since "$mark" | grep -c 'challenge POST')" = 1
check "(c) ... its record was deleted" adds_deleted_once slow.devices.test
check "(c) ... no TXT record is left" no_txt slow.devices.test
gw_stop
pebble_stop
no_secret_in_log
finish
