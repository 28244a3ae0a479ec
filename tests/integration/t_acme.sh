#!/usr/bin/env bash
# t_acme: the ACME backend against a real pebble (Debian package) on loopback,
# with external account binding.  The test makes pebble's TLS certificates
# and EAB key; the issuing chain is fetched from pebble's management port.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for p in pebble scepclient certmonger getcert dbus-run-session setsid; do
	command -v "$p" >/dev/null || { echo "$p not found (apt-get install pebble scep certmonger dbus)"; exit 1; }
done
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

PB=$T/pebble
mkdir -p "$PB"
EAB_KID=kid-1
EAB_MAC=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W

# --- pebble's TLS material (Debian ships none) and config ----------------------
(
	cd "$PB"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=pebble-test-ca -keyout ca.key -out ca.pem
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
		-keyout key.pem -out tls.csr
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf
	openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext.cnf -out cert.pem
) >/dev/null 2>&1
printf '%s\n' "$EAB_MAC" >"$T/eab.key"
chmod 0600 "$T/eab.key"

PB_PORT=$(free_port)
PB_MGMT=$(free_port)
PB_HTTP=$(free_port)
PB_TLS=$(free_port)
cat >"$PB/config.json" <<EOF
{"pebble":{"listenAddress":"127.0.0.1:$PB_PORT","managementListenAddress":"127.0.0.1:$PB_MGMT",
 "certificate":"$PB/cert.pem","privateKey":"$PB/key.pem","httpPort":$PB_HTTP,"tlsPort":$PB_TLS,
 "ocspResponderURL":"","externalAccountBindingRequired":true,
 "externalAccountMACKeys":{"$EAB_KID":"$EAB_MAC"}}}
EOF
PB_PID=
PB_LOG=

# pebble_start NONCEREJECT: start pebble, wait for /dir, fetch its new chain.
pebble_start() {
	PB_LOG=$PB/pebble-$1.log
	PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=$1 PEBBLE_AUTHZREUSE=0 \
		pebble -config "$PB/config.json" -strict=false >"$PB_LOG" 2>&1 &
	PB_PID=$!
	track_pid "$PB_PID"
	local i
	for ((i = 0; i < 100; i++)); do
		curl -fsS --cacert "$PB/ca.pem" -o /dev/null "https://127.0.0.1:$PB_PORT/dir" 2>/dev/null && break
		sleep 0.1
	done
	curl -fsS --cacert "$PB/ca.pem" -o "$PB/root.pem" "https://127.0.0.1:$PB_MGMT/roots/0"
	curl -fsS --cacert "$PB/ca.pem" -o "$PB/inter.pem" "https://127.0.0.1:$PB_MGMT/intermediates/0"
	# One hierarchy in GetCACert: certmonger takes the first self-signed
	# certificate of a hash-sorted list as "the CA" and verifies CertRep
	# signatures against it, so with the dev PKI's root beside pebble's it
	# would fail half the time.  The RA certificate (the dev RA key) is
	# therefore issued by pebble's root, whose key /root-keys/0 hands out.
	curl -fsS --cacert "$PB/ca.pem" -o "$PB/root.key" "https://127.0.0.1:$PB_MGMT/root-keys/0"
	chmod 600 "$PB/root.key"
	openssl req -new -key "$PKI/ra.key" -subj "/CN=scepgw ACME RA" -out "$PB/ra.csr"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' \
		>"$PB/ra.ext"
	openssl x509 -req -in "$PB/ra.csr" -CA "$PB/root.pem" -CAkey "$PB/root.key" -set_serial \
		"0x$(openssl rand -hex 16)" -days 30 -extfile "$PB/ra.ext" -out "$PB/ra.pem" 2>/dev/null
	cat "$PB/inter.pem" "$PB/root.pem" >"$PB/chain.pem"
	log "pebble (NONCEREJECT=$1) on 127.0.0.1:$PB_PORT, management $PB_MGMT"
}
pebble_stop() { [ -z "$PB_PID" ] || _stop_pid "$PB_PID" 10 || true; PB_PID=; }
pebble_orders() { grep -c 'POST /order-plz' "$PB_LOG" || true; }

