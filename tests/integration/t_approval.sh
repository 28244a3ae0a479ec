#!/usr/bin/env bash
# t_approval.sh: approval-gated enrollment (issue 5) with scepreq and micromdm
# scepclient against the `manual` profile: PENDING, re-sends that never make a
# second request, approval through scepgwctl (issued in the background, the
# next poll gets SUCCESS), rejection with the operator's reason, the admin
# API's authentication (401/403 change nothing), kill -9 with three requests
# pending, and expiry after pending_ttl (CertPoll gets badCertId).
# shellcheck disable=SC2317  # the check functions run through check()
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"
command -v scepclient >/dev/null || { echo "scepclient not found (apt-get install scep)"; exit 1; }

gw_config "$CFG"
gw_start
MANUAL=$BASE/scep/manual/pkiclient.exe
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
db_count() {
	python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
print(c.execute(sys.argv[2]).fetchone()[0])' "$T/scepgw.db" "$1"
}
# api METHOD PATH [curl args]: prints "HTTP-CODE" and leaves the body in $T/api.out
api() {
	local m=$1 p=$2
	shift 2
	curl -sS --max-time 10 --cacert "$PKI/chain.pem" -X "$m" -o "$T/api.out" -w '%{http_code}' \
		"$@" "$ADMIN_URL$p" || true
}
# pending_id CN: the id of the pending transaction whose subject has CN=CN
pending_id() {
	ctl pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "CN=" + sys.argv[1] in t["subject"].split(","):
        print(t["id"])' "$1"
}
# wait_pending CN [SECONDS]: until CN is pending; prints its id
wait_pending() {
	local id="" i
	for ((i = 0; i < ${2:-20} * 5; i++)); do
		id=$(pending_id "$1")
		[ -z "$id" ] || { echo "$id"; return 0; }
		sleep 0.2
	done
	return 1
}
count_is() { [ "$(wc -l <<<"$2" | tr -d ' ')" = "$1" ] && [ -n "$2" ] || { echo "got: $2"; return 1; }; }

# --- the admin API refuses what it cannot authenticate or authorize ------------
check "/healthz answers without credentials" test "$(api GET /healthz)" = 200
check "no credentials: 401" test "$(api GET /api/v1/transactions)" = 401
check "a wrong bearer token: 401" \
	test "$(api GET /api/v1/transactions -H "Authorization: Bearer wrong-$ADMIN_TOKEN")" = 401
check "a wrong basic password: 401" test "$(api GET /certsrv/mscep_admin/ -u "dev:nope")" = 401
check "plain HTTP on the admin port is refused" \
	not curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz"
check "scepgwctl without a token: refused (exit 1)" \
	not "$SCEPGWCTL" --url "$ADMIN_URL" --cacert "$PKI/chain.pem" pending

# --- scepreq: PENDING, re-send, approval, CertPoll -----------------------------
check "PKCSReq to the manual profile: PENDING" \
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn appr-1 --txid appr-1-txn \
	--out-key "$D/a1.key" --save-request "$D/a1.der" --expect pending
ID1=$(wait_pending appr-1 5 || true)
check "scepgwctl pending lists it (id '$ID1')" test -n "$ID1"
check "scepgwctl pending shows subject, key and peer" \
	bash -c "'$SCEPGWCTL' --config '$T/scepgwctl.conf' pending | grep -E 'CN=appr-1.*127\.0\.0\.1' | grep -q rsa-2048"
check "a re-sent PKCSReq (same key, same transactionID): PENDING again" \
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn appr-1 --txid appr-1-txn --key "$D/a1.key" \
	--expect pending
check "CertPoll before the decision: PENDING" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/a1.der" --key "$D/a1.key" --cn appr-1 \
	--expect pending
check "the re-send made no second transaction" \
	test "$(db_count "select count(*) from transactions where subject = 'CN=appr-1'")" = 1
