# lib_acme.sh: Debian's pebble on loopback for the t_acme* tests, and a
# gateway config with ACME profiles.  Source it after lib.sh:
#
#   . "$(dirname "$0")/lib_acme.sh"
#   pebble_start NAME [VAR=VALUE...]      pebble with these environment variables
#   acme_profiles STATE NAME "EXTRA" ...  write $CFG; then gw_start "$CFG"
#   pebble_stop
#
# Debian ships no TLS material for pebble: the library makes a CA and a
# localhost certificate, and a config that requires external account
# binding (EAB_KID, $T/eab.key).  pebble regenerates its roots at each start:
# pebble_start fetches them (PB/root.pem, PB/inter.pem) and issues the RA
# certificate PB/ra.pem (the dev RA key) from pebble's root.  PB_ARGS: more
# pebble arguments (-dnsserver).  Sets PB_LOG, pebble's log of this start.
# shellcheck shell=bash
for p in pebble curl; do
	command -v "$p" >/dev/null || { echo "$p not found (apt-get install pebble curl)"; exit 1; }
done

PB=$T/pebble
mkdir -p "$PB"
EAB_KID=kid-1
EAB_MAC=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
PB_ARGS=()

(
	cd "$PB" || exit 1
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

# pebble_start NAME [VAR=VALUE...]: start pebble, wait for /dir, fetch its new chain.
pebble_start() {
	PB_LOG=$PB/pebble-$1.log
	shift
	env "$@" pebble -config "$PB/config.json" -strict=false "${PB_ARGS[@]}" >"$PB_LOG" 2>&1 &
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
	log "pebble ($*) on 127.0.0.1:$PB_PORT, management $PB_MGMT"
}
pebble_stop() { [ -z "$PB_PID" ] || _stop_pid "$PB_PID" 10 || true; PB_PID=; }
pebble_orders() { grep -c 'POST /order-plz' "$PB_LOG" || true; }

# acme_profiles STATE NAME EXTRA [NAME EXTRA]...: the development config plus,
# for each NAME, SCEP profile NAME -> RA profile NAME -> backend NAME-ca:
# pebble's directory, cn_rule dns under devices.test, state_dir STATE/NAME,
# and EXTRA (more backend keys, each line indented 4).  Written to $CFG.
acme_profiles() {
	local st=$1 p extra
	shift
	mkdir -p "$st"
	# shellcheck disable=SC2034  # read by gw_config
	GW_RA_IDENTITIES_EXTRA="  acme: { sign: { cert: \"$PB/ra.pem\", key: \"$PKI/ra.key\" }, ca_chain: \"$PB/chain.pem\" }"
	GW_SCEP_PROFILES_EXTRA=""
	GW_RA_PROFILES_EXTRA=""
	GW_BACKENDS_EXTRA=""
	while [ $# -ge 2 ]; do
		p=$1 extra=$2
		shift 2
		GW_SCEP_PROFILES_EXTRA+="  $p:
    ra_identity: acme
    ra_profile: $p
    allow_single_des: true
    capabilities: [POSTPKIOperation, SHA-1, SHA-256, AES, DES3, SCEPStandard]
    challenge: { type: static, secret_file: \"$PKI/challenge\" }
"
		GW_RA_PROFILES_EXTRA+="  $p: { backend: $p-ca, template: default, approval: auto }
"
		GW_BACKENDS_EXTRA+="  $p-ca:
    type: acme
    directory: \"https://127.0.0.1:$PB_PORT/dir\"
    ca_bundle: \"$PB/ca.pem\"
    state_dir: \"$st/$p\"
    cn_rule: dns
    cn_domains: [devices.test]
${extra:+$extra
}"
	done
	gw_config "$CFG"
}

# The EAB lines of a backend (EXTRA of acme_profiles).
# shellcheck disable=SC2034  # for the test scripts
EAB_YAML="    eab: { kid: $EAB_KID, mac_key_file: \"$T/eab.key\" }"

acme_enroll() { # acme_enroll PROFILE ARGS...: scepreq against an ACME profile
	local prof=$1
	shift
	"$SCEPREQ" enroll -u "$BASE/scep/$prof/pkiclient.exe" -c "$CHALLENGE" "$@"
}
pebble_revoked() { # pebble_revoked SERIAL: pebble's management port shows it revoked
	curl -fsS --cacert "$PB/ca.pem" "https://127.0.0.1:$PB_MGMT/cert-status-by-serial/$1" |
		tee /dev/stderr | grep -q '"Status": *"Revoked"'
}
verify_pebble() { openssl verify -CAfile "$PB/root.pem" -untrusted "$PB/inter.pem" "$1"; }
