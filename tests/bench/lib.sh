# lib.sh: shell helpers shared by the benchmark scripts (run.sh, scale.sh).
# Source it after setting T (a fresh directory, removed at exit) and
# _PIDS=() (processes stopped at exit); SRC is the source tree.
# shellcheck shell=bash

log() { printf '# %s\n' "$*" >&2; }

_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

_cleanup() {
	local st=$? p
	trap - EXIT INT TERM
	for p in "${_PIDS[@]}"; do _stop "$p"; done
	rm -rf "$T"
	exit "$st"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bench_build TARGET...: unless SGW_BENCH_NO_BUILD=1, set up $BUILD as a
# release build of $SRC when it is missing and bring TARGETs up to date.
bench_build() {
	[ "${SGW_BENCH_NO_BUILD:-0}" != 1 ] || return 0
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$SRC" --buildtype=release >"$T/setup.log" 2>&1 ||
			{ cat "$T/setup.log" >&2; exit 2; }
	fi
	ninja -C "$BUILD" "$@" >"$T/build.log" 2>&1 || { tail -n 40 "$T/build.log" >&2; exit 2; }
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL PID: poll every 20 ms until URL answers 200 (at most 60 s), or
# PID is gone.
wait_http() {
	local url=$1 pid=$2 i
	for ((i = 0; i < 3000; i++)); do
		curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# mkpki DIR BITS: root CA, issuing CA and RA certificate with BITS-bit RSA keys
# (the extension sections of certs/openssl.cnf, as mkdevpki.sh makes them).
mkpki() {
	local d=$1 bits=$2 cnf=$SRC/certs/openssl.cnf n
	mkdir -p "$d"
	chmod 0700 "$d"
	for n in root-ca issuing-ca ra; do
		openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" \
			-out "$d/$n.key" 2>/dev/null
		chmod 0600 "$d/$n.key"
	done
	openssl req -new -x509 -config "$cnf" -key "$d/root-ca.key" -subj "/CN=bench root CA $bits" \
		-set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -extensions v3_root \
		-out "$d/root-ca.pem"
	openssl req -new -config "$cnf" -key "$d/issuing-ca.key" -subj "/CN=bench issuing CA $bits" |
		openssl x509 -req -CA "$d/root-ca.pem" -CAkey "$d/root-ca.key" -days 730 -sha256 \
			-set_serial "0x$(openssl rand -hex 16)" -extfile "$cnf" -extensions v3_issuing \
			-out "$d/issuing-ca.pem" 2>/dev/null
	openssl req -new -config "$cnf" -key "$d/ra.key" -subj "/CN=bench RA $bits" |
		openssl x509 -req -CA "$d/issuing-ca.pem" -CAkey "$d/issuing-ca.key" -days 730 \
			-sha256 -set_serial "0x$(openssl rand -hex 16)" -extfile "$cnf" \
			-extensions v3_ra -out "$d/ra.pem" 2>/dev/null
	cat "$d/issuing-ca.pem" "$d/root-ca.pem" >"$d/chain.pem"
	openssl rand -hex 12 | tr -d '\n' >"$d/challenge"
	chmod 0600 "$d/challenge"
	openssl verify -CAfile "$d/root-ca.pem" -untrusted "$d/issuing-ca.pem" "$d/ra.pem" \
		>/dev/null
}

# gw_yaml PKI PORT DB LOG_LEVEL [EXTRA]: on stdout, a gateway configuration
# with one SCEP profile "bench" on 127.0.0.1:PORT, its store in DB, the local
# CA of PKI (mkpki) and a static challenge; EXTRA (YAML) is appended.
# SGW_BENCH_STORE: more keys of the store mapping (", offload: true").
gw_yaml() {
	local pki=$1 port=$2 db=$3 level=$4 extra=${5:-}
	cat <<EOF
log_level: $level
default_profile: bench
listen:
  - address: "127.0.0.1:$port"
store: { type: sqlite, path: "$db"${SGW_BENCH_STORE:-} }
ra_identities:
  bench:
    sign: { cert: "$pki/ra.pem", key: "$pki/ra.key" }
    ca_chain: "$pki/chain.pem"
scep_profiles:
  bench:
    ra_identity: bench
    ra_profile: bench
    capabilities: [POSTPKIOperation, SHA-1, SHA-256, SHA-512, AES, DES3, SCEPStandard]
    challenge: { type: static, secret_file: "$pki/challenge" }
ra_profiles:
  bench: { backend: local-ca, template: default, approval: auto }
backends:
  local-ca: { type: local, ca_cert: "$pki/issuing-ca.pem", ca_chain: "$pki/root-ca.pem", ca_key: "$pki/issuing-ca.key" }
$extra
EOF
}