# acme_config STAGE: the development config plus three ACME profiles:
#   acme        EAB, cn_rule dns under devices.test, wait 10s
#   acmenoeab   the same CA without EAB: the account is refused
#   acmepend    wait 0s: PENDING as soon as the order waits for anything
acme_config() {
	local st=$T/state-$1 be
	be() { # be NAME STATE_DIR EXTRA
		cat <<EOF
  $1:
    type: acme
    directory: "https://127.0.0.1:$PB_PORT/dir"
    ca_bundle: "$PB/ca.pem"
    state_dir: "$2"
    cn_rule: dns
    cn_domains: [devices.test]
$3
EOF
	}
	GW_RA_IDENTITIES_EXTRA="  acme: { sign: { cert: \"$PB/ra.pem\", key: \"$PKI/ra.key\" }, ca_chain: \"$PB/chain.pem\" }"
	GW_SCEP_PROFILES_EXTRA=""
	GW_RA_PROFILES_EXTRA=""
	for p in acme acmenoeab acmepend; do
		GW_SCEP_PROFILES_EXTRA+="  $p:
    ra_identity: acme
    ra_profile: $p
    allow_single_des: true
    capabilities: [POSTPKIOperation, SHA-1, SHA-256, AES, DES3, SCEPStandard]
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
"
		GW_RA_PROFILES_EXTRA+="  $p: { backend: $p-ca, template: default, approval: auto }
"
	done
	GW_BACKENDS_EXTRA="$(be acme-ca "$st/a" "    eab: { kid: $EAB_KID, mac_key_file: \"$T/eab.key\" }")
$(be acmenoeab-ca "$st/n" "")
$(be acmepend-ca "$st/p" "    eab: { kid: $EAB_KID, mac_key_file: \"$T/eab.key\" }
    wait: 0s")"
	mkdir -p "$st"
	gw_config "$CFG"
}

enroll() { # enroll PROFILE ARGS...: scepreq against an ACME profile
	local prof=$1
	shift
	"$SCEPREQ" enroll -u "$BASE/scep/$prof/pkiclient.exe" -c "$CHALLENGE" "$@"
}
verify_pebble() { openssl verify -CAfile "$PB/root.pem" -untrusted "$PB/inter.pem" "$1"; }
has_san() { openssl x509 -in "$1" -noout -ext subjectAltName | grep -q "DNS:$2"; }

pebble_start 0
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
	test "$(stat -c %a "$T/state-one/a/account.key")" = 600
check "the account URL is kept in the state directory" grep -q "https://127.0.0.1:$PB_PORT/" \
	"$T/state-one/a/account.url"
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
revoked_at_pebble() {
	curl -fsS --cacert "$PB/ca.pem" "https://127.0.0.1:$PB_MGMT/cert-status-by-serial/$SERIAL" |
		tee /dev/stderr | grep -q '"Status": *"Revoked"'
}
check "pebble's management port shows the certificate revoked" revoked_at_pebble

# --- kill -9 during an order, restart, the device's poll gets the certificate ----------
P=$T/p1
mkdir -p "$P"
check "acmepend answers PENDING while the order waits" \
	enroll acmepend --cn pend1 --san-dns pend1.devices.test --out-key "$P/key.pem" \
	--save-request "$P/req.der" --expect pending
check "the pending order's CSR is in the state directory" \
	test -n "$(ls "$T/state-one/p/orders/" 2>/dev/null)"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
log "gateway killed with SIGKILL; restarting"
gw_start "$CFG"
check "after the restart, CertPoll gets the certificate" \
	enroll acmepend --send-request "$P/req.der" --key "$P/key.pem" --certpoll --poll 10 \
	--poll-interval 1 --out "$P/cert.pem"
check "the resumed certificate verifies against pebble's root" verify_pebble "$P/cert.pem"
check "the finished order's CSR is gone from the state directory" \
	test -z "$(ls "$T/state-one/p/orders/" 2>/dev/null)"

gw_stop
pebble_stop

# --- PEBBLE_WFE_NONCEREJECT=50: badNonce retries --------------------------------------
pebble_start 50
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
