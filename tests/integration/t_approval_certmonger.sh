#!/usr/bin/env bash
# t_approval_certmonger: the certmonger daemon against the `manual` profile.
# The request waits (PENDING: certmonger keeps it in its waiting state), an
# operator approves it with scepgwctl, and certmonger's next poll (forced with
# `getcert resubmit` instead of its slow timer) reaches MONITORING.  A second
# request is rejected with a reason: certmonger ends in CA_REJECTED and the
# reason is logged.  Private D-Bus and state directories, as in t_certmonger.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"
for p in certmonger getcert dbus-run-session setsid; do
	command -v "$p" >/dev/null || { echo "$p not found (apt-get install certmonger dbus)"; exit 1; }
done

gw_config "$CFG"
gw_start
MANUAL=$BASE/scep/manual/pkiclient.exe
CM=$T/cm
# The script certmonger runs: it hands control to this test through files in
# $CM (NAME.waiting when a request sits in the waiting state, NAME.go when the
# operator decided) and records each `getcert list` it saw.
log "running certmonger on a private session bus"
certmonger_start "$CM" "$(
	cat <<EOF
status() { getcert list -s -f "\$1" | sed -n 's/^[[:space:]]*status: //p' | head -n 1; }
# wait_status FILE SECONDS REGEX: until the request's status matches REGEX
wait_status() {
	for ((i = 0; i < \$2 * 5; i++)); do
		status "\$1" | grep -Eq "\$3" && return 0
		sleep 0.2
	done
	return 1
}
one() {
	local name=\$1 final=\$2
	getcert request -s -c scepgw -k "$CM/out/\$name.key" -f "$CM/out/\$name.pem" -g 2048 \\
		-N CN=cm-\$name -L "$CHALLENGE" >\$name.req.out 2>&1
	wait_status "$CM/out/\$name.pem" 60 'CA_WORKING|CA_UNREACHABLE|SUBMITTING' || true
	sleep 2
	getcert list -s -f "$CM/out/\$name.pem" >\$name.list1.out 2>&1
	touch \$name.waiting
	for ((i = 0; i < 600; i++)); do [ -e \$name.go ] && break; sleep 0.1; done
	getcert resubmit -s -f "$CM/out/\$name.pem" >\$name.resubmit.out 2>&1
	wait_status "$CM/out/\$name.pem" 60 "\$final" || true
	getcert list -s -f "$CM/out/\$name.pem" >\$name.list2.out 2>&1
}
getcert add-scep-ca -s -c scepgw -u "$MANUAL" >add.out 2>&1; echo \$? >add.rc
one approve MONITORING
one reject 'CA_REJECTED|CA_UNCONFIGURED'
EOF
)"

status_of() { sed -n 's/^[[:space:]]*status: //p' "$1" 2>/dev/null | head -n 1; }
wait_file() {
	local i
	for ((i = 0; i < ${2:-90} * 10; i++)); do
		[ -e "$1" ] && return 0
		kill -0 "$CM_PG" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
pending_id() {
	ctl pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "CN=" + sys.argv[1] in t["subject"].split(","):
        print(t["id"])' "$1"
}

# --- approval -----------------------------------------------------------------------
check "certmonger's request reached its waiting state" wait_file "$CM/approve.waiting" 90
st=$(status_of "$CM/approve.list1.out")
check "certmonger waits for the CA (status '$st')" bash -c "[[ '$st' =~ ^(CA_WORKING|SUBMITTING)$ ]]"
ID=$(pending_id cm-approve || true)
check "the request is pending at the gateway (id '$ID')" test -n "$ID"
check "nothing was issued yet" test ! -e "$CM/out/approve.pem"
check "scepgwctl approve $ID" ctl approve "$ID"
check "the approved request is issued" wait_log "profile=manual: background submission: ISSUED" 10
touch "$CM/approve.go"

# --- rejection ----------------------------------------------------------------------
check "the second request reached its waiting state" wait_file "$CM/reject.waiting" 120
IDR=$(pending_id cm-reject || true)
check "scepgwctl reject $IDR" ctl reject "$IDR" --reason "cm-reject is not an asset"
touch "$CM/reject.go"

cm_done=0
certmonger_wait 180 && cm_done=1
check "certmonger ran the script and exited" test "$cm_done" = 1
st=$(status_of "$CM/approve.list2.out")
check "after the approval certmonger's next poll reaches MONITORING (got '$st')" test "$st" = MONITORING
check "the certificate verifies against chain.pem" openssl verify -CAfile "$PKI/chain.pem" "$CM/out/approve.pem"
check "one transaction for certmonger's request (its polls made no second one)" \
	test "$(python3 -c 'import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from transactions where subject like ?", ("CN=cm-approve%",)).fetchone()[0])' "$T/scepgw.db")" = 1
matrix_record certmonger CertPoll na "polls by re-sending the PKCSReq"
st=$(status_of "$CM/reject.list2.out")
check "after the rejection certmonger gives up (got '$st')" test "$st" = CA_REJECTED
check "the rejection reason is in the device's answer (logged)" \
	grep -Eq 'txn=.* profile=manual .*outcome=denied .*reason="cm-reject is not an asset"' "$GW_LOG"
check "nothing was issued for the rejected request" test ! -e "$CM/out/reject.pem"

_stop_pgrp "$CM_PG"
check "no certmonger or dbus process survives" test -z "$(certmonger_survivors "$CM")"
if [ "$NFAIL" -gt 0 ]; then
	for f in "$CM"/*.out; do echo "--- $f ---"; cat "$f"; done
	tail -n 20 "$CM/certmonger.log"
fi
gw_stop
no_secret_in_log
finish
