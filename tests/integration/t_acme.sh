#!/usr/bin/env bash
# t_acme: the ACME backend against a real pebble (Debian package) on loopback,
# with external account binding (lib_acme.sh starts pebble), validation delay on.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for p in scepclient certmonger getcert dbus-run-session setsid; do
	command -v "$p" >/dev/null || { echo "$p not found (apt-get install scep certmonger dbus)"; exit 1; }
done
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
# shellcheck source=lib_acme.sh
. "$(dirname "$0")/lib_acme.sh"

# pebble_nr NONCEREJECT: validation takes up to 1 s (as a real CA takes
# seconds; PEBBLE_VA_NOSLEEP would hide order-flow bugs).
pebble_nr() {
	pebble_start "nr$1" PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_SLEEPTIME=1 \
		PEBBLE_WFE_NONCEREJECT="$1" PEBBLE_AUTHZREUSE=0
}

# acme_config STAGE: the development config plus three ACME profiles:
#   acme        EAB, cn_rule dns under devices.test, wait 10s
#   acmenoeab   the same CA without EAB: the account is refused
#   acmepend    wait 0s: PENDING as soon as the order waits for anything
acme_config() {
	acme_profiles "$T/state-$1" acme "$EAB_YAML" acmenoeab "" acmepend "$EAB_YAML
    wait: 0s"
}

enroll() { acme_enroll "$@"; }
has_san() { openssl x509 -in "$1" -noout -ext subjectAltName | grep -q "DNS:$2"; }

pebble_nr 0
acme_config one
gw_start "$CFG"

# --- scepreq with a DNS SAN -----------------------------------------------------
D=$T/d1
mkdir -p "$D"
check "scepreq enrolls through the ACME profile (DNS SAN dev1.devices.test)" \
	enroll acme --cn dev1 --san-dns dev1.devices.test --out "$D/cert.pem" --out-key "$D/key.pem"
check "the certificate verifies against pebble's root (from /roots/0)" verify_pebble "$D/cert.pem"
check "the certificate carries DNS:dev1.devices.test" has_san "$D/cert.pem" dev1.devices.test
check "the account key was made with mode 0600" \
	test "$(stat -c %a "$T/state-one/acme/account.key")" = 600
check "the account URL is kept in the state directory" grep -q "https://127.0.0.1:$PB_PORT/" \
	"$T/state-one/acme/account.url"
check "the EAB MAC key never reaches the log" not grep -qF "$EAB_MAC" "$GW_LOG"

# --- certmonger with a DNS SAN ---------------------------------------------------
CM=$T/cm
certmonger_run "$CM" "getcert add-scep-ca -s -c acme -u '$BASE/scep/acme/pkiclient.exe' >add.out 2>&1
getcert request -s -c acme -k '$CM/out/key.pem' -f '$CM/out/cert.pem' -g 2048 \\
	-N CN=cm1.devices.test -D cm1.devices.test -L '$CHALLENGE' -w --wait-timeout 90 >req.out 2>&1
getcert list -s -f '$CM/out/cert.pem' >list.out 2>&1 || true" || true
cm_status() { sed -n 's/^[[:space:]]*status: //p' "$CM/list.out" | head -n 1; }
check "certmonger enrolls through the ACME profile (status $(cm_status))" \
	test "$(cm_status)" = MONITORING
check "certmonger's certificate verifies against pebble's root" verify_pebble "$CM/out/cert.pem"

# --- scepclient: CN only (it cannot send SANs) ------------------------------------
# The rule maps CN=sc1.devices.test to a DNS identifier, and the order is made;
# pebble (like Boulder) issues only for CSR SANs and refuses a CN-only CSR at
# finalize.  The device gets FAILURE with pebble's detail.
S=$T/sc1
mkdir -p "$S"
mark=$(gw_log_mark)
(cd "$S" && timeout 90 scepclient -server-url "$BASE/scep/acme/pkiclient.exe" -challenge "$CHALLENGE" \
	-private-key "$S/key.pem" -certificate "$S/cert.pem" -cn sc1.devices.test -debug) >"$S/client.log" 2>&1 || true
check "scepclient's CN sc1.devices.test was mapped and ordered" \
	grep -q 'order .* for sc1.devices.test' <(gw_log_since "$mark")
check "scepclient gets FAILURE (pebble refuses CN-only CSRs) with pebble's reason in the log" \
	grep -q 'different number of DNSnames identifiers' <(gw_log_since "$mark")
check "scepclient got failInfo badRequest" grep -q 'failInfo: badRequest' "$S/client.log"

# --- a CSR the rule cannot map: refused before pebble sees anything ----------------
before=$(pebble_orders)
mark=$(gw_log_mark)
check "CN outside devices.test, no SAN: FAILURE badRequest" \
	enroll acme --cn printer42.example.com --expect failure --expect-failinfo badRequest
check "the reason names the rule" grep -q 'not under a domain this profile maps' <(gw_log_since "$mark")
check "no order reached pebble for it ($before before, $(pebble_orders) after)" \
	test "$(pebble_orders)" = "$before"

# --- without EAB the account is refused ---------------------------------------------
mark=$(gw_log_mark)
check "without EAB: FAILURE badRequest" \
	enroll acmenoeab --cn x --san-dns noeab.devices.test --expect failure --expect-failinfo badRequest
check "the reason is pebble's externalAccountRequired" \
	grep -q 'externalAccountRequired' <(gw_log_since "$mark")

# --- revoke through `scepgw revoke` ----------------------------------------------------
SERIAL=$(openssl x509 -in "$D/cert.pem" -noout -serial 2>/dev/null | cut -d= -f2 | tr 'A-F' 'a-f' || true)
check "scepgw revoke $SERIAL succeeds" "$SCEPGW" -c "$CFG" revoke "$SERIAL" --reason keyCompromise
check "pebble's management port shows the certificate revoked" pebble_revoked "$SERIAL"

# --- kill -9 during an order, restart, the device's poll gets the certificate ----------
P=$T/p1
mkdir -p "$P"
check "acmepend answers PENDING while the order waits" \
	enroll acmepend --cn pend1 --san-dns pend1.devices.test --out-key "$P/key.pem" \
	--save-request "$P/req.der" --expect pending
check "no CSR is kept in the state directory (the poll takes the store's)" \
	test ! -e "$T/state-one/acmepend/orders"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
log "gateway killed with SIGKILL; restarting"
gw_start "$CFG"
check "after the restart, CertPoll gets the certificate" \
	enroll acmepend --send-request "$P/req.der" --key "$P/key.pem" --certpoll --poll 10 \
	--poll-interval 1 --out "$P/cert.pem"
check "the resumed certificate verifies against pebble's root" verify_pebble "$P/cert.pem"

gw_stop
pebble_stop

# --- PEBBLE_WFE_NONCEREJECT=50: badNonce retries --------------------------------------
pebble_nr 50
acme_config two
GW_LOG=$T/scepgw-two.log
gw_start "$CFG"
D2=$T/d2
mkdir -p "$D2"
nonce_ok() {
	local i
	for i in 1 2 3; do
		enroll acme --cn "n$i" --san-dns "n$i.devices.test" --out "$D2/cert$i.pem" || return 1
		verify_pebble "$D2/cert$i.pem" || return 1
	done
}
check "three enrollments succeed while pebble rejects half the nonces" nonce_ok
check "badNonce retries happened" grep -q 'badNonce' "$GW_LOG"
gw_stop
pebble_stop
no_secret_in_log
finish
