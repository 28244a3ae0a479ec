#!/usr/bin/env bash
# t_pg_two: two gateway processes, A and B, on one PostgreSQL database
# (issue 20): started at the same moment on an empty database, one of them
# migrates it; a device enrolled on A polls and fetches its certificate on
# B; a request held for approval on A is approved through B's admin API and
# delivered to the device polling A; a one-time challenge made on A is used
# on B; 20 concurrent uses of one challenge over both give one certificate.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

pg_start
GW_STORE=$(pg_store_yaml 4) gw_config "$CFG"
gw_b_config

# --- both started at the same moment on the empty database ---------------------
log "starting A (http $PORT) and B (http $B_PORT) together"
"$SCEPGW" -d -c "$CFG" >>"$GW_LOG" 2>&1 &
GW_PID=$!
track_pid "$GW_PID"
gw_b_start nowait
check "A starts" wait_http "$URL?operation=GetCACaps" 20
check "B starts" wait_http "$B_BASE/scep/dev/pkiclient.exe?operation=GetCACaps" 20
migrated=$(cat "$GW_LOG" "$B_LOG" | grep -c 'store: migrated to version 1' || true)
check "the migration ran once for both (logged $migrated time(s))" test "$migrated" = 1
check "schema_version has one row per migration" test "$(pg_psql -c 'select count(*) from schema_version')" = 2

D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
A_DEV=$URL
B_DEV=$B_BASE/scep/dev/pkiclient.exe

# --- enroll on A, CertPoll and GetCert on B ---------------------------------------
check "PKCSReq on A: SUCCESS" enroll -u "$A_DEV" -c "$CHALLENGE" --cn two-1 \
	--out "$D/t1.pem" --out-key "$D/t1.key" --save-request "$D/t1.der"
check "CertPoll for it on B: SUCCESS, the same certificate" \
	enroll -u "$B_DEV" --certpoll --send-request "$D/t1.der" --key "$D/t1.key" --cn two-1 \
	--out "$D/t1-b.pem"
check "... identical to A's" cmp "$D/t1.pem" "$D/t1-b.pem"
check "GetCert on B: the certificate" "$SCEPREQ" getcert -u "$B_DEV" --signer-cert "$D/t1.pem" \
	--signer-key "$D/t1.key" -o "$D/t1-gc.pem"
check "... the same" cmp <(openssl x509 -in "$D/t1.pem") <(openssl x509 -in "$D/t1-gc.pem")
check "the replayed request on B: refused (the nonce A saw)" \
	enroll -u "$B_DEV" --send-request "$D/t1.der" --key "$D/t1.key" --cn two-1 --expect failure
check "... as a replayed senderNonce" grep -q 'replayed senderNonce' "$B_LOG"

# --- held on A, approved through B, delivered on A --------------------------------
check "PKCSReq on A's manual profile: PENDING" \
	enroll -u "$BASE/scep/manual/pkiclient.exe" -c "$CHALLENGE" --cn two-appr \
	--out-key "$D/ap.key" --save-request "$D/ap.der" --expect pending
ID=$(ctl_b pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "CN=two-appr" in t["subject"].split(","): print(t["id"])')
check "B's admin API lists A's pending request (id '$ID')" test -n "$ID"
check "approved through B (scepgwctl against B)" ctl_b approve "$ID"
check "the approved request is issued" pg_txn_state "$ID" 5
check "A's CertPoll delivers it" \
	enroll -u "$BASE/scep/manual/pkiclient.exe" --certpoll --send-request "$D/ap.der" \
	--key "$D/ap.key" --cn two-appr --out "$D/ap.pem"
check "... a certificate for two-appr that verifies" \
	bash -c "openssl verify -CAfile '$PKI/chain.pem' '$D/ap.pem' && openssl x509 -in '$D/ap.pem' -noout -subject | grep -q two-appr"
check "approving it again on A: refused (decided on B)" not ctl approve "$ID"

# --- a one-time challenge made on A, used on B ------------------------------------
OTP=$(ctl challenge otp 2>/dev/null || true)
check "A makes a one-time challenge" test -n "$OTP"
check "B enrolls with it" enroll -u "$B_BASE/scep/otp/pkiclient.exe" -c "$OTP" --cn two-otp
check "A refuses it afterwards (used)" enroll -u "$BASE/scep/otp/pkiclient.exe" -c "$OTP" \
	--cn two-otp-again --expect failure --expect-failinfo badRequest

# --- 20 concurrent uses of one challenge, 10 on each -------------------------------
OTP2=$(ctl challenge otp 2>/dev/null || true)
enroll -u "$BASE/scep/otp/pkiclient.exe" -c "$OTP2" --cn race-a --parallel 10 \
	>"$D/race-a.out" 2>"$D/race-a.err" &
ra=$!
enroll -u "$B_BASE/scep/otp/pkiclient.exe" -c "$OTP2" --cn race-b --parallel 10 \
	>"$D/race-b.out" 2>"$D/race-b.err" &
rb=$!
wait "$ra" || true
wait "$rb" || true
won=$(cat "$D/race-a.out" "$D/race-b.out" | grep -c '^serial=' || true)
check "exactly one of 20 concurrent enrollments got a certificate ($won)" test "$won" = 1
check "... and the database holds exactly one" \
	test "$(pg_psql -c "select count(*) from certificates where subject like '%race-%'")" = 1
check "the 19 others were refused as used (logged on A and B)" test "$(cat "$GW_LOG" "$B_LOG" |
	grep -c 'reason="one-time challenge unknown, used or expired"')" -ge 19

gw_b_stop
finish
