# lib.sh: helpers for the integration tests.  Source it from a t_*.sh script:
#
#   . "$(dirname "$0")/lib.sh"
#   gw_config "$CFG"; gw_start "$CFG"
#   check "description" command args...
#   finish
#
# Environment (set by tests/integration/meson.build): SCEPGW (the daemon),
# SCEPREQ (the test client), SGW_SOURCE_ROOT, SGW_BUILD_ROOT.  SGW_KEEP_TMP=1
# keeps the temporary directory for a post-mortem.
#
# Everything a test starts is recorded and stopped by PID (or by the process
# group the test created with setsid) in the EXIT trap.
# shellcheck shell=bash
set -euo pipefail

TEST_NAME=$(basename "$0" .sh)
SRC=${SGW_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
: "${SCEPGW:?SCEPGW must name the scepgw binary}"
SCEPREQ=${SCEPREQ:-}

# A fresh directory reachable by every user (0755), for the test's files.
T=$(mktemp -d "/tmp/scepgw-$TEST_NAME.XXXXXX")
chmod 0755 "$T"
PKI=$T/pki                  # the development PKI (mkdevpki.sh makes it 0700)
CFG=$T/scepgw.yaml          # the default config file of the test
GW_LOG=$T/scepgw.log        # the gateway's stderr
GW_PID=
NPASS=0
NFAIL=0
FAILED=()
_PIDS=()                    # processes to stop at exit
_PGIDS=()                   # process groups to stop at exit

log() { printf '# %s\n' "$*"; }

# _stop_pid PID [GRACE]: SIGTERM, wait up to GRACE seconds (10), then SIGKILL.
# Returns the exit status when PID is our child, else 0.
_stop_pid() {
	local pid=$1 grace=${2:-10} i st=0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || st=$?; return "$st"; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# A zombie child still answers kill -0: reap it as soon as it exits.
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then break; fi
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]; then
		log "PID $pid ignored SIGTERM for ${grace}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || st=$?
	return "$st"
}

# _stop_pgrp PGID: stop a whole process group the test created with setsid.
_stop_pgrp() {
	local pg=$1 i
	kill -TERM -- "-$pg" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 -- "-$pg" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pg" 2>/dev/null || true
	wait "$pg" 2>/dev/null || true
}

