#!/usr/bin/env bash
# t_names: the CSR policy is deny by default over every subjectAltName kind.
# On a profile restricted to *.devices.example.com (IP and e-mail forbidden)
# the real daemon refuses CSRs made with `openssl req` that carry a UPN
# otherName, a URI, a dirName or a RID (FAILURE badRequest, a log line naming
# the kind); a clean CSR is issued with exactly its approved names; a UPN
# profile issues an allowed UPN and refuses another; a 60,000-character CN is
# refused; auto_if subject_matches matches the CN value, so
# CN=x.lab.example.com.evil.org waits for an operator; the old whole-string
# subject_matches is a config error that says what to write.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

GW_SCEP_PROFILES_EXTRA="  names:
    ra_identity: dev
    ra_profile: dev
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
    csr_policy: { san_dns: [\"*.devices.example.com\"], allow_san_ip: false, allow_san_email: false }
  upn:
    ra_identity: dev
    ra_profile: dev
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
    csr_policy: { allow_upn: true, san_upn: [\"*@corp.example.com\"] }
  lab:
    ra_identity: dev
    ra_profile: lab
    challenge: { type: static, secret_file: \"$PKI/challenge\" }"
GW_RA_PROFILES_EXTRA="  lab: { backend: local-ca, approval: { default: manual, auto_if: { subject_matches: { CN: \"*.lab.example.com\" } } } }"
GW_TOP_EXTRA="limits: { max_body: 512k }" # room for the 60,000-character CN (CSR and signer)
gw_config "$CFG"

# the old form is refused with what to write instead
sed 's/subject_matches: { CN: "\*.lab.example.com" }/subject_matches: "CN=*.lab.example.com*"/' \
	"$CFG" >"$T/old.yaml"
old_form_refused() {
	local out rc=0
	out=$("$SCEPGW" -n -c "$T/old.yaml" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] && grep -qF 'subject_matches: { CN: "*.lab.example.com" }' <<<"$out" ||
		{ echo "rc=$rc: $out"; return 1; }
}
check "scepgw -n refuses the old whole-string subject_matches and names the new form" \
	old_form_refused

gw_start
P() { echo "$BASE/scep/$1/pkiclient.exe"; }
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem" >/dev/null

# csr NAME CN SAN-LINES...: $D/NAME.pem, a CSR for a new key $D/NAME.key made by
# openssl req (a key of its own: another request with the same key would be
# answered from the first one's transaction)
csr() {
	local name=$1 cn=$2
	shift 2
	{
		printf '[req]\nprompt = no\ndistinguished_name = dn\nreq_extensions = ext\n'
		printf 'attributes = attr\n[attr]\nchallengePassword = %s\n' "$CHALLENGE"
		printf '[dn]\nCN = %s\n[ext]\nsubjectAltName = @alt\n[alt]\n' "$cn"
		printf '%s\n' "$@"
		printf '[dir]\nCN = administrator\nO = Corp\n'
	} >"$D/$name.cnf"
	openssl req -new -newkey rsa:2048 -nodes -keyout "$D/$name.key" -config "$D/$name.cnf" \
		-out "$D/$name.pem" 2>/dev/null
}
# send NAME CN PROFILE scepreq-args...: enroll with the CSR $D/NAME.pem
send() {
	"$SCEPREQ" enroll --ra-chain "$D/ra.pem" -u "$(P "$3")" -c "$CHALLENGE" --cn "$2" \
		--key "$D/$1.key" --csr "$D/$1.pem" "${@:4}"
}
# refused NAME KIND: FAILURE badRequest, and a log line naming KIND
refused() {
	local mark
	mark=$(gw_log_mark)
	send "$1" d1.devices.example.com names --expect failure --expect-failinfo badRequest ||
		return 1
	gw_log_since "$mark" | grep -F "subjectAltName" | grep -qF -- "$2" ||
		{ echo "no log line naming $2:"; gw_log_since "$mark"; return 1; }
}
sans_of() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr -d ' '; }

DEV='DNS.1 = d1.devices.example.com'
csr upn d1.devices.example.com "$DEV" \
	'otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example.com'
csr uri d1.devices.example.com "$DEV" 'URI.1 = spiffe://corp.example.com/admin'
csr dirname d1.devices.example.com "$DEV" 'dirName.1 = dir'
csr rid d1.devices.example.com "$DEV" 'RID.1 = 1.2.3.4'
csr other d1.devices.example.com "$DEV" 'otherName.1 = 1.2.3.4.5;UTF8:x'
csr all d1.devices.example.com "$DEV" \
	'otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example.com' \
	'URI.1 = spiffe://corp.example.com/admin' 'dirName.1 = dir' 'RID.1 = 1.2.3.4'
csr clean d2.devices.example.com 'DNS.1 = d2.devices.example.com'
csr alice alice 'otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:alice@corp.example.com'
csr mallory mallory 'otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example.org'

check "a UPN otherName SAN: badRequest, logged as UPN" refused upn "UPN 'administrator@corp"
check "a URI SAN: badRequest, logged as URI" refused uri "URI 'spiffe://corp.example.com/admin'"
check "a dirName SAN: badRequest, logged as dirName" refused dirname "type dirName"
check "a RID SAN: badRequest, logged as RID" refused rid "type RID (1.2.3.4)"
check "another otherName SAN: badRequest, logged with its OID" refused other \
	"type otherName (1.2.3.4.5)"
check "UPN, URI, dirName and RID together (the ESC1 shape): badRequest" refused all UPN
check "a clean CSR on the same profile is issued" \
	send clean d2.devices.example.com names --out "$D/clean.crt"
check "the certificate carries exactly the approved names" \
	test "$(sans_of "$D/clean.crt")" = "DNS:d2.devices.example.com"

check "a UPN profile issues a UPN its san_upn allows" send alice alice upn --out "$D/alice.crt"
check "that certificate carries the UPN and nothing else" \
	test "$(sans_of "$D/alice.crt")" = "othername:UPN::alice@corp.example.com"
check "a UPN outside san_upn: badRequest" \
	send mallory mallory upn --expect failure --expect-failinfo badRequest

long_cn=$(head -c 60000 /dev/zero | tr '\0' a)
mark=$(gw_log_mark)
check "a 60,000-character CN: badRequest" \
	"$SCEPREQ" enroll --ra-chain "$D/ra.pem" -u "$URL" -c "$CHALLENGE" --cn "$long_cn" \
	--expect failure --expect-failinfo badRequest
check "the refusal says why (the subject's size)" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -q 'CSR subject has 600[0-9]* bytes, at most 1024'"

check "auto_if: CN=a.lab.example.com is approved at once" \
	"$SCEPREQ" enroll --ra-chain "$D/ra.pem" -u "$(P lab)" -c "$CHALLENGE" \
	--cn a.lab.example.com
check "auto_if: CN=x.lab.example.com.evil.org waits for an operator (PENDING)" \
	"$SCEPREQ" enroll --ra-chain "$D/ra.pem" -u "$(P lab)" -c "$CHALLENGE" \
	--cn x.lab.example.com.evil.org --expect pending

no_secret_in_log
finish
