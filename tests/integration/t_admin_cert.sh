#!/usr/bin/env bash
# t_admin_cert: administrators by client certificate, with real TLS client
# certificates (curl --cert).  A certificate is an administrator only through
# an admin.clients entry (SPKI or certificate SHA-256, subject + issuer), never
# by its CN; a CA that a profile issues from or trusts cannot be
# admin.client_ca (`scepgw -n` and the start refuse it, also as a re-issued
# copy with the same key); the old client_cns and an empty list are refused;
# a certificate this gateway revoked gets 403.  The certificates of the
# revocation case are issued through a profile on the admin CA that is then
# retired (the store keeps them).  Also the challenge API's ttl: huge values
# and units that overflow when multiplied get 400, and UBSan stays silent.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

A=$T/adm
mkdir -p "$A" "$T/adm-state"

# --- an administrators' CA of its own, and its certificates ----------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$A/ca.key" -out "$A/ca.pem" -days 30 \
	-subj "/CN=Test Admin CA" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$A/leaf.ext"
leaf() { # leaf NAME SUBJECT: a client certificate of the admin CA
	openssl req -new -newkey rsa:2048 -nodes -keyout "$A/$1.key" -out "$A/$1.csr" \
		-subj "$2" 2>/dev/null
	openssl x509 -req -in "$A/$1.csr" -CA "$A/ca.pem" -CAkey "$A/ca.key" -days 30 \
		-set_serial "0x$(openssl rand -hex 16)" -extfile "$A/leaf.ext" -out "$A/$1.pem" 2>/dev/null
}
leaf alice "/O=Admins/CN=alice"
leaf impostor "/O=Admins/CN=alice" # alice's name, another key
leaf bob "/O=Admins/CN=bob"
leaf bob-other "/O=Other/CN=bob"
spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
fp_colons() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }
fp_hex() { fp_colons "$1" | tr -d ':' | tr 'A-F' 'a-f'; }

# admin_section CLIENT_CA CLIENTS: the admin: block (tokens as lib.sh's, plus
# client certificates when CLIENT_CA is not empty; CLIENTS is YAML at indent 4).
admin_section() {
	cat <<EOF
admin:
  listen: "127.0.0.1:$ADMIN_PORT"
  tls: { cert: "$PKI/tls.pem", key: "$PKI/tls.key" }
  tokens_file: "$T/admin.tokens"
  mscep_profile: otp
EOF
	[ -z "$1" ] || printf '  client_ca: "%s"\n%s\n' "$1" "$2"
}
# config FILE CLIENT_CA CLIENTS: the development config with that admin: block.
config() {
	GW_NO_ADMIN=1 gw_config "$1"
	admin_section "$2" "$3" >>"$1"
}
# refused DESC FILE REGEX: `scepgw -n` fails on FILE and says REGEX.
refused() {
	local out rc=0
	out=$("$SCEPGW" -n -c "$2" 2>&1) || rc=$?
	check "$1: scepgw -n exits 1 (got $rc)" test "$rc" = 1
	check "$1: the message says why" grep -Eq -- "$3" <<<"$out"
}
ALICE="    - { name: alice, spki_sha256: \"$(spki "$A/alice.pem")\" }"

# --- configurations refused ---------------------------------------------------------
config "$T/c1.yaml" "$PKI/chain.pem" "  clients:
$ALICE"
refused "client_ca holding the issuing CA" "$T/c1.yaml" \
	"admin.client_ca: .*chain.pem holds the CA 'CN=[^']*', which scep_profiles.dev issues from or trusts"
config "$T/c2.yaml" "$PKI/root-ca.pem" "  clients:
$ALICE"
refused "client_ca holding the root the profiles trust" "$T/c2.yaml" \
	"holds the CA '[^']*root[^']*', which scep_profiles.dev issues from or trusts"
# the issuing CA's key in another certificate (another serial, self-signed)
openssl req -new -x509 -key "$PKI/issuing-ca.key" -subj "/CN=not the issuing CA by name" \
	-days 2 -out "$A/same-key.pem" 2>/dev/null
config "$T/c3.yaml" "$A/same-key.pem" "  clients:
$ALICE"
refused "client_ca holding a re-issued copy of the issuing CA (same key, other name)" "$T/c3.yaml" \
	"holds the CA 'CN=not the issuing CA by name', which scep_profiles.dev issues from or trusts"
