#!/usr/bin/env bash
# t_renewal: renewal (RenewalReq 17, and a PKCSReq signed by the old
# certificate, draft-nourse style) with micromdm scepclient and scepreq, and
# each per-profile rule: renewal disabled, window, same subject, key reuse,
# challenge; the renewal scope (issue 16 item 3): a signer the root issued
# directly, one the issuing CA issued outside the gateway (refused unless
# require_issued_here is off), one issued for another profile, a revoked, a
# superseded or a tampered signer, a renewal adding a SAN; a refused renewal
# with a valid challenge is enrolled by the challenge.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
command -v scepclient >/dev/null || { echo "scepclient not found (apt-get install scep)"; exit 1; }

profile() { # NAME RENEWAL-MAP
	printf '  %s:\n    ra_identity: dev\n    ra_profile: dev\n    challenge: { type: static, secret_file: "%s" }\n%s\n' \
		"$1" "$PKI/challenge" "${2:+    renewal: $2}"
}
GW_SCEP_PROFILES_EXTRA="$(profile norenew '')
$(profile strict '{ enabled: true }')
$(profile window '{ enabled: true, window_percent: 10, allow_key_reuse: true }')
$(profile anysubject '{ enabled: true, same_subject: false, allow_new_names: true }')
$(profile withchallenge '{ enabled: true, require_challenge: true }')
$(profile foreign '{ enabled: true, require_issued_here: false }')"
gw_config "$CFG"
gw_start
P() { echo "$BASE/scep/$1/pkiclient.exe"; }
D=$T/c
mkdir -p "$D"
serial() { openssl x509 -in "$1" -noout -serial; }
db() { python3 -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$T/scepgw.db" "$1"; }

# --- micromdm scepclient: RenewalReq when cert.pem exists ---------------------
S=$T/sc
mkdir -p "$S"
sc() { (cd "$S" && timeout 90 scepclient -server-url "$URL" -challenge "${1:-$CHALLENGE}" \
	-private-key "$S/key.pem" -certificate "$S/cert.pem" -cn dev-renew -debug) >>"$S/client.log" 2>&1; }
check "scepclient enrolls" sc
cp "$S/cert.pem" "$D/sc-old.pem" 2>/dev/null || true
mark=$(gw_log_mark)
check "scepclient run again in the same directory renews (no challenge needed)" sc not-the-challenge
check "the gateway saw a RenewalReq and answered SUCCESS" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -q 'op=RenewalReq .*outcome=success'"
matrix_record scepclient RenewalReq yes
check "the renewed certificate is a new one" test "$(serial "$S/cert.pem")" != "$(serial "$D/sc-old.pem")"
check "the renewed certificate verifies against the chain" openssl verify -CAfile "$PKI/chain.pem" "$S/cert.pem"
mark=$(gw_log_mark)
check "scepclient renews once more (renewing the renewed certificate)" sc not-the-challenge
check "that is a third certificate" bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -q 'op=RenewalReq .*outcome=success'"
check "it keeps the subject" test "$(openssl x509 -in "$S/cert.pem" -noout -subject)" = \
	"$(openssl x509 -in "$D/sc-old.pem" -noout -subject)"
check "GetCACaps of the dev profile lists Renewal" bash -c "curl -s '$URL?operation=GetCACaps' | grep -qx Renewal"
check "GetCACaps of a profile without renewal does not" \
	bash -c "! curl -s '$(P norenew)?operation=GetCACaps' | grep -qx Renewal"

# --- scepreq: a first certificate, then renewals ------------------------------
check "GetCACert through scepreq" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem"
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" "$@"; }
# mint URL NAME [CN] [args]: a certificate through the gateway -> $D/NAME.pem/.key
mint() { en -u "$1" -c "$CHALLENGE" --cn "${3:-renew-me}" --out "$D/$2.pem" --out-key "$D/$2.key" "${@:4}"; }
# renew URL NAME [args]: a request signed by $D/NAME.pem (CN $CN or renew-me)
renew() { en -u "$1" --cn "${CN:-renew-me}" --signer-cert "$D/$2.pem" --signer-key "$D/$2.key" "${@:3}"; }
logged() { grep -q -- "$1" "$GW_LOG"; }

check "enroll the certificate to renew" mint "$URL" old
check "enroll a second one (revoked below)" mint "$URL" rv renew-revoked
check "RenewalReq with a new key, no challenge: SUCCESS" \
	renew "$URL" old --message-type 17 --out "$D/new.pem" --out-key "$D/new.key"
matrix_record scepreq RenewalReq yes "renewal.enabled"
check "the renewal is recorded as msg_type 17" test "$(db 'select count(*) from transactions where msg_type = 17')" -ge 1
check "RenewalReq signed by the superseded certificate again (new transactionID): FAILURE badRequest" \
	renew "$URL" old --message-type 17 --expect failure --expect-failinfo badRequest
check "the superseded refusal is logged" logged 'renewal: signer certificate .* is superseded'
check "... the same with the challenge: SUCCESS (a refused renewal falls to the challenge)" \
	renew "$URL" old --message-type 17 -c "$CHALLENGE"
check "a PKCSReq signed by the renewed certificate (draft-nourse), no challenge: SUCCESS" \
	renew "$URL" new --message-type 19 --out "$D/n2.pem" --out-key "$D/n2.key"
check "RenewalReq reusing the old key where allowed (dev): SUCCESS" \
	renew "$URL" n2 --message-type 17 --key "$D/n2.key" --out "$D/n3.pem"
cp "$D/n2.key" "$D/n3.key"

check "enroll on the strict profile" mint "$(P strict)" s1
check "RenewalReq reusing the old key where not allowed: FAILURE badRequest" \
	renew "$(P strict)" s1 --message-type 17 --key "$D/s1.key" --expect failure --expect-failinfo badRequest
check "RenewalReq with another subject: FAILURE badRequest" \
	env CN=someone-else bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$(P strict)' s1 --message-type 17 --expect failure --expect-failinfo badRequest"
check "a certificate of the dev profile renewing on the strict profile: FAILURE badRequest" \
	renew "$(P strict)" n3 --message-type 17 --expect failure --expect-failinfo badRequest
check "the other-profile refusal is logged" logged 'renewal: signer certificate .* was issued for profile dev'
check "a normal renewal on the strict profile: SUCCESS" renew "$(P strict)" s1 --message-type 17
check "enroll on the anysubject profile" mint "$(P anysubject)" a1
check "another subject where same_subject is false and allow_new_names true: SUCCESS" \
	env CN=someone-else bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$(P anysubject)' a1 --message-type 17"
check "RenewalReq on a profile without renewal: FAILURE badRequest" \
	renew "$(P norenew)" n3 --message-type 17 --expect failure --expect-failinfo badRequest
check "a PKCSReq signed by the old certificate there is an ordinary PKCSReq: challenge required" \
	renew "$(P norenew)" n3 --message-type 19 --expect failure --expect-failinfo badRequest
check "... and with the challenge: SUCCESS" renew "$(P norenew)" n3 --message-type 19 -c "$CHALLENGE"
check "enroll on the window profile" mint "$(P window)" w1
check "RenewalReq outside the window (last 10% of the validity): FAILURE badRequest" \
	renew "$(P window)" w1 --message-type 17 --expect failure --expect-failinfo badRequest
check "the window refusal says when it opens" logged 'renewal window not open'
check "enroll on the withchallenge profile" mint "$(P withchallenge)" c1
check "require_challenge: without the challenge FAILURE badRequest" \
	renew "$(P withchallenge)" c1 --message-type 17 --expect failure --expect-failinfo badRequest
check "require_challenge: with it SUCCESS" renew "$(P withchallenge)" c1 --message-type 17 -c "$CHALLENGE"
check "a self-signed RenewalReq: FAILURE badRequest" \
	en -u "$URL" --cn renew-me --message-type 17 --expect failure --expect-failinfo badRequest

# --- names: a renewal names nothing the signer does not --------------------------
check "enroll a certificate with one DNS SAN" \
	mint "$URL" san renew-san --san-dns renew-san.example.com
check "RenewalReq adding a DNS SAN: FAILURE badRequest" \
	env CN=renew-san bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$URL' san --message-type 17 --san-dns renew-san.example.com --san-dns admin.example.com --expect failure --expect-failinfo badRequest"
check "the added SAN is named in the log" logged 'renewal adds subjectAltName 2 the signer certificate does not have'
check "RenewalReq keeping the SAN: SUCCESS" \
	env CN=renew-san bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$URL' san --message-type 17 --san-dns renew-san.example.com"

# --- signers the gateway did not issue ---------------------------------------------
pki_issue root-ca "$D/rootleaf" renew-me serverAuth
check "(the root-issued leaf verifies against the root, serverAuth only)" bash -c \
	"openssl verify -CAfile '$PKI/root-ca.pem' -purpose sslserver '$D/rootleaf.pem' >/dev/null &&
	! openssl verify -CAfile '$PKI/root-ca.pem' -purpose sslclient '$D/rootleaf.pem' >/dev/null 2>&1"
check "a serverAuth leaf the root issued directly, as RenewalReq signer: FAILURE badRequest" \
	renew "$URL" rootleaf --message-type 17 --expect failure --expect-failinfo badRequest
check "the refusal says the issuing CA did not issue it" \
	logged "renewal: signer certificate was not issued by the profile's issuing CA"
check "... refused on a require_issued_here: false profile too" \
	renew "$(P foreign)" rootleaf --message-type 17 --expect failure --expect-failinfo badRequest
pki_issue issuing-ca "$D/caleaf" renew-me clientAuth
check "a leaf of the issuing CA minted outside the gateway: FAILURE badRequest" \
	renew "$URL" caleaf --message-type 17 --expect failure --expect-failinfo badRequest
check "the refusal says it was not issued through this gateway" \
	logged 'renewal: signer certificate .* was not issued through this gateway'
check "... accepted where require_issued_here is false: SUCCESS" \
	renew "$(P foreign)" caleaf --message-type 17
check "... but only once: it is superseded then" \
	renew "$(P foreign)" caleaf --message-type 17 --expect failure --expect-failinfo badRequest

# a tampered signer: one byte of the subject changed, the key and signature kept
python3 - "$D/old.pem" "$D/tampered.pem" <<'PY'
import base64, re, sys
pem = open(sys.argv[1]).read()
der = bytearray(base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l)))
i = der.find(b"renew-me")
der[i + 7] = ord("x")
b64 = base64.b64encode(bytes(der)).decode()
open(sys.argv[2], "w").write("-----BEGIN CERTIFICATE-----\n" +
    "\n".join(b64[j:j + 64] for j in range(0, len(b64), 64)) + "\n-----END CERTIFICATE-----\n")
PY
cp "$D/old.key" "$D/tampered.key"
check "RenewalReq signed by a tampered certificate: FAILURE badMessageCheck" \
	env CN=renew-mx bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$URL' tampered --message-type 17 --expect failure --expect-failinfo badMessageCheck"

check "scepgw revoke the second certificate" \
	"$SCEPGW" -c "$CFG" revoke "$(serial "$D/rv.pem" | sed 's/^serial=//')" --reason superseded
check "RenewalReq signed by a revoked certificate: FAILURE badRequest" \
	env CN=renew-revoked bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$URL' rv --message-type 17 --expect failure --expect-failinfo badRequest"
check "the revoked refusal is logged" logged 'renewal: signer certificate .* is revoked'

gw_stop
no_secret_in_log
finish
