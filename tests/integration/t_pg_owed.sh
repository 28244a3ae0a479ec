#!/usr/bin/env bash
# t_pg_owed: an Intune notification owed by a gateway that dies is delivered
# by another (issue 20).  Two gateways, A and B, on one PostgreSQL database
# and tests/fakes/fake_intune: the fake leaves A's successNotification
# unanswered, A is killed with SIGKILL, and B sends the notification, rebuilt
# from the store (the sealed CSR, the certificate), once A's instance lease
# expired; then a success and a failure notification Intune refuses are
# sent again by B after its backoff.  The owed rows are gone once delivered.
# Last, the revocation feed's cluster lease is a store step: while psql locks
# the leases table, B answers GetCACaps, and its feed revokes once it can.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

FK=$T/intune
mkdir -p "$FK"
(umask 077; printf 'entra-secret-%s\n' "$(openssl rand -hex 16)" >"$T/client.secret")
python3 "$SRC/tests/fakes/fake_intune" --dir "$FK" --secret-file "$T/client.secret" \
	2>"$T/fake_intune.log" &
track_pid $!
for ((i = 0; i < 100; i++)); do [ -s "$FK/port" ] && break; sleep 0.1; done
[ -s "$FK/port" ] || { echo "fake_intune did not start"; cat "$T/fake_intune.log"; exit 1; }
FAKE=http://127.0.0.1:$(cat "$FK/port")
mode() { curl -fsS -X POST -d "{\"mode\": \"$1\"}" "$FAKE/fake/notify-mode" >/dev/null; }
# count ACTION SERIAL LIST: notifications in the fake's LIST for the certificate SERIAL
count() {
	curl -fsS "$FAKE/fake/state" | python3 -c 'import json,sys
s = json.load(sys.stdin)
print(len([n for n in s[sys.argv[3]] if n["action"] == sys.argv[1] and
           n.get("certificateSerialNumber", "").lstrip("0").lower() == sys.argv[2].lstrip("0").lower()]))' "$@"
}
until_eq() { # SECONDS WANT CMD...: until CMD prints WANT
	local n=$1 want=$2 i
	shift 2
	for ((i = 0; i < n * 5; i++)); do
		[ "$("$@")" = "$want" ] && return 0
		sleep 0.2
	done
	echo "$*: $("$@"), not $want"
	return 1
}

pg_start
intune_profile() { # NAME RA_PROFILE [REVOCATION_INTERVAL]
	cat <<EOF2
  $1:
    ra_identity: dev
    ra_profile: $2
    allow_single_des: true
    challenge:
      type: intune
      tenant: contoso.onmicrosoft.com
      client_id: 11111111-2222-3333-4444-555555555555
      client_secret_file: "$T/client.secret"
      authority_url: "$FAKE/"
      graph_url: "$FAKE/"
      notify_wait: false
      timeout: 10s
      revocation_interval: ${3:-0}
EOF2
}
# an RA profile whose backend always fails (lib.sh)
broken_ra_profile
GW_SCEP_PROFILES_EXTRA="$(intune_profile intune dev 1s)
$(intune_profile intunebad broken)"
# pending_ttl 4s: the sweep and the outbox tick every second, leases last 3 s
GW_PENDING_TTL=4s GW_STORE=$(pg_store_yaml 2) GW_TOP_EXTRA="instance: gw-a" gw_config "$CFG"
gw_b_config
sed -i 's/^instance: gw-a$/instance: gw-b/' "$B_CFG"
gw_start
gw_b_start

D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem" >/dev/null 2>&1
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" "$@"; }
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
wait_log_b() { # TEXT: until B's log has it (10 s)
	for ((i = 0; i < 50; i++)); do grep -qF -- "$1" "$B_LOG" && return 0; sleep 0.2; done
	return 1
}

# --- A's notification unanswered, A killed: B delivers it --------------------------
mode hang
check "A enrolls the device (the reply does not wait for the notification)" \
	en -u "$BASE/scep/intune/pkiclient.exe" -c "ok-$(openssl rand -hex 8)" --cn owed-1 \
	--out "$D/1.pem"
