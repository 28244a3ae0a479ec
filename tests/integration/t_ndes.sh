#!/usr/bin/env bash
# t_ndes: migrating from Microsoft NDES without re-pushing device profiles.
# With `ndes_profile: dev` the NDES device URL /certsrv/mscep/mscep.dll (with
# or without /pkiclient.exe, in any case, as IIS answers it) is the dev
# profile: micromdm scepclient enrolls there; without the key that URL is 404.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v scepclient >/dev/null || { echo "scepclient not found (apt-get install scep)"; exit 1; }

NDES=$BASE/certsrv/mscep/mscep.dll
code_of() { curl -s -o /dev/null -w '%{http_code}' "$1"; }

gw_config "$CFG"
check "ndes_profile naming no profile is a config error" \
	bash -c "printf 'ndes_profile: nosuch\n' >>'$CFG'; ! '$SCEPGW' -n -c '$CFG'"
gw_config "$CFG"
gw_start "$CFG"
check "without ndes_profile the NDES URL is 404 (got $(code_of "$NDES?operation=GetCACaps"))" \
	test "$(code_of "$NDES?operation=GetCACaps")" = 404
gw_stop

GW_TOP_EXTRA="ndes_profile: dev"
gw_config "$CFG"
gw_start "$CFG"
for u in "$NDES" "$NDES/pkiclient.exe" "$BASE/CertSrv/mscep/mscep.dll/pkiclient.exe"; do
	check "GetCACaps at ${u#"$BASE"}" bash -c "curl -fsS '$u?operation=GetCACaps' | grep -qx POSTPKIOperation"
done
D=$T/sc
mkdir -p "$D"
sc_ndes() {
	(cd "$D" && timeout 60 scepclient -server-url "$NDES" -challenge "$CHALLENGE" \
		-private-key "$D/key.pem" -certificate "$D/cert.pem" -cn ndes-device -debug) >"$D/client.log" 2>&1 ||
		{ tail -n 5 "$D/client.log"; return 1; }
}
check "scepclient enrolls at the NDES device URL" sc_ndes
check "the certificate verifies against the chain" openssl verify -CAfile "$PKI/chain.pem" "$D/cert.pem"
check "the gateway logged it on the dev profile" grep -q 'profile=dev .*op=PKCSReq.*outcome=success' "$GW_LOG"
no_secret_in_log
finish
