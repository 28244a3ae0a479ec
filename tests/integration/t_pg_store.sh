#!/usr/bin/env bash
# t_pg_store: the gateway on a PostgreSQL store (issue 20): it migrates an
# empty database, an enrollment commits its transaction and certificate
# there, the senderNonce replay check and GetCert read it back, and neither
# the password nor the connection string reaches the log.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

pg_start
GW_STORE=$(pg_store_yaml 2) gw_config "$CFG"
check "scepgw -n accepts a postgresql store" "$SCEPGW" -n -c "$CFG"
gw_start
check "the empty database was migrated" grep -q 'store: migrated to version 1' "$GW_LOG"
check "schema_version records both migrations" test "$(pg_psql -c 'select max(version) from schema_version')" = 2

D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
check "an enrollment on the postgresql store succeeds" \
	"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" -c "$CHALLENGE" --cn pg-one \
	--key-bits 2048 --out "$D/one.pem" --out-key "$D/one.key" --save-request "$D/one.req"
serial=$(openssl x509 -in "$D/one.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
check "the certificate is in PostgreSQL (serial $serial)" \
	test "$(pg_psql -c "select count(*) from certificates where ltrim(serial, '0') = '$serial'")" = 1
check "... with its DER, the one the device got" bash -c \
	"[ \"\$(psql -h '$PG_DIR' -p $PG_PORT -U scepgw -d scepgw -XAtq -c \"select encode(der, 'hex') from certificates where ltrim(serial, '0') = '$serial'\")\" = \"\$(openssl x509 -in '$D/one.pem' -outform DER | od -An -v -tx1 | tr -d ' \n')\" ]"
check "its transaction is ISSUED (5) with the serial, CSR dropped" \
	test "$(pg_psql -c "select state || ':' || ltrim(cert_serial, '0') || ':' || (csr_sealed is null) from transactions where subject like '%pg-one%'")" = "5:$serial:true"
check "the request re-sent (same nonce): FAILURE, the replay is refused" \
	"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" --key "$D/one.key" --cn pg-one \
	--send-request "$D/one.req" --expect failure
check "... by the senderNonce check in PostgreSQL" grep -q 'replayed senderNonce' "$GW_LOG"
check "GetCert reads it back from PostgreSQL" \
	"$SCEPREQ" getcert -u "$URL" --signer-cert "$D/one.pem" --signer-key "$D/one.key" -o "$D/got.pem"
check "... the same certificate" cmp <(openssl x509 -in "$D/one.pem") <(openssl x509 -in "$D/got.pem")
check "/healthz is ready" test "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")" = 200
check "the password is not in the log" not grep -qF "$(cat "$PG_PASSWORD_FILE")" "$GW_LOG"
check "the log names the server, not the connection string" \
	grep -q "store: postgresql: 2 connection(s) to host '127.0.0.1' port '$PG_PORT' database 'scepgw'" "$GW_LOG"

# A wrong password: `scepgw -n` refuses it; the gateway still starts (the
# password file may be fixed, the role created, in any order) but is not
# ready, and says why: once in its log as an error, and in /healthz.
printf 'wrong\n' >"$T/bad.password"
chmod 600 "$T/bad.password"
# (no state_dir: the local CA's import of old files reads the store at start)
sed -e "s|$PG_PASSWORD_FILE|$T/bad.password|" -e "s|, state_dir: \"$T/ca-state\"||" "$CFG" \
	>"$T/badpw.yaml"
badpw_n() {
	local out rc=0
	out=$("$SCEPGW" -n -c "$T/badpw.yaml" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" = 1 ] && grep -q '^error: store: postgresql at .*password authentication failed' <<<"$out"
}
gw_stop
check "a wrong password: scepgw -n fails and says why" badpw_n
mark=$(gw_log_mark)
gw_start "$T/badpw.yaml"
check "... the gateway starts: GetCACaps 200" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "$URL?operation=GetCACaps")" = 200
check "... /healthz 503 says the login is refused" \
	bash -c "curl -s '$BASE/healthz' | grep -q '^store: cannot connect: .*password authentication failed'"
check "... logged as an error with what to check" \
	bash -c "gw_log() { tail -n +$((mark + 1)) '$GW_LOG'; }; gw_log | grep 'error: store: postgresql: cannot connect' | grep 'password authentication failed' | grep -q 'store.password_file'"
sleep 1
check "... once, however many attempts" \
	test "$(gw_log_since "$mark" | grep -c 'error: store: postgresql: cannot connect')" = 1
check "the password is not in the log" not grep -qF "$(cat "$PG_PASSWORD_FILE")" "$GW_LOG"
finish