S1=$(serial "$D/1.pem")
check "A sent the successNotification, left unanswered" until_eq 10 1 count successNotification "$S1" notify_refused
check "the notification is owed in the store, by gw-a" \
	test "$(pg_psql -c 'select owner, kind from owed')" = "gw-a|0"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
log "A killed with SIGKILL"
mode ok
check "B delivers A's successNotification for $S1" until_eq 30 1 count successNotification "$S1" notifications
check "B's log says it took the notification over from gw-a" \
	grep -q "sending the owed validator notification (success, attempt 2, taken over from instance gw-a)" "$B_LOG"
check "the owed row is gone once delivered" until_eq 10 0 pg_psql -c 'select count(*) from owed'

# --- B's own notification refused: B sends it again after its backoff --------------
mode refuse
check "B enrolls a device" \
	en -u "$B_BASE/scep/intune/pkiclient.exe" -c "ok-$(openssl rand -hex 8)" --cn owed-2 \
	--out "$D/2.pem"
S2=$(serial "$D/2.pem")
check "B's successNotification was refused" until_eq 10 1 count successNotification "$S2" notify_refused
check "... and B logs it as owed" wait_log_b "validator notification failed (attempt 1)"
check "the refused notification stays owed by gw-b" \
	test "$(pg_psql -c 'select owner, attempts from owed')" = "gw-b|1"
mode ok
check "B sends it again and Intune records it once" until_eq 30 1 count successNotification "$S2" notifications
check "the owed row is gone" until_eq 10 0 pg_psql -c 'select count(*) from owed'
check "A's notification was delivered once" test "$(count successNotification "$S1" notifications)" = 1

# --- a failureNotification refused: sent again, rebuilt without a certificate ----
mode refuse
check "B: the backend fails after Intune's Success: FAILURE" \
	en -u "$B_BASE/scep/intunebad/pkiclient.exe" -c "ok-$(openssl rand -hex 8)" --cn owed-3 \
	--expect failure
check "B's failureNotification was refused" until_eq 10 1 count failureNotification "" notify_refused
check "the failure stays owed, with the backend's reason" \
	test "$(pg_psql -c "select kind, reason <> '' from owed")" = "1|t"
mode ok
check "B sends the failureNotification again" until_eq 30 1 count failureNotification "" notifications
check "the owed row is gone" until_eq 10 0 pg_psql -c 'select count(*) from owed'

# --- the revocation feed's lease (every 1 s) waits for the locked leases table ----
fake_state() { # KEY: the fake's state[KEY] as JSON
	curl -fsS "$FAKE/fake/state" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[sys.argv[1]]))' "$1"
}
caps_b_for() { # N: GetCACaps on B within 1 s, N times, 1 s apart
	local i
	for ((i = 0; i < $1; i++)); do
		curl -sSf --max-time 1 -o /dev/null "$B_BASE/scep/dev/pkiclient.exe?operation=GetCACaps" ||
			return 1
		sleep 1
	done
}
revoked_soon() { # within 15 s, Intune has a successful revocation result
	local i
	for ((i = 0; i < 75; i++)); do
		fake_state revocation_results | grep -q '"succeeded": true' && return 0
		sleep 0.2
	done
	return 1
}
pg_psql -c "BEGIN; LOCK TABLE leases IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT" \
	>/dev/null 2>&1 &
locker=$!
check "psql holds the lock on leases" pg_table_locked leases
sleep 1 # a round whose lease was taken before the lock has downloaded by now
curl -fsS -X POST -d "{\"serialNumber\": \"$S2\", \"issuerName\": \"x\"}" "$FAKE/fake/revoke" >/dev/null
downloads=$(fake_state downloads)
check "GetCACaps on B answers within 1 s, 3 times over 3 s, while the feed's lease waits for the locked leases" \
	caps_b_for 3
check "... the feed downloaded nothing meanwhile ($downloads downloads before, $(fake_state downloads) now)" \
	test "$(fake_state downloads)" = "$downloads"
wait "$locker" || true
check "once the lock is gone, B's feed revokes $S2 and uploads success" revoked_soon

gw_b_stop
finish
