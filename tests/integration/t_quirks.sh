#!/usr/bin/env bash
# t_quirks: the per-profile client-quirk switches (docs/protocol-notes.md 4):
# GetCACert with or without the root, the single-certificate GetCACert mode,
# CertRep with or without the CA certificate, message= on every operation.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

prof() { # NAME EXTRA-LINE
	printf '  %s:\n    ra_identity: dev\n    ra_profile: dev\n    challenge: { type: static, secret_file: "%s" }\n    %s\n' \
		"$1" "$PKI/challenge" "$2"
}
GW_SCEP_PROFILES_EXTRA="$(prof jamf 'getcacert: { include_root: false, include_chain: false }')
$(prof single 'getcacert: { mode: single }')
$(prof cisco 'certrep: { include_ca: true }')"
gw_config "$CFG"
gw_start
P() { echo "$BASE/scep/$1/pkiclient.exe"; }
D=$T/c
mkdir -p "$D"
subjects() { openssl pkcs7 -inform DER -in "$1" -print_certs | grep -c '^subject='; }

read -r code ctype < <(http_get "$URL?operation=GetCACert" "$D/dev.der")
check "default GetCACert: RA, issuing CA and root (3 certificates)" test "$(subjects "$D/dev.der")" = 3
read -r code ctype < <(http_get "$(P jamf)?operation=GetCACert" "$D/jamf.der")
check "include_root: false: RA and issuing CA only (2 certificates)" test "$(subjects "$D/jamf.der")" = 2
check "... and no self-signed root among them" \
	not bash -c "openssl pkcs7 -inform DER -in '$D/jamf.der' -print_certs | grep -q 'subject=CN = scepgw dev root CA'"

read -r code ctype < <(http_get "$(P single)?operation=GetCACert" "$D/single.der")
check "mode: single answers application/x-x509-ca-cert (got $ctype)" test "$ctype" = application/x-x509-ca-cert
check "mode: single is the DER RA certificate itself" \
	cmp -s "$D/single.der" <(openssl x509 -in "$PKI/ra.pem" -outform DER)
# scepreq cannot verify the issued certificate's chain from the RA certificate
# alone (that is the client's business): the gateway's answer is what counts
"$SCEPREQ" enroll -u "$(P single)" -c "$CHALLENGE" --cn quirk-single >"$D/single.out" 2>&1 || true
check "mode: single: a client that knows only the RA certificate enrolls (SUCCESS)" \
	grep -q 'profile=single .*op=PKCSReq .*outcome=success' "$GW_LOG"
check "... its CertRep verified against that one certificate" grep -q 'reply cipher=' "$D/single.out"
read -r code _ < <(http_get "$(P single)?operation=GetCACert&message=1" "$D/single1.der")
check "certmonger's GetCACert&message=1 walk sees the same certificate (a duplicate ends it)" \
	cmp -s "$D/single.der" "$D/single1.der"

"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn quirk-plain >"$D/plain.out"
check "certrep.include_ca false (default): the CertRep holds only the certificate" \
	grep -q 'certs=1$' "$D/plain.out"
"$SCEPREQ" enroll -u "$(P cisco)" -c "$CHALLENGE" --cn quirk-cisco >"$D/cisco.out"
check "certrep.include_ca true: the CertRep adds the issuing CA" grep -q 'certs=2$' "$D/cisco.out"

for op in GetCACaps GetCACert GetNextCACert; do
	a=$(curl -s -o /dev/null -w '%{http_code}' "$URL?operation=$op")
	b=$(curl -s -o /dev/null -w '%{http_code}' "$URL?operation=$op&message=MobileIronSCEP")
	check "message= changes nothing on $op ($a = $b)" test "$a" = "$b"
done
check "PKIOperation over GET with message= is the request itself" \
	"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn quirk-get --get
curl -s "$URL?operation=GetCACaps" >"$D/caps"
check "caps: LF only" not grep -q $'\r' "$D/caps"
check "caps: no duplicate keyword" test -z "$(sort "$D/caps" | uniq -d)"
check "caps: Renewal announced (renewal enabled on dev)" grep -qx Renewal "$D/caps"

gw_stop
finish