_cleanup() {
	local st=$? p
	trap - EXIT INT TERM
	for p in "${_PGIDS[@]}"; do _stop_pgrp "$p"; done
	for p in "${_PIDS[@]}"; do _stop_pid "$p" 10 || true; done
	if [ "${SGW_KEEP_TMP:-0}" = 1 ]; then
		log "kept $T"
	else
		rm -rf "$T"
	fi
	exit "$st"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

track_pid() { _PIDS+=("$1"); }
track_pgrp() { _PGIDS+=("$1"); }

# free_port: print a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

PORT=$(free_port)
TLS_PORT=$(free_port)
while [ "$TLS_PORT" = "$PORT" ]; do TLS_PORT=$(free_port); done
# shellcheck disable=SC2034  # for the test scripts
BASE=http://127.0.0.1:$PORT
URL=$BASE/scep/dev/pkiclient.exe
# shellcheck disable=SC2034
TLS_BASE=https://127.0.0.1:$TLS_PORT

"$SRC/certs/mkdevpki.sh" "$PKI" >/dev/null
mkdir -p "$T/ca-state"      # the local CA's revocations and CRLs
CHALLENGE=$(cat "$PKI/challenge")

# The admin API (as quickstart.sh sets it up): HTTPS on its own port with the
# development TLS certificate, bearer tokens stored as SHA-256 (mode 0600).
# ADMIN_TOKEN is the full administrator; READ_TOKEN may only read.
ADMIN_PORT=$(free_port)
while [ "$ADMIN_PORT" = "$PORT" ] || [ "$ADMIN_PORT" = "$TLS_PORT" ]; do ADMIN_PORT=$(free_port); done
# shellcheck disable=SC2034  # for the test scripts
ADMIN_URL=https://127.0.0.1:$ADMIN_PORT
ADMIN_TOKEN=$(openssl rand -hex 24)
READ_TOKEN=$(openssl rand -hex 24)
(
	umask 077
	printf '%s\n' "$ADMIN_TOKEN" >"$T/admin.token"
	{
		echo "# name:sha256(token)[:role]"
		echo "dev:$(printf %s "$ADMIN_TOKEN" | sha256sum | cut -d' ' -f1)"
		echo "reader:$(printf %s "$READ_TOKEN" | sha256sum | cut -d' ' -f1):read"
	} >"$T/admin.tokens"
	printf 'url = %s\ntoken_file = %s\ncacert = %s\n' "$ADMIN_URL" "$T/admin.token" \
		"$PKI/chain.pem" >"$T/scepgwctl.conf"
)
SCEPGWCTL=${SCEPGWCTL:-}
# ctl ARGS...: scepgwctl against this test's gateway.
ctl() { "$SCEPGWCTL" --config "$T/scepgwctl.conf" "$@"; }

# gw_config FILE: write the development config (the one quickstart.sh writes)
# with this test's ports and paths.  Hooks, each a block of YAML lines:
#   GW_DEV_CAPS             the dev profile's capabilities list
#   GW_DEV_SINGLE_DES       allow_single_des of the dev profile (true)
#   GW_DEV_RENEWAL          more keys of the dev profile's renewal map (", key: v")
#   GW_DEV_EXTRA            more keys of the dev profile (indent 4)
#   GW_SCEP_PROFILES_EXTRA  more scep_profiles (indent 2)
#   GW_RA_IDENTITIES_EXTRA, GW_RA_PROFILES_EXTRA, GW_BACKENDS_EXTRA (indent 2)
#   GW_TOP_EXTRA            more top-level keys (indent 0)
#   GW_LISTEN_EXTRA         more listen: entries (indent 2)
#   GW_RA_KEY, GW_TLS_KEY   key files (default: the PKI's)
#   GW_RA_CERT, GW_RA_CHAIN the dev RA certificate and chain; GW_RA_ENCRYPT its
#                           encrypt: line (indent 4; default none: sign encrypts)
#   GW_CA_CERT, GW_CA_KEY   the local CA's certificate and key (default: the PKI's)
#   GW_PENDING_TTL          pending_ttl of the `manual` RA profile (7d)
#   GW_OTP_TTL              default ttl of the `otp` profile's challenges (1h)
#   GW_NO_ADMIN=1           no admin: section
#   GW_STORE_EXTRA          more keys of the store mapping (", offload: true")
#   GW_STORE                the store: flow map (default the SQLite file; lib_pg.sh)
# Besides `dev` (approval auto, the static development challenge) the config
# serves `manual` (same challenge, approval manual) and `otp` (one-time
# challenges from the admin API or /certsrv/mscep_admin/).
gw_config() {
	local f=$1 store=${GW_STORE:-"{ type: sqlite, path: \"$T/scepgw.db\"${GW_STORE_EXTRA:-} }"}
	cat >"$f" <<EOF
log_level: ${GW_LOG_LEVEL:-info}
default_profile: dev
listen:
  - address: "127.0.0.1:$PORT"
  - address: "127.0.0.1:$TLS_PORT"
    tls: { cert: "$PKI/tls.pem", key: "${GW_TLS_KEY:-$PKI/tls.key}" }
${GW_LISTEN_EXTRA:-}
store: $store
ra_identities:
  dev:
    sign: { cert: "${GW_RA_CERT:-$PKI/ra.pem}", key: "${GW_RA_KEY:-$PKI/ra.key}" }
${GW_RA_ENCRYPT:-}
    ca_chain: "${GW_RA_CHAIN:-$PKI/chain.pem}"
${GW_RA_IDENTITIES_EXTRA:-}
scep_profiles:
  dev:
    ra_identity: dev
    ra_profile: dev
    # micromdm scepclient only speaks DES-CBC: development only
    allow_single_des: ${GW_DEV_SINGLE_DES:-true}
    capabilities: [${GW_DEV_CAPS:-POSTPKIOperation, SHA-1, SHA-256, SHA-512, AES, DES3, SCEPStandard}]
    challenge: { type: static, secret_file: "$PKI/challenge" }
    renewal: { enabled: true, allow_key_reuse: true${GW_DEV_RENEWAL:-} }
    getcert: true
    getcrl: true
${GW_DEV_EXTRA:-}
  manual:
    ra_identity: dev
    ra_profile: manual
    allow_single_des: true
    challenge: { type: static, secret_file: "$PKI/challenge" }
  otp:
    ra_identity: dev
    ra_profile: dev       # approval auto
    allow_single_des: true
    challenge: { type: otp, ttl: ${GW_OTP_TTL:-1h} }
${GW_SCEP_PROFILES_EXTRA:-}
ra_profiles:
  dev: { backend: local-ca, template: default, approval: auto }
  manual: { backend: local-ca, template: default, approval: manual, pending_ttl: ${GW_PENDING_TTL:-7d} }
${GW_RA_PROFILES_EXTRA:-}
backends:
  local-ca: { type: local, ca_cert: "${GW_CA_CERT:-$PKI/issuing-ca.pem}", ca_chain: "$PKI/root-ca.pem", ca_key: "${GW_CA_KEY:-$PKI/issuing-ca.key}", state_dir: "$T/ca-state" }
${GW_BACKENDS_EXTRA:-}
${GW_TOP_EXTRA:-}
EOF
	[ "${GW_NO_ADMIN:-0}" = 1 ] || cat >>"$f" <<EOF
admin:
  listen: "127.0.0.1:$ADMIN_PORT"
  tls: { cert: "$PKI/tls.pem", key: "${GW_TLS_KEY:-$PKI/tls.key}" }
  tokens_file: "$T/admin.tokens"
  mscep_profile: otp
EOF
}

# wait_http URL SECONDS: until curl gets a 2xx from URL, while the gateway lives.
wait_http() {
	local url=$1 secs=${2:-20} deadline
	deadline=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$deadline" ]; do
		curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null && return 0
		if [ -n "$GW_PID" ] && ! kill -0 "$GW_PID" 2>/dev/null; then
			log "the gateway exited during startup"
			return 1
		fi
		sleep 0.2
	done
	log "no answer from $url within ${secs}s"
	return 1
}

# gw_start [CFG]: start the gateway in the foreground mode, in the background,
# and wait until GetCACaps answers (20 s).  A failure to start ends the test.
# GW_ARGS: more options for scepgw (e.g. -v).
gw_start() {
	local cfg=${1:-$CFG}
	log "starting $SCEPGW -d -c $cfg (http $PORT, https $TLS_PORT)"
	# shellcheck disable=SC2086  # GW_ARGS: words
	"$SCEPGW" -d ${GW_ARGS:-} -c "$cfg" >>"$GW_LOG" 2>&1 &
	GW_PID=$!
	track_pid "$GW_PID"
	if ! wait_http "$URL?operation=GetCACaps" 20; then
		log "gateway log ($GW_LOG):"
		sed 's/^/  | /' "$GW_LOG" >&2 || true
		NFAIL=$((NFAIL + 1))
		FAILED+=("the gateway starts and answers GetCACaps")
		finish
	fi
}

# gw_stop: SIGTERM, then SIGKILL after 10 s; records a check that the gateway
# exited 0 (so sanitizer reports at exit count) and that its log holds no
# sanitizer report.
gw_stop() {
	[ -n "$GW_PID" ] || return 0
	local st=0
	_stop_pid "$GW_PID" 10 || st=$?
	GW_PID=
	check "the gateway exits 0 on SIGTERM (got $st)" test "$st" -eq 0
	check "no sanitizer report in the gateway log" \
		not grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$GW_LOG"
}

# config_refused CFG REGEX: `scepgw -n -c CFG` fails and says REGEX (grep -E).
config_refused() {
	local out
	if out=$("$SCEPGW" -n -c "$1" 2>&1); then
		echo "scepgw -n accepted it: $out"
		return 1
	fi
	echo "$out"
	grep -Eq -- "$2" <<<"$out"
}

# gw_log_mark / gw_log_since MARK: the gateway log lines written after a mark.
gw_log_mark() { wc -l <"$GW_LOG"; }
gw_log_since() { tail -n "+$(($1 + 1))" "$GW_LOG"; }

# wait_log REGEX [SECONDS]: until a line matching REGEX (grep -E) is in the log.
wait_log() {
	local re=$1 secs=${2:-5} deadline
	deadline=$((SECONDS + secs))
	while [ "$SECONDS" -le "$deadline" ]; do
		grep -Eq -- "$re" "$GW_LOG" && return 0
		sleep 0.1
	done
	return 1
}

# pki_issue CA PREFIX CN EKU: a leaf certificate the dev PKI's CA (root-ca or
# issuing-ca) issues with openssl, never through the gateway: PREFIX.pem and
# PREFIX.key (a hostile renewal or GetCert signer).
pki_issue() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$2.key" -subj "/CN=$3" -out "$2.csr" \
		2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' \
		"$4" >"$2.ext"
	openssl x509 -req -in "$2.csr" -CA "$PKI/$1.pem" -CAkey "$PKI/$1.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 -extfile "$2.ext" \
		-out "$2.pem" 2>/dev/null
}

