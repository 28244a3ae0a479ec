#!/usr/bin/env bash
# t_pkcs11: the RA signing key, the RA encryption key and the local CA's key on
# a SoftHSM2 token (generated there, never extractable, by mkdevpki.sh
# --pkcs11), named by pkcs11: URIs.  `scepgw -n` checks the token (wrong PIN,
# missing object, key not matching its certificate, extractable key, each
# naming the key); enrollment (scepreq, micromdm scepclient), renewal,
# GetCACert, GetNextCACert, CertPoll and GetCRL run with every private-key
# operation on the token; the token disappearing gives 503 and a log line, and
# the gateway finds it again when it comes back.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"
MODULE=/usr/lib/softhsm/libsofthsm2.so
for tool in softhsm2-util pkcs11-tool scepclient; do
	command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install softhsm2 opensc scep)"; exit 1; }
done

"$SRC/certs/mkdevpki.sh" --pkcs11 "$PKI" >/dev/null
P11=$PKI/pkcs11
export SOFTHSM2_CONF=$P11/softhsm2.conf
PIN=$(cat "$P11/pin")
uri() { echo "pkcs11:token=scepgw;object=$1;type=private"; }

# --- the token's keys ------------------------------------------------------
objects=$(pkcs11-tool --module "$MODULE" --token-label scepgw --login --pin "$PIN" \
	--list-objects --type privkey 2>/dev/null)
for k in ra-sign ra-encrypt issuing-ca; do
	key_attrs() {
		# the object's block: sensitive and never extractable (CKA_EXTRACTABLE false)
		awk -v k="$1" '/^Private Key Object/ {b=""} {b=b"\n"$0} /label:/ && $2==k {f=1}
			f && /Access:/ {print b; exit}' <<<"$objects" |
			grep -E 'Access:.*sensitive.*never extractable'
	}
	check "$k was generated on the token: sensitive, never extractable" key_attrs "$k"
done

