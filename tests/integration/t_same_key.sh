#!/usr/bin/env bash
# t_same_key.sh: a transactionID derived from the key (as many clients do)
# does not make a new request a re-send (issue 16, item 4).  Only the same
# request again is answered from the stored transaction; another CSR with the
# same key and transactionID is a new request, authorized as one: a wrong
# challenge gets FAILURE and never the earlier certificate, the right one a
# new certificate for the new subject.  On the manual profile the new request
# waits for approval again and is issued for the new CSR, not the stored one.
# shellcheck disable=SC2317  # the check functions run through check()
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

gw_config "$CFG"
gw_start
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
MANUAL=$BASE/scep/manual/pkiclient.exe
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
subject_cn() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
pending_id() {
	ctl pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "CN=" + sys.argv[1] in t["subject"].split(","):
        print(t["id"])' "$1"
}

# --- auto approval (dev) ---------------------------------------------------------------
check "first request: SUCCESS for sk-a" enroll -u "$URL" -c "$CHALLENGE" --cn sk-a --txid sk-txn \
	--out-key "$D/k.pem" --out "$D/a.pem"
M=$(gw_log_mark)
check "same key and transactionID, another subject and SAN, a wrong challenge: FAILURE badRequest" \
	enroll -u "$URL" -c "wrong-$CHALLENGE" --cn sk-evil --san-dns evil.example.com --txid sk-txn \
	--key "$D/k.pem" --out "$D/evil.pem" --expect failure --expect-failinfo badRequest
check "... and no certificate comes back" test ! -s "$D/evil.pem"
check "... refused by the challenge, not answered from the stored transaction" \
	bash -c "tail -n +$((M + 1)) '$GW_LOG' | grep -E 'txn=sk-txn .*outcome=' | grep -qv 'outcome=success'"
check "the same CSR again: SUCCESS with the same certificate (a re-send)" \
	enroll -u "$URL" -c "$CHALLENGE" --cn sk-a --txid sk-txn --key "$D/k.pem" --out "$D/a2.pem"
check "... the very same certificate" test "$(fp "$D/a.pem")" = "$(fp "$D/a2.pem")"
check "same key, a new CSR and the right challenge: SUCCESS" \
	enroll -u "$URL" -c "$CHALLENGE" --cn sk-c --txid sk-txn --key "$D/k.pem" --out "$D/c.pem"
check "... a new certificate ('$(subject_cn "$D/c.pem")')" \
	bash -c "[ '$(fp "$D/a.pem")' != '$(fp "$D/c.pem")' ] && [ '$(subject_cn "$D/c.pem")' = CN=sk-c ]"

# --- manual approval: the new request is held again and issued for its own CSR -------------
check "manual: first request PENDING" enroll -u "$MANUAL" -c "$CHALLENGE" --cn sm-a --txid sm-txn \
	--out-key "$D/m.pem" --expect pending
ID=$(pending_id sm-a)
check "approve it (id '$ID')" ctl approve "$ID"
check "issued" wait_log "txn=sm-txn profile=manual: background submission: ISSUED serial=" 10
check "manual: same key, a new CSR, a wrong challenge: FAILURE badRequest" \
	enroll -u "$MANUAL" -c "wrong-$CHALLENGE" --cn sm-evil --txid sm-txn --key "$D/m.pem" \
	--expect failure --expect-failinfo badRequest
check "manual: same key, a new CSR (sm-b), the right challenge: PENDING (held again)" \
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn sm-b --txid sm-txn --key "$D/m.pem" \
	--save-request "$D/sm-b.der" --expect pending
ID=$(pending_id sm-b)
check "the pending list shows the new subject (id '$ID')" test -n "$ID"
check "approve it" ctl approve "$ID"
check "issued again" \
	bash -c "sleep 1; grep -c 'txn=sm-txn profile=manual: background submission: ISSUED' '$GW_LOG' | grep -qx 2"
check "CertPoll: SUCCESS" enroll -u "$MANUAL" --certpoll --send-request "$D/sm-b.der" \
	--key "$D/m.pem" --cn sm-b --out "$D/sm-b.pem"
check "... for the new subject, not the stored one ('$(subject_cn "$D/sm-b.pem" 2>/dev/null)')" \
	test "$(subject_cn "$D/sm-b.pem")" = CN=sm-b
no_secret_in_log
finish
