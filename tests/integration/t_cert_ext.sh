#!/usr/bin/env bash
# t_cert_ext: certificates relying parties can check (issue 17 item 8).  A
# local CA template with crl_distribution_points, ca_issuers, ocsp, policies
# and cps_uri issues certificates that carry them (openssl x509 -text), and
# `openssl verify -crl_download -crl_check` follows the CDP to the gateway's
# own /crl/ endpoint: OK, then "certificate revoked" after `scepgw revoke`.
# A template without those keys adds none of them; scepgw -n refuses a bad
# URL or OID, naming the line.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
D=$T/c
mkdir -p "$D"
CDP=http://127.0.0.1:$PORT/crl/local-ca.crl
RP="validity_days: 30, crl_distribution_points: [\"$CDP\", \"ldap://ldap.example.com/cn=crl\"],
 ca_issuers: [\"http://127.0.0.1:$PORT/ca.crt\"], ocsp: [\"http://ocsp.example.com/\"],
 policies: [\"1.3.6.1.4.1.55555.1.1\", \"2.23.140.1.2.1\"], cps_uri: \"https://pki.example.com/cps\""
GW_RA_PROFILES_EXTRA="  rp: { backend: local-ca, template: rp, approval: auto }"
GW_SCEP_PROFILES_EXTRA="  rp:
    ra_identity: dev
    ra_profile: rp
    challenge: { type: static, secret_file: \"$PKI/challenge\" }"
# rp_config FILE BODY: the test config with template rp = { BODY } on the local CA
rp_config() {
	gw_config "$1"
	python3 - "$1" "$T/ca-state" "${2//$'\n'/}" <<'PY'
import sys
f, state, body = sys.argv[1:]
s = open(f).read()
old = 'state_dir: "%s" }' % state
assert old in s
s = s.replace(old, 'state_dir: "%s", templates: { default: {}, rp: { %s } } }' % (state, body))
open(f, "w").write(s)
PY
}

# --- the configuration check refuses what relying parties cannot use ------------------
# refused NAME BODY REGEX: scepgw -n fails on template rp = { BODY } with REGEX in its output
refused() {
	local rc=0
	rp_config "$D/$1.yaml" "$2"
	"$SCEPGW" -n -c "$D/$1.yaml" >"$D/$1.out" 2>&1 || rc=$?
	check "scepgw -n refuses $1 (exit $rc)" test "$rc" -ne 0
	check "... saying why, with the line" grep -Eq "$1.yaml:[0-9]+.*$3" "$D/$1.out"
}
refused ftp 'crl_distribution_points: ["ftp://x.example.com/a.crl"]' \
	"crl_distribution_points: 'ftp://x.example.com/a.crl' must start with http://"
refused space 'ocsp: ["http://ocsp.example.com/a b"]' "ocsp: .* holds a space"
refused nohost 'ca_issuers: ["http:///ca.crt"]' "ca_issuers: .* has no host"
refused oid 'policies: ["anyPolicy"]' "policies: 'anyPolicy' is not a dotted OID"
refused cps 'cps_uri: "https://pki.example.com/cps"' "cps_uri: qualifies the policies"
refused many "ocsp: [$(for i in 1 2 3 4 5 6 7 8 9; do printf '"http://o%s.example.com/",' "$i"; done)]" \
	"ocsp: more than 8 URLs"
rp_config "$CFG" "$RP"
check "scepgw -n accepts the rp template" "$SCEPGW" -n -c "$CFG"

# --- issuance -------------------------------------------------------------------------
gw_start
check "GetCACert through scepreq" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem"
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" -c "$CHALLENGE" "$@"; }
check "enroll on the rp profile" en -u "$BASE/scep/rp/pkiclient.exe" --cn rp-device \
	--out "$D/rp.pem" --out-key "$D/rp.key"
check "enroll on the dev profile (default template)" en -u "$URL" --cn plain-device \
	--out "$D/plain.pem" --out-key "$D/plain.key"
openssl x509 -in "$D/rp.pem" -noout -text >"$D/rp.txt" 2>&1 || true
openssl x509 -in "$D/plain.pem" -noout -text >"$D/plain.txt" 2>&1 || true
has() { grep -A1 -F -- "$1" "$D/rp.txt" | grep -qF -- "$2"; }
check "the rp certificate has the CRL distribution point of the gateway" bash -c "grep -A2 -F 'CRL Distribution Points' '$D/rp.txt' | grep -qF 'URI:$CDP'"
check "... and the LDAP one, in the same distribution point" grep -qF "URI:ldap://ldap.example.com/cn=crl" "$D/rp.txt"
check "it has AIA with the OCSP URL" has "Authority Information Access" "OCSP - URI:http://ocsp.example.com/"
check "... and the caIssuers URL" grep -qF "CA Issuers - URI:http://127.0.0.1:$PORT/ca.crt" "$D/rp.txt"
check "it has the certificate policies" has "Certificate Policies" "Policy: 1.3.6.1.4.1.55555.1.1"
check "... the second policy" grep -qF "Policy: 2.23.140.1.2.1" "$D/rp.txt"
check "... each with the CPS pointer" test "$(grep -c 'CPS: https://pki.example.com/cps' "$D/rp.txt")" = 2
check "the extensions are not critical" not grep -E '(CRL Distribution Points|Authority Information Access|Certificate Policies): critical' "$D/rp.txt"
check "the rp template's other settings still apply (30 days)" \
	bash -c "[ \$(( \$(date -d \"\$(openssl x509 -in '$D/rp.pem' -noout -enddate | cut -d= -f2)\" +%s) - \$(date +%s) )) -le $((30 * 86400 + 60)) ]"
check "the default template's certificate has no CDP, AIA or policies" \
	not grep -Eq 'CRL Distribution Points|Authority Information Access|Certificate Policies' "$D/plain.txt"
check "the default template still has its usual extensions" grep -q 'X509v3 Subject Key Identifier' "$D/plain.txt"

# --- a relying party follows the CDP to the gateway ------------------------------------------
check "openssl verify -crl_download -crl_check: OK through the CDP" \
	openssl verify -CAfile "$PKI/chain.pem" -crl_download -crl_check "$D/rp.pem"
serial=$(openssl x509 -in "$D/rp.pem" -noout -serial | cut -d= -f2)
check "scepgw revoke the rp certificate" "$SCEPGW" -c "$CFG" revoke "$serial" --reason keyCompromise
check "openssl verify -crl_download -crl_check now says revoked" \
	bash -c "! openssl verify -CAfile '$PKI/chain.pem' -crl_download -crl_check '$D/rp.pem' >'$D/v2.out' 2>&1 && grep -q 'certificate revoked' '$D/v2.out'"
check "the CRL was fetched from the gateway" grep -q 'op=CRL method=GET .*status=200' "$GW_LOG"
no_secret_in_log
finish
