#!/usr/bin/env bash
# run.sh: the side-by-side benchmark of issue 9 (never a timed test).
#
#   tests/bench/run.sh            openssl speed, then scepgw and micromdm scepserver
#                                 at c = 1, 4, 16, 64 for RSA-2048 and RSA-4096 CA/RA
#                                 keys, GetCACaps at c=16, and the table
#   tests/bench/run.sh profile    callgrind profile of scepgw for PROFILE_N enrollments
#                                 and the fdatasync cost per commit (strace)
#
# Everything listens on 127.0.0.1 (scepserver listens on all interfaces: it runs
# only while it is measured), runs in a fresh directory under /tmp, and is
# stopped by PID at exit.  Client keys are always RSA-2048; requests are built
# before timing, sent by POST over keep-alive connections and verified after.
#
# Environment:
#   SGW_BENCH_BUILD    build directory (/tmp/build-rel; set up as --buildtype=release
#                      from this tree when missing, and brought up to date)
#   SGW_BENCH_NO_BUILD 1: use the binaries in SGW_BENCH_BUILD as they are
#   SGW_BENCH_SIZES    CA/RA key sizes ("2048 4096")
#   SGW_BENCH_LEVELS   concurrency levels ("1 4 16 64")
#   SGW_BENCH_N1       requests at c=1 (500); SGW_BENCH_N: at c>=4 (2000)
#   SGW_BENCH_N4096    requests per level with RSA-4096 keys (1000, 300 at c=1)
#   SGW_BENCH_CAPS_N   GetCACaps requests (20000)
#   SGW_BENCH_OUT      keep the JSON results and logs there (default: discarded)
#   SGW_BENCH_LOG      scepgw log_level (info: one line per request, as deployed)
#   SGW_BENCH_SKIP_MICROMDM 1: scepgw only
#   SGW_BENCH_STORE    more keys of scepgw's store mapping (", offload: true")
#   PROFILE_N          enrollments in the profile run (200)
# shellcheck shell=bash
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SGW_BENCH_BUILD:-/tmp/build-rel}
SIZES=${SGW_BENCH_SIZES:-2048 4096}
LEVELS=${SGW_BENCH_LEVELS:-1 4 16 64}
N1=${SGW_BENCH_N1:-500}
N=${SGW_BENCH_N:-2000}
N4096=${SGW_BENCH_N4096:-1000}
CAPS_N=${SGW_BENCH_CAPS_N:-20000}
GW_LOG_LEVEL=${SGW_BENCH_LOG:-info}
PROFILE_N=${PROFILE_N:-200}
MODE=${1:-bench}
RUN_TIMEOUT=600 # seconds, for each sgwload run

T=$(mktemp -d /tmp/sgwbench.XXXXXX)
chmod 0755 "$T"
RES=${SGW_BENCH_OUT:-$T/results}
mkdir -p "$RES"
_PIDS=()
# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh"

# ---- build ------------------------------------------------------------------

bench_build scepgw tests/bench/sgwload
SCEPGW=$BUILD/scepgw
SGWLOAD=$BUILD/tests/bench/sgwload
if [ ! -x "$SCEPGW" ] || [ ! -x "$SGWLOAD" ]; then
	echo "run.sh: no binaries in $BUILD" >&2
	exit 2
fi
command -v scepserver >/dev/null || SGW_BENCH_SKIP_MICROMDM=1

# ---- PKI and servers ----------------------------------------------------------

GW_PID=
GW_URL=
# gw_start PKI STATE: a fresh scepgw on a free port with its state in STATE.
gw_start() {
	local pki=$1 st=$2 port
	port=$(free_port)
	mkdir -p "$st"
	gw_yaml "$pki" "$port" "$st/scepgw.db" "$GW_LOG_LEVEL" >"$st/scepgw.yaml"
	${GW_WRAP:-} "$SCEPGW" -d -c "$st/scepgw.yaml" >"$st/scepgw.log" 2>&1 &
	GW_PID=$!
	_PIDS+=("$GW_PID")
	GW_URL=http://127.0.0.1:$port/scep/bench/pkiclient.exe
	wait_http "$GW_URL?operation=GetCACaps" "$GW_PID" ||
		{ echo "run.sh: scepgw did not start" >&2; tail -n 20 "$st/scepgw.log" >&2; exit 2; }
}

