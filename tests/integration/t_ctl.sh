#!/usr/bin/env bash
# t_ctl: scepgwctl as an operator meets it (issue 17 item 10): --help exits 0
# on stdout, --version; where its settings come from is said, and with none
# given and none found it refuses and says how to give them; `token new`
# prints a token once and the tokens_file line that admits it (with its role),
# which the real daemon then accepts; `profiles` lists what the gateway
# serves (GET /api/v1/profiles, read role); `approve` says "approved".
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"
D=$T/c
mkdir -p "$D"
# bare ARGS...: scepgwctl with no settings from the environment
bare() { env -u SCEPGWCTL_CONFIG -u SCEPGWCTL_TOKEN "$SCEPGWCTL" "$@"; }
# run_to NAME CMD...: stdout to D/NAME.out, stderr to D/NAME.err, prints the exit status
run_to() { local n=$1 rc=0; shift; "$@" >"$D/$n.out" 2>"$D/$n.err" || rc=$?; echo "$rc"; }

# --- help and version ------------------------------------------------------------
check "--help exits 0" test "$(run_to help bare --help)" = 0
check "--help prints the usage on stdout" grep -q '^usage: scepgwctl' "$D/help.out"
check "--help names token new and profiles" bash -c "grep -q 'token new NAME' '$D/help.out' && grep -q '^  profiles' '$D/help.out'"
check "pending --help exits 0 too" test "$(run_to help2 bare pending --help)" = 0
check "--version exits 0" test "$(run_to version bare --version)" = 0
check "--version prints scepgwctl and the version" grep -Eqx 'scepgwctl [0-9]+\.[0-9]+\.[0-9]+' "$D/version.out"
check "no command: usage on stderr, exit 2" test "$(run_to none bare)" = 2
check "an unknown option: exit 2" test "$(run_to badopt bare --frobnicate pending)" = 2

# --- where the settings come from ------------------------------------------------------
if [ ! -e /etc/scepgw/scepgwctl.conf ]; then
	check "no settings given and none found: refused, exit 2" test "$(run_to noconf bare pending)" = 2
	check "... saying how to give them" \
		bash -c "grep -q 'no settings: give --config FILE' '$D/noconf.err' && grep -q '/etc/scepgw/scepgwctl.conf does not exist' '$D/noconf.err'"
else
	log "/etc/scepgw/scepgwctl.conf exists here: the no-settings refusal is not tested"
fi
check "a missing --config file: exit 1, named" \
	bash -c "[ \"\$(bash -c '\"$SCEPGWCTL\" --config $D/nope.conf pending' 2>'$D/nope.err'; echo \$?)\" = 1 ] && grep -q '$D/nope.conf' '$D/nope.err'"
printf 'token_file = %s\n' "$T/admin.token" >"$D/nourl.conf"
check "a config without url: exit 2, the file named" \
	bash -c "[ \"\$(SCEPGWCTL_CONFIG='$D/nourl.conf' '$SCEPGWCTL' pending 2>'$D/nourl.err'; echo \$?)\" = 2 ] && grep -q '$D/nourl.conf: no url' '$D/nourl.err'"

# --- token new ------------------------------------------------------------------------------
check "token new ops --role read exits 0" test "$(run_to tok bare token new ops --role read)" = 0
OPS_TOKEN=$(sed -n 1p "$D/tok.out")
OPS_LINE=$(sed -n 2p "$D/tok.out")
check "the token is 48 hex digits" bash -c "[[ '$OPS_TOKEN' =~ ^[0-9a-f]{48}\$ ]]"
check "the second line is name:sha256(token):role" \
	test "$OPS_LINE" = "ops:$(printf %s "$OPS_TOKEN" | sha256sum | cut -d' ' -f1):read"
check "two lines on stdout, nothing else" test "$(wc -l <"$D/tok.out")" = 2
check "stderr says where each line goes" grep -q 'tokens_file' "$D/tok.err"
check "token new admin2 (admin: no role written)" test "$(run_to tok2 bare token new admin2)" = 0
check "... its line is name:sha256" \
	grep -Eqx 'admin2:[0-9a-f]{64}' <(sed -n 2p "$D/tok2.out")
