#!/usr/bin/env bash
# t_pg_start: gateways on PostgreSQL started while the database is down
# (issue 20): databases and gateways restart in any order.  `scepgw -n`
# warns that it cannot reach the database (and passes).  Two gateways, A and
# B, start while PostgreSQL is stopped: GetCACaps/GetCACert answer, a
# PKIOperation gets 503 with Retry-After, /healthz 503 names the store, and
# the reason is logged once, not once per attempt.  Then PostgreSQL starts:
# both connect by themselves, the schema is migrated exactly once (the
# advisory lock), and enrollments work on both without a restart.
#
# The local CA has a state_dir of an older version (<name>.revoked,
# <name>.crlnumber, as t_crl_store builds it): its one-time import reads the
# store at start-up (backends/local/revoke.c crl_import).  With the database
# down the gateway still starts, warns once, serves no CRL (503) meanwhile,
# and the periodic CRL job (every 7 s with crl_validity: 1m) runs the import
# once the database is up: /crl/ then lists the imported revocations with
# the file's number + 1.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

pg_start
GW_STORE=$(pg_store_yaml 3) gw_config "$CFG"
sed -i 's|state_dir: "\([^"]*\)" }|state_dir: "\1", crl_validity: 1m }|' "$CFG"
check "crl_validity: 1m in the configuration" grep -q 'crl_validity: 1m' "$CFG"
gw_b_config
# both have the older version's files (an upgraded cluster): either imports
for dir in "$T/ca-state" "$T/ca-state-b"; do
	printf '0a1b2c 1 1700000000\n# a comment\n0d0e 4 1700000100\n' >"$dir/local-ca.revoked"
	echo 41 >"$dir/local-ca.crlnumber"
done
pg_stop
log "PostgreSQL stopped before any gateway starts"

D=$T/c
mkdir -p "$D"
status() { curl -s -o /dev/null -w '%{http_code}' "$1"; }

