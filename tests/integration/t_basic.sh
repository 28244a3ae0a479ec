#!/usr/bin/env bash
# t_basic: configuration checks, key-file checks and the SCEP GET operations
# (GetCACaps, GetCACert) on every route, over HTTP and HTTPS.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CAPS_WANT=(POSTPKIOperation SHA-1 SHA-256 SHA-512 AES DES3 SCEPStandard)

gw_config "$CFG"

# --- configuration ----------------------------------------------------------
check "scepgw -n accepts the development config" "$SCEPGW" -n -c "$CFG"

# An unknown key inside the dev profile: the error names file, line and key path.
BAD=$T/bad.yaml
bad_line=$(($(grep -n '^    ra_profile: dev$' "$CFG" | cut -d: -f1) + 1))
sed "$((bad_line - 1))a\\    frobnicate: true" "$CFG" >"$BAD"
bad_config_refused() {
	local out rc=0
	out=$("$SCEPGW" -n -c "$BAD" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" -ne 0 ] || { echo "exit status 0"; return 1; }
	grep -Eq "bad\.yaml:$bad_line: scep_profiles\.dev\.frobnicate: " <<<"$out" ||
		{ echo "expected 'bad.yaml:$bad_line: scep_profiles.dev.frobnicate: ...'"; return 1; }
}
check "an unknown key is refused as 'file:line: key.path: ...'" bad_config_refused

# A private key readable by others is refused at startup with a clear message.
cp "$PKI/ra.key" "$T/ra-0644.key"
chmod 0644 "$T/ra-0644.key"
GW_RA_KEY=$T/ra-0644.key gw_config "$T/key0644.yaml"
key_mode_refused() {
	local out rc=0
	out=$(timeout 15 "$SCEPGW" -d -c "$T/key0644.yaml" 2>&1) || rc=$?
	printf '%s\n' "$out"
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
		echo "exit status $rc (124: still running after 15 s)"
		return 1
	fi
	grep -q 'ra-0644\.key' <<<"$out" || { echo "the message does not name the key file"; return 1; }
	grep -Eqi 'mode|permission|0644|readable|group|other' <<<"$out" ||
		{ echo "the message does not say what is wrong with the file"; return 1; }
}
check "a key file with mode 0644 is refused at startup" key_mode_refused

# --- the running gateway ----------------------------------------------------
gw_start "$CFG"

# GetCACaps: text/plain, the configured keywords, LF only, no duplicates.
read -r code ctype < <(http_get "$URL?operation=GetCACaps" "$T/caps")
check "GetCACaps answers 200 (got $code)" test "$code" = 200
check "GetCACaps is text/plain (got $ctype)" grep -Eq '^text/plain(;|$)' <<<"$ctype"
for k in "${CAPS_WANT[@]}"; do
	check "GetCACaps lists $k" grep -qx -- "$k" "$T/caps"
done
check "GetCACaps uses LF only (no CR)" not grep -q $'\r' "$T/caps"
check "GetCACaps has no duplicate keyword" test -z "$(grep -v '^$' "$T/caps" | sort | uniq -d)"
check "GetCACaps has no empty line" not grep -qn '^$' "$T/caps"

# The per-request log line.
log_line_ok() {
	wait_log 'op=GetCACaps' 5 || { echo "no log line with op=GetCACaps"; return 1; }
	local f line
	line=$(grep -E 'op=GetCACaps' "$GW_LOG" | head -n 1)
	echo "$line"
	for f in txn= profile=dev peer=127.0.0.1 op=GetCACaps outcome= ms=; do
		grep -qF -- "$f" <<<"$line" || { echo "missing $f"; return 1; }
	done
}
check "one log line per request with txn= profile= peer= op= outcome= ms=" log_line_ok

# GetCACert: RA + issuing CA + root as a degenerate PKCS#7.
read -r code ctype < <(http_get "$URL?operation=GetCACert" "$T/cacert.der")
check "GetCACert answers 200 (got $code)" test "$code" = 200
check "GetCACert is application/x-x509-ca-ra-cert (got $ctype)" \
	test "$ctype" = application/x-x509-ca-ra-cert
cacert_subjects() {
	openssl pkcs7 -inform DER -in "$T/cacert.der" -print_certs -out "$T/cacert.pem" || return 1
	grep '^subject=' "$T/cacert.pem"
	local s
	for s in 'CN = scepgw RA' 'CN = scepgw dev issuing CA' 'CN = scepgw dev root CA'; do
		grep -qx "subject=$s" "$T/cacert.pem" || { echo "missing $s"; return 1; }
	done
}
check "GetCACert holds the RA, the issuing CA and the root" cacert_subjects
matrix_record openssl GetCACert yes
matrix_record openssl GetCACaps na "plain text: curl, no openssl involved"
matrix_record openssl "PKCSReq POST,PKCSReq GET,RenewalReq,CertPoll,GetCert,GetCRL,AES,3DES,DES,SHA-1,SHA-224,SHA-256,SHA-384,SHA-512" na "openssl cms cannot add the SCEP attributes"
ra_is_ours() {
	local want
	want=$(openssl x509 -in "$PKI/ra.pem" -noout -fingerprint -sha256)
	cert_fingerprints "$T/cacert.pem" | grep -qxF "$want"
}
check "GetCACert holds the configured RA certificate" ra_is_ours

# MobileIron sends message=MobileIronSCEP: tolerated.
read -r code _ < <(http_get "$URL?operation=GetCACaps&message=MobileIronSCEP" "$T/caps-mi")
check "GetCACaps&message=MobileIronSCEP answers 200 (got $code)" test "$code" = 200
check "GetCACaps&message=MobileIronSCEP gives the same caps" cmp -s "$T/caps" "$T/caps-mi"
read -r code _ < <(http_get "$URL?operation=GetCACert&message=MobileIronSCEP" "$T/cacert-mi")
check "GetCACert&message=MobileIronSCEP answers 200 (got $code)" test "$code" = 200

# Other routes to the same profile.
read -r code _ < <(http_get "$BASE/cgi-bin/pkiclient.exe?operation=GetCACaps" "$T/caps-cgi")
check "/cgi-bin/pkiclient.exe answers for the default profile (got $code)" test "$code" = 200
check "/cgi-bin/pkiclient.exe gives the dev caps" cmp -s "$T/caps" "$T/caps-cgi"
read -r code _ < <(http_get "$BASE/scep/dev?operation=GetCACaps" "$T/caps-short")
check "/scep/dev (without pkiclient.exe) answers (got $code)" test "$code" = 200
check "/scep/dev gives the dev caps" cmp -s "$T/caps" "$T/caps-short"

# Errors.
read -r code _ < <(http_get "$BASE/scep/no-such-profile/pkiclient.exe?operation=GetCACaps" "$T/nf")
check "an unknown profile answers 404 (got $code)" test "$code" = 404
check "an unknown profile leaves a log line" wait_log 'no-such-profile' 5
read -r code _ < <(http_get "$URL?operation=NoSuchOperation" "$T/badop")
check "an unknown operation answers 400 (got $code)" test "$code" = 400
read -r code _ < <(http_get "$URL" "$T/noop")
check "a request without operation answers 400 (got $code)" test "$code" = 400
read -r code _ < <(http_get "$URL?operation=PKIOperation" "$T/garbage" \
	-H 'Content-Type: application/x-pki-message' --data-binary 'this is not a pkiMessage')
check "a garbage PKIOperation body answers 4xx (got $code)" grep -q '^4' <<<"$code"
check "the gateway still answers after the garbage request" wait_http "$URL?operation=GetCACaps" 5

# HTTPS listener, verified against the development chain.
read -r code _ < <(http_get "$TLS_BASE/scep/dev/pkiclient.exe?operation=GetCACaps" "$T/caps-tls" \
	--cacert "$PKI/chain.pem")
check "the HTTPS listener answers GetCACaps, verified with chain.pem (got $code)" test "$code" = 200
check "HTTPS gives the same caps" cmp -s "$T/caps" "$T/caps-tls"

# One enrollment so that the challenge has crossed the gateway before the log check.
if command -v scepclient >/dev/null; then
	mkdir -p "$T/enroll"
	check "scepclient enrolls (challenge sent through the gateway)" \
		timeout 90 scepclient -server-url "$URL" -challenge "$CHALLENGE" \
		-private-key "$T/enroll/key.pem" -certificate "$T/enroll/cert.pem" -cn dev-basic
fi

gw_stop
no_secret_in_log
finish
