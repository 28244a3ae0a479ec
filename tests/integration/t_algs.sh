#!/usr/bin/env bash
# t_algs: the algorithms a client chooses from GetCACaps.  SHA-224 and SHA-384
# besides SHA-1/256/512: announced by default, accepted where the profile
# announces them (the CertRep mirrors the digest), badAlg where it announces
# other digests only.  EC clients: an EC signer gets its reply by ECDH key
# agreement (kari); an EC CSR key signed for by a separate RSA certificate gets
# it by key transport to that RSA certificate (ktri), which PKCS#7-era clients
# can read.  And what scepclient and certmonger pick when the caps offer
# neither POST nor AES (the compatibility matrix of docs/clients.md).
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

GW_SCEP_PROFILES_EXTRA="  defaults:
    ra_identity: dev
    ra_profile: dev
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
  legacy:
    ra_identity: dev
    ra_profile: dev
    allow_single_des: true
    capabilities: [SHA-1, SHA-512, DES3]
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
  legacy256:
    ra_identity: dev
    ra_profile: dev
    capabilities: [SHA-256, DES3]
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
  only256:
    ra_identity: dev
    ra_profile: dev
    capabilities: [POSTPKIOperation, SHA-256, AES, SCEPStandard]
    challenge: { type: static, secret_file: \"$PKI/challenge\" }"
gw_config "$CFG"
gw_start
P() { echo "$BASE/scep/$1/pkiclient.exe"; }
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem" >/dev/null
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" "$@"; }

# --- digests ----------------------------------------------------------------------
check "scepreq getcaps reads the profile's GetCACaps" \
	bash -c "'$SCEPREQ' getcaps -u '$(P defaults)' >'$D/caps' && grep -qx SCEPStandard '$D/caps'"
matrix_record scepreq GetCACaps yes
for k in SHA-1 SHA-224 SHA-256 SHA-384 SHA-512; do
	check "a profile without a capabilities list announces $k" grep -qx -- "$k" "$D/caps"
done
for md in sha224 sha384; do
	check "$md where the profile announces it: SUCCESS, the CertRep mirrors it" \
		bash -c "'$SCEPREQ' enroll --ra-chain '$D/ra.pem' -u '$(P defaults)' -c '$CHALLENGE' \
			--cn dig-$md --digest $md --cipher aes256 >'$D/$md.out' 2>&1 &&
			grep -qi 'reply cipher=.* digest=$md ' '$D/$md.out'"
	matrix_record scepreq "${md/sha/SHA-}" yes
	check "$md where the profile announces SHA-256 only: FAILURE badAlg" \
		en -u "$(P only256)" -c "$CHALLENGE" --cn dig-$md-no --digest $md \
		--expect failure --expect-failinfo badAlg
done
check "the refusal is logged with the digest" wait_log 'reason="digest SHA384 not allowed"' 5
check "SHA-1 where the profile announces SHA-256 only: FAILURE badAlg" \
	en -u "$(P only256)" -c "$CHALLENGE" --cn dig-sha1-no --digest sha1 \
	--expect failure --expect-failinfo badAlg
check "SHA-256 there: SUCCESS" en -u "$(P only256)" -c "$CHALLENGE" --cn dig-256 --digest sha256

# --- EC keys ----------------------------------------------------------------------
# (--no-mirror-check: scepreq reads the reply's cipher through the PKCS#7 API,
# which cannot parse a kari RecipientInfo, the very limit of PKCS#7-era clients)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/ec.key" 2>/dev/null
check "an EC key signing for itself: SUCCESS, the reply by key agreement (kari)" \
	bash -c "'$SCEPREQ' enroll --ra-chain '$D/ra.pem' -u '$URL' -c '$CHALLENGE' --cn ec-self \
		--key '$D/ec.key' --no-mirror-check >'$D/ec-self.out' 2>&1 &&
		grep -q 'recipient=kari' '$D/ec-self.out'"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/signer.key" -out "$D/signer.pem" \
	-days 2 -subj /CN=ec-rsa 2>/dev/null
check "an EC CSR key with a separate RSA signer: SUCCESS, the reply to the RSA key (ktri)" \
	bash -c "'$SCEPREQ' enroll --ra-chain '$D/ra.pem' -u '$URL' -c '$CHALLENGE' --cn ec-rsa \
		--key '$D/ec.key' --signer-cert '$D/signer.pem' --signer-key '$D/signer.key' \
		--out '$D/ec-rsa.pem' >'$D/ec-rsa.out' 2>&1 && grep -q 'recipient=ktri' '$D/ec-rsa.out'"
ec_cert() { openssl x509 -in "$1" -noout -text | grep -q 'id-ecPublicKey'; }
check "... and the certificate carries the EC key of the CSR" ec_cert "$D/ec-rsa.pem"
# --- real clients where the caps offer no POST, no AES: 3DES and SHA-512 -----------
LEGACY=$(P legacy)
S=$T/sc
mkdir -p "$S"
mark=$(gw_log_mark)
check "scepclient enrolls on a profile announcing SHA-1, SHA-512, DES3 (no POST)" \
	bash -c "cd '$S' && timeout 90 scepclient -server-url '$LEGACY' -challenge '$CHALLENGE' \
		-private-key '$S/key.pem' -certificate '$S/cert.pem' -cn sc-legacy >'$S/log' 2>&1"
matrix_log scepclient "PKCSReq GET" yes "$mark" 'profile=legacy' 'op=PKCSReq' 'method=GET' 'outcome=success'
matrix_log scepclient 3DES,SHA-512 no "$mark" 'profile=legacy' 'op=PKCSReq' 'digest=SHA1 ' 'cipher=DES-CBC' \
	-- "always SHA-1 + DES-CBC, whatever the caps offer"

CM=$T/cm
mark=$(gw_log_mark)
certmonger_run "$CM" "getcert add-scep-ca -s -c legacy -u '$LEGACY' >add.out 2>&1
getcert add-scep-ca -s -c legacy256 -u '$(P legacy256)' >add2.out 2>&1
getcert request -s -c legacy -k '$CM/key.pem' -f '$CM/cert.pem' -g 2048 -N CN=cm-legacy \
	-L '$CHALLENGE' -w --wait-timeout 30 >req.out 2>&1; echo \$? >req.rc
getcert request -s -c legacy256 -k '$CM/key2.pem' -f '$CM/cert2.pem' -g 2048 -N CN=cm-legacy256 \
	-L '$CHALLENGE' -w --wait-timeout 30 >req2.out 2>&1; echo \$? >req2.rc" || true
matrix_log certmonger SHA-1,SHA-512 no "$mark" 'profile=legacy ' 'op=PKCSReq' 'digest=SHA256 ' 'outcome=badAlg' \
	-- "always SHA-256: needs SHA-256 in capabilities"
check "certmonger enrolls where SHA-256 and DES3 are announced" test "$(cat "$CM/req2.rc" 2>/dev/null)" = 0
matrix_log certmonger 3DES yes "$mark" 'profile=legacy256' 'op=PKCSReq' 'cipher=DES-EDE3-CBC' 'outcome=success'
_stop_pgrp "$CM_PG"
check "no certmonger or dbus process survives" test -z "$(certmonger_survivors "$CM")"
no_secret_in_log
finish
