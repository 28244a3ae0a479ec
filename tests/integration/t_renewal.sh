#!/usr/bin/env bash
# t_renewal: renewal (RenewalReq 17, and a PKCSReq signed by the old
# certificate, draft-nourse style) with micromdm scepclient and scepreq, and
# each per-profile rule: renewal disabled, window, same subject, key reuse,
# challenge; a revoked, tampered or foreign signer.
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
$(profile anysubject '{ enabled: true, same_subject: false }')
$(profile withchallenge '{ enabled: true, require_challenge: true }')"
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
check "enroll the certificate to renew" en -u "$URL" -c "$CHALLENGE" --cn renew-me \
	--out "$D/old.pem" --out-key "$D/old.key"
check "enroll a second one (revoked below)" en -u "$URL" -c "$CHALLENGE" --cn renew-revoked \
	--out "$D/rv.pem" --out-key "$D/rv.key"
renew() { en -u "$1" --cn "${CN:-renew-me}" --signer-cert "${SC:-$D/old.pem}" \
	--signer-key "${SK:-$D/old.key}" "${@:2}"; }

check "RenewalReq with a new key, no challenge: SUCCESS" renew "$URL" --message-type 17 \
	--out "$D/new.pem"
check "the renewal is recorded as msg_type 17" test "$(db 'select count(*) from transactions where msg_type = 17')" -ge 1
check "a PKCSReq signed by the old certificate (draft-nourse), no challenge: SUCCESS" \
	renew "$URL" --message-type 19
check "RenewalReq reusing the old key where allowed (dev): SUCCESS" \
	renew "$URL" --message-type 17 --key "$D/old.key"
check "RenewalReq reusing the old key where not allowed: FAILURE badRequest" \
	renew "$(P strict)" --message-type 17 --key "$D/old.key" --expect failure --expect-failinfo badRequest
check "RenewalReq with another subject: FAILURE badRequest" \
	env CN=someone-else bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$(P strict)' --message-type 17 --expect failure --expect-failinfo badRequest"
check "another subject where same_subject is false: SUCCESS" \
	env CN=someone-else bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$(P anysubject)' --message-type 17"
check "RenewalReq on a profile without renewal: FAILURE badRequest" \
	renew "$(P norenew)" --message-type 17 --expect failure --expect-failinfo badRequest
check "a PKCSReq signed by the old certificate there is an ordinary PKCSReq: challenge required" \
	renew "$(P norenew)" --message-type 19 --expect failure --expect-failinfo badRequest
check "... and with the challenge: SUCCESS" renew "$(P norenew)" --message-type 19 -c "$CHALLENGE"
check "RenewalReq outside the window (last 10% of the validity): FAILURE badRequest" \
	renew "$(P window)" --message-type 17 --expect failure --expect-failinfo badRequest
check "the window refusal says when it opens" grep -q 'renewal window not open' "$GW_LOG"
check "require_challenge: without the challenge FAILURE badRequest" \
	renew "$(P withchallenge)" --message-type 17 --expect failure --expect-failinfo badRequest
check "require_challenge: with it SUCCESS" renew "$(P withchallenge)" --message-type 17 -c "$CHALLENGE"
check "a self-signed RenewalReq: FAILURE badRequest" \
	en -u "$URL" --cn renew-me --message-type 17 --expect failure --expect-failinfo badRequest

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
check "RenewalReq signed by a tampered certificate: FAILURE badMessageCheck" \
	env SC="$D/tampered.pem" bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' renew '$URL' --message-type 17 --cn renew-mx --expect failure --expect-failinfo badMessageCheck"

check "scepgw revoke the second certificate" \
	"$SCEPGW" -c "$CFG" revoke "$(serial "$D/rv.pem" | sed 's/^serial=//')" --reason superseded
check "RenewalReq signed by a revoked certificate: FAILURE badRequest" \
	env SC="$D/rv.pem" SK="$D/rv.key" bash -c "$(declare -f renew en); D='$D' SCEPREQ='$SCEPREQ' CN=renew-revoked renew '$URL' --message-type 17 --expect failure --expect-failinfo badRequest"
check "the revoked refusal is logged" grep -q 'renewal: signer certificate .* is revoked' "$GW_LOG"

gw_stop
no_secret_in_log
finish