# --- scepgw -n: a warning, not an error -------------------------------------------
check_n() {
	local out rc=0
	out=$("$SCEPGW" -n -c "$CFG" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" = 0 ] && grep -q '^warning: store: postgresql at .*cannot connect' <<<"$out" &&
		grep -q 'configuration OK (with warnings)' <<<"$out"
}
check "scepgw -n: the unreachable database is a warning, the configuration passes" check_n

# --- both start while it is down --------------------------------------------------
gw_start
gw_b_start
B_DEV=$B_BASE/scep/dev/pkiclient.exe
check "GetCACaps answers 200" test "$(status "$URL?operation=GetCACaps")" = 200
check "GetCACert answers 200" test "$(status "$URL?operation=GetCACert")" = 200
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" -c "$CHALLENGE" "$@"; }
check "PKIOperation on A: HTTP 503" enroll -u "$URL" --cn st-0 --save-request "$D/r0.der" \
	--expect http-503
check "PKIOperation on B: HTTP 503" enroll -u "$B_DEV" --cn st-0b --expect http-503
retry_after() {
	curl -s -D "$D/h0" -o /dev/null -H 'Content-Type: application/x-pki-message' \
		--data-binary @"$D/r0.der" "$URL?operation=PKIOperation"
	cat "$D/h0"
	grep -q '^HTTP/1.1 503' "$D/h0" && grep -qi '^Retry-After: [0-9]' "$D/h0"
}
check "... with Retry-After" retry_after
check "... logged as 'store unavailable'" \
	bash -c "grep 'op=PKCSReq' '$GW_LOG' | grep 'status=503' | grep -q 'store unavailable'"
check "/healthz answers 503" test "$(status "$BASE/healthz")" = 503
check "... and names the store and why" \
	bash -c "curl -s '$BASE/healthz' | grep -q '^store: cannot connect: .*127.0.0.1'"
sleep 1.5 # several attempts (100, 200, 400, 800 ms apart)
check "the reason is logged once for all the attempts" \
	test "$(grep -c 'store: postgresql: cannot connect' "$GW_LOG")" = 1
check "nothing migrated yet" not grep -q 'store: migrated' "$GW_LOG" "$B_LOG"
CRL=$BASE/crl/local-ca.crl
check "the local CA's import is pending, logged once" \
	test "$(grep -c 'backends.local-ca: the store is unavailable, the import/CRL check' "$GW_LOG")" = 1
check "/crl/ answers 503 meanwhile" test "$(status "$CRL")" = 503
check "... logged with the reason" grep -q 'no CRL: the import of state_dir waits for the store' "$GW_LOG"
admin_revoke_status() {
	curl -s -o /dev/null -D "$D/revoke.h" -w '%{http_code}' --cacert "$PKI/chain.pem" \
		-H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
		-d '{"reason": "keyCompromise"}' -X POST "$ADMIN_URL/api/v1/certificates/0a1b2c/revoke"
}
check "an admin revocation answers 503 meanwhile (not 409 or 502)" test "$(admin_revoke_status)" = 503
check "... with Retry-After" grep -qi '^retry-after:' "$D/revoke.h"

# --- PostgreSQL starts: both connect, one migrates ---------------------------------
pg_start_again
log "PostgreSQL started"
ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(status "$1")" = 200 ] && return 0
		sleep 0.2
	done
	return 1
}
check "A's /healthz is ready within 20 s, without a restart" ready "$BASE/healthz"
check "B's /healthz is ready within 20 s" ready "$B_BASE/healthz"
check "A logs that the store is ready" grep -q 'store: postgresql: connected, schema up to date' "$GW_LOG"
check "B too" grep -q 'store: postgresql: connected, schema up to date' "$B_LOG"
migrated=$(cat "$GW_LOG" "$B_LOG" | grep -c 'store: migrated to version 1' || true)
check "the migration ran once for both (logged $migrated time(s))" test "$migrated" = 1
check "no migration failed" not grep -q 'migration:' "$GW_LOG" "$B_LOG"
last=$(cat "$GW_LOG" "$B_LOG" | sed -n 's/.*store: migrated to version \([0-9]*\).*/\1/p' | sort -n | tail -1)
check "schema_version: one row per migration, up to the last logged ($last)" \
	test "$(pg_psql -c 'select count(*), max(version) from schema_version')" = "$last|$last"
check "PKCSReq on A: SUCCESS" enroll -u "$URL" --cn st-1 --out "$D/a.pem"
check "PKCSReq on B: SUCCESS" enroll -u "$B_DEV" --cn st-2 --out "$D/b.pem"
check "both certificates in the database, none for the refused requests" \
	test "$(pg_psql -c 'select count(*) from certificates')" = 2
check "both gateways are still the ones started before the database" \
	bash -c "kill -0 $GW_PID && kill -0 $B_PID"

# --- the import, retried by the periodic CRL job: once, the number continued -------
crl_number() { printf '%d\n' "0x$(openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2 | sed 's/^0x//')"; }
lists() { openssl crl -inform DER -in "$1" -noout -text | grep -qi "Serial Number: $2\$"; }
crl_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		curl -sf -o "$D/imp.crl" "$CRL" && return 0
		sleep 0.2
	done
	return 1
}
check "/crl/ answers 200 within 20 s of the database's start" crl_ready
imported() { grep -c 'backends.local-ca: imported [0-9]* revocation(s) and CRL number 41 from' "$1"; }
check "A ran the import once" test "$(imported "$GW_LOG")" = 1
added=$(cat "$GW_LOG" "$B_LOG" | sed -n 's/.*backends.local-ca: imported \([0-9]*\) revocation.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
check "the two revocations were added once (by A and B: $added)" test "$added" = 2
check "the CRL continues the file's number: 42" test "$(crl_number "$D/imp.crl")" = 42
check "it lists the imported serials" bash -c "$(declare -f lists); lists '$D/imp.crl' 0A1B2C && lists '$D/imp.crl' 0D0E"
check "the store holds both revocations" \
	test "$(pg_psql -c "select count(*) from ca_revoked where ca = 'local-ca'")" = 2
gw_b_stop
finish
