#!/usr/bin/env bash
# pkcs11.sh: enrollments/s with the RA and CA keys on a SoftHSM2 token against
# the same keys' layout in files (issue 21; never a timed test).
#
#   tests/bench/pkcs11.sh           A/B interleaved: files, token, files, token at
#                                   c=16, N enrollments each, and the table
#   tests/bench/pkcs11.sh profile   perf record of the gateway during one token run
#                                   (where the time goes), top symbols and DSOs
#
# The PKI is certs/mkdevpki.sh --pkcs11 (RSA-2048 everywhere): files = the dev
# RA key (sign and decrypt) and issuing CA key; token = the RA sign key, the RA
# encrypt key and the issuing CA key generated on the token.  Three private-key
# operations per enrollment either way.
#
# Environment: SGW_BENCH_BUILD (a release build with scepgw and
# tests/bench/sgwload; /tmp/build-rel), SGW_BENCH_N (2000), SGW_BENCH_C (16),
# SGW_BENCH_OUT (keep JSON and logs there).
# shellcheck shell=bash
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SGW_BENCH_BUILD:-/tmp/build-rel}
N=${SGW_BENCH_N:-2000}
C=${SGW_BENCH_C:-16}
MODE=${1:-bench}
MODULE=/usr/lib/softhsm/libsofthsm2.so
T=$(mktemp -d /tmp/sgwbench-p11.XXXXXX)
chmod 0755 "$T"
RES=${SGW_BENCH_OUT:-$T/results}
mkdir -p "$RES"
_PIDS=()
# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh"
SCEPGW=$BUILD/scepgw
SGWLOAD=$BUILD/tests/bench/sgwload
[ -x "$SCEPGW" ] && [ -x "$SGWLOAD" ] || { echo "pkcs11.sh: no binaries in $BUILD" >&2; exit 2; }

PKI=$T/pki
"$SRC/certs/mkdevpki.sh" --pkcs11 "$PKI" >/dev/null
P11=$PKI/pkcs11
export SOFTHSM2_CONF=$P11/softhsm2.conf
uri() { echo "pkcs11:token=scepgw;object=$1;type=private"; }

# config KIND PORT DB: the bench profile with file or token keys.
config() {
	local kind=$1 port=$2 db=$3 ra ca cacert enc=""
	if [ "$kind" = token ]; then
		ra="cert: \"$P11/ra-sign.pem\", key: \"$(uri ra-sign)\""
		enc="    encrypt: { cert: \"$P11/ra-encrypt.pem\", key: \"$(uri ra-encrypt)\" }"
		ca=$(uri issuing-ca)
		cacert=$P11/issuing-ca.pem
		echo "pkcs11: { module: $MODULE, pin_file: \"$P11/pin\" }"
	else
		ra="cert: \"$PKI/ra.pem\", key: \"$PKI/ra.key\""
		ca=$PKI/issuing-ca.key
		cacert=$PKI/issuing-ca.pem
	fi
	cat <<YAML
log_level: info
default_profile: bench
listen:
  - address: "127.0.0.1:$port"
store: { type: sqlite, path: "$db" }
ra_identities:
  bench:
    sign: { $ra }
$enc
    ca_chain: "$([ "$kind" = token ] && echo "$P11/chain.pem" || echo "$PKI/chain.pem")"
scep_profiles:
  bench:
    ra_identity: bench
    ra_profile: bench
    capabilities: [POSTPKIOperation, SHA-256, AES, SCEPStandard]
    challenge: { type: static, secret_file: "$PKI/challenge" }
ra_profiles:
  bench: { backend: local-ca, template: default, approval: auto }
backends:
  local-ca: { type: local, ca_cert: "$cacert", ca_chain: "$PKI/root-ca.pem", ca_key: "$ca" }
YAML
}

GW_PID=
# run KIND NAME [WRAP...]: a fresh gateway with KIND keys, N enrollments at c=C.
run() {
	local kind=$1 name=$2 port st=$T/$2 a b
	shift 2
	port=$(free_port)
	mkdir -p "$st"
	config "$kind" "$port" "$st/scepgw.db" >"$st/scepgw.yaml"
	"$SCEPGW" -d -c "$st/scepgw.yaml" >"$st/scepgw.log" 2>&1 &
	GW_PID=$!
	_PIDS+=("$GW_PID")
	wait_http "http://127.0.0.1:$port/scep/bench/pkiclient.exe?operation=GetCACaps" "$GW_PID" ||
		{ echo "pkcs11.sh: scepgw did not start" >&2; tail -n 20 "$st/scepgw.log" >&2; exit 2; }
	[ $# -eq 0 ] || "$@" "$GW_PID" &
	a=$(awk '{print $14 + $15}' "/proc/$GW_PID/stat")
	cut -d' ' -f1 /proc/loadavg >"$RES/$name.load"
	timeout 600 "$SGWLOAD" --json -q -u "http://127.0.0.1:$port/scep/bench/pkiclient.exe" \
		--challenge-file "$PKI/challenge" -n "$N" -c "$C" --cn-prefix "$name" >"$RES/$name.json"
	b=$(awk '{print $14 + $15}' "/proc/$GW_PID/stat")
	echo "$(((b - a) * 1000 / $(getconf CLK_TCK)))" >"$RES/$name.cpu"
	_stop "$GW_PID"
	wait 2>/dev/null || true
	cp "$st/scepgw.log" "$RES/$name.log"
}

perf_attach() { perf record -F 999 -g -o "$RES/perf.data" -p "$1" -- sleep 8 >/dev/null 2>&1; }

if [ "$MODE" = profile ]; then
	run token profile perf_attach
	perf report -i "$RES/perf.data" --no-children --sort dso --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 12
	perf report -i "$RES/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 20
	exit 0
fi

openssl speed -seconds 3 rsa2048 2>/dev/null | grep -E '^rsa 2048' >&2 || true
for round in 1 2; do
	run files "files-$round"
	run token "token-$round"
done
echo "| run | ok/s | p50 / p90 / p99 ms | gateway CPU ms/enr | failed | load |"
echo "|---|---|---|---|---|---|"
for name in files-1 token-1 files-2 token-2; do
	python3 - "$RES/$name.json" "$(cat "$RES/$name.cpu")" "$(cat "$RES/$name.load")" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lat = d.get("latency_ms", {})
ok = d.get("ok", 0)
cpu = int(sys.argv[2]) / ok if ok else 0
print(f"| {sys.argv[4]} | {d.get('ok_per_s', d.get('rps', 0)):,.0f} | {lat.get('p50', 0):.1f} / "
      f"{lat.get('p90', 0):.1f} / {lat.get('p99', 0):.1f} | {cpu:.1f} | {d.get('failed', 0)} | {sys.argv[3]} |")
PY
done