# a ca_chain (and a backend chain) that stop short of the root client_ca holds
config "$T/c9.yaml" "$PKI/root-ca.pem" "  clients:
$ALICE"
sed -i -e "s|ca_chain: \"$PKI/chain.pem\"|ca_chain: \"$PKI/issuing-ca.pem\"|" \
	-e "s|, ca_chain: \"$PKI/root-ca.pem\"||" "$T/c9.yaml"
check "c9 has no certificate of the root besides client_ca" not grep -q 'chain.pem\|ca_chain: "[^"]*root' "$T/c9.yaml"
refused "client_ca holding the root above a ca_chain that stops short of it" "$T/c9.yaml" \
	"admin.client_ca: the CA that scep_profiles.dev issues from \(ra_identities.dev\) verifies against .*root-ca.pem"
config "$T/c4.yaml" "$A/ca.pem" "  client_cns: [alice]"
refused "the old client_cns" "$T/c4.yaml" \
	"admin.client_cns: removed: .*admin.clients with spki_sha256, cert_sha256 or subject \+ issuer"
config "$T/c5.yaml" "$A/ca.pem" ""
refused "client_ca with no clients (nobody could log in)" "$T/c5.yaml" \
	"admin.clients: client_ca is set but no administrator is listed"
config "$T/c6.yaml" "$A/ca.pem" "  clients: []"
refused "client_ca with an empty clients list" "$T/c6.yaml" \
	"admin.clients: client_ca is set but no administrator is listed"
