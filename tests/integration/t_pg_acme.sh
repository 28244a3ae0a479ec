#!/usr/bin/env bash
# t_pg_acme: an ACME order in flight outlives the instance that started it
# (issue 20).  Two gateways, A and B, on one PostgreSQL database, one ACME
# backend (Debian's pebble) with one account key file both point to
# (account_key_file).  A PKCSReq on A gets PENDING (the transaction
# BACKEND_PENDING, the order URL its handle in the store), A is killed with
# SIGKILL, and the device's CertPoll on B gets the certificate: B found the
# same ACME account by its key (newAccount onlyReturnExisting), so pebble
# shows it A's order.  Then B revokes a certificate A had issued, with the
# certificate the store keeps (A's state_dir is not B's).
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
# shellcheck source=lib_acme.sh
. "$(dirname "$0")/lib_acme.sh"

pg_start
pebble_start pg PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_SLEEPTIME=1 PEBBLE_WFE_NONCEREJECT=0 \
	PEBBLE_AUTHZREUSE=0
KEY=$T/acme-account.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$KEY" 2>/dev/null
chmod 600 "$KEY"
# wait 0s: the device gets PENDING as soon as the order waits for anything
GW_STORE=$(pg_store_yaml 2) GW_TOP_EXTRA="instance: gw-a" acme_profiles "$T/state-a" acmepg \
	"$EAB_YAML
    wait: 0s
    account_key_file: \"$KEY\""
gw_b_config
sed -i -e 's/^instance: gw-a$/instance: gw-b/' -e "s|$T/state-a/|$T/state-b/|" "$B_CFG"
mkdir -p "$T/state-b"
gw_start
gw_b_start

A_URL=$BASE/scep/acmepg/pkiclient.exe
B_URL=$B_BASE/scep/acmepg/pkiclient.exe
D=$T/c
mkdir -p "$D"
check "A: the PKCSReq's order waits at pebble (PENDING)" \
	"$SCEPREQ" enroll -u "$A_URL" -c "$CHALLENGE" --cn pgacme1 --san-dns pgacme1.devices.test \
	--out-key "$D/key.pem" --save-request "$D/req.der" --expect pending
row=$(pg_psql -c "select state, instance, backend_handle from transactions
	where subject like '%pgacme1%'")
log "the row: $row"
check "the transaction is BACKEND_PENDING, written by gw-a, its handle a pebble order URL" \
	grep -Eq "^4\|gw-a\|https://127\.0\.0\.1:$PB_PORT/[^|]+$" <<<"$row"
check "no state directory keeps the request's CSR" \
	test -z "$(find "$T/state-a" "$T/state-b" -name '*.csr')"
check "A: a second device enrolls (PENDING, then its CertPoll on A)" \
	"$SCEPREQ" enroll -u "$A_URL" -c "$CHALLENGE" --cn pgacme2 --san-dns pgacme2.devices.test \
	--poll 10 --poll-interval 1 --out "$D/a.pem"
SERIAL_A=$(openssl x509 -in "$D/a.pem" -noout -serial 2>/dev/null | cut -d= -f2 |
	tr 'A-F' 'a-f' || true)
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
log "A killed with SIGKILL"

check "B: the device's CertPoll gets the certificate" \
	"$SCEPREQ" enroll -u "$B_URL" --send-request "$D/req.der" --key "$D/key.pem" --certpoll \
	--poll 10 --poll-interval 1 --out "$D/cert.pem"
check "the certificate verifies against pebble's root" verify_pebble "$D/cert.pem"
SERIAL=$(openssl x509 -in "$D/cert.pem" -noout -serial 2>/dev/null | cut -d= -f2 |
	tr 'A-F' 'a-f' || true)
check "the transaction is ISSUED by gw-b and the certificate is in PostgreSQL" \
	test "$(pg_psql -c "select t.state, t.instance from transactions t join certificates c
		on c.txn_id = t.id where ltrim(c.serial, '0') = ltrim('$SERIAL', '0')")" = "5|gw-b"
acct() { grep -o 'account https://[^ ]* ([a-z]*)' "$1" | head -1; }
log "A: $(acct "$GW_LOG"); B: $(acct "$B_LOG")"
check "B signs as A's ACME account, found again by the shared key" \
	test "$(acct "$B_LOG")" = "$(acct "$GW_LOG" | sed 's/(created)$/(existing)/')"
check "neither instance keeps an account URL of its own" \
	test ! -e "$T/state-a/acmepg/account.url" -a ! -e "$T/state-b/acmepg/account.url"

check "B's state directory has no copy of A's certificate" \
	test -z "$(find "$T/state-b" -name "$(sed 's/^0*//' <<<"$SERIAL_A").pem")"
check "scepgwctl on B revokes A's certificate $SERIAL_A" ctl_b revoke "$SERIAL_A" \
	--reason keyCompromise
check "pebble shows it revoked" pebble_revoked "$SERIAL_A"
check "PostgreSQL marks it revoked" test "$(pg_psql -c "select revoked from certificates
	where ltrim(serial, '0') = ltrim('$SERIAL_A', '0')")" = 1

gw_b_stop
pebble_stop
finish
