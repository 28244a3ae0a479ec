#!/usr/bin/env bash
# t_metrics.sh: the admin /metrics page has what pages people (issue 17 item 5):
# every issuance counted (5 enrollments -> issued 5; it used to be counted only
# for background submissions after an approval), backend health (up, last
# success), the notAfter of every RA and CA certificate (matching the files),
# the CRL's nextUpdate once one was served, build info, start time, reloads;
# the configured `instance:` (issue 20) as the last label of every sample, at
# the end of every log line and on every transaction row written.
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

GW_TOP_EXTRA="instance: gw-metrics.1"
gw_config "$CFG"
gw_start
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
metrics() {
	curl -sS --max-time 10 --cacert "$PKI/chain.pem" -H "Authorization: Bearer $READ_TOKEN" \
		"$ADMIN_URL/metrics"
}
# metric NAME{LABELS}: its value, or nothing (LABELS without the instance label)
metric() { metrics | sed -E 's/,scepgw_instance="[^"]*"\}/}/; s/\{scepgw_instance="[^"]*"\}//' | awk -v k="$1 " 'index($0, k) == 1 { print $NF }'; }
not_after() { date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }

for i in 1 2 3 4 5; do
	check "enrollment $i" "$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" \
		-c "$CHALLENGE" --cn "metrics-$i"
done
check "5 enrollments: scepgw_backend_results_total issued is 5 (got '$(metric 'scepgw_backend_results_total{backend="local-ca",status="issued"}')')" \
	test "$(metric 'scepgw_backend_results_total{backend="local-ca",status="issued"}')" = 5
check "the backend latency histogram counted 5" \
	test "$(metric 'scepgw_backend_duration_seconds_count{backend="local-ca"}')" = 5
check "the backend is up" test "$(metric 'scepgw_backend_up{backend="local-ca"}')" = 1
LS=$(metric 'scepgw_backend_last_success_seconds{backend="local-ca"}')
check "its last success is recent ($LS)" test "$(( $(date +%s) - ${LS:-0} ))" -lt 120

RA_NA=$(not_after "$PKI/ra.pem")
check "the RA certificate's notAfter gauge matches ra.pem ($RA_NA)" \
	test "$(metric 'scepgw_certificate_not_after_seconds{kind="ra_sign",name="dev",subject="/CN=scepgw RA"}')" = "$RA_NA"
ISS_NA=$(not_after "$PKI/issuing-ca.pem")
check "the issuing CA's notAfter gauge matches issuing-ca.pem ($ISS_NA)" \
	bash -c "curl -sS --cacert '$PKI/chain.pem' -H 'Authorization: Bearer $READ_TOKEN' '$ADMIN_URL/metrics' |
		grep -E '^scepgw_certificate_not_after_seconds\{kind=\"backend_ca\",name=\"local-ca\",subject=\"/CN=scepgw dev issuing CA\"(,scepgw_instance=\"[^\"]*\")?\} $ISS_NA\$'"

check "no CRL nextUpdate before a CRL was served" \
	bash -c "! curl -sS --cacert '$PKI/chain.pem' -H 'Authorization: Bearer $READ_TOKEN' '$ADMIN_URL/metrics' | grep -q '^scepgw_crl_next_update_seconds'"
check "the CRL is served" curl -fsS -o "$D/ca.crl" "$BASE/crl/local-ca.crl"
CRL_NU=$(date -d "$(openssl crl -inform der -in "$D/ca.crl" -noout -nextupdate | cut -d= -f2)" +%s)
check "the CRL nextUpdate gauge matches the CRL ($CRL_NU)" \
	test "$(metric 'scepgw_crl_next_update_seconds{backend="local-ca"}')" = "$CRL_NU"

VER=$("$SCEPGW" -V | awk '{print $2}')
check "build info names the version ($VER)" test "$(metric "scepgw_build_info{version=\"$VER\"}")" = 1
ST=$(metric scepgw_start_time_seconds)
check "the start time is recent ($ST)" test "$(( $(date +%s) - ${ST:-0} ))" -lt 300

check "every sample carries the label scepgw_instance=\"gw-metrics.1\", last" bash -c "
	curl -sS --cacert '$PKI/chain.pem' -H 'Authorization: Bearer $READ_TOKEN' '$ADMIN_URL/metrics' >'$D/m.txt'
	[ \"\$(grep -vc '^#' '$D/m.txt')\" -gt 20 ] &&
	! grep -v '^#' '$D/m.txt' | grep -vE '[{,]scepgw_instance=\"gw-metrics\.1\"\} [^ ]+\$'"
check "every log line ends with instance=gw-metrics.1" \
	bash -c "[ \"\$(wc -l <'$GW_LOG')\" -gt 5 ] && ! grep -v ' instance=gw-metrics\.1\$' '$GW_LOG'"
check "every transaction row names the instance that wrote it" test "$(python3 -c 'import sqlite3,sys
print(",".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("select distinct instance from transactions")))' "$T/scepgw.db")" = gw-metrics.1
kill -HUP "$GW_PID"
check "a reload is counted" wait_log 'reload: configuration 1 in service' 10
check "scepgw_config_reloads_total ok is 1" \
	test "$(metric 'scepgw_config_reloads_total{result="ok"}')" = 1
check "after the reload the counters go on: a 6th enrollment makes issued 6" \
	"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" -c "$CHALLENGE" --cn metrics-6
check "... issued is 6" \
	test "$(metric 'scepgw_backend_results_total{backend="local-ca",status="issued"}')" = 6
finish