MM_PID=
MM_URL=
# mm_start BITS STATE: a fresh micromdm scepserver (new CA, empty depot) on a free port.
mm_start() {
	local bits=$1 st=$2 port
	port=$(free_port)
	mkdir -p "$st"
	(cd "$st" && scepserver ca -init -depot depot -keySize "$bits" >ca-init.log 2>&1)
	openssl rand -hex 12 | tr -d '\n' >"$st/challenge"
	(cd "$st" && exec scepserver -depot depot -port "$port" -challenge "$(cat challenge)" \
		-allowrenew 0 >scepserver.log 2>&1) &
	MM_PID=$!
	_PIDS+=("$MM_PID")
	MM_URL=http://127.0.0.1:$port/scep
	wait_http "$MM_URL?operation=GetCACaps" "$MM_PID" ||
		{ echo "run.sh: scepserver did not start" >&2; tail -n 20 "$st/scepserver.log" >&2; exit 2; }
}

# load OUT.json ARGS...: one sgwload run, bounded in time; its JSON goes to OUT.
load() {
	local out=$1 rc=0
	shift
	cut -d' ' -f1 /proc/loadavg >"${out%.json}.load" # the machine's load just before
	timeout "$RUN_TIMEOUT" "$SGWLOAD" --json -q "$@" >"$out" 2>"$out.err" || rc=$?
	# 1 = some requests failed: a result, not an error
	if [ "$rc" -gt 1 ] || [ ! -s "$out" ]; then
		echo "run.sh: sgwload failed (exit $rc): $*" >&2
		cat "$out.err" >&2
		echo '{"error":true}' >"$out"
	fi
}

# untrack PID: forget a stopped process (its PID may be reused later).
untrack() {
	local p keep=()
	for p in "${_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	_PIDS=("${keep[@]}")
}
# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

# measure WHO PID OUT.json ARGS...: load, plus the server's CPU seconds in OUT.cpu.
measure() {
	local pid=$1 out=$2 a b
	shift 2
	a=$(cpu_ticks "$pid")
	load "$out" "$@"
	b=$(cpu_ticks "$pid")
	echo "$(((b - a) * 1000 / HZ))" >"${out%.json}.cpu" # milliseconds
}

stop_gw() { [ -z "$GW_PID" ] || { _stop "$GW_PID"; untrack "$GW_PID"; }; GW_PID=; }
stop_mm() { [ -z "$MM_PID" ] || { _stop "$MM_PID"; untrack "$MM_PID"; }; MM_PID=; }

# ---- profile mode -------------------------------------------------------------

if [ "$MODE" = profile ]; then
	command -v valgrind >/dev/null || { echo "run.sh: valgrind missing" >&2; exit 2; }
	mkpki "$T/pki-2048" 2048
	P=$T/pki-2048
	# 1. callgrind: instructions per enrollment = (run with PROFILE_N enrollments
	#    - run with one GetCACaps only) / PROFILE_N, both with the same startup.
	for k in base run; do
		GW_WRAP="valgrind --tool=callgrind --callgrind-out-file=$T/cg.$k.out" \
			gw_start "$P" "$T/prof-$k"
		if [ "$k" = run ]; then
			load "$RES/profile-load.json" -u "$GW_URL" --challenge-file "$P/challenge" \
				-n "$PROFILE_N" -c 4 -t 120
		fi
		stop_gw
	done
	base=$(sed -n 's/^summary: //p' "$T/cg.base.out")
	run=$(sed -n 's/^summary: //p' "$T/cg.run.out")
	echo "callgrind: startup+shutdown $base Ir, with $PROFILE_N enrollments $run Ir"
	echo "instructions per enrollment: $(((run - base) / PROFILE_N))"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("profile load: ok", d.get("ok"), "failed", d.get("failed"))' \
		"$RES/profile-load.json"
	callgrind_annotate --inclusive=yes "$T/cg.run.out" >"$RES/callgrind-inclusive.txt" 2>&1 || true
	callgrind_annotate "$T/cg.run.out" >"$RES/callgrind-self.txt" 2>&1 || true
	cp "$T/cg.run.out" "$T/cg.base.out" "$RES/" 2>/dev/null || true
	echo "--- top inclusive costs (callgrind_annotate --inclusive=yes) ---"
	grep -E '^ *[0-9,]+ \(' "$RES/callgrind-inclusive.txt" | awk 'NR <= 25'
	echo "--- per enrollment (inclusive Ir / $PROFILE_N) ---"
	python3 - "$RES/callgrind-inclusive.txt" "$PROFILE_N" <<'PY'
import re, sys
n = int(sys.argv[2])
want = ["main", "worker_main", "BN_mod_exp_mont_consttime", "OSSL_DECODER_CTX_new_for_pkey",
        "OSSL_ENCODER_CTX_new_for_pkey", "scep_http_handle", "scep_msg_decode", "decrypt_done",
        "csr_parse", "local_submit", "backend_done", "txn_reply_from_state", "tmpl_issue",
        "scep_envelope_decrypt", "scep_certrep_build", "sqlite3_step", "evhttp_send_reply"]
