#!/usr/bin/env bash
# t_getcert: GetCert (21) and GetCRL (22) through scepreq, signed by a
# certificate of the CA; `scepgw revoke` while the daemon runs; the CRL lists
# the revoked serial with its reason, both in GetCRL and over plain HTTP at
# /crl/local-ca.crl; a revoked signer is refused.  The scope (issue 16 item
# 3): a signer fetches its own certificates only (its renewal too), and a
# signer the root issued, one minted outside the gateway or one of another
# profile is refused.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

# a profile that offers neither GetCert nor GetCRL, and one that does (same CA)
GW_SCEP_PROFILES_EXTRA="  plain:
    ra_identity: dev
    ra_profile: dev
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
  other:
    ra_identity: dev
    ra_profile: dev
    getcert: true
    challenge: { type: static, secret_file: \"$PKI/challenge\" }"
gw_config "$CFG"
gw_start
PLAIN=$BASE/scep/plain/pkiclient.exe
D=$T/c
mkdir -p "$D"
hexserial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
lc() { tr 'A-F' 'a-f' <<<"$1"; } # the store's form: openssl's octets, lowercase

check "GetCACert through scepreq" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem"
for n in a b c; do
	check "enroll device-$n (the signers of what follows)" \
		"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" -c "$CHALLENGE" \
		--cn "device-$n" --out "$D/$n.pem" --out-key "$D/$n.key"
done
SA=$(hexserial "$D/a.pem")
SB=$(hexserial "$D/b.pem")
req() { "$SCEPREQ" "$1" -u "${U:-$URL}" --ra-chain "$D/ra-chain.pem" "${@:2}"; }
plain_req() { U=$PLAIN req "$@"; }

# --- GetCert ------------------------------------------------------------------
req getcert --signer-cert "$D/a.pem" --signer-key "$D/a.key" -o "$D/got-a.pem" >"$D/gc1.out"
check "GetCert of the signer's own serial: SUCCESS" grep -q "^status=SUCCESS serial=$SA " "$D/gc1.out"
check "GetCert returns the very certificate" cmp -s <(openssl x509 -in "$D/a.pem" -outform DER) \
	<(openssl x509 -in "$D/got-a.pem" -outform DER)
matrix_record scepreq GetCert yes "getcert: true"
check "GetCert of another device's certificate: FAILURE badCertId (as for an unknown serial)" \
	req getcert --signer-cert "$D/a.pem" --signer-key "$D/a.key" --serial "$SB" \
	--expect failure --expect-failinfo badCertId
check "the refusal is logged with its reason" \
	grep -q "GetCert: certificate $(lc "$SB") was issued for a request signed by another key" "$GW_LOG"
check "renew device-a (its successor fetched below)" \
	"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" --cn device-a --message-type 17 \
	--signer-cert "$D/a.pem" --signer-key "$D/a.key" --out "$D/a2.pem" --out-key "$D/a2.key"
check "GetCert of its renewal, signed by the superseded certificate: SUCCESS" \
	req getcert --signer-cert "$D/a.pem" --signer-key "$D/a.key" --serial "$(hexserial "$D/a2.pem")"
pki_issue root-ca "$D/rootleaf" device-a serverAuth,clientAuth
pki_issue issuing-ca "$D/caleaf" device-a serverAuth,clientAuth
check "GetCert signed by a leaf the root issued directly: FAILURE badRequest" \
	req getcert --signer-cert "$D/rootleaf.pem" --signer-key "$D/rootleaf.key" --serial "$SA" \
	--expect failure --expect-failinfo badRequest
check "GetCert signed by a leaf of the issuing CA minted outside the gateway: FAILURE badRequest" \
	req getcert --signer-cert "$D/caleaf.pem" --signer-key "$D/caleaf.key" --serial "$SA" \
	--expect failure --expect-failinfo badRequest
check "the refusal says why" \
	grep -q "GetCert: signer certificate .* was not issued through this gateway" "$GW_LOG"
check "enroll on the other profile" \
	"$SCEPREQ" enroll -u "$BASE/scep/other/pkiclient.exe" --ra-chain "$D/ra-chain.pem" \
	-c "$CHALLENGE" --cn device-o --out "$D/o.pem" --out-key "$D/o.key"
check "GetCert on dev signed by a certificate of the other profile: FAILURE badRequest" \
	req getcert --signer-cert "$D/o.pem" --signer-key "$D/o.key" \
	--expect failure --expect-failinfo badRequest
check "GetCRL signed by a leaf the root issued directly: FAILURE badRequest" \
	req getcrl --signer-cert "$D/rootleaf.pem" --signer-key "$D/rootleaf.key" \
	--expect failure --expect-failinfo badRequest
check "GetCRL signed by a certificate of the other profile: SUCCESS (the CRL is public)" \
	req getcrl --signer-cert "$D/o.pem" --signer-key "$D/o.key"
check "... which fetches its own on its profile: SUCCESS" \
	env U="$BASE/scep/other/pkiclient.exe" bash -c "$(declare -f req); D='$D' SCEPREQ='$SCEPREQ' \
	req getcert --signer-cert '$D/o.pem' --signer-key '$D/o.key'"
check "GetCert over GET with AES-256 + SHA-512: SUCCESS" \
	req getcert --signer-cert "$D/a.pem" --signer-key "$D/a.key" --get --cipher aes256 --digest sha512
check "GetCert of an unknown serial: FAILURE badCertId" \
	req getcert --signer-cert "$D/a.pem" --signer-key "$D/a.key" --serial 0DEADBEEF \
	--expect failure --expect-failinfo badCertId
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/self.key" -out "$D/self.pem" -days 2 \
	-subj /CN=stranger 2>/dev/null
check "GetCert signed by a self-signed certificate: FAILURE badRequest" \
	req getcert --signer-cert "$D/self.pem" --signer-key "$D/self.key" --serial "$SA" \
	--expect failure --expect-failinfo badRequest
check "GetCert on a profile without getcert: FAILURE badRequest" \
	plain_req getcert --signer-cert "$D/a.pem" --signer-key "$D/a.key" \
	--expect failure --expect-failinfo badRequest

# --- GetCRL before any revocation ----------------------------------------------
req getcrl --signer-cert "$D/a.pem" --signer-key "$D/a.key" >"$D/crl0.out"
check "GetCRL: SUCCESS with a CRL signed by the issuing CA" grep -q '^status=SUCCESS crls=1' "$D/crl0.out"
matrix_record scepreq GetCRL yes "getcrl: true"
check "the first CRL has number 1 and no entry" grep -q '^crl_number=1 entries=0' "$D/crl0.out"
check "GetCRL on a profile without getcrl: FAILURE badRequest" \
	plain_req getcrl --signer-cert "$D/a.pem" --signer-key "$D/a.key" \
	--expect failure --expect-failinfo badRequest

# --- revocation from the command line, the daemon running ------------------------
"$SCEPGW" -c "$CFG" revoke "$SB" --reason keyCompromise >"$D/rev1.out" 2>&1 || true
check "scepgw revoke SERIAL --reason keyCompromise succeeds" grep -q "^revoked $(lc "$SB") (keyCompromise)" "$D/rev1.out"
check "the store marks the certificate revoked (reason 1)" test "$(python3 -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("select revoked, revoke_reason from certificates where serial=?", (sys.argv[2],)).fetchone())' "$T/scepgw.db" "$(lc "$SB")")" = "(1, 1)"
"$SCEPGW" -c "$CFG" revoke "$SB" >"$D/rev2.out" 2>&1 || true
check "revoking it again says so and changes nothing" grep -q "already revoked" "$D/rev2.out"
rc=0
"$SCEPGW" -c "$CFG" revoke 0123456789abcdef >"$D/rev3.out" 2>&1 || rc=$?
check "revoking an unknown serial fails (exit $rc)" test "$rc" -eq 1
rc=0
"$SCEPGW" -c "$CFG" revoke "$SB" --reason sleepy >/dev/null 2>&1 || rc=$?
check "an unknown reason is a usage error (exit $rc)" test "$rc" -eq 2

req getcrl --signer-cert "$D/a.pem" --signer-key "$D/a.key" >"$D/crl1.out"
check "GetCRL after the revocation lists the serial with keyCompromise" \
	grep -q "^revoked=$SB reason=keyCompromise" "$D/crl1.out"
check "the CRL number went up (2)" grep -q '^crl_number=2 entries=1' "$D/crl1.out"
"$SCEPGW" -c "$CFG" revoke "$(hexserial "$D/c.pem")" --reason superseded >/dev/null 2>&1 || true
req getcrl --signer-cert "$D/a.pem" --signer-key "$D/a.key" -o "$D/crl2.pem" >"$D/crl2.out"
check "a second revocation: both listed, number 3" bash -c "grep -q '^crl_number=3 entries=2' '$D/crl2.out' &&
	grep -q 'reason=superseded' '$D/crl2.out' && grep -q '^revoked=$SB ' '$D/crl2.out'"

# --- the CRL over plain HTTP -----------------------------------------------------
read -r code ctype < <(http_get "$BASE/crl/local-ca.crl" "$D/http.crl")
check "GET /crl/local-ca.crl answers 200 (got $code)" test "$code" = 200
check "it is application/pkix-crl (got $ctype)" test "$ctype" = application/pkix-crl
check "it verifies against the issuing CA" \
	bash -c "openssl crl -inform DER -in '$D/http.crl' -CAfile '$PKI/chain.pem' -noout 2>&1 | grep -q 'verify OK'"
openssl crl -inform DER -in "$D/http.crl" -noout -text >"$D/http.txt" 2>&1 || true
check "it lists the revoked serial with reason Key Compromise" \
	bash -c "grep -A4 'Serial Number: $SB' '$D/http.txt' | grep -q 'Key Compromise'"
check "GetCRL -o wrote the same CRL as PEM" \
	cmp -s "$D/http.crl" <(openssl crl -in "$D/crl2.pem" -outform DER 2>/dev/null)
check "it has a nextUpdate and a CRL number" \
	bash -c "grep -q 'Next Update:' '$D/http.txt' && grep -q 'X509v3 CRL Number' '$D/http.txt'"
check "the store keeps the CRL number durably" test "$(python3 -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("select number from ca_crl where ca = ?", ("local-ca",)).fetchone()[0])' "$T/scepgw.db")" -ge 3
read -r code _ < <(http_get "$BASE/crl/nope.crl" "$D/nope.crl")
check "an unknown CA's CRL is 404 (got $code)" test "$code" = 404
read -r code _ < <(http_get "$BASE/crl/local-ca.crl" "$D/post.crl" --data-binary x)
check "POST to the CRL is 405 (got $code)" test "$code" = 405

# --- a revoked signer -----------------------------------------------------------
check "GetCert signed by the revoked certificate: FAILURE badRequest" \
	req getcert --signer-cert "$D/b.pem" --signer-key "$D/b.key" \
	--expect failure --expect-failinfo badRequest
check "the refusal names the revocation in the log" grep -q "signer certificate $(lc "$SB") is revoked" "$GW_LOG"
check "every GetCert/GetCRL has a log line with op=" \
	bash -c "grep -q 'op=GetCert .*outcome=success' '$GW_LOG' && grep -q 'op=GetCRL .*outcome=success' '$GW_LOG'"

gw_stop
no_secret_in_log
finish
