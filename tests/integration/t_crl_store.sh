#!/usr/bin/env bash
# t_crl_store: the local CA's revocations and CRL number live in the store,
# shared by every instance (issue 20): a revocation through the admin API
# (scepgwctl) or `scepgw revoke` is recorded in the store and the CRL served
# at /crl/ lists it with the number + 1; a restart keeps the number; a
# state_dir of an older version (<name>.revoked, <name>.crlnumber) is
# imported once, its number continued, and its files not read again.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"
gw_config "$CFG"
D=$T/c
mkdir -p "$D"
CRL=$BASE/crl/local-ca.crl
DB=$T/scepgw.db

# q SQL: one value from the store
q() { python3 -c 'import sqlite3,sys
r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
print(r[0] if r else "")' "$DB" "$1"; }
# crl_number FILE: the CRL number of a DER CRL, in decimal
crl_number() { printf '%d\n' "0x$(openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2 | sed 's/^0x//')"; }
# lists FILE SERIAL: the CRL lists the serial (hex, any case)
lists() { openssl crl -inform DER -in "$1" -noout -text | grep -qi "Serial Number: $2\$"; }
# fetch_is NAME NUMBER: GET the CRL (into D/NAME.crl): it carries NUMBER
fetch_is() { curl -sSf -o "$D/$1.crl" "$CRL" && [ "$(crl_number "$D/$1.crl")" = "$2" ]; }
hexserial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

# --- an older version's state: its files are imported at the first start ----------
printf '0a1b2c 1 1700000000\n# a comment\n0d0e 4 1700000100\n' >"$T/ca-state/local-ca.revoked"
echo 41 >"$T/ca-state/local-ca.crlnumber"
gw_start
check "the start logs the import" \
	grep -q 'backends.local-ca: imported 2 revocation(s) and CRL number 41 from' "$GW_LOG"
check "the store holds the imported revocations" test "$(q "select count(*) from ca_revoked where ca = 'local-ca'")" = 2
check "the first CRL continues the number: 42" fetch_is imp 42
check "it lists the imported serials" bash -c "$(declare -f lists); lists '$D/imp.crl' 0A1B2C && lists '$D/imp.crl' 0D0E"
check "the store holds CRL number 42" test "$(q "select number from ca_crl where ca = 'local-ca'")" = 42

# --- revoke through the admin API: the store and the CRL --------------------------
check "GetCACert" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem"
for n in a b; do
	check "enroll device-$n" "$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra.pem" -c "$CHALLENGE" \
		--cn "store-$n" --out "$D/$n.pem" --out-key "$D/$n.key"
done
SA=$(hexserial "$D/a.pem")
SB=$(hexserial "$D/b.pem")
check "scepgwctl revokes device-a" ctl revoke "$SA" --reason keyCompromise
check "the store records the CA's revocation" \
	test "$(q "select reason from ca_revoked where ca = 'local-ca' and serial = '$(tr 'A-F' 'a-f' <<<"$SA")'")" = 1
check "the CRL served is number 43" fetch_is a 43
check "it lists device-a" lists "$D/a.crl" "$SA"

# --- revoke with scepgw revoke, another process: the daemon serves its CRL --------
check "scepgw revoke device-b" "$SCEPGW" -c "$CFG" revoke "$SB" --reason superseded
check "the CRL served at once is number 44 (made by the other process)" fetch_is b 44
check "it lists device-b and device-a" bash -c "$(declare -f lists); lists '$D/b.crl' '$SB' && lists '$D/b.crl' '$SA'"
check "revoking device-b again changes nothing" \
	bash -c "'$SCEPGW' -c '$CFG' revoke '$SB' | grep -q 'already revoked'"
check "the number stays 44" test "$(q "select number from ca_crl where ca = 'local-ca'")" = 44

# --- a restart keeps the number; the old files are not read again ------------------
gw_stop
printf 'ffee 1 1700000200\n' >>"$T/ca-state/local-ca.revoked"
echo 7 >"$T/ca-state/local-ca.crlnumber"
MARK=$(gw_log_mark)
gw_start
check "after the restart the CRL is still number 44" fetch_is r 44
check "it lists what the store holds, not the changed file" \
	bash -c "$(declare -f lists); lists '$D/r.crl' '$SB' && ! lists '$D/r.crl' FFEE"
check "no second import" not bash -c "$(declare -f gw_log_since); GW_LOG='$GW_LOG' gw_log_since $MARK | grep -q imported"
check "enroll device-c" "$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra.pem" -c "$CHALLENGE" \
	--cn store-c --out "$D/c.pem" --out-key "$D/c.key"
check "scepgwctl revokes device-c" ctl revoke "$(hexserial "$D/c.pem")"
check "the next CRL is number 45" fetch_is c 45
gw_stop
finish