# --- the configuration -----------------------------------------------------
mkdir -p "$T/ca-files"
GW_RA_CERT=$P11/ra-sign.pem GW_RA_KEY=$(uri ra-sign) GW_RA_CHAIN=$P11/chain.pem \
GW_RA_ENCRYPT="    encrypt: { cert: \"$P11/ra-encrypt.pem\", key: \"$(uri ra-encrypt)\" }" \
GW_CA_CERT=$P11/issuing-ca.pem GW_CA_KEY=$(uri issuing-ca) \
GW_TOP_EXTRA="pkcs11: { module: $MODULE, pin_file: \"$P11/pin\" }" \
GW_RA_IDENTITIES_EXTRA="  next:
    sign: { cert: \"$PKI/ra.pem\", key: \"$PKI/ra.key\" }
    ca_chain: \"$PKI/chain.pem\"" \
GW_DEV_EXTRA="    next_ra_identity: next" \
GW_RA_PROFILES_EXTRA="  files: { backend: local-files, template: default, approval: auto }" \
GW_BACKENDS_EXTRA="  local-files: { type: local, ca_cert: \"$PKI/issuing-ca.pem\", ca_chain: \"$PKI/root-ca.pem\", ca_key: \"$PKI/issuing-ca.key\", state_dir: \"$T/ca-files\" }" \
GW_SCEP_PROFILES_EXTRA="  files:
    ra_identity: next
    ra_profile: files
    challenge: { type: static, secret_file: \"$PKI/challenge\" }" \
	gw_config "$CFG"
check "scepgw -n accepts the token-backed configuration" "$SCEPGW" -n -c "$CFG"

# refused CFG KEYPATH REGEX: scepgw -n fails, naming KEYPATH, saying REGEX
refused() {
	local out rc=0
	out=$("$SCEPGW" -n -c "$1" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" -ne 0 ] || { echo "exit status 0"; return 1; }
	grep -F -- "$2" <<<"$out" | grep -Eq -- "$3" || { echo "no line names $2 with /$3/"; return 1; }
}
(umask 077; echo 0000 >"$T/wrong.pin")
sed "s|pin_file: \"$P11/pin\"|pin_file: \"$T/wrong.pin\"|" "$CFG" >"$T/wrongpin.yaml"
check "a wrong PIN fails scepgw -n, naming the key" \
	refused "$T/wrongpin.yaml" ra_identities.dev.sign.key 'refused the PIN'
sed "s|object=ra-encrypt;|object=no-such-key;|" "$CFG" >"$T/missing.yaml"
check "a missing object fails scepgw -n, naming the key" \
	refused "$T/missing.yaml" ra_identities.dev.encrypt.key 'no private key object matches'
sed "s|object=ra-sign;|object=ra-encrypt;|" "$CFG" >"$T/mismatch.yaml"
check "a key that does not match its certificate fails scepgw -n, naming the key" \
	refused "$T/mismatch.yaml" ra_identities.dev.sign.key 'does not match its certificate'
sed "s|object=issuing-ca;|object=ra-sign;|" "$CFG" >"$T/camismatch.yaml"
check "a CA key that does not match ca_cert fails scepgw -n, naming ca_key" \
	refused "$T/camismatch.yaml" ca_key 'does not match'
pkcs11-tool --module "$MODULE" --token-label scepgw --login --pin "$PIN" --keypairgen \
	--key-type rsa:2048 --label leaky --id 09 --extractable >/dev/null 2>&1
sed "s|object=ra-encrypt;|object=leaky;|" "$CFG" >"$T/leaky.yaml"
check "an extractable key is an error of scepgw -n, naming the key" \
	refused "$T/leaky.yaml" ra_identities.dev.encrypt.key 'can leave the token.*CKA_EXTRACTABLE true'
sed "s|module: $MODULE|module: /nonexistent/libpkcs11.so|" "$CFG" >"$T/nomodule.yaml"
check "a module that does not load fails scepgw -n, naming the key" \
	refused "$T/nomodule.yaml" ra_identities.dev.sign.key 'PKCS#11 module /nonexistent/libpkcs11.so cannot be loaded'
sed "/^pkcs11:/d" "$CFG" >"$T/nosection.yaml"
check "a pkcs11: key without the pkcs11 section fails scepgw -n" \
	refused "$T/nosection.yaml" ra_identities.dev.sign.key 'needs pkcs11.module'

# --- the running gateway ---------------------------------------------------
gw_start
D=$T/c
mkdir -p "$D"
check "GetCACert through scepreq" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem"
check "... holds the token's RA certificates and issuing CA" bash -c "
	for f in ra-sign ra-encrypt issuing-ca; do
		grep -qF \"\$(sed -n 2p '$P11/'\$f.pem)\" '$D/ra.pem' || exit 1
	done"
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" "$@"; }
check "PKCSReq (decrypted, issued and signed on the token): SUCCESS" \
	en -u "$URL" -c "$CHALLENGE" --cn p11-one --out "$D/one.pem" --out-key "$D/one.key"
check "the certificate was signed by the token's issuing CA" \
	openssl verify -CAfile "$PKI/root-ca.pem" -untrusted "$P11/issuing-ca.pem" "$D/one.pem"
check "PKCSReq with RSAES-OAEP key transport (decrypted on the token): SUCCESS" \
	en -u "$URL" -c "$CHALLENGE" --cn p11-oaep --oaep --save-request "$D/oaep.der"
check "... the request's KTRI really is id-RSAES-OAEP" bash -c "
	openssl cms -verify -noverify -inform DER -in '$D/oaep.der' -binary -out '$D/oaep.env' &&
	openssl cms -cmsout -print -inform DER -in '$D/oaep.env' | grep -q rsaesOaep"
check "PKCSReq with RSAES-OAEP to an RA with file keys: SUCCESS" \
	"$SCEPREQ" enroll -u "$BASE/scep/files/pkiclient.exe" -c "$CHALLENGE" --cn file-oaep --oaep
check "16 parallel PKCSReqs: SUCCESS (worker threads share the token)" \
	en -u "$URL" -c "$CHALLENGE" --cn p11-par --parallel 16
check "RenewalReq signed by the issued certificate: SUCCESS" \
	en -u "$URL" --cn p11-one --signer-cert "$D/one.pem" --signer-key "$D/one.key" \
	--message-type 17 --out "$D/renewed.pem" --out-key "$D/renewed.key"
check "GetNextCACert: signed by the token's RA key, verified by scepreq" \
	"$SCEPREQ" getnextcacert -u "$URL" -o "$D/next.pem"
check "GetCRL: a CRL signed on the token" \
	"$SCEPREQ" getcrl -u "$URL" --signer-cert "$D/renewed.pem" --signer-key "$D/renewed.key"
check "the CRL (GET /crl/local-ca.crl) verifies with the token's issuing CA" bash -c "
	curl -fsS -o '$D/crl.der' '$BASE/crl/local-ca.crl' &&
	openssl crl -inform DER -in '$D/crl.der' -CAfile '$P11/issuing-ca.pem' -noout"
MANUAL=$BASE/scep/manual/pkiclient.exe
check "PKCSReq to the manual profile: PENDING" \
	en -u "$MANUAL" -c "$CHALLENGE" --cn p11-poll --txid p11-poll-txn \
	--out-key "$D/poll.key" --save-request "$D/poll.der" --expect pending
ID=$(ctl pending --json | python3 -c 'import json,sys
print(next(t["id"] for t in json.load(sys.stdin)["transactions"] if "p11-poll" in t["subject"]))' || true)
check "approve it through the admin API" ctl approve "$ID"
check "the approved request is issued" \
	wait_log "txn=p11-poll-txn profile=manual: background submission: ISSUED serial=" 10
check "CertPoll after the approval: SUCCESS" \
	en -u "$MANUAL" --certpoll --send-request "$D/poll.der" --key "$D/poll.key" --cn p11-poll
scepclient_run() {
	local d=$D/scepclient rc=0
	mkdir -p "$d"
	(cd "$d" && timeout 60 scepclient -server-url "$URL" -challenge "$CHALLENGE" \
		-private-key "$d/key.pem" -certificate "$d/cert.pem" -cn p11-scepclient -debug) \
		>"$d/client.log" 2>&1 || rc=$?
	tail -n 5 "$d/client.log"
	return "$rc"
}
check "micromdm scepclient enrolls (DES, SHA-1) against the token keys" scepclient_run

# --- SIGHUP: the new configuration generation shares the token ---------------
reloaded() {
	local mark n
	mark=$(gw_log_mark)
	kill -HUP "$GW_PID"
	for ((n = 0; n < 100; n++)); do
		gw_log_since "$mark" | grep -Eq 'reload: configuration [0-9]+ in service' && return 0
		sleep 0.1
	done
	gw_log_since "$mark"
	return 1
}
check "SIGHUP reloads the token-backed configuration" reloaded
check "... and PKCSReq succeeds with the reloaded keys" \
	en -u "$URL" -c "$CHALLENGE" --cn p11-reloaded

# --- the token goes away and comes back ------------------------------------
mark=$(gw_log_mark)
mv "$P11/tokens" "$P11/tokens.away"
check "with the token gone, a PKCSReq gets HTTP 503" \
	en -u "$URL" -c "$CHALLENGE" --cn p11-gone --expect http-503 --timeout 20
check "... and a log line names the key and the token error" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -E 'pkcs11: key ra:dev:(sign|encrypt): C_(Sign|Decrypt) failed on token scepgw: CKR_'"
check "the gateway is still running" kill -0 "$GW_PID"
mv "$P11/tokens.away" "$P11/tokens"
back() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		en -u "$URL" -c "$CHALLENGE" --cn "p11-back-$i" --timeout 20 && return 0
		sleep 0.5
	done
	return 1
}
check "when the token is back, PKCSReq succeeds again (sessions re-opened, logged in)" back
check "... after the module was re-initialised" \
	grep -q 'pkcs11: module .* re-initialised to find its token again: CKR_OK' "$GW_LOG"

# --- nothing of the keys in files the gateway wrote ------------------------
check "no PEM private key in the token directory, the CA state or the config dir" \
	bash -c "! grep -rlE -- '-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----' \
		'$P11' '$T/ca-state' '$CFG' '$T/scepgw.db'"
check "the PIN never appears in the gateway log" not grep -qF -- "$PIN" "$GW_LOG"

gw_stop
no_secret_in_log
finish