# not CMD...: succeed when CMD fails (for check).
not() { ! "$@"; }

# http_get URL OUT [curl args]: body to OUT, prints "CODE CONTENT-TYPE" (000 when
# curl could not connect).
http_get() {
	local url=$1 out=$2
	shift 2
	curl -sS --max-time 10 -o "$out" -w '%{http_code} %{content_type}\n' "$@" "$url" || true
}

# http_head_raw PATH: a HEAD for PATH on $PORT over a raw socket (so that a
# body sent after the headers is seen), printed as the response's header
# lines without CR, then BODY=<bytes after the headers>.
http_head_raw() {
	python3 - "$PORT" "$1" <<'PY' | tr -d '\r'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % sys.argv[2].encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, rest = data.partition(b"\r\n\r\n")
sys.stdout.write(head.decode() + "\nBODY=%d\n" % len(rest))
PY
}

# cert_fingerprints FILE: the SHA-256 fingerprint of each PEM certificate in FILE.
cert_fingerprints() {
	local f=$1 d c
	d=$(mktemp -d "$T/fp.XXXXXX")
	awk -v d="$d" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (d "/" n ".pem") }' "$f"
	for c in "$d"/*.pem; do
		[ -e "$c" ] && openssl x509 -in "$c" -noout -fingerprint -sha256
	done
	rm -rf "$d"
}

# check "description" CMD...: run CMD, record and print the result (the
# status also in LAST_CHECK_RC, for matrix_record).
LAST_CHECK_RC=1
check() {
	local desc=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	LAST_CHECK_RC=$rc
	if [ "$rc" -eq 0 ]; then
		NPASS=$((NPASS + 1))
		printf 'ok   %s\n' "$desc"
	else
		NFAIL=$((NFAIL + 1))
		FAILED+=("$desc")
		printf 'FAIL %s\n     command (exit %d): %s\n' "$desc" "$rc" "$*"
		[ -z "$out" ] || printf '%s\n' "$out" | head -n 30 | sed 's/^/     | /'
	fi
	return 0
}

# The client compatibility matrix of docs/clients.md: a test records the cells
# it proves in $SGW_BUILD_ROOT/matrix/$TEST_NAME.tsv (emptied when the test
# starts), tests/integration/clients_matrix.py builds the table from every
# test's file, and the clients_matrix test compares it with docs/clients.md.
MATRIX_FILE=
if [ -n "${SGW_BUILD_ROOT:-}" ]; then
	mkdir -p "$SGW_BUILD_ROOT/matrix"
	MATRIX_FILE=$SGW_BUILD_ROOT/matrix/$TEST_NAME.tsv
	: >"$MATRIX_FILE"
fi

# matrix_record CLIENT COLUMN[,COLUMN...] yes|no|na [NOTE]: right after the
# check that proves it.  yes: the client does COLUMN (the check passed); no: it
# cannot (the check proved the refusal or the failure); na: the client has no
# such operation or option (no check).  NOTE names the profile switch the
# client needs.  A yes/no after a failed check is recorded as FAIL, so the
# matrix test fails too.
matrix_record() {
	local res=$3 col cols
	[ -n "$MATRIX_FILE" ] || return 0
	if [ "$res" != na ] && [ "$LAST_CHECK_RC" -ne 0 ]; then res=FAIL; fi
	IFS=, read -r -a cols <<<"$2"
	for col in "${cols[@]}"; do
		printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$col" "$res" "$TEST_NAME" "${4:-}" >>"$MATRIX_FILE"
	done
}

# matrix_log CLIENT COLUMN yes|no MARK REGEX... [-- NOTE]: a check that a
# gateway log line written after MARK (gw_log_mark; 0 for the whole log)
# matches every REGEX (the request the client just made: op=, method=,
# digest=, cipher=, outcome=), then matrix_record.
matrix_log() {
	local client=$1 col=$2 yn=$3 mark=$4 note=
	shift 4
	local res=("$@")
	if [ "${#res[@]}" -ge 2 ] && [ "${res[-2]}" = -- ]; then
		note=${res[-1]}
		res=("${res[@]:0:${#res[@]}-2}")
	fi
	check "matrix: $client $col $yn (a log line matches ${res[*]})" _log_line_after "$mark" "${res[@]}"
	matrix_record "$client" "$col" "$yn" "$note"
}
_log_line_after() {
	local lines r
	lines=$(gw_log_since "$1")
	shift
	for r in "$@"; do lines=$(grep -E -- "$r" <<<"$lines" || true); done
	[ -n "$lines" ]
}

# no_secret_in_log: the development challenge never reaches the gateway log.
no_secret_in_log() {
	check "the challenge never appears in the gateway log" not grep -qF -- "$CHALLENGE" "$GW_LOG"
}

# broken_ra_profile: RA profile `broken` whose backend `dead-ca` always fails
# (GW_RA_PROFILES_EXTRA, GW_BACKENDS_EXTRA): EJBCA on a port nobody listens on,
# which fails fast (a local CA with an unreadable state dir would be fragile).
broken_ra_profile() {
	GW_RA_PROFILES_EXTRA="  broken: { backend: dead-ca, approval: auto }"
	GW_BACKENDS_EXTRA=$(cat <<EOF2
  dead-ca:
    type: ejbca
    url: "https://127.0.0.1:$(free_port)/ejbca/ejbca-rest-api/"
    client_cert: "$PKI/ra.pem"
    client_key: "$PKI/ra.key"
    ca_bundle: "$PKI/chain.pem"
    ca_name: X
    certificate_profile: P
    end_entity_profile: E
    retries: 0
    timeout: 3s
EOF2
	)
}

# finish: stop the gateway if it runs, print the summary, exit 1 on any failure.
finish() {
	[ -z "$GW_PID" ] || gw_stop
	echo "$TEST_NAME: $NPASS passed, $NFAIL failed"
	if [ "$NFAIL" -gt 0 ] || [ "$NPASS" -eq 0 ]; then
		local f
		for f in "${FAILED[@]}"; do echo "  failed: $f"; done
		if [ -s "$GW_LOG" ]; then
			echo "--- last 40 lines of the gateway log ($GW_LOG) ---"
			tail -n 40 "$GW_LOG"
		fi
		exit 1
	fi
	exit 0
}

# certmonger_start DIR BODY: start the certmonger daemon on a private D-Bus
# session with private state under DIR (the system's certmonger is never
# touched), executing BODY as its script from DIR (certmonger clears the
# environment: BODY must use literal paths).  The bus's socket and config live
# in DIR, so every process of it carries DIR on its command line
# (certmonger_survivors).  CM_PG: its process group, stopped at exit.
certmonger_start() {
	local cm=$1 body=$2
	mkdir -p "$cm"/{requests,cas,localca,tmp,config,out}
	chmod 0700 "$cm"
	cat >"$cm/dbus.conf" <<EOF2
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$cm</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF2
	printf '#!/bin/bash\ncd "%s"\n%s\n' "$cm" "$body" >"$cm/run.sh"
	chmod 0700 "$cm/run.sh"
	env CERTMONGER_REQUESTS_DIR="$cm/requests" CERTMONGER_CAS_DIR="$cm/cas" \
		CERTMONGER_LOCAL_CA_DIR="$cm/localca" CERTMONGER_TMPDIR="$cm/tmp" \
		CERTMONGER_CONFIG_DIR="$cm/config" CERTMONGER_SYSTEM_LOCK_FILE="$cm/lock" \
		setsid dbus-run-session --config-file="$cm/dbus.conf" -- \
		certmonger -s -n -c "$cm/run.sh" >"$cm/certmonger.log" 2>&1 &
	CM_PG=$!
	track_pgrp "$CM_PG"
}

# certmonger_wait [SECONDS]: until the certmonger of certmonger_start exits
# (180 s by default).  0 when it did, with its exit status in CM_RC.
certmonger_wait() {
	local i
	CM_RC=
	for ((i = 0; i < ${1:-180} * 10; i++)); do
		if ! kill -0 "$CM_PG" 2>/dev/null; then
			CM_RC=0
			wait "$CM_PG" 2>/dev/null || CM_RC=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# certmonger_run DIR BODY: certmonger_start, then certmonger_wait.
certmonger_run() {
	certmonger_start "$1" "$2"
	certmonger_wait 180
}

# certmonger_survivors DIR: the live processes of the certmonger run in DIR.
certmonger_survivors() {
	ps -eo pid=,stat=,args= | awk -v cm="$1/" '$2 !~ /^Z/ && index($0, cm) && !/awk/'
}
