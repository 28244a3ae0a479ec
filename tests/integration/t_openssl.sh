#!/usr/bin/env bash
# t_openssl.sh: enrollment with scepreq, a client built on the OpenSSL API that
# shares no code with the gateway: algorithms (AES-128 + SHA-256, 3DES + SHA-1,
# AES-256 + SHA-512 over GET), refusals with the right failInfo, replay,
# idempotent re-sends, CertPoll, a truncated body, 50 concurrent enrollments
# with distinct serials, and durability across kill -9.
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

# a production-like profile next to the dev one: no single DES, no MD5,
# signingTime checked, DNS SANs restricted
GW_SCEP_PROFILES_EXTRA="  strict:
    ra_identity: dev
    ra_profile: dev
    signing_time_skew: 10m
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
    csr_policy: { san_dns: [\"*.devices.example.com\"], min_rsa_bits: 2048 }"
gw_config "$CFG"
gw_start

STRICT=$BASE/scep/strict/pkiclient.exe
D=$T/c
mkdir -p "$D"

db_count() {
	python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
print(c.execute(sys.argv[2]).fetchone()[0])' "$T/scepgw.db" "$1"
}
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }

check "GetCACert through scepreq (RA mode)" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem"
matrix_record scepreq GetCACert yes

check "AES-128 + SHA-256 (POST) enrolls and the reply mirrors them" \
	enroll -u "$URL" -c "$CHALLENGE" --cn aes128 --cipher aes128 --digest sha256 \
	--out "$D/aes128.pem" --out-key "$D/aes128.key"
matrix_record scepreq "PKCSReq POST,AES,SHA-256" yes
check "the issued certificate verifies against the chain" \
	openssl verify -CAfile "$PKI/chain.pem" "$D/aes128.pem"
check "3DES + SHA-1 (POST) enrolls" \
	enroll -u "$URL" -c "$CHALLENGE" --cn des3 --cipher des3 --digest sha1
matrix_record scepreq 3DES,SHA-1 yes
check "AES-256 + SHA-512 over GET enrolls" \
	enroll -u "$URL" -c "$CHALLENGE" --cn getaes --cipher aes256 --digest sha512 --get
matrix_record scepreq "PKCSReq GET,SHA-512" yes
check "single DES is accepted where the profile allows it (dev)" \
	enroll -u "$URL" -c "$CHALLENGE" --cn des --cipher des --digest sha1
matrix_record scepreq DES yes "allow_single_des: true"
check "SANs within the strict profile's pattern are issued" \
	enroll -u "$STRICT" -c "$CHALLENGE" --cn san-ok --san-dns a.devices.example.com

before=$(db_count 'select count(*) from certificates')
check "single DES on the strict profile: FAILURE badAlg" \
	enroll -u "$STRICT" -c "$CHALLENGE" --cn des-strict --cipher des --digest sha1 \
	--expect failure --expect-failinfo badAlg
check "MD5 on the strict profile: FAILURE badAlg" \
	enroll -u "$STRICT" -c "$CHALLENGE" --cn md5 --digest md5 --no-mirror-check \
	--expect failure --expect-failinfo badAlg
check "a wrong challenge: FAILURE badRequest" \
	enroll -u "$URL" -c wrong-challenge --cn wrong --expect failure --expect-failinfo badRequest
check "no challenge: FAILURE badRequest" \
	enroll -u "$URL" --cn nochallenge --expect failure --expect-failinfo badRequest
check "a SAN outside the profile's pattern: FAILURE badRequest" \
	enroll -u "$STRICT" -c "$CHALLENGE" --cn san-bad --san-dns evil.example.org \
	--expect failure --expect-failinfo badRequest
check "a signingTime two hours off: FAILURE badTime" \
	enroll -u "$STRICT" -c "$CHALLENGE" --cn skew --signing-time-offset 7200 \
	--expect failure --expect-failinfo badTime
check "a corrupted signature: FAILURE badMessageCheck" \
	enroll -u "$URL" -c "$CHALLENGE" --cn corrupt --corrupt-signature \
	--expect failure --expect-failinfo badMessageCheck
check "an unknown messageType: FAILURE badRequest" \
	enroll -u "$URL" -c "$CHALLENGE" --cn type99 --message-type 99 \
	--expect failure --expect-failinfo badRequest
after=$(db_count 'select count(*) from certificates')
check "none of the refused requests issued a certificate ($before -> $after)" \
	test "$before" -eq "$after"

mark=$(gw_log_mark)
check "a truncated body: HTTP 400" \
	enroll -u "$URL" -c "$CHALLENGE" --cn trunc --truncate 200 --expect http-400
check "the truncated body has a log line with the reason" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -E 'op=PKIOperation .*outcome=malformed status=400.*reason=\"not a pkiMessage'"

# replay: the very same bytes again
check "first send of a saved request" \
	enroll -u "$URL" -c "$CHALLENGE" --cn replay --save-request "$D/replay.der" \
	--out-key "$D/replay.key" --out "$D/replay.pem"
n1=$(db_count 'select count(*) from certificates')
check "the same bytes again (replayed senderNonce): FAILURE badRequest" \
	enroll -u "$URL" --send-request "$D/replay.der" --key "$D/replay.key" --cn replay \
	--expect failure --expect-failinfo badRequest
check "the replay is logged as such" grep -q 'reason="replayed senderNonce"' "$GW_LOG"

# a re-sent PKCSReq (same key and transactionID, fresh nonce) gets the same certificate
s1=$(enroll -u "$URL" -c "$CHALLENGE" --cn resend --key "$D/replay.key" --txid resend-1 |
	sed -n 's/^status=SUCCESS serial=\([0-9A-F]*\).*/\1/p')
s2=$(enroll -u "$URL" -c "$CHALLENGE" --cn resend --key "$D/replay.key" --txid resend-1 |
	sed -n 's/^status=SUCCESS serial=\([0-9A-F]*\).*/\1/p')
check "a re-sent PKCSReq returns the same certificate ($s1 = $s2)" \
	test -n "$s1" -a "$s1" = "$s2"
n2=$(db_count 'select count(*) from certificates')
check "and issues only one certificate for it ($n1 -> $n2)" test "$n2" -eq $((n1 + 1))

check "CertPoll for an issued transaction: SUCCESS with the certificate" \
	"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" --certpoll \
	--send-request "$D/replay.der" --key "$D/replay.key" --cn replay
matrix_record scepreq CertPoll yes
enroll -u "$URL" -c wrong --cn unknown-poll --save-request "$D/unknown.der" \
	--out-key "$D/unknown.key" --expect failure >/dev/null 2>&1 || true
check "CertPoll for an unknown transaction: FAILURE badCertId" \
	"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" --certpoll \
	--send-request "$D/unknown.der" --key "$D/unknown.key" --cn unknown-poll \
	--expect failure --expect-failinfo badCertId

# 50 concurrent enrollments, 50 distinct serials
enroll -u "$URL" -c "$CHALLENGE" --cn par --key-bits 2048 --parallel 50 \
	>"$D/par.out" 2>"$D/par.err" || true
check "50 concurrent enrollments all succeed" grep -q '50 of 50 enrollments matched' "$D/par.err"
check "50 concurrent enrollments give 50 distinct serials" \
	test "$(grep -c '^serial=' "$D/par.out")" -eq 50 -a \
	"$(sort -u "$D/par.out" | grep -c '^serial=')" -eq 50
check "every serial is unique in the store" \
	test "$(db_count 'select count(distinct serial) from certificates')" -eq \
	"$(db_count 'select count(*) from certificates')"

check "the request log lines carry txn= profile= peer= op= outcome= ms=" \
	grep -Eq 'txn=[^ ]+ profile=dev peer=127\.0\.0\.1 op=PKCSReq .*outcome=success .*ms=' "$GW_LOG"
no_secret_in_log

# durability: kill -9 right after an issuance, restart, the same request gets the same certificate
s3=$(enroll -u "$URL" -c "$CHALLENGE" --cn durable --key "$D/replay.key" --txid durable-1 |
	sed -n 's/^status=SUCCESS serial=\([0-9A-F]*\).*/\1/p')
kill -9 "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
gw_start
s4=$(enroll -u "$URL" -c "$CHALLENGE" --cn durable --key "$D/replay.key" --txid durable-1 |
	sed -n 's/^status=SUCCESS serial=\([0-9A-F]*\).*/\1/p')
check "after kill -9 and restart the issued certificate is still there ($s3 = $s4)" \
	test -n "$s3" -a "$s3" = "$s4"
gw_stop
finish
