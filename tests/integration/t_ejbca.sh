#!/usr/bin/env bash
# t_ejbca: enrollment through the EJBCA REST backend against tests/fakes/fake_ejbca
# (mutual TLS on 127.0.0.1, a tiny CA that really issues): scepclient and
# certmonger; approvals as PENDING + CertPoll; 422; 503 retried; an untrusted
# client certificate; the wire shape EJBCA expects.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for p in scepclient certmonger getcert dbus-run-session setsid python3 openssl curl; do
	command -v "$p" >/dev/null || { echo "$p not found"; exit 1; }
done
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

# --- the fake EJBCA -------------------------------------------------------------
# shellcheck source=lib_ejbca.sh
. "$(dirname "$0")/lib_ejbca.sh"

scep_profile() { # scep_profile NAME RA_PROFILE [RA_IDENTITY]
	cat <<EOF
  $1:
    ra_identity: ${3:-ejb}
    ra_profile: $2
    allow_single_des: true
    capabilities: [POSTPKIOperation, SHA-1, SHA-256, SHA-512, AES, DES3, SCEPStandard]
    challenge: { type: static, secret_file: "$PKI/challenge" }
    getcrl: true
EOF
}
GW_RA_IDENTITIES_EXTRA=$(cat <<EOF
  ejb:
    sign: { cert: "$FK/ra.pem", key: "$FK/ra.key" }
    ca_chain: "$FK/ca-chain.pem"
  ejbdev:
    sign: { cert: "$PKI/ra.pem", key: "$PKI/ra.key" }
    ca_chain: "$FK/ca-chain.pem"
EOF
)
GW_SCEP_PROFILES_EXTRA="$(scep_profile ejbca ejbca)
$(scep_profile stranger stranger)
$(scep_profile ejbca-crl ejbca ejbdev)"
GW_RA_PROFILES_EXTRA="  ejbca: { backend: ejbca, template: default, approval: auto }
  stranger: { backend: ejbca-stranger, template: default, approval: auto }"
GW_BACKENDS_EXTRA="$(backend ejbca admin.pem admin.key)
$(backend ejbca-stranger stranger.pem stranger.key)"
gw_config "$CFG"
check "scepgw -n accepts the ejbca backends" "$SCEPGW" -n -c "$CFG"
gw_start "$CFG"
EURL=$BASE/scep/ejbca/pkiclient.exe

# --- at start: the CA's DN from GET v1/ca, then its chain, URL-encoded -----------
chain_fetched() {
	wait_log "CA chain of 'FakeIssuingCA' downloaded" 10 || return 1
	requests_to "ca/CN%3DFake%20Issuing%20CA%2CO%3DEJBCA%20Sample%2CC%3DSE/certificate/download" | grep -q GET
}
check "at start the backend looks up the CA DN and downloads the chain (URL-encoded DN)" chain_fetched

# --- scepclient ------------------------------------------------------------------
scepclient_run() { # DIR CN
	local d=$1 rc=0
	mkdir -p "$d"
	(cd "$d" && timeout 90 scepclient -server-url "$EURL" -challenge "$CHALLENGE" \
		-private-key "$d/key.pem" -certificate "$d/cert.pem" -cn "$2" -debug) >"$d/client.log" 2>&1 || rc=$?
	tail -n 3 "$d/client.log"
	return "$rc"
}
issuer_is_fake() { openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | grep -q 'CN=Fake Issuing CA'; }
D=$T/sc1
check "scepclient enrolls through the EJBCA profile" scepclient_run "$D" ejbca-scepclient
check "the certificate verifies against the fake CA's chain" openssl verify -CAfile "$FK/ca-chain.pem" "$D/cert.pem"
check "the issuer is the fake EJBCA CA" issuer_is_fake "$D/cert.pem"