check "two tokens differ" test "$(sed -n 1p "$D/tok2.out")" != "$OPS_TOKEN"
check "token new with a bad name: exit 2" test "$(run_to tokbad bare token new 'a:b')" = 2
check "token new with an unknown role: exit 2, the roles listed" \
	bash -c "[ \"\$('$SCEPGWCTL' token new x --role root 2>'$D/role.err' >/dev/null; echo \$?)\" = 2 ] && grep -q 'admin, read or challenge' '$D/role.err'"
check "token new without a name: exit 2" test "$(run_to tokmiss bare token new)" = 2
# the gateway admits the new token with its role
printf '%s\n' "$OPS_LINE" >>"$T/admin.tokens"

gw_config "$CFG"
gw_start
wait_http "$ADMIN_URL/healthz" 10 || true
opsctl() { SCEPGWCTL_TOKEN=$OPS_TOKEN ctl "$@"; }
check "the new read token lists pending requests" opsctl pending
check "the new read token may not approve (403)" \
	bash -c "SCEPGWCTL_TOKEN=$OPS_TOKEN '$SCEPGWCTL' --config '$T/scepgwctl.conf' approve 1 2>&1 | grep -q 'HTTP 403'"

# --- where the settings came from is said ------------------------------------------------
check "settings from \$SCEPGWCTL_CONFIG are named on stderr" \
	bash -c "SCEPGWCTL_CONFIG='$T/scepgwctl.conf' '$SCEPGWCTL' pending 2>&1 >/dev/null | grep -q 'settings from $T/scepgwctl.conf (\$SCEPGWCTL_CONFIG)'"
check "settings named with --config are not repeated" \
	bash -c "[ -z \"\$('$SCEPGWCTL' --config '$T/scepgwctl.conf' pending 2>&1 >/dev/null)\" ]"

# --- profiles ------------------------------------------------------------------------------
check "scepgwctl profiles exits 0" test "$(run_to prof ctl profiles)" = 0
check "it lists dev, manual and otp" \
	bash -c "grep -q '^dev .*static .*local-ca .*auto .*yes .*/scep/dev/pkiclient.exe' '$D/prof.out' &&
	grep -q '^manual .*static .*local-ca .*manual' '$D/prof.out' && grep -q '^otp .*otp ' '$D/prof.out'"
check "profiles --json: three profiles with their backend" \
	bash -c "ctl() { '$SCEPGWCTL' --config '$T/scepgwctl.conf' \"\$@\"; }; ctl --json profiles | python3 -c '
import json,sys
p = {x[\"name\"]: x for x in json.load(sys.stdin)[\"profiles\"]}
assert sorted(p) == [\"dev\", \"manual\", \"otp\"], p
assert p[\"dev\"][\"backend\"] == \"local-ca\" and p[\"dev\"][\"renewal\"] is True and p[\"dev\"][\"getcrl\"] is True
assert p[\"otp\"][\"challenge\"] == \"otp\" and p[\"manual\"][\"approval\"] == \"manual\"'"
check "the read token may list profiles" bash -c "SCEPGWCTL_TOKEN=$OPS_TOKEN '$SCEPGWCTL' --config '$T/scepgwctl.conf' profiles | grep -q '^dev '"
check "no secret in the profile list" not grep -qF -- "$CHALLENGE" "$D/prof.out"
code=$(curl -sS --cacert "$PKI/chain.pem" -o /dev/null -w '%{http_code}' "$ADMIN_URL/api/v1/profiles")
check "GET /api/v1/profiles without credentials: 401 (got $code)" test "$code" = 401

# --- approve says approved ------------------------------------------------------------------
check "GetCACert through scepreq" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem"
check "a request on the manual profile is pending" \
	"$SCEPREQ" enroll --ra-chain "$D/ra.pem" -u "$BASE/scep/manual/pkiclient.exe" -c "$CHALLENGE" \
	--cn ctl-approve --key-bits 2048 --out-key "$D/a.key" --expect pending
ID=$(ctl --json pending | python3 -c 'import json,sys
print(next(t["id"] for t in json.load(sys.stdin)["transactions"] if "CN=ctl-approve" in t["subject"]))' || true)
check "it is listed (id '$ID')" test -n "$ID"
check "scepgwctl approve exits 0" test "$(run_to appr ctl approve "$ID")" = 0
check "scepgwctl approve says approved $ID" grep -Eq "^approved $ID \\(" "$D/appr.out"
no_secret_in_log
finish