check "the reader token may list" test "$(api GET /api/v1/transactions -H "Authorization: Bearer $READ_TOKEN")" = 200
check "the reader token may not approve: 403" \
	test "$(api POST "/api/v1/transactions/$ID1/approve" -H "Authorization: Bearer $READ_TOKEN")" = 403
check "no credentials may not approve: 401" test "$(api POST "/api/v1/transactions/$ID1/approve")" = 401
check "... and nothing changed: still AWAITING_APPROVAL" \
	bash -c "'$SCEPGWCTL' --config '$T/scepgwctl.conf' show '$ID1' | grep -q 'state: *AWAITING_APPROVAL'"
check "the refusals are audited" grep -Eq 'audit admin=token:reader action=transactions status=403' "$GW_LOG"

mark=$(gw_log_mark)
check "scepgwctl approve $ID1" ctl approve "$ID1"
check "the approval is audited with the administrator's name" \
	wait_log "audit admin=token:dev action=transactions.approve status=200 txn=appr-1-txn" 5
check "the approved request is issued in the background" \
	wait_log "txn=appr-1-txn profile=manual: background submission: ISSUED serial=" 10
check "the next CertPoll gets SUCCESS with a certificate that verifies" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/a1.der" --key "$D/a1.key" --cn appr-1 \
	--out "$D/a1.pem"
check "the certificate verifies against chain.pem" openssl verify -CAfile "$PKI/chain.pem" "$D/a1.pem"
check "approving twice: refused (409)" not ctl approve "$ID1"
check "scepgwctl certs --subject appr-1 lists one certificate" \
	count_is 1 "$(ctl certs --subject appr-1 | grep -c 'CN=appr-1' || true)"
check "certificates?before=x: 400 with the reason" bash -c "
	test \"\$(curl -sS --cacert '$PKI/chain.pem' -H 'Authorization: Bearer $READ_TOKEN' \
		-o '$T/api.out' -w '%{http_code}' '$ADMIN_URL/api/v1/certificates?before=x')\" = 400 &&
	grep -q 'before' '$T/api.out'"
