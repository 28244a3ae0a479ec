#!/usr/bin/env bash
# t_scepclient: enrollment with micromdm scepclient (Debian package scep):
# SHA-1 + DES-CBC over POST, encrypted to every certificate of GetCACert.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v scepclient >/dev/null || { echo "scepclient not found (apt-get install scep)"; exit 1; }

# A second profile with single DES refused: scepclient cannot enroll there.
GW_SCEP_PROFILES_EXTRA=$(cat <<EOF
  nodes:
    ra_identity: dev
    ra_profile: dev
    allow_single_des: false
    capabilities: [POSTPKIOperation, SHA-1, SHA-256, AES, SCEPStandard]
    challenge: { type: static, secret_file: "$PKI/challenge" }
EOF
)
gw_config "$CFG"
gw_start "$CFG"

# scepclient_run DIR CN CHALLENGE [URL]: one enrollment in DIR (made empty if new).
scepclient_run() {
	local d=$1 cn=$2 pw=$3 url=${4:-$URL} rc=0
	mkdir -p "$d"
	(cd "$d" && timeout 90 scepclient -server-url "$url" -challenge "$pw" \
		-private-key "$d/key.pem" -certificate "$d/cert.pem" -cn "$cn" -debug) >"$d/client.log" 2>&1 || rc=$?
	tail -n 5 "$d/client.log"
	[ "$rc" -ne 124 ] || echo "scepclient still running after 90 s (PENDING loop?)"
	return "$rc"
}

# log_has_after MARK REGEX...: a log line after MARK matches every REGEX.
log_has_after() {
	local mark=$1 deadline
	shift
	deadline=$((SECONDS + 5))
	while [ "$SECONDS" -le "$deadline" ]; do
		local lines r
		lines=$(gw_log_since "$mark")
		for r in "$@"; do lines=$(grep -E -- "$r" <<<"$lines" || true); done
		[ -z "$lines" ] || { echo "$lines"; return 0; }
		sleep 0.1
	done
	echo "no log line matching: $*"
	return 1
}

subject_has_cn() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | grep -Eq "(^subject=|,)CN=$2(,|$)"; }
same_key() {
	[ "$(openssl x509 -in "$1" -noout -pubkey)" = "$(openssl pkey -in "$2" -pubout)" ]
}
not_ca() { ! openssl x509 -in "$1" -noout -ext basicConstraints 2>/dev/null | grep -q 'CA:TRUE'; }

# --- a good enrollment --------------------------------------------------------
D=$T/dev1
mark=$(gw_log_mark)
check "scepclient enrolls with the development challenge" scepclient_run "$D" dev-scepclient "$CHALLENGE"
check "the certificate verifies against chain.pem (issuing CA + root)" \
	openssl verify -CAfile "$PKI/chain.pem" "$D/cert.pem"
check "the subject has CN=dev-scepclient" subject_has_cn "$D/cert.pem" dev-scepclient
check "the certificate is for the client's key" same_key "$D/cert.pem" "$D/key.pem"
check "the certificate is not a CA" not_ca "$D/cert.pem"
check "the log shows op=PKCSReq outcome=success" log_has_after "$mark" 'op=PKCSReq' 'outcome=success'
matrix_log scepclient GetCACaps yes "$mark" 'op=GetCACaps' 'outcome=success'
matrix_log scepclient GetCACert yes "$mark" 'op=GetCACert' 'outcome=success'
matrix_log scepclient "PKCSReq POST" yes "$mark" 'op=PKCSReq' 'method=POST' 'outcome=success'
matrix_log scepclient DES yes "$mark" 'op=PKCSReq' 'cipher=DES-CBC' 'outcome=success' -- "allow_single_des: true"
matrix_log scepclient SHA-1 yes "$mark" 'op=PKCSReq' 'digest=SHA1 ' 'outcome=success' -- "SHA-1 listed in capabilities, or no SHA-* at all"
matrix_record scepclient "GetNextCACert,CertPoll,GetCert,GetCRL" na "no such operation in scepclient"

# --- a re-sent PKCSReq (same key, same transactionID) gets the same certificate -
resend_same_cert() {
	local s1 s2
	s1=$(openssl x509 -in "$D/cert.pem" -noout -serial)
	mv "$D/cert.pem" "$D/cert-first.pem"
	scepclient_run "$D" dev-scepclient "$CHALLENGE" || return 1
	s2=$(openssl x509 -in "$D/cert.pem" -noout -serial)
	echo "first $s1, again $s2"
	[ "$s1" = "$s2" ]
}
check "a re-sent PKCSReq returns the already issued certificate (design 3)" resend_same_cert

# --- a wrong challenge --------------------------------------------------------
D2=$T/dev2
mark=$(gw_log_mark)
check "scepclient with a wrong challenge fails" not scepclient_run "$D2" dev-scepclient-bad "wrong-$CHALLENGE"
check "scepclient reports a failure, not a timeout" not grep -q 'still running' "$D2/client.log"
check "nothing was issued for the wrong challenge" test ! -e "$D2/cert.pem"
check "scepclient got FAILURE with failInfo badRequest" grep -q 'failInfo: badRequest' "$D2/client.log"
# The gateway's outcome for a wrong challenge is "denied" (failInfo badRequest
# on the wire); a failinfo= field, when the line has one, must say badRequest.
denied_logged() {
	local line
	line=$(log_has_after "$mark" 'op=PKCSReq' 'outcome=(denied|badRequest)( |$)') || { echo "$line"; return 1; }
	echo "$line"
	if grep -Eiq '(^| )failinfo=' <<<"$line"; then grep -Eq '(^| )failinfo=badRequest' <<<"$line"; fi
}
check "the log shows op=PKCSReq outcome=denied (badRequest)" denied_logged

# --- single DES refused by a profile that does not allow it --------------------
D3=$T/dev3
mark=$(gw_log_mark)
check "scepclient (DES-CBC) fails on a profile without allow_single_des" \
	not scepclient_run "$D3" dev-scepclient-des "$CHALLENGE" "$BASE/scep/nodes/pkiclient.exe"
check "nothing was issued on the DES-refusing profile" test ! -e "$D3/cert.pem"
check "scepclient got FAILURE with failInfo badAlg" grep -q 'failInfo: badAlg' "$D3/client.log"
matrix_record scepclient AES,SHA-256 no "always SHA-1 + DES-CBC, whatever the caps offer"
check "the refusal is logged for profile nodes (outcome=badAlg)" \
	log_has_after "$mark" 'profile=nodes' 'op=PKCSReq' 'outcome=badAlg'

gw_stop
no_secret_in_log
finish
