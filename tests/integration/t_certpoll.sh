#!/usr/bin/env bash
# t_certpoll: CertPoll compares its IssuerAndSubject with the transaction's
# subject as names (issue 16 item 15): a UTF-8 subject (CN=Müller-Gerät,
# O=Straße) through the `manual` profile: PKCSReq -> PENDING, approval through
# the admin API, CertPoll -> SUCCESS; a CertPoll naming another subject is
# still badCertId.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

gw_config "$CFG"
gw_start
MANUAL=$BASE/scep/manual/pkiclient.exe
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
SUBJ="/CN=Müller-Gerät/O=Straße"
# the id of the pending transaction whose subject names Müller-Gerät
pending_id() {
	ctl pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "Müller-Gerät" in t["subject"]:
        print(t["id"])'
}

check "PKCSReq with a UTF-8 subject to the manual profile: PENDING" \
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn "$SUBJ" --txid utf8-txn \
	--out-key "$D/u.key" --save-request "$D/u.der" --expect pending
check "CertPoll before the decision: PENDING (not badCertId)" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/u.der" --key "$D/u.key" --cn "$SUBJ" \
	--expect pending
ID=$(pending_id || true)
check "it is pending (id '$ID')" test -n "$ID"
check "approve it through the admin API" ctl approve "$ID"
check "the approved request is issued" \
	wait_log "txn=utf8-txn profile=manual: background submission: ISSUED serial=" 10
check "CertPoll after the approval: SUCCESS" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/u.der" --key "$D/u.key" --cn "$SUBJ" \
	--out "$D/u.pem"
check "the certificate carries the UTF-8 subject" \
	bash -c "openssl x509 -in '$D/u.pem' -noout -subject -nameopt utf8,sep_comma_plus | grep -q 'CN=Müller-Gerät'"
check "a CertPoll naming another subject: FAILURE badCertId" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/u.der" --key "$D/u.key" --cn "$SUBJ" \
	--poll-subject "/CN=Müller-Gerät/O=Strasse" --expect failure --expect-failinfo badCertId
check "the refusal is logged with its reason" \
	grep -q 'IssuerAndSubject names another subject than transaction utf8-txn' "$GW_LOG"

gw_stop
no_secret_in_log
finish
