#!/usr/bin/env bash
# t_otp.sh: one-time challenges (NDES style) on the `otp` profile: issued by
# scepgwctl / the admin API, shown once, single use, expiring, optionally bound
# to a subject; and the NDES-compatible /certsrv/mscep_admin/ page (UTF-16,
# basic auth) whose challenge enrolls with scepreq and micromdm scepclient.
# shellcheck disable=SC2317  # the check functions run through check()
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"
command -v scepclient >/dev/null || { echo "scepclient not found (apt-get install scep)"; exit 1; }

gw_config "$CFG"
gw_start
OTP_URL=$BASE/scep/otp/pkiclient.exe
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
SECRETS=()

# --- a challenge from scepgwctl works once ---------------------------------------
OTP1=$(ctl challenge otp 2>"$D/ch1.err" || true)
SECRETS+=("$OTP1")
check "scepgwctl challenge otp prints a 32-hex-digit challenge ('$OTP1')" \
	bash -c "[[ '$OTP1' =~ ^[0-9A-F]{32}$ ]]"
check "the static development challenge is refused on the otp profile" \
	enroll -u "$OTP_URL" -c "$CHALLENGE" --cn otp-static --expect failure --expect-failinfo badRequest
check "the one-time challenge enrolls" enroll -u "$OTP_URL" -c "$OTP1" --cn otp-1 --out "$D/otp1.pem"
check "the certificate verifies" openssl verify -CAfile "$PKI/chain.pem" "$D/otp1.pem"
check "the same challenge a second time: FAILURE badRequest" \
	enroll -u "$OTP_URL" -c "$OTP1" --cn otp-1b --expect failure --expect-failinfo badRequest
check "the refusal says why" grep -q 'reason="one-time challenge unknown, used or expired"' "$GW_LOG"
check "only the hash is stored" \
	python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("select hex(sha256) from otps").fetchall()
assert rows and all(r[0] != sys.argv[2] for r in rows), rows' "$T/scepgw.db" "$OTP1"

# --- expiry -------------------------------------------------------------------------
OTP2=$(ctl challenge otp --ttl 1s 2>/dev/null || true)
SECRETS+=("$OTP2")
sleep 2.2
check "an expired challenge: FAILURE badRequest" \
	enroll -u "$OTP_URL" -c "$OTP2" --cn otp-2 --expect failure --expect-failinfo badRequest

# --- bound to a subject ---------------------------------------------------------------
OTP3=$(ctl challenge otp --subject printer-7 2>/dev/null || true)
OTP4=$(ctl challenge otp --subject printer-7 2>/dev/null || true)
SECRETS+=("$OTP3" "$OTP4")
check "a challenge bound to printer-7 refuses another CN" \
	enroll -u "$OTP_URL" -c "$OTP3" --cn printer-8 --expect failure --expect-failinfo badRequest
check "... and enrolls printer-7" enroll -u "$OTP_URL" -c "$OTP4" --cn printer-7

# --- the JSON API ------------------------------------------------------------------------
code=$(curl -sS --cacert "$PKI/chain.pem" -o "$D/api.json" -w '%{http_code}' \
	-H "Authorization: Bearer $READ_TOKEN" -d '{"ttl": "10m"}' "$ADMIN_URL/api/v1/profiles/otp/challenges")
check "the reader token may not issue challenges: 403 (got $code)" test "$code" = 403
code=$(curl -sS --cacert "$PKI/chain.pem" -o "$D/api.json" -w '%{http_code}' \
	-d '{"ttl": "10m"}' "$ADMIN_URL/api/v1/profiles/otp/challenges")
check "no credentials: 401 (got $code)" test "$code" = 401
code=$(curl -sS --cacert "$PKI/chain.pem" -o "$D/api.json" -w '%{http_code}' \
	-H "Authorization: Bearer $ADMIN_TOKEN" -d '{}' "$ADMIN_URL/api/v1/profiles/dev/challenges")
check "a profile without an otp challenge: 409 (got $code)" test "$code" = 409

# --- the NDES mscep_admin page ---------------------------------------------------------
code=$(curl -sS --cacert "$PKI/chain.pem" -o "$D/ndes.html" -w '%{http_code}' \
	-u "dev:$ADMIN_TOKEN" "$ADMIN_URL/certsrv/mscep_admin/")
check "GET /certsrv/mscep_admin/ with basic auth: 200 (got $code)" test "$code" = 200
# The way Fleet reads it: UTF-16 with a BOM, then this regular expression.
NDES=$(python3 -c 'import re,sys
page = open(sys.argv[1], "rb").read()
assert page[:2] == b"\xff\xfe", "no UTF-16LE BOM"
m = re.search(r"(?i)The enrollment challenge password is: <B> (?P<password>\S*)", page.decode("utf-16"))
print(m.group("password"))' "$D/ndes.html" || true)
SECRETS+=("$NDES")
check "the page carries a challenge in the NDES shape ('$NDES')" bash -c "[[ '$NDES' =~ ^[0-9A-F]{32}$ ]]"
code=$(curl -sS --cacert "$PKI/chain.pem" -o /dev/null -w '%{http_code}' \
	-u "reader:$READ_TOKEN" "$ADMIN_URL/certsrv/mscep_admin/")
check "the reader may not fetch NDES challenges: 403 (got $code)" test "$code" = 403
code=$(curl -sS --cacert "$PKI/chain.pem" -o /dev/null -w '%{http_code}' "$ADMIN_URL/certsrv/mscep_admin/")
check "no credentials: 401 (got $code)" test "$code" = 401
SC=$T/sc
mkdir -p "$SC"
sc_rc=0
(cd "$SC" && timeout 90 scepclient -server-url "$OTP_URL" -challenge "$NDES" \
	-private-key "$SC/key.pem" -certificate "$SC/cert.pem" -cn otp-scepclient) >"$SC/client.log" 2>&1 || sc_rc=$?
check "micromdm scepclient enrolls with the mscep_admin challenge (exit $sc_rc)" test "$sc_rc" = 0
check "its certificate verifies" openssl verify -CAfile "$PKI/chain.pem" "$SC/cert.pem"
check "the page fetch is audited without the secret" \
	grep -Eq 'audit admin=token:dev action=mscep_admin status=200 profile=otp' "$GW_LOG"

gw_stop
for s in "${SECRETS[@]}"; do
	[ -n "$s" ] || continue
	check "challenge ${s:0:4}... never reaches the log" not grep -qF -- "$s" "$GW_LOG"
done
check "no admin token reached the log" not grep -qF -- "$ADMIN_TOKEN" "$GW_LOG"
finish