seen = {}
for l in open(sys.argv[1]):
    m = re.match(r'\s*([0-9,]+) \(\s*[0-9.]+%\)\s+\S*?:(\S+) \[', l)
    if m and m.group(2) in want and m.group(2) not in seen:
        seen[m.group(2)] = int(m.group(1).replace(",", ""))
for w in want:
    if w in seen:
        print("  %-32s %6.2f M" % (w, seen[w] / n / 1e6))
PY
	echo "--- top self costs ---"
	grep -E '^ *[0-9,]+ \(' "$RES/callgrind-self.txt" | awk 'NR <= 15'

	# 2. fdatasync per commit: strace on the release gateway during 1000
	#    enrollments at c=16 (strace slows the syscalls it traces a little).
	if command -v strace >/dev/null; then
		gw_start "$P" "$T/prof-strace"
		strace -f -T -e trace=fsync,fdatasync -o "$T/strace.out" -p "$GW_PID" 2>/dev/null &
		SP=$!
		_PIDS+=("$SP")
		sleep 1
		load "$RES/strace-load.json" -u "$GW_URL" --challenge-file "$P/challenge" -n 1000 -c 16
		kill -INT "$SP" 2>/dev/null || true
		wait "$SP" 2>/dev/null || true
		untrack "$SP"
		python3 - "$T/strace.out" "$GW_PID" "$RES/strace-load.json" <<'EOF'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
loop = sys.argv[2]
d = json.load(open(sys.argv[3]))
by = {}
for l in lines:
    m = re.match(r'(\d+)\s+(fsync|fdatasync)\(.*<([0-9.]+)>', l)
    if m:
        by.setdefault((m.group(1) == loop, m.group(2)), []).append(float(m.group(3)) * 1e3)
ok = d.get("ok", 0) or 1
print("strace during %d enrollments at c=16 (%.1f/s under strace):" % (ok, d.get("ok_per_s", 0)))
for (is_loop, call), v in sorted(by.items()):
    v.sort()
    print("  %-9s on the %s thread: %d calls (%.2f per enrollment), mean %.3f ms, p50 %.3f, p99 %.3f, total %.0f ms (%.2f ms per enrollment)" % (
        call, "loop" if is_loop else "other", len(v), len(v) / ok, sum(v) / len(v),
        v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))], sum(v), sum(v) / ok))
EOF
		stop_gw
	fi
	# 3. the device alone: 300 x (4 KiB pwrite + fdatasync) on the same file system
	python3 - "$T/fsync.probe" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
v = []
for i in range(300):
    os.pwrite(fd, os.urandom(4096), (i % 64) * 4096)
    t = time.perf_counter()
    os.fdatasync(fd)
    v.append((time.perf_counter() - t) * 1e3)