config "$T/c7.yaml" "$A/ca.pem" "  clients:
    - { name: bob, subject: \"CN=bob,O=Admins\" }"
refused "a subject without its issuer" "$T/c7.yaml" "subject and issuer go together"
config "$T/c8.yaml" "$A/ca.pem" "  clients:
    - { name: bob, subject: \"CN=bob+O=Admins\", issuer: \"CN=Test Admin CA\" }"
refused "a subject that is not a distinguished name" "$T/c8.yaml" \
	"admin.clients\[0\].subject: expected a distinguished name"

# --- phase 1: a profile issues from the admin CA (tokens only) ------------------------
GW_RA_IDENTITIES_EXTRA="  adm:
    sign: { cert: \"$PKI/ra.pem\", key: \"$PKI/ra.key\" }
    ca_chain: \"$A/ca.pem\""
GW_SCEP_PROFILES_EXTRA="  admins:
    ra_identity: adm
    ra_profile: admins
    challenge: { type: static, secret_file: \"$PKI/challenge\" }"
GW_RA_PROFILES_EXTRA="  admins: { backend: adm-ca, template: default, approval: auto }"
GW_BACKENDS_EXTRA="  adm-ca: { type: local, ca_cert: \"$A/ca.pem\", ca_key: \"$A/ca.key\", state_dir: \"$T/adm-state\" }"
chmod 0600 "$A/ca.key"
config "$T/p1-cert.yaml" "$A/ca.pem" "  clients:
$ALICE"
refused "client_ca holding the CA another profile (admins) issues from" "$T/p1-cert.yaml" \
	"holds the CA 'CN=Test Admin CA', which scep_profiles.admins issues from or trusts"
config "$CFG" "" ""
gw_start
ADM_URL=$BASE/scep/admins/pkiclient.exe
"$SCEPREQ" getcacert -u "$ADM_URL" -o "$A/adm-ra.pem"
for n in carol dave; do
	check "enroll $n through the admins profile" "$SCEPREQ" enroll -u "$ADM_URL" \
		--ra-chain "$A/adm-ra.pem" -c "$CHALLENGE" --cn "$n" --out "$A/$n.pem" --out-key "$A/$n.key"
done
"$SCEPREQ" getcacert -u "$URL" -o "$A/dev-ra.pem"
check "a device enrolls with CN=alice through the dev profile" "$SCEPREQ" enroll -u "$URL" \
	--ra-chain "$A/dev-ra.pem" -c "$CHALLENGE" --cn alice --out "$A/device.pem" --out-key "$A/device.key"
CAROL_SERIAL=$(openssl x509 -in "$A/carol.pem" -noout -serial | sed 's/^serial=//')
check "scepgwctl revokes carol's certificate" ctl revoke "$CAROL_SERIAL" --reason keyCompromise

# --- the challenge API's ttl (item 17) -----------------------------------------------
# ttl_code JSON-VALUE: the HTTP status of a challenge request with that ttl
ttl_code() {
	curl -sS --max-time 10 --cacert "$PKI/chain.pem" -o "$T/ttl.out" -w '%{http_code}' \
		-H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
		-d "{\"ttl\": $1}" "$ADMIN_URL/api/v1/profiles/otp/challenges" || true
}
for v in '"9223372036854775807"' '"9223372036854775807d"' '"106751991167301d"' \
	'"2562047788015216h"' '"153722867280912931m"' '"99999999999999999999999s"' \
	'9223372036854775807' '"31d"' '"2592001"' '"-5m"' '"0"' '" 5m"' '"5x"' '"5mm"' '"+5m"'; do
	check "ttl $v: 400" test "$(ttl_code "$v")" = 400
done
check "the 400 says what a ttl may be" grep -q '1s..30d' "$T/ttl.out"
check "the refusal is logged with its reason" \
	grep -Eq 'audit admin=token:dev action=challenges.issue status=400 ttl: 1s..30d' "$GW_LOG"
for v in '"30d"' '"720h"' '"2592000"' '"90m"' '3600'; do
	check "ttl $v: 201" test "$(ttl_code "$v")" = 201
done
check "the gateway is still up after the ttl requests" kill -0 "$GW_PID"
gw_stop

# --- phase 2: the admins profile retired; certificates of its CA administer ---------
unset GW_RA_IDENTITIES_EXTRA GW_SCEP_PROFILES_EXTRA GW_RA_PROFILES_EXTRA GW_BACKENDS_EXTRA
config "$CFG" "$A/ca.pem" "  clients:
$ALICE
    - { name: bob, subject: \"cn=Bob, o=admins\", issuer: \"CN=Test Admin CA\", role: read }
    - { name: carol, cert_sha256: \"$(fp_colons "$A/carol.pem")\" }
    - { name: dave, cert_sha256: \"$(fp_hex "$A/dave.pem")\" }"
check "scepgw -n accepts an admin CA of its own" "$SCEPGW" -n -c "$CFG"
gw_start
# as NAME [PATH [curl args]]: the status of GET PATH (/api/v1/transactions)
# with NAME's certificate
as() {
	local n=$1 path=${2:-/api/v1/transactions}
	shift $(($# > 1 ? 2 : 1))
	curl -sS --max-time 10 --cacert "$PKI/chain.pem" --cert "$A/$n.pem" --key "$A/$n.key" \
		-o /dev/null -w '%{http_code}' "$@" "$ADMIN_URL$path" || true
}
check "alice (SPKI pin): 200" test "$(as alice)" = 200
check "the audit line names the configured entry" \
	wait_log 'audit admin=cert:alice action=transactions.list status=200' 5
check "a certificate of the admin CA with alice's name and another key: 401" test "$(as impostor)" = 401
check "its refusal is logged with the reason" \
	wait_log 'client certificate refused: no admin.clients entry matches \(subject=CN=alice,O=Admins issuer=CN=Test Admin CA' 5
check "bob (subject + issuer, compared as names): 200" test "$(as bob)" = 200
check "bob's role is read: approving is 403" \
	test "$(as bob /api/v1/transactions/1/approve -X POST -d '{}')" = 403
check "bob's name under another O: 401" test "$(as bob-other)" = 401
check "the device certificate with CN=alice (issued through the gateway): 401" test "$(as device)" = 401
check "its refusal is logged: it does not verify against admin.client_ca" \
	wait_log 'client certificate refused: it does not verify against admin.client_ca' 5
check "dave (certificate pin, issued through the retired profile): 200" test "$(as dave)" = 200
check "carol, pinned but revoked by this gateway: 403" test "$(as carol)" = 403
check "the revocation refusal is logged with issuer and serial" \
	wait_log "client certificate refused: revoked \(issuer=CN=Test Admin CA serial=$(tr 'A-F' 'a-f' <<<"$CAROL_SERIAL")" 5
check "no certificate and no token: 401" test "$(curl -sS --cacert "$PKI/chain.pem" -o /dev/null \
	-w '%{http_code}' "$ADMIN_URL/api/v1/transactions")" = 401
check "a token still works beside client certificates" test "$(curl -sS --cacert "$PKI/chain.pem" \
	-H "Authorization: Bearer $ADMIN_TOKEN" -o /dev/null -w '%{http_code}' \
	"$ADMIN_URL/api/v1/transactions")" = 200
check "no admin token reached the log" not grep -qF -- "$ADMIN_TOKEN" "$GW_LOG"
finish
