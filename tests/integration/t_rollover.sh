#!/usr/bin/env bash
# t_rollover: a profile names the next RA identity (a new CA): GetCACaps then
# offers GetNextCACert, which answers application/x-x509-next-ca-cert, signed
# by the current RA, holding the next RA and CA.  After the switch (the
# profile's ra_identity becomes the next one) GetCACert is what was announced
# and enrollments chain to the new CA.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

PKI2=$T/pki2
"$SRC/certs/mkdevpki.sh" "$PKI2" >/dev/null
mkdir -p "$T/ca-state2"
GW_RA_IDENTITIES_EXTRA="  next:
    sign: { cert: \"$PKI2/ra.pem\", key: \"$PKI2/ra.key\" }
    ca_chain: \"$PKI2/chain.pem\""
GW_DEV_EXTRA="    next_ra_identity: next"
GW_SCEP_PROFILES_EXTRA="  plain:
    ra_identity: dev
    ra_profile: dev
    challenge: { type: static, secret_file: \"$PKI/challenge\" }"
GW_RA_PROFILES_EXTRA="  next: { backend: local-ca-2, template: default, approval: auto }"
GW_BACKENDS_EXTRA="  local-ca-2: { type: local, ca_cert: \"$PKI2/issuing-ca.pem\", ca_chain: \"$PKI2/root-ca.pem\", ca_key: \"$PKI2/issuing-ca.key\", state_dir: \"$T/ca-state2\" }"
gw_config "$CFG"
gw_start
PLAIN=$BASE/scep/plain/pkiclient.exe
D=$T/c
mkdir -p "$D"
fps() { cert_fingerprints "$1" | sort; }
fp1() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

curl -s "$URL?operation=GetCACaps" >"$D/caps"
check "GetCACaps lists GetNextCACert during the rollover" grep -qx GetNextCACert "$D/caps"
check "a profile without next_ra_identity does not" \
	bash -c "! curl -s '$PLAIN?operation=GetCACaps' | grep -qx GetNextCACert"
read -r code _ < <(http_get "$PLAIN?operation=GetNextCACert" "$D/none")
check "GetNextCACert there: HTTP 400 (got $code)" test "$code" = 400

read -r code ctype < <(http_get "$URL?operation=GetNextCACert" "$D/next.der")
check "GetNextCACert answers 200 (got $code)" test "$code" = 200
check "as application/x-x509-next-ca-cert (got $ctype)" test "$ctype" = application/x-x509-next-ca-cert
check "GetNextCACert&message=anything is tolerated" \
	bash -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=GetNextCACert&message=CA')\" = 200"
check "scepreq verifies it against GetCACert's RA and lists the next certificates" \
	"$SCEPREQ" getnextcacert -u "$URL" -o "$D/next.pem"
matrix_record scepreq GetNextCACert yes "next_ra_identity"
check "openssl smime (PKCS7_verify): verifies with the signer taken from the reply itself" \
	openssl smime -verify -inform DER -in "$D/next.der" -noverify -binary -signer "$D/signer.pem" \
	-out /dev/null
check "... and that signer is the current RA certificate" \
	test "$(fp1 "$D/signer.pem" 2>&1)" = "$(fp1 "$PKI/ra.pem")"
matrix_record openssl GetNextCACert yes "next_ra_identity"
check "openssl cms: signed by the current RA certificate" \
	openssl cms -verify -inform DER -in "$D/next.der" -certfile "$PKI/ra.pem" -noverify -binary -out /dev/null
check "openssl cms: not by the next RA" \
	not openssl cms -verify -inform DER -in "$D/next.der" -certfile "$PKI2/ra.pem" -nointern \
	-noverify -binary -out /dev/null
announced_next() {
	local f
	for f in ra.pem issuing-ca.pem root-ca.pem; do
		fps "$D/next.pem" | grep -qxF "$(fp1 "$PKI2/$f")" || { echo "missing next $f"; return 1; }
	done
	for f in ra.pem issuing-ca.pem; do
		! fps "$D/next.pem" | grep -qxF "$(fp1 "$PKI/$f")" || { echo "current $f announced"; return 1; }
	done
}
check "it holds the next RA, issuing CA and root, none of the current ones" announced_next
check "enrollment still chains to the current CA during the announcement" \
	"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn before-switch --out "$D/before.pem"
check "... verified with the current chain" openssl verify -CAfile "$PKI/chain.pem" "$D/before.pem"
gw_stop

# --- the switch: the dev profile moves to the next identity and CA -------------
sed -e '0,/^    ra_identity: dev$/s//    ra_identity: next/' \
	-e '0,/^    ra_profile: dev$/s//    ra_profile: next/' \
	-e '/^    next_ra_identity: next$/d' "$CFG" >"$T/switched.yaml"
check "the switched config is valid" "$SCEPGW" -n -c "$T/switched.yaml"
gw_start "$T/switched.yaml"
curl -s "$URL?operation=GetCACert" | openssl pkcs7 -inform DER -print_certs -out "$D/after.pem"
check "GetCACert now serves exactly what GetNextCACert announced" \
	test "$(fps "$D/after.pem")" = "$(fps "$D/next.pem")"
check "GetNextCACert is gone from the caps" bash -c "! curl -s '$URL?operation=GetCACaps' | grep -qx GetNextCACert"
check "enrollment after the switch succeeds" \
	"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn after-switch --out "$D/after-cert.pem"
check "it chains to the new CA" openssl verify -CAfile "$PKI2/chain.pem" "$D/after-cert.pem"
check "and not to the old one" not openssl verify -CAfile "$PKI/chain.pem" "$D/after-cert.pem"
gw_stop
finish
