#!/usr/bin/env bash
# t_failinfo: one request per row of the README's "Answers on the wire" table:
# every failInfo (badAlg, badMessageCheck, badRequest, badTime, badCertId) and
# the HTTP-only answers (400, 404, 405, 413), plus the draft-nourse profile
# (GET, DES, MD5, no GetCACaps).  Check names are the table's test names.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

GW_SCEP_PROFILES_EXTRA="  strict:
    ra_identity: dev
    ra_profile: dev
    signing_time_skew: 10m
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
    csr_policy: { san_dns: [\"*.devices.example.com\"] }
  legacy:
    ra_identity: dev
    ra_profile: dev
    allow_single_des: true
    allow_md5: true
    capabilities: [SHA-1]
    challenge: { type: static, secret_file: \"$PKI/challenge\" }"
GW_TOP_EXTRA="limits: { max_body: 16k }"
gw_config "$CFG"
gw_start
P() { echo "$BASE/scep/$1/pkiclient.exe"; }
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem" >/dev/null
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" "$@"; }
fail_as() { en "${@:2}" --expect failure --expect-failinfo "$1"; }

# --- badAlg ---------------------------------------------------------------------
check "badAlg: single DES where the profile does not allow it" \
	fail_as badAlg -u "$(P strict)" -c "$CHALLENGE" --cn fi-des --cipher des --digest sha1
check "badAlg: MD5 where the profile does not allow it" \
	fail_as badAlg -u "$(P strict)" -c "$CHALLENGE" --cn fi-md5 --digest md5 --no-mirror-check

# --- badMessageCheck ------------------------------------------------------------
check "badMessageCheck: a corrupted signature" \
	fail_as badMessageCheck -u "$URL" -c "$CHALLENGE" --cn fi-sig --corrupt-signature
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/other.key" -out "$D/other.pem" -days 2 \
	-subj /CN=not-the-RA 2>/dev/null
check "badMessageCheck: an envelope for another recipient (cannot be decrypted)" \
	fail_as badMessageCheck -u "$URL" -c "$CHALLENGE" --cn fi-env --encrypt-to "$D/other.pem"
en -u "$URL" -c "$CHALLENGE" --cn fi-old --out "$D/old.pem" --out-key "$D/old.key" >/dev/null
python3 - "$D/old.pem" "$D/tampered.pem" <<'PY'
import base64, sys
pem = open(sys.argv[1]).read()
der = bytearray(base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l)))
i = der.find(b"fi-old")
der[i + 5] = ord("x")
b64 = base64.b64encode(bytes(der)).decode()
open(sys.argv[2], "w").write("-----BEGIN CERTIFICATE-----\n" +
    "\n".join(b64[j:j + 64] for j in range(0, len(b64), 64)) + "\n-----END CERTIFICATE-----\n")
PY
check "badMessageCheck: a RenewalReq signer certificate tampered with" \
	fail_as badMessageCheck -u "$URL" --cn fi-olx --message-type 17 \
	--signer-cert "$D/tampered.pem" --signer-key "$D/old.key"

# --- badRequest -----------------------------------------------------------------
check "badRequest: a wrong challenge" fail_as badRequest -u "$URL" -c wrong --cn fi-pw
check "badRequest: no challenge" fail_as badRequest -u "$URL" --cn fi-nopw
check "badRequest: the CSR policy (a SAN outside the pattern)" \
	fail_as badRequest -u "$(P strict)" -c "$CHALLENGE" --cn fi-san --san-dns evil.example.org
en -u "$URL" -c "$CHALLENGE" --cn fi-replay --save-request "$D/replay.der" --out-key "$D/replay.key" >/dev/null
check "badRequest: a replayed senderNonce" \
	fail_as badRequest -u "$URL" --send-request "$D/replay.der" --key "$D/replay.key" --cn fi-replay
check "badRequest: an unknown messageType" \
	fail_as badRequest -u "$URL" -c "$CHALLENGE" --cn fi-type --message-type 99
check "badRequest: RenewalReq where renewal is disabled" \
	fail_as badRequest -u "$(P strict)" --cn fi-old --message-type 17 \
	--signer-cert "$D/old.pem" --signer-key "$D/old.key"
check "badRequest: GetCert where the profile does not offer it" \
	"$SCEPREQ" getcert -u "$(P strict)" --ra-chain "$D/ra.pem" --signer-cert "$D/old.pem" \
	--signer-key "$D/old.key" --expect failure --expect-failinfo badRequest

# --- badTime --------------------------------------------------------------------
check "badTime: signingTime two hours off" \
	fail_as badTime -u "$(P strict)" -c "$CHALLENGE" --cn fi-time --signing-time-offset 7200

# --- badCertId ------------------------------------------------------------------
en -u "$URL" -c wrong --cn fi-unknown --save-request "$D/unknown.der" --out-key "$D/unknown.key" \
	--expect failure >/dev/null 2>&1 || true
check "badCertId: CertPoll for an unknown transaction" \
	fail_as badCertId -u "$URL" --certpoll --send-request "$D/unknown.der" --key "$D/unknown.key" --cn x
en -u "$URL" -c "$CHALLENGE" --cn fi-poll --save-request "$D/poll.der" --out-key "$D/poll.key" >/dev/null
check "CertPoll with the transaction's subject: SUCCESS (IssuerAndSubject checked)" \
	en -u "$URL" --certpoll --send-request "$D/poll.der" --key "$D/poll.key" --cn fi-poll
check "badCertId: CertPoll whose IssuerAndSubject names another subject" \
	fail_as badCertId -u "$URL" --certpoll --send-request "$D/poll.der" --key "$D/poll.key" \
	--cn fi-poll --poll-subject someone-else
check "badCertId: GetCert of an unknown serial" \
	"$SCEPREQ" getcert -u "$URL" --ra-chain "$D/ra.pem" --signer-cert "$D/old.pem" \
	--signer-key "$D/old.key" --serial 0BADC0DE --expect failure --expect-failinfo badCertId

# --- draft-nourse: no GetCACaps, GET, DES + MD5 where allowed ---------------------
mark=$(gw_log_mark)
check "draft-nourse: GET + DES + MD5 enrolls where allow_md5 (no GetCACaps call)" \
	en -u "$(P legacy)" -c "$CHALLENGE" --cn fi-legacy --get --cipher des --digest md5
check "... and the CertRep mirrors MD5 (log: method=GET digest=MD5 cipher=DES-CBC)" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -q 'op=PKCSReq method=GET digest=MD5 cipher=DES-CBC outcome=success'"
check "no GetCACaps was asked for that enrollment" \
	bash -c "! tail -n +$((mark + 1)) '$GW_LOG' | grep -q 'op=GetCACaps'"
curl -s "$(P legacy)?operation=GetCACaps" >"$D/legacy-caps"
check "the legacy profile's caps are LF-only (no CR)" not grep -q $'\r' "$D/legacy-caps"
check "the legacy profile's caps have no duplicate and list only SHA-1" \
	test "$(cat "$D/legacy-caps")" = SHA-1

# --- HTTP-only answers ------------------------------------------------------------
read -r code _ < <(http_get "$URL?operation=PKIOperation" "$D/garbage" --data-binary 'not a pkiMessage')
check "HTTP 400: a body that is not a pkiMessage (got $code)" test "$code" = 400
read -r code _ < <(http_get "$URL?operation=PKIOperation&message=%25%25%25" "$D/b64")
check "HTTP 400: GET PKIOperation with a message that is not base64 (got $code)" test "$code" = 400
read -r code _ < <(http_get "$URL?operation=Frobnicate" "$D/op")
check "HTTP 400: an unknown operation (got $code)" test "$code" = 400
read -r code _ < <(http_get "$BASE/scep/nope/pkiclient.exe?operation=GetCACaps" "$D/nf")
check "HTTP 404: an unknown profile (got $code)" test "$code" = 404
read -r code _ < <(http_get "$URL?operation=GetCACaps" "$D/m" --data-binary x)
check "HTTP 405: POST for GetCACaps (got $code)" test "$code" = 405
head -c 20000 /dev/urandom >"$D/big"
read -r code _ < <(http_get "$URL?operation=PKIOperation" "$D/big.out" --data-binary "@$D/big")
check "HTTP 413: a body over limits.max_body (got $code)" test "$code" = 413
check "the gateway still answers after the refusals" wait_http "$URL?operation=GetCACaps" 5
check "message= is tolerated on GetCACaps and GetCACert (Windows, MobileIron)" bash -c "
	test \"\$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=GetCACaps&message=default')\" = 200 &&
	test \"\$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=GetCACert&message=MobileIronSCEP')\" = 200"

gw_stop
no_secret_in_log
finish