# The wire shape of that pkcs10enroll (docs/protocol-notes.md 1.2).
enroll_shape() {
	local line
	line=$(requests_to certificate/pkcs10enroll | grep -F '"username": "scep-ejbca-scepclient"' | tail -n 1)
	[ -n "$line" ] || { echo "no pkcs10enroll for scep-ejbca-scepclient"; return 1; }
	jq_py '
e = json.loads(sys.argv[1]); b = e["body"]; h = e["headers"]
assert e["method"] == "POST", e["method"]
assert h.get("content-type", "").startswith("application/json"), h
assert set(b) == {"certificate_request", "certificate_profile_name", "end_entity_profile_name",
    "certificate_authority_name", "username", "password", "response_format", "include_chain"}, sorted(b)
assert b["certificate_request"].startswith("-----BEGIN CERTIFICATE REQUEST-----\n"), "not PEM"
assert b["certificate_profile_name"] == "ENDUSER" and b["end_entity_profile_name"] == "SCEP_EEP"
assert b["certificate_authority_name"] == "FakeIssuingCA"
assert b["response_format"] == "DER" and b["include_chain"] is True
pw = b["password"]
assert len(pw) == 32 and all(c in "0123456789abcdef" for c in pw), "enrolment code is not 128-bit hex"
assert pw != sys.argv[2], "the device challenge was sent as enrolment code"
print("ok", sorted(b))' "$line" "$CHALLENGE"
}
check "pkcs10enroll: POST, JSON, snake_case keys, PEM CSR, a random enrolment code (not the challenge)" enroll_shape
codes_differ() { # one code per enrollment (a retry re-sends the same), never shared
	requests_to certificate/pkcs10enroll | jq_py '
pairs = {(json.loads(l)["body"]["username"], json.loads(l)["body"]["password"]) for l in sys.stdin}
users = {u for u, _ in pairs}; codes = {c for _, c in pairs}
print(len(users), "usernames,", len(codes), "codes")
assert len(pairs) == len(users) == len(codes)'
}

# --- scepreq: the chain of an early EJBCA (no certificate_chain in the reply) -----
fake_set '{"early": true}'
check "an early EJBCA version (no certificate_chain) still issues" \
	"$SCEPREQ" enroll -u "$EURL" -c "$CHALLENGE" --cn ejbca-early --out "$T/early.pem"
check "the early-version certificate verifies against the fake CA's chain" \
	openssl verify -CAfile "$FK/ca-chain.pem" "$T/early.pem"
fake_set '{"early": false}'

# --- approvals: PENDING, the device polls, approval at the fake, SUCCESS ---------
fake_set '{"approval": true, "finalize": "wait"}'
"$SCEPREQ" enroll -u "$EURL" -c "$CHALLENGE" --cn ejbca-approve --out "$T/approved.pem" \
	--poll 20 --poll-interval 1 >"$T/approve.out" 2>&1 &
APPROVE_PID=$!
track_pid "$APPROVE_PID"
pending_id() { # CN: the request id EJBCA gave the pending enrollment of scep-CN
	requests_to certificate/pkcs10enroll | grep -F "\"username\": \"scep-$1\"" >/dev/null || return 1
	curl -fsS "${ADMIN[@]}" "$FAKE/fake/pending" |
		jq_py 'd = json.load(sys.stdin); w = [k for k, v in d.items() if v == "waiting"]; print(w[-1]) if w else sys.exit(1)'
}
id=
for ((i = 0; i < 100; i++)); do id=$(pending_id ejbca-approve) && break; sleep 0.1; done
check "the enrollment waits for approval in EJBCA (request id ${id:-none})" test -n "$id"
check "the gateway logged the pending request" wait_log "waiting for approval in EJBCA \\(request $id\\)" 5
sleep 2 # the device polls at least once while it still waits
check "EJBCA approves request $id (POST v1/approval/$id/process)" curl -fsS "${ADMIN[@]}" -X POST \
	-H 'Content-Type: application/json' -d '{"approve": true, "comment": "t_ejbca"}' \
	"$FAKE/ejbca/ejbca-rest-api/v1/approval/$id/process"
approve_rc=0
wait "$APPROVE_PID" || approve_rc=$?
check "scepreq: PENDING, then CertPoll turns into SUCCESS after the approval (exit $approve_rc)" \
	grep -q 'status=SUCCESS' "$T/approve.out"
check "scepreq saw PENDING first" grep -q 'status=PENDING' "$T/approve.out"
check "the approved certificate verifies against the fake CA's chain" \
	openssl verify -CAfile "$FK/ca-chain.pem" "$T/approved.pem"