os.close(fd)
v.sort()
print("raw fdatasync (4 KiB pwrite each, no strace): mean %.3f ms, p50 %.3f, p99 %.3f, max %.3f" % (
    sum(v) / len(v), v[len(v) // 2], v[int(len(v) * 0.99)], v[-1]))
PY
	exit 0
fi

# ---- benchmark ------------------------------------------------------------------

CORES=$(nproc)
echo "# scepgw benchmark $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -n): $CORES cores, $(openssl version)"
echo "# scepgw: $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?') $(git -C "$SRC" status --porcelain 2>/dev/null | grep -q . && echo '(with uncommitted changes)')"
echo "# micromdm: $(dpkg-query -W -f '${Package} ${Version}' scep 2>/dev/null || echo '?')"
log "openssl speed -seconds 3 rsa2048 rsa4096"
openssl speed -seconds 3 rsa2048 rsa4096 >"$RES/speed.txt" 2>/dev/null
grep -E '^rsa +[0-9]+ bits' "$RES/speed.txt" >&2 || true

for bits in $SIZES; do
	mkpki "$T/pki-$bits" "$bits"
	for c in $LEVELS; do
		n=$N
		[ "$c" -eq 1 ] && n=$N1
		if [ "$bits" -ne 2048 ]; then
			n=$N4096
			[ "$c" -eq 1 ] && n=$((N4096 < 300 ? N4096 : 300))
		fi
		log "RSA-$bits c=$c n=$n: scepgw"
		gw_start "$T/pki-$bits" "$T/gw-$bits-$c"
		measure "$GW_PID" "$RES/gw-$bits-c$c.json" -u "$GW_URL" --challenge-file "$T/pki-$bits/challenge" \
			-n "$n" -c "$c"
		stop_gw
		cp "$T/gw-$bits-$c/scepgw.log" "$RES/gw-$bits-c$c.log" 2>/dev/null || true
		if [ "${SGW_BENCH_SKIP_MICROMDM:-0}" != 1 ]; then
			log "RSA-$bits c=$c n=$n: micromdm scepserver"
			mm_start "$bits" "$T/mm-$bits-$c"
			measure "$MM_PID" "$RES/mm-$bits-c$c.json" -u "$MM_URL" \
				--challenge-file "$T/mm-$bits-$c/challenge" -n "$n" -c "$c"
			stop_mm
			cp "$T/mm-$bits-$c/scepserver.log" "$RES/mm-$bits-c$c.log" 2>/dev/null || true
		fi
	done
done

log "GetCACaps c=16 n=$CAPS_N"
first=${SIZES%% *}
gw_start "$T/pki-$first" "$T/gw-caps"
load "$RES/gw-caps.json" -u "$GW_URL" -m caps -n "$CAPS_N" -c 16
stop_gw
if [ "${SGW_BENCH_SKIP_MICROMDM:-0}" != 1 ]; then
	mm_start "$first" "$T/mm-caps"
	load "$RES/mm-caps.json" -u "$MM_URL" -m caps -n "$CAPS_N" -c 16
	stop_mm
fi

python3 - "$RES" "$CORES" "$SIZES" "$LEVELS" <<'EOF'
import json, os, re, sys
res, cores, sizes, levels = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
speed = {}
for l in open(os.path.join(res, "speed.txt")):
    m = re.match(r'rsa\s+(\d+) bits\s+\S+\s+\S+\s+([0-9.]+)\s+([0-9.]+)', l)
    if m:
        speed[m.group(1)] = float(m.group(2))
def get(name):
    try:
        d = json.load(open(os.path.join(res, name)))
        return None if d.get("error") else d
    except (OSError, ValueError):
        return None
def load(name):
    try:
        return open(os.path.join(res, name)).read().strip()
    except OSError:
        return "-"
def cpu(name, d):
    try:
        ms = int(open(os.path.join(res, name)).read())
    except (OSError, ValueError):
        return "-"
    return "%.1f" % (ms / d["ok"]) if d and d.get("ok") else "-"
def fails(d):
    if not d: return "-"
    f = d["failed"]
    if not f: return "0"
    return "%d (%s)" % (f, ",".join("%s:%d" % kv for kv in sorted(d["failures"].items())))
for b in sizes:
    s = speed.get(b, 0)
    limit = s * cores / 3
    print()
    print("RSA-%s CA/RA keys: openssl speed %.0f sign/s per core; physical limit %.0f enrollments/s (x %d cores / 3)" % (b, s, limit, cores))
    print("| c | scepgw ok/s | p50 ms | p90 ms | p99 ms | max ms | failed | dup | micromdm ok/s | p99 ms | failed | dup | scepgw/micromdm | scepgw/limit | CPU ms/enr gw/mm | load gw/mm |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in levels:
        g, m = get("gw-%s-c%s.json" % (b, c)), get("mm-%s-c%s.json" % (b, c))
        gr = g["ok_per_s"] if g else 0
        mr = m["ok_per_s"] if m else 0
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            c,
            "%.0f" % gr if g else "-",
            "%.1f" % g["latency_ms"]["p50"] if g else "-",
            "%.1f" % g["latency_ms"]["p90"] if g else "-",
            "%.1f" % g["latency_ms"]["p99"] if g else "-",
            "%.1f" % g["latency_ms"]["max"] if g else "-",
            fails(g), g["duplicate_serials"] if g else "-",
            "%.0f" % mr if m else "-",
            "%.1f" % m["latency_ms"]["p99"] if m else "-",
            fails(m), m["duplicate_serials"] if m else "-",
            "%.2fx" % (gr / mr) if g and mr else "-",
            "%.0f%%" % (100 * gr / limit) if g and limit else "-",
            "%s/%s" % (cpu("gw-%s-c%s.cpu" % (b, c), g), cpu("mm-%s-c%s.cpu" % (b, c), m)),
            "%s/%s" % (load("gw-%s-c%s.load" % (b, c)), load("mm-%s-c%s.load" % (b, c)))))
g, m = get("gw-caps.json"), get("mm-caps.json")
print()
print("GetCACaps c=16 (load %s/%s): scepgw %s req/s (p99 %s ms, failed %s), micromdm %s req/s (p99 %s ms, failed %s), ratio %s" % (
    load("gw-caps.load"), load("mm-caps.load"),
    "%.0f" % g["ok_per_s"] if g else "-", "%.2f" % g["latency_ms"]["p99"] if g else "-", fails(g),
    "%.0f" % m["ok_per_s"] if m else "-", "%.2f" % m["latency_ms"]["p99"] if m else "-", fails(m),
    "%.2fx" % (g["ok_per_s"] / m["ok_per_s"]) if g and m and m["ok_per_s"] else "-"))
EOF
