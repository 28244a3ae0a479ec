#!/usr/bin/env bash
# t_supersede: a renewal supersedes the certificate that signed it (issue 17
# item 8).  The store records the successor (certificates.superseded_by,
# migration 6) on every renewing profile; with renewal.revoke_superseded the
# local CA revokes the old certificate with reason superseded once the new
# one is issued, so the CRL at /crl/ lists it; without the switch it does not.
# A renewal that falls back to the challenge supersedes nothing.  The admin
# API's certificates carry superseded_by, and scepgwctl certs says so.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"
profile() { # NAME RENEWAL-MAP [RA-PROFILE]
	printf '  %s:\n    ra_identity: dev\n    ra_profile: %s\n    challenge: { type: static, secret_file: "%s" }\n    renewal: %s\n' \
		"$1" "${3:-dev}" "$PKI/challenge" "$2"
}
GW_SCEP_PROFILES_EXTRA="$(profile revoking '{ enabled: true, revoke_superseded: true }')
$(profile keeping '{ enabled: true }')
$(profile held '{ enabled: true }' manual)"
gw_config "$CFG"
gw_start
D=$T/c
mkdir -p "$D"
P() { echo "$BASE/scep/$1/pkiclient.exe"; }
db() { python3 -c 'import sqlite3,sys
r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2], sys.argv[3:]).fetchone()
print("" if r is None else r[0])' "$T/scepgw.db" "$@"; }
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^\(00\)*//'; }
check "GetCACert through scepreq" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem"
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" "$@"; }
mint() { en -u "$(P "$1")" -c "$CHALLENGE" --cn "sup-$2" --out "$D/$2.pem" --out-key "$D/$2.key"; }
renew() { en -u "$(P "$1")" --cn "sup-$2" --signer-cert "$D/$2.pem" --signer-key "$D/$2.key" \
	--message-type 17 --out "$D/$3.pem" --out-key "$D/$3.key" "${@:4}"; }
crl_text() { curl -sS "$BASE/crl/local-ca.crl" | openssl crl -inform DER -noout -text; }
# on_crl SERIAL: the CRL lists SERIAL (openssl prints it in upper case)
on_crl() { crl_text | grep -qi "Serial Number: $1\$"; }
reason_of() { crl_text | grep -i -A4 "Serial Number: $1\$" | grep -A1 'CRL Reason Code:' | tail -1 | tr -d ' '; }

# --- revoke_superseded: true ---------------------------------------------------------
check "enroll on the revoking profile" mint revoking a
check "renew it (RenewalReq signed by the old certificate)" renew revoking a a2
A=$(serial "$D/a.pem")
A2=$(serial "$D/a2.pem")
check "the store marks the old certificate superseded by the new one" \
	test "$(db 'select superseded_by from certificates where serial = ?' "$A")" = "$A2"
check "the new certificate is not superseded" \
	test "$(db 'select superseded_by from certificates where serial = ?' "$A2")" = ""
check "the store marks the old certificate revoked with reason superseded (4)" \
	test "$(db 'select revoked || ":" || revoke_reason from certificates where serial = ?' "$A")" = "1:4"
check "the CRL lists the old serial" on_crl "$A"
check "... with reason Superseded" test "$(reason_of "$A")" = Superseded
check "the CRL does not list the new serial" not on_crl "$A2"
check "the log says so" grep -q "renewal: certificate $A revoked (superseded by $A2)" "$GW_LOG"
check "the new certificate verifies against the chain and the CRL" \
	bash -c "curl -sS '$BASE/crl/local-ca.crl' | openssl crl -inform DER -out '$D/crl.pem' &&
	cat '$PKI/chain.pem' '$D/crl.pem' >'$D/chain-crl.pem' &&
	openssl verify -crl_check -CAfile '$D/chain-crl.pem' '$D/a2.pem'"
check "the old one does not (revoked)" \
	bash -c "! openssl verify -crl_check -CAfile '$D/chain-crl.pem' '$D/a.pem' 2>&1 | grep -q ': OK'"

# --- revoke_superseded off (the default) ---------------------------------------------
check "enroll on the keeping profile" mint keeping b
check "renew it" renew keeping b b2
B=$(serial "$D/b.pem")
B2=$(serial "$D/b2.pem")
check "the store marks the old certificate superseded" \
	test "$(db 'select superseded_by from certificates where serial = ?' "$B")" = "$B2"
check "but not revoked" test "$(db 'select revoked from certificates where serial = ?' "$B")" = 0
check "the CRL does not list the old serial" not on_crl "$B"

# --- a renewal refused as such and enrolled by the challenge supersedes nothing -----------
check "renew the superseded certificate again, with the challenge: enrolled as a new request" \
	renew keeping b b3 -c "$CHALLENGE"
check "that one superseded nothing: the first successor stays recorded" \
	test "$(db 'select superseded_by from certificates where serial = ?' "$B")" = "$B2"
check "the first renewal's certificate is not superseded by it" \
	test "$(db 'select superseded_by from certificates where serial = ?' "$B2")" = ""