finalize_shape() {
	local n
	n=$(requests_to "certificate/$id/finalize" | jq_py '
import re
ls = [json.loads(l) for l in sys.stdin]
for e in ls:
    assert e["method"] == "POST" and e["body"]["response_format"] == "DER", e
    assert re.fullmatch("[0-9a-f]{32}", e["body"]["password"]), "code"
print(len(ls))')
	echo "$n finalize calls"
	[ "$n" -ge 2 ]
}
check "each CertPoll became POST v1/certificate/$id/finalize with the enrolment code" finalize_shape

# A rejected approval: the next poll is FAILURE badRequest.
"$SCEPREQ" enroll -u "$EURL" -c "$CHALLENGE" --cn ejbca-reject --poll 20 --poll-interval 1 \
	--expect failure --expect-failinfo badRequest >"$T/reject.out" 2>&1 &
REJECT_PID=$!
track_pid "$REJECT_PID"
id=
for ((i = 0; i < 100; i++)); do id=$(pending_id ejbca-reject) && break; sleep 0.1; done
check "a second enrollment waits for approval (request id ${id:-none})" test -n "$id"
curl -fsS "${ADMIN[@]}" -X POST -H 'Content-Type: application/json' -d '{"approve": false}' \
	"$FAKE/ejbca/ejbca-rest-api/v1/approval/$id/process" >/dev/null || true
reject_rc=0
wait "$REJECT_PID" || reject_rc=$?
check "a rejected approval ends in FAILURE badRequest (exit $reject_rc)" test "$reject_rc" -eq 0
check "the rejection reason reached the device" grep -q 'has been rejected' "$T/reject.out"
fake_set '{"approval": false}'

# --- 422: FAILURE badRequest with EJBCA's reason ---------------------------------
fake_set '{"fail422": true}'
mark=$(gw_log_mark)
check "422 from EJBCA -> FAILURE badRequest" "$SCEPREQ" enroll -u "$EURL" -c "$CHALLENGE" \
	--cn ejbca-422 --expect failure --expect-failinfo badRequest -v
reason_422() { gw_log_since "$mark" | grep -F "EJBCA HTTP 422: Subject DN field 'OU' is required"; }
check "the gateway log carries EJBCA's 422 message" reason_422
fake_set '{"fail422": false}'

# --- 503: retried, then FAILURE --------------------------------------------------
fake_set '{"offline": true}'
mark=$(gw_log_mark)
check "503 from EJBCA (CA offline) -> FAILURE after the retries" "$SCEPREQ" enroll -u "$EURL" \
	-c "$CHALLENGE" --cn ejbca-503 --expect failure
attempts_503() {
	local n
	n=$(requests_to certificate/pkcs10enroll | grep -cF '"username": "scep-ejbca-503"')
	echo "$n attempts"
	[ "$n" -eq 3 ]
}
check "the 503 was tried three times (retries: 2)" attempts_503
check "the 503 is logged with EJBCA's message" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -F 'EJBCA HTTP 503: CA FakeIssuingCA is offline.'"
fake_set '{"offline": false}'

# --- an untrusted client certificate ---------------------------------------------
mark=$(gw_log_mark)
check "an untrusted client certificate -> FAILURE" "$SCEPREQ" enroll -u "$BASE/scep/stranger/pkiclient.exe" \
	-c "$CHALLENGE" --cn ejbca-stranger --expect failure
untrusted_logged() { gw_log_since "$mark" | grep -E 'backend ejbca-stranger: .*EJBCA unreachable after 3 attempt\(s\): .*(alert|SSL|TLS)'; }
check "the gateway logs the refused TLS handshake" untrusted_logged
check "the fake refused the stranger's handshake" grep -q 'TLS handshake refused' "$FAKE_LOG"
check "the stranger never reached the REST API" not grep -q '"username": "scep-ejbca-stranger"' "$REQLOG"

# --- certmonger ------------------------------------------------------------------
CM=$T/cm
certmonger_run "$CM" "getcert add-scep-ca -s -c ejbca -u '$EURL' >add.out 2>&1; echo \$? >add.rc
getcert request -s -c ejbca -k '$CM/out/key.pem' -f '$CM/out/cert.pem' -g 2048 \\
	-N CN=ejbca-certmonger -L '$CHALLENGE' -w --wait-timeout 60 >req.out 2>&1; echo \$? >req.rc
getcert list -s -f '$CM/out/cert.pem' >list.out 2>&1 || true" || true
cm_status() { sed -n 's/^[[:space:]]*status: //p' "$CM/list.out" | head -n 1; }
check "certmonger enrolls through the EJBCA profile (status $(cm_status))" test "$(cm_status)" = MONITORING
check "certmonger's certificate verifies against the fake CA's chain" \
	openssl verify -CAfile "$FK/ca-chain.pem" "$CM/out/cert.pem"
if [ "$(cm_status)" != MONITORING ]; then
	for f in add.out req.out list.out certmonger.log; do echo "--- $f"; tail -n 20 "$CM/$f" || true; done
fi

# --- revocation (scepgw revoke) and GetCRL through the gateway --------------------
RSERIAL=$(openssl x509 -in "$T/approved.pem" -noout -serial | cut -d= -f2)
check "scepgw revoke revokes the approved certificate in EJBCA" \
	"$SCEPGW" -c "$CFG" revoke "$RSERIAL" --reason keyCompromise
revoke_shape() {
	local want
	want=$(sed 's/^0*//' <<<"$RSERIAL")
	requests_to "certificate/CN%3DFake%20Issuing%20CA%2CO%3DEJBCA%20Sample%2CC%3DSE/$want/revoke?reason=KEY_COMPROMISE" |
		grep -q '"method": "PUT"'
}
check "revoke: PUT v1/certificate/{URL-encoded issuer DN}/{serial}/revoke?reason=KEY_COMPROMISE" revoke_shape
second_revoke() {
	local out n want
	out=$("$SCEPGW" -c "$CFG" revoke "$RSERIAL" 2>&1) || return 1
	echo "$out"
	grep -q 'already revoked' <<<"$out" || return 1
	want=$(sed 's/^0*//' <<<"$RSERIAL")
	n=$(requests_to "certificate/CN%3DFake%20Issuing%20CA%2CO%3DEJBCA%20Sample%2CC%3DSE/$want/revoke" | wc -l)
	echo "$n PUTs"
	[ "$n" -eq 2 ]
}
check "a second revoke: EJBCA answers 409, scepgw reports 'already revoked'" second_revoke
# scepreq takes the CA that issues no other certificate of GetCACert: this
# profile serves the development RA (not issued by the fake CA) for that.
"$SCEPREQ" getcrl -u "$BASE/scep/ejbca-crl/pkiclient.exe" --signer-cert "$D/cert.pem" --signer-key "$D/key.pem" >"$T/crl.out" 2>&1 || true
crl_lists() {
	local want
	want=$(tr 'A-F' 'a-f' <<<"$RSERIAL" | sed 's/^0*//')
	cat "$T/crl.out"
	grep -Eiq "revoked=0*$want( |$).*reason=(keyCompromise|1)" "$T/crl.out"
}
check "GetCRL through the gateway lists the revoked serial (getLatestCrl)" crl_lists
check "GetCRL asked EJBCA with getLatestCrl" bash -c "grep -F 'getLatestCrl?deltaCrl=false&crlPartitionIndex=0' '$REQLOG' | grep -q GET"

check "every pkcs10enroll carried its own enrolment code" codes_differ
gw_stop
no_secret_in_log
codes_not_logged() {
	local c
	for c in $(jq_py 'import json
for l in open(sys.argv[1]):
    b = json.loads(l).get("body") or {}
    if isinstance(b, dict) and "password" in b: print(b["password"])' "$REQLOG" | sort -u); do
		if grep -qF -- "$c" "$GW_LOG"; then echo "enrolment code $c in the log"; return 1; fi
	done
}
check "no enrolment code appears in the gateway log" codes_not_logged
if [ "$NFAIL" -gt 0 ]; then
	echo "--- fake_ejbca stderr ---"
	tail -n 20 "$FAKE_LOG" || true
fi
finish
