#!/usr/bin/env bash
# t_certmonger: enrollment with the certmonger daemon (SHA-256 + AES-256-CBC,
# PKIOperation over GET) on a private D-Bus session with private state
# directories, so the system's certmonger (if any) is never touched.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for p in certmonger getcert dbus-run-session setsid; do
	command -v "$p" >/dev/null || { echo "$p not found (apt-get install certmonger dbus)"; exit 1; }
done

gw_config "$CFG"
gw_start "$CFG"

CM=$T/cm
# certmonger clears the environment of the command it runs: the script holds
# literal paths.  Each step's output and exit status go to files in $CM.
log "running certmonger on a private session bus"
mark=$(gw_log_mark)
certmonger_start "$CM" "$(
	cat <<EOF
getcert add-scep-ca -s -c scepgw -u "$URL" >add.out 2>&1; echo \$? >add.rc
getcert list-cas -s -c scepgw >cas.out 2>&1 || true
getcert request -s -c scepgw -k "$CM/out/key.pem" -f "$CM/out/cert.pem" -g 2048 \\
	-N CN=dev-certmonger -L "$CHALLENGE" -w --wait-timeout 60 >req1.out 2>&1; echo \$? >req1.rc
getcert list -s -f "$CM/out/cert.pem" >list1.out 2>&1 || true
cp "$CM/out/cert.pem" "$CM/out/cert-1.pem" 2>/dev/null || true
getcert resubmit -s -f "$CM/out/cert.pem" -w --wait-timeout 60 >resub.out 2>&1; echo \$? >resub.rc
getcert list -s -f "$CM/out/cert.pem" >list3.out 2>&1 || true
getcert request -s -c scepgw -k "$CM/out/bad-key.pem" -f "$CM/out/bad-cert.pem" -g 2048 \\
	-N CN=dev-certmonger-bad -L "wrong-$CHALLENGE" -w --wait-timeout 60 >req2.out 2>&1; echo \$? >req2.rc
getcert list -s -f "$CM/out/bad-cert.pem" >list2.out 2>&1 || true
EOF
)"

# certmonger exits when run.sh is done; two requests of at most 60 s each.
cm_done=0
certmonger_wait 180 && cm_done=1
check "certmonger ran the script and exited within 180 s" test "$cm_done" = 1
check "dbus-run-session/certmonger exited 0 (got $CM_RC)" test "$CM_RC" = 0

status_of() { sed -n 's/^[[:space:]]*status: //p' "$1" | head -n 1; }
rc_of() { cat "$1" 2>/dev/null || echo missing; }
# step_ok NAME: the script step NAME exited 0 (else show its output).
step_ok() { [ "$(rc_of "$CM/$1.rc")" = 0 ] || { cat "$CM/$1.out"; return 1; }; }
# status_is WANT LISTFILE: getcert list shows status WANT.
status_is() { [ "$(status_of "$2")" = "$1" ] || { cat "$2"; return 1; }; }
subject_has_cn() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | grep -Eq "(^subject=|,)CN=$2(,|$)"; }

# --- a good enrollment --------------------------------------------------------
check "getcert add-scep-ca succeeded" step_ok add
check "getcert request -w succeeded (exit $(rc_of "$CM/req1.rc"))" step_ok req1
check "the request reached MONITORING (got $(status_of "$CM/list1.out"))" status_is MONITORING "$CM/list1.out"
check "the certificate verifies against chain.pem" openssl verify -CAfile "$PKI/chain.pem" "$CM/out/cert.pem"
check "the subject has CN=dev-certmonger" subject_has_cn "$CM/out/cert.pem" dev-certmonger

# The request came as GET with AES-256: the log line has op=PKCSReq and
# outcome=success; method/cipher are checked when the log line carries them.
pkcsreq_logged() {
	local lines line
	lines=$(gw_log_since "$mark" | grep -E 'op=PKCSReq' || true)
	line=$(grep -E 'outcome=success' <<<"$lines" | head -n 1)
	[ -n "$line" ] || { echo "no op=PKCSReq outcome=success line"; echo "$lines"; return 1; }
	echo "$line"
	if grep -Eq '(^| )method=' <<<"$line"; then
		grep -Eq '(^| )method=GET( |$)' <<<"$line" || { echo "method is not GET"; return 1; }
	fi
	if grep -Eiq '(^| )(cipher|enc|encryption|alg)=' <<<"$line"; then
		grep -Eiq '(^| )(cipher|enc|encryption|alg)=[^ ]*aes[-_]?256' <<<"$line" ||
			{ echo "the cipher field is not AES-256"; return 1; }
	fi
}
check "the log shows certmonger's PKCSReq (op=PKCSReq outcome=success, GET, AES-256)" pkcsreq_logged
matrix_record certmonger "PKCSReq GET,AES" yes
matrix_log certmonger GetCACaps yes "$mark" 'op=GetCACaps' 'outcome=success'
matrix_log certmonger GetCACert yes "$mark" 'op=GetCACert' 'outcome=success'
matrix_log certmonger SHA-256 yes "$mark" 'op=PKCSReq' 'digest=SHA256 ' 'outcome=success'
matrix_record certmonger "PKCSReq POST" na "PKIOperation always by GET"

# --- renewal: getcert resubmit (certmonger signs with the old certificate) ----
check "getcert resubmit -w succeeded (exit $(rc_of "$CM/resub.rc"))" step_ok resub
check "the resubmitted request is MONITORING again (got $(status_of "$CM/list3.out"))" \
	status_is MONITORING "$CM/list3.out"
check "resubmit brought a new certificate" \
	test "$(openssl x509 -in "$CM/out/cert.pem" -noout -serial)" != \
	"$(openssl x509 -in "$CM/out/cert-1.pem" -noout -serial 2>/dev/null)"
check "the new certificate verifies and keeps CN=dev-certmonger" \
	bash -c "openssl verify -CAfile '$PKI/chain.pem' '$CM/out/cert.pem' && \
	openssl x509 -in '$CM/out/cert.pem' -noout -subject | grep -q dev-certmonger"
renewal_logged() {
	gw_log_since "$mark" | grep -E 'op=(RenewalReq|PKCSReq) .*outcome=success' | sed -n 2p | grep .
}
check "the gateway logged the renewal request (op=RenewalReq or PKCSReq, success)" renewal_logged
matrix_record certmonger RenewalReq na "renews with a new PKCSReq (getcert resubmit)"

# --- a wrong challenge --------------------------------------------------------
check "a wrong challenge ends in CA_REJECTED (got $(status_of "$CM/list2.out"))" \
	status_is CA_REJECTED "$CM/list2.out"
check "nothing was issued for the wrong challenge" test ! -e "$CM/out/bad-cert.pem"

# --- no process of this test survives -------------------------------------------
_stop_pgrp "$CM_PG"
check "no certmonger or dbus process survives" test -z "$(certmonger_survivors "$CM")"

if [ "$NFAIL" -gt 0 ]; then
	echo "--- certmonger output ---"
	grep -v 'Wrote to' "$CM/certmonger.log" | tail -n 30 || true
	for f in add.out cas.out req1.out list1.out resub.out list3.out req2.out list2.out; do
		if [ -s "$CM/$f" ]; then echo "--- $f ---"; cat "$CM/$f"; fi
	done
fi

gw_stop
no_secret_in_log
finish
