#!/usr/bin/env bash
# t_pg_down: the PostgreSQL store while the database is down (issue 20):
# PKIOperation answers HTTP 503 with "store unavailable" in its log line
# (never a crash, never a reply claiming success), GetCACaps and GetCACert
# keep working, /healthz says not ready; once the server is back the pool
# reconnects by itself and enrollments work again, without a restart.  Then
# the same under load (sgwload): the only failures are 503s, and every
# certificate a client received is in the database.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SGWLOAD:?SGWLOAD must name the load tool}"

pg_start
GW_STORE=$(pg_store_yaml 3) gw_config "$CFG"
gw_start
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" -c "$CHALLENGE" "$@"; }
status() { curl -s -o /dev/null -w '%{http_code}' "$1"; }

check "an enrollment while PostgreSQL is up" enroll --cn up-1
pg_stop
log "PostgreSQL stopped"
mark=$(gw_log_mark)
check "PKIOperation while it is down: HTTP 503" enroll --cn down-1 --expect http-503
check "... logged as 'store unavailable' with status 503" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep 'op=PKCSReq' | grep 'status=503' | grep -q 'store unavailable'"
check "a second one too (no connection left: at once)" enroll --cn down-2 --expect http-503 --timeout 10
check "GetCACaps still answers 200" test "$(status "$URL?operation=GetCACaps")" = 200
check "GetCACert still answers 200" test "$(status "$URL?operation=GetCACert")" = 200
check "/healthz answers 503" test "$(status "$BASE/healthz")" = 503
check "... with Retry-After: 10" bash -c "curl -s -D - -o /dev/null '$BASE/healthz' | grep -qix 'retry-after: 10.'"
check "... and says the store is the reason" bash -c "curl -s '$BASE/healthz' | grep -q '^store: '"
code=$(curl -sS --cacert "$PKI/chain.pem" -H "Authorization: Bearer $ADMIN_TOKEN" -o "$T/api.out" \
	-D "$T/api.hdr" -w '%{http_code}' "$ADMIN_URL/api/v1/transactions/1" || true)
check "the admin API answers 503 for a transaction (got $code)" test "$code" = 503
check "... with Retry-After: 10" grep -qix 'retry-after: 10.' "$T/api.hdr"
check "the gateway is alive" kill -0 "$GW_PID"

pg_start_again
log "PostgreSQL started again"
ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(status "$BASE/healthz")" = 200 ] && return 0
		sleep 0.2
	done
	return 1
}
check "/healthz is ready again within 20 s (reconnected)" ready
check "the reconnect is logged" grep -q 'store: postgresql: connection [0-9]* re-established' "$GW_LOG"
check "an enrollment works again, without a restart" enroll --cn up-2
check "two certificates in the database (none for the refused ones)" \
	test "$(pg_psql -c 'select count(*) from certificates')" = 2
check "the refused requests left no transaction" \
	test "$(pg_psql -c "select count(*) from transactions where subject like '%down-%'")" = 0

# --- stopped and started again during a load ----------------------------------------
"$SGWLOAD" -u "$URL" -p "$CHALLENGE" -n 300 -c 8 \
	-k 4 -q --json --cn-prefix ld --serials "$D/ld.serials" >"$D/ld.json" 2>"$D/ld.err" &
lp=$!
track_pid "$lp"
for ((i = 0; i < 150; i++)); do
	[ "$(pg_psql -c "select count(*) from certificates where subject like '%ld-%'")" -ge 10 ] && break
	sleep 0.1
done
check "the load is still running when PostgreSQL stops" kill -0 "$lp"
pg_stop
sleep 1.5
pg_start_again
wait "$lp" || true
log "load across the restart: $(cat "$D/ld.json")"
failures() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
assert d["ok"] > 0, "no enrollment succeeded"
assert d["failed"] > 0, "no request failed: the database was not down during the load"
assert set(d["failures"]) <= {"http_status"}, d["failures"]
assert set(d["http_status"]) == {"503"}, d["http_status"]' "$D/ld.json"
}
check "under load, the requests while it was down got 503, the others certificates" failures
check "sgwload exits without a sanitizer report (leak check on)" not grep -qE 'Sanitizer|runtime error:' "$D/ld.err"
check "every certificate a client received is in the database" pg_has_serials "$D/ld.serials"
check "/healthz is ready again" ready
check "an enrollment after the load" enroll --cn up-3
finish