check "certificates?before=<newest>: older ones only, and no next on a small store" bash -c "
	curl -sS --cacert '$PKI/chain.pem' -H 'Authorization: Bearer $READ_TOKEN' \
		'$ADMIN_URL/api/v1/certificates?before=1&limit=5' |
	python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d[\"certificates\"] != [] or \"next\" in d)'"

# --- rejection -------------------------------------------------------------------
check "another PKCSReq to the manual profile: PENDING" \
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn appr-rej --out-key "$D/r.key" \
	--save-request "$D/r.der" --expect pending
IDR=$(wait_pending appr-rej 5 || true)
check "scepgwctl reject $IDR --reason ..." ctl reject "$IDR" --reason "unknown device, call the helpdesk"
check "CertPoll after the rejection: FAILURE badRequest" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/r.der" --key "$D/r.key" --cn appr-rej \
	--expect failure --expect-failinfo badRequest
check "the device's answer carries the operator's reason (logged)" \
	grep -Eq 'op=CertPoll .*outcome=.*reason="unknown device, call the helpdesk"' "$GW_LOG"

# --- micromdm scepclient: PENDING loop, approval, certificate ---------------------
SC=$T/sc
mkdir -p "$SC"
(cd "$SC" && exec timeout 120 scepclient -server-url "$MANUAL" -challenge "$CHALLENGE" \
	-private-key "$SC/key.pem" -certificate "$SC/cert.pem" -cn appr-scepclient -debug) \
	>"$SC/client.log" 2>&1 &
SC_PID=$!
track_pid "$SC_PID"
IDS=$(wait_pending appr-scepclient 30 || true)
check "scepclient's request is pending (id '$IDS')" test -n "$IDS"
sleep 1
check "approve scepclient's request" ctl approve "$IDS"
sc_rc=0
wait "$SC_PID" || sc_rc=$?
check "scepclient finishes with its certificate after the approval (exit $sc_rc)" test "$sc_rc" = 0
check "scepclient's certificate verifies" openssl verify -CAfile "$PKI/chain.pem" "$SC/cert.pem"
check "scepclient's re-sends made one transaction" \
	test "$(db_count "select count(*) from transactions where subject like 'CN=appr-scepclient,%'")" = 1
check "one certificate for scepclient (no second backend request)" \
	test "$(db_count "select count(*) from certificates where subject like 'CN=appr-scepclient,%'")" = 1
check "the backend was asked once per approval (metrics: 2 issued so far)" \
	bash -c "curl -sS --cacert '$PKI/chain.pem' -H 'Authorization: Bearer $READ_TOKEN' '$ADMIN_URL/metrics' |
		grep -Eq '^scepgw_backend_results_total\{backend=\"local-ca\",status=\"issued\"(,scepgw_instance=\"[^\"]*\")?\} 2$'"
check "/metrics counts the requests by operation, profile and outcome" \
	bash -c "curl -sS --cacert '$PKI/chain.pem' -H 'Authorization: Bearer $READ_TOKEN' '$ADMIN_URL/metrics' |
		grep -Eq '^scepgw_requests_total\{operation=\"CertPoll\",profile=\"manual\",outcome=\"success\"(,scepgw_instance=\"[^\"]*\")?\} [1-9]'"

# --- revoke through the backend ---------------------------------------------------
SERIAL=$(openssl x509 -in "$D/a1.pem" -noout -serial | cut -d= -f2) # uppercase, as openssl prints it
check "scepgwctl revoke $SERIAL --reason keyCompromise" ctl revoke "$SERIAL" --reason keyCompromise
check "the store marks it revoked" \
	test "$(db_count "select revoked from certificates where upper(serial) = '$SERIAL'")" = 1
check "scepgwctl certs shows it revoked" bash -c "'$SCEPGWCTL' --config '$T/scepgwctl.conf' certs --serial '$SERIAL' | grep -q revoked"

# --- kill -9 with three requests pending ------------------------------------------
for i in 1 2 3; do
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn "k9-$i" --out-key "$D/k$i.key" \
		--save-request "$D/k$i.der" --expect pending >/dev/null 2>&1 || true
done
n_before=$(ctl pending --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["transactions"]))')
check "three requests pending before the crash (got $n_before)" test "$n_before" = 3
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
gw_start
check "the admin API is back" test "$(api GET /healthz)" = 200
n_after=$(ctl pending --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["transactions"]))' || echo 0)
check "after kill -9 and a restart the three are still pending (got $n_after)" test "$n_after" = 3
for i in 1 2 3; do
	id=$(pending_id "k9-$i")
	check "approve k9-$i after the restart" ctl approve "$id"
done
for i in 1 2 3; do
	ok=0
	for ((j = 0; j < 20; j++)); do
		if enroll -u "$MANUAL" --certpoll --send-request "$D/k$i.der" --key "$D/k$i.key" \
			--cn "k9-$i" --out "$D/k$i.pem" >/dev/null 2>&1; then ok=1; break; fi
		sleep 0.5
	done
	check "k9-$i: CertPoll gets its certificate" test "$ok" = 1
done
check "the certificate issued before the crash is still served to its device" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/a1.der" --key "$D/a1.key" --cn appr-1
gw_stop

# --- expiry: a short pending_ttl ---------------------------------------------------
GW_PENDING_TTL=2s gw_config "$CFG"
gw_start
check "PKCSReq under a 2 s pending_ttl: PENDING" \
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn appr-exp --out-key "$D/e.key" \
	--save-request "$D/e.der" --expect pending
check "it expires" wait_log "profile=manual: expired: not approved within 2 s" 10
IDE=$(db_count "select id from transactions where subject = 'CN=appr-exp'")
check "an expired request cannot be approved" not ctl approve "$IDE"
check "CertPoll after the expiry: FAILURE badCertId" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/e.der" --key "$D/e.key" --cn appr-exp \
	--expect failure --expect-failinfo badCertId
check "no admin token reached the log" not grep -qF -- "$ADMIN_TOKEN" "$GW_LOG"
gw_stop
no_secret_in_log
finish
