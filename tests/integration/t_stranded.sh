#!/usr/bin/env bash
# t_stranded: a request the gateway committed as SUBMITTED and then lost with
# the process (kill -9 while the CA worked on it) is submitted again by the
# next process, at start and on CertPoll, so the device's polling ends with
# its certificate, never PENDING for ever.  The CA is tests/fakes/fake_ejbca,
# slowed down so the kill lands between the SUBMITTED and ISSUED commits.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_ejbca.sh
. "$(dirname "$0")/lib_ejbca.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
command -v sqlite3 >/dev/null || { echo "sqlite3 not found"; exit 1; }

ejbca_profile
gw_config "$CFG"
gw_start "$CFG"
EURL=$BASE/scep/ejbca/pkiclient.exe
DB=$T/scepgw.db
state_of() { sqlite3 "$DB" "SELECT state FROM transactions WHERE transaction_id = '$1'"; }
# state 3 is SUBMITTED, 5 ISSUED (enum txn_state)
state_is() { [ "$(state_of "$1")" = "$2" ]; }
wait_state() { # wait_state TID STATE SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		state_is "$1" "$2" && return 0
		sleep 0.1
	done
	echo "transaction $1 is in state '$(state_of "$1")', not $2"
	return 1
}

# The CA answers after 30 s; the device gives up after 3 s, the gateway dies.
fake_set '{"delay": 30}'
R=$T/dev1
mkdir -p "$R"
"$SCEPREQ" enroll -u "$EURL" -c "$CHALLENGE" --cn stranded-1 --txid stranded-1 \
	--out-key "$R/key.pem" --save-request "$R/req.der" --timeout 3 \
	>"$R/enroll.log" 2>&1 || true
check "the request is committed as SUBMITTED while the CA works" wait_state stranded-1 3 10
"$SCEPREQ" enroll -u "$EURL" -c "$CHALLENGE" --cn stranded-2 --txid stranded-2 \
	--out-key "$T/k2.pem" --save-request "$T/r2.der" --timeout 3 >/dev/null 2>&1 || true
check "a second one too" wait_state stranded-2 3 10
kill -9 "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
check "after kill -9 both are still SUBMITTED" state_is stranded-1 3

# The next process submits them again at start (the CA is fast again).
fake_set '{"delay": 0}'
gw_start "$CFG"
check "the restarted gateway says it resumes the interrupted request" \
	wait_log 'txn=stranded-1 profile=ejbca: submitting again \(interrupted by a restart\)' 10
check "the resumed request is ISSUED" wait_state stranded-1 5 20
check "so is the second one" wait_state stranded-2 5 20
poll_ok() {
	"$SCEPREQ" enroll -u "$EURL" --certpoll --send-request "$R/req.der" --key "$R/key.pem" \
		--cn stranded-1 --out "$R/cert.pem" --expect success
}
check "the device's CertPoll gets its certificate" poll_ok
check "the certificate is for the device's key" \
	cmp <(openssl x509 -in "$R/cert.pem" -noout -pubkey) <(openssl pkey -in "$R/key.pem" -pubout)
check "no SUBMITTED transaction is left" \
	test "$(sqlite3 "$DB" 'SELECT count(*) FROM transactions WHERE state = 3')" = 0

# A SUBMITTED transaction whose profile the restarted gateway no longer has
# (the operator removed it): FAILED
# with a reason the device reads, not PENDING for ever.
fake_set '{"delay": 30}'
"$SCEPREQ" enroll -u "$EURL" -c "$CHALLENGE" --cn stranded-3 --txid stranded-3 \
	--out-key "$T/k3.pem" --save-request "$T/r3.der" --timeout 3 >/dev/null 2>&1 || true
check "a third request is SUBMITTED" wait_state stranded-3 3 10
kill -9 "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
GW_SCEP_PROFILES_EXTRA=
GW_RA_PROFILES_EXTRA=
gw_config "$CFG"
fake_set '{"delay": 0}'
gw_start "$CFG"
# state 7 is FAILED
check "a stranded request of a removed profile becomes FAILED" wait_state stranded-3 7 10
check "with a reason that says to enroll again" \
	grep -q 'txn=stranded-3 profile=ejbca: failed: its profile is no longer configured' "$GW_LOG"
no_secret_in_log
finish