# --- a second renewal signed by a certificate whose renewal is in progress ----------------
# On a profile with manual approval the first renewal waits for the operator: a second one
# signed by the same certificate is refused (it used to wait too, and both were issued).
ctl() { "$SCEPGWCTL" --config "$T/scepgwctl.conf" "$@"; }
pending_id() {
	ctl pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "CN=" + sys.argv[1] in t["subject"]:
        print(t["id"]); break' "$1"
}
issued_held() { test "$(grep -c 'profile=held: background submission: ISSUED' "$GW_LOG")" -ge "$1"; }
approve_and_poll() { # CN REQ KEY OUT N: approve CN's pending request, the Nth issued on held
	local id i
	id=$(pending_id "$1") && [ -n "$id" ] && ctl approve "$id" >/dev/null || return 1
	for ((i = 0; i < 100; i++)); do issued_held "$5" && break; sleep 0.1; done
	en -u "$(P held)" --certpoll --send-request "$2" --key "$3" --cn "$1" --out "$4"
}
check "PKCSReq on the held profile: PENDING" en -u "$(P held)" -c "$CHALLENGE" --cn sup-h \
	--out-key "$D/h.key" --save-request "$D/h.der" --expect pending
check "... approved and fetched" approve_and_poll sup-h "$D/h.der" "$D/h.key" "$D/h.pem" 1
check "a renewal signed by it: PENDING (awaits approval)" \
	en -u "$(P held)" --cn sup-h --signer-cert "$D/h.pem" --signer-key "$D/h.key" \
	--message-type 17 --out-key "$D/h2.key" --save-request "$D/h2.der" --expect pending
check "a second renewal signed by it meanwhile: FAILURE badRequest" \
	en -u "$(P held)" --cn sup-h --signer-cert "$D/h.pem" --signer-key "$D/h.key" \
	--message-type 17 --expect failure --expect-failinfo badRequest
check "... logged: its signer is being renewed" \
	grep -q "reason=\"renewal: signer certificate $(serial "$D/h.pem") is being renewed by another request" "$GW_LOG"
n_pending_h() {
	ctl pending --json | python3 -c 'import json,sys
print(sum("CN=sup-h" in t["subject"] for t in json.load(sys.stdin)["transactions"]))'
}
check "only the first renewal awaits approval" test "$(n_pending_h)" = 1
approve_renewal() {
	local id i
	id=$(pending_id sup-h) && [ -n "$id" ] && ctl approve "$id" >/dev/null || return 1
	for ((i = 0; i < 100; i++)); do issued_held 2 && return 0; sleep 0.1; done
	return 1
}
check "the first renewal, approved, is issued" approve_renewal
check "a third renewal signed by it afterwards: refused as superseded" \
	en -u "$(P held)" --cn sup-h --signer-cert "$D/h.pem" --signer-key "$D/h.key" \
	--message-type 17 --expect failure --expect-failinfo badRequest
check "two certificates for sup-h in all: the first and its one renewal" \
	test "$(db "select count(*) from certificates where subject = 'CN=sup-h'")" = 2

# --- two renewals signed by one certificate at once: only one renews -----------------------
# Each round: a fresh certificate, then 4 RenewalReqs signed by it, sent at once (keys made
# beforehand).  The renewal's claim on its signer is checked in the commit that records it,
# so one is issued and the others are refused (FAILURE badRequest) with a log line.
race_round() { # N
	local i pids=()
	mint keeping "race$1" >/dev/null 2>&1 || return 1
	for i in 1 2 3 4; do
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/race$1-$i.key" 2>/dev/null
	done
	for i in 1 2 3 4; do
		en -u "$(P keeping)" --cn "sup-race$1" --signer-cert "$D/race$1.pem" \
			--signer-key "$D/race$1.key" --message-type 17 --key "$D/race$1-$i.key" \
			--expect success >"$D/race$1-$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	cat "$D/race$1"-[1-4].out | grep -c '^status=SUCCESS' || true
}
wins=()
for round in 1 2 3; do wins+=("$(race_round "$round")"); done
log "renewals issued per round (4 sent at once each): ${wins[*]}"
check "each round: exactly one of the 4 concurrent renewals is issued (got ${wins[*]})" \
	test "${wins[*]}" = "1 1 1"

# --- what an operator sees ---------------------------------------------------------------
check "the admin API shows superseded_by" \
	bash -c "ctl() { '$SCEPGWCTL' --config '$T/scepgwctl.conf' \"\$@\"; }; ctl --json certs --serial '$B' |
	python3 -c 'import json,sys; c = json.load(sys.stdin)[\"certificates\"]; assert c[0][\"superseded_by\"] == \"$B2\", c'"
check "scepgwctl certs says superseded for the replaced certificate" \
	bash -c "'$SCEPGWCTL' --config '$T/scepgwctl.conf' certs --serial '$B' | grep -q '^$B .* superseded '"
check "... revoked for the revoked one, valid for its successor" \
	bash -c "'$SCEPGWCTL' --config '$T/scepgwctl.conf' certs --serial '$A' | grep -q '^$A .* revoked ' &&
	'$SCEPGWCTL' --config '$T/scepgwctl.conf' certs --serial '$B2' | grep -q '^$B2 .* valid '"
check "the schema is at version 6" test "$(db 'select max(version) from schema_version')" -ge 6
no_secret_in_log
finish
