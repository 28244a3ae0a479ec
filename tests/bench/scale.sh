#!/usr/bin/env bash
# scale.sh: memory and scale of scepgw (issue 9, scope item 4; never a timed
# test, not registered with meson).
#
#   tests/bench/scale.sh [rss] [store] [idle]      (default: all three)
#
#   rss    RSS after SGW_SCALE_N enrollments (100,000, c=16) in batches of
#          SGW_SCALE_BATCH (10,000): VmRSS / VmHWM from /proc/PID/status after
#          each batch, and the SQLite file size.  Met if RSS after all of them is
#          within 5% of RSS after the first batch.
#   store  enrollment rate on a store filled with SGW_SCALE_ROWS certificates
#          (1,000,000; scale_fill.py, with one transaction row each) against an
#          empty store, interleaved empty/full SGW_SCALE_ROUNDS times (5),
#          SGW_SCALE_RATE_N enrollments (2,000) at c=16 each; startup time,
#          admin routes and /metrics timed on both; SGW_SCALE_STALL seconds (75; 0
#          skips it) of GetCACaps probes for event-loop stalls (the approval
#          sweep runs at start and every 60 s); EXPLAIN QUERY PLAN of every store
#          statement (scale_sql.py).  Met if the full store's median rate
#          is within 10% of the empty store's.
#   idle   SGW_SCALE_IDLE (10,000) idle keep-alive connections (sgwidle), bare
#          TCP and after one GetCACaps each, held SGW_SCALE_HOLD seconds (30)
#          with limits.timeout = SGW_SCALE_TIMEOUT (600): gateway RSS before and
#          while held, KiB per connection, a GetCACaps from another client
#          meanwhile; then the default limits.timeout (60 s) with a hold of
#          SGW_SCALE_DEFAULT_HOLD seconds (75; 0 skips it).
#
# Everything listens on 127.0.0.1, runs in a fresh directory under /tmp and is
# stopped by PID at exit.  RSA-2048 CA and RA keys, the dev profile's config
# with log_level info and the default store.synchronous (full).
#
# Environment:
#   SGW_BENCH_BUILD    build directory (/tmp/build-rel; set up as --buildtype=release
#                      from this tree when missing, and brought up to date)
#   SGW_BENCH_NO_BUILD 1: use the binaries as they are
#   SGW_SCALE_SCEPGW   the scepgw binary (default: $SGW_BENCH_BUILD/scepgw)
#   SGW_SCALE_TOOLS    the directory of sgwload and sgwidle (default:
#                      $SGW_BENCH_BUILD/tests/bench)
#   SGW_SCALE_OUT      keep the JSON results and logs there (default: discarded)
#   SGW_SCALE_C        concurrency of the enrollment runs (16)
# shellcheck shell=bash
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SGW_BENCH_BUILD:-/tmp/build-rel}
N=${SGW_SCALE_N:-100000}
BATCH=${SGW_SCALE_BATCH:-10000}
CONC=${SGW_SCALE_C:-16}
ROWS=${SGW_SCALE_ROWS:-1000000}
RATE_N=${SGW_SCALE_RATE_N:-2000}
ROUNDS=${SGW_SCALE_ROUNDS:-5}
IDLE=${SGW_SCALE_IDLE:-10000}
HOLD=${SGW_SCALE_HOLD:-30}
IDLE_TIMEOUT=${SGW_SCALE_TIMEOUT:-600}
DEFAULT_HOLD=${SGW_SCALE_DEFAULT_HOLD:-75}
STALL_S=${SGW_SCALE_STALL:-75}
RUN_TIMEOUT=3600 # seconds, for each sgwload run
PARTS=${*:-rss store idle}
[ "$HOLD" -ge 5 ] || HOLD=5 # the gateway is sampled 2 s after the set-up

T=$(mktemp -d /tmp/sgwscale.XXXXXX)
chmod 0755 "$T"
RES=${SGW_SCALE_OUT:-$T/results}
mkdir -p "$RES"
_PIDS=()
# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh"

untrack() {
	local p keep=()
	for p in "${_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	_PIDS=("${keep[@]}")
}

now() { date +%s.%N; }

# jget FILE EXPR: a field of a JSON file (python expression on d).
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# mem PID: "VmRSS VmHWM" in KiB.
mem() { awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r, h }' "/proc/$1/status"; }

# dbsize DB: the database, -wal and -shm files together, in MiB.
dbsize() { du -cb "$1" "$1-wal" "$1-shm" 2>/dev/null | awk 'END { printf "%.1f", $1 / 1048576 }'; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# cpu_ms PID: user + system CPU time of PID so far, in milliseconds.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }

# ---- build --------------------------------------------------------------------

bench_build scepgw tests/bench/sgwload tests/bench/sgwidle
SCEPGW=${SGW_SCALE_SCEPGW:-$BUILD/scepgw}
TOOLS=${SGW_SCALE_TOOLS:-$BUILD/tests/bench}
SGWLOAD=$TOOLS/sgwload
SGWIDLE=$TOOLS/sgwidle
for b in "$SCEPGW" "$SGWLOAD" "$SGWIDLE"; do
	[ -x "$b" ] || { echo "scale.sh: missing $b" >&2; exit 2; }
done

# ---- PKI and gateway ------------------------------------------------------------

GW_PID=
GW_URL=
GW_ADMIN=
GW_START_S=
GW_LISTEN_S=
# gw_start STATE [EXTRA_YAML]: scepgw on a free port with its database in
# STATE/scepgw.db (kept if it exists) and an admin listener; GW_START_S is the
# time from exec to the first GetCACaps answered, GW_LISTEN_S from exec to its
# "listening on" log line (store open and the startup approval sweep are before).
gw_start() {
	local st=$1 extra=${2:-} port aport t0 lines
	port=$(free_port)
	aport=$(free_port)
	mkdir -p "$st"
	gw_yaml "$P" "$port" "$st/scepgw.db" info \
		"admin: { listen: \"127.0.0.1:$aport\", tokens_file: \"$P/admin.tokens\" }
$extra" \
		>"$st/scepgw.yaml"
	t0=$(now)
	lines=0
	[ ! -f "$st/scepgw.log" ] || lines=$(wc -l <"$st/scepgw.log")
	"$SCEPGW" -d -c "$st/scepgw.yaml" >>"$st/scepgw.log" 2>&1 &
	GW_PID=$!
	_PIDS+=("$GW_PID")
	GW_URL=http://127.0.0.1:$port/scep/bench/pkiclient.exe
	GW_ADMIN=http://127.0.0.1:$aport
	wait_http "$GW_URL?operation=GetCACaps" "$GW_PID" ||
		{ echo "scale.sh: scepgw did not start" >&2; tail -n 20 "$st/scepgw.log" >&2; exit 2; }
	GW_START_S=$(echo "$(now) - $t0" | bc -l)
	GW_LISTEN_S=$(tail -n +"$((lines + 1))" "$st/scepgw.log" | python3 -c '
import datetime, sys
t0 = float(sys.argv[1])
for l in sys.stdin:
    if " listening on " in l:
        t = datetime.datetime.strptime(l.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
        print("%.2f" % (t.replace(tzinfo=datetime.timezone.utc).timestamp() - t0))
        break
else:
    print("-")' "$t0")
}

stop_gw() { [ -z "$GW_PID" ] || { _stop "$GW_PID"; untrack "$GW_PID"; }; GW_PID=; }

# enroll OUT.json N: one sgwload run of N enrollments against the running gateway.
enroll() {
	local out=$1 n=$2 rc=0
	timeout "$RUN_TIMEOUT" "$SGWLOAD" --json -q -u "$GW_URL" --challenge-file "$P/challenge" \
		-n "$n" -c "$CONC" >"$out" 2>"$out.err" || rc=$?
	if [ "$rc" -gt 1 ] || [ ! -s "$out" ]; then # 1 = some requests failed: a result
		echo "scale.sh: sgwload failed (exit $rc)" >&2
		cat "$out.err" >&2
		exit 2
	fi
}

# admin_time METHOD PATH: "HTTP_CODE SECONDS" of one admin API call.
admin_time() {
	curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 600 -X "$1" \
		-H "Authorization: Bearer $(cat "$P/admin.token")" "$GW_ADMIN$2"
}

# ---- 1. RSS over 100k enrollments ------------------------------------------------

part_rss() {
	local st=$T/rss b total=0 m
	log "rss: $N enrollments in batches of $BATCH at c=$CONC"
	gw_start "$st"
	m=$(mem "$GW_PID")
	echo
	echo "### RSS over $N enrollments (c=$CONC, batches of $BATCH)"
	echo
	echo "| after | ok | failed | dup | ok/s | p99 ms | VmRSS MiB | VmHWM MiB | db MiB | load |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	printf '| start | - | - | - | - | - | %.1f | %.1f | %s | %s |\n' \
		"$(echo "${m% *} / 1024" | bc -l)" "$(echo "${m#* } / 1024" | bc -l)" \
		"$(dbsize "$st/scepgw.db")" "$(load1)"
	echo "0 ${m% *} ${m#* }" >"$RES/rss.txt"
	for ((b = 1; total < N; b++)); do
		local n=$((N - total < BATCH ? N - total : BATCH)) f=$RES/rss-$b.json l
		l=$(load1)
		enroll "$f" "$n"
		total=$((total + n))
		m=$(mem "$GW_PID")
		echo "$total ${m% *} ${m#* }" >>"$RES/rss.txt"
		printf '| %d | %s | %s | %s | %.0f | %.1f | %.1f | %.1f | %s | %s |\n' "$total" \
			"$(jget "$f" 'd["ok"]')" "$(jget "$f" 'd["failed"]')" \
			"$(jget "$f" 'd["duplicate_serials"]')" "$(jget "$f" 'd["ok_per_s"]')" \
			"$(jget "$f" 'd["latency_ms"]["p99"]')" "$(echo "${m% *} / 1024" | bc -l)" \
			"$(echo "${m#* } / 1024" | bc -l)" "$(dbsize "$st/scepgw.db")" "$l"
	done
	stop_gw
	echo "database after $total enrollments: $(dbsize "$st/scepgw.db") MiB" \
		"($(sqlite3 "$st/scepgw.db" 'SELECT count(*) FROM certificates') certificates," \
		"$(sqlite3 "$st/scepgw.db" 'SELECT count(*) FROM transactions') transactions," \
		"$(sqlite3 "$st/scepgw.db" 'SELECT count(*) FROM nonces') nonces)"
	awk -v b="$BATCH" 'NR == 2 { first = $2 } END {
		printf "RSS after %d: %.1f MiB, after %d: %.1f MiB: %+.1f%% (criterion: within 5%%)\n",
			b, first / 1024, $1, $2 / 1024, 100 * ($2 - first) / first }' "$RES/rss.txt" |
		tee "$RES/rss.summary"
	cp "$st/scepgw.log" "$RES/rss-scepgw.log" 2>/dev/null || true
	rm -rf "$st"
}

# ---- 2. enrollment rate with 1M certificates ---------------------------------------

# admin_probe KIND: time the admin routes that grow with the tables (one line each).
admin_probe() {
	local kind=$1 serial
	serial=$(sqlite3 "file:$2?mode=ro" \
		"SELECT serial FROM certificates ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM certificates)")
	while read -r what method path; do
		echo "$kind|$what|$(admin_time "$method" "$path")" >>"$RES/admin.txt"
	done <<EOF
metrics GET /metrics
cert-search-subject-nomatch GET /api/v1/certificates?subject=no-such-subject&limit=100
cert-search-serial-present GET /api/v1/certificates?serial=$serial&limit=100
cert-list-latest-100 GET /api/v1/certificates?limit=100
txn-list-pending GET /api/v1/transactions?state=pending
txn-list-all-100 GET /api/v1/transactions?state=all&limit=100
revoke-absent-serial(404) POST /api/v1/certificates/00ff00ff00ff/revoke
EOF
}

# stall_probe KIND SECONDS: sequential keep-alive GetCACaps, 5 ms apart, for
# SECONDS; prints the answers slower than 100 ms (a blocked event loop).
stall_probe() {
	python3 - "$GW_URL" "$2" "$1" "$GW_START_S" <<'EOF'
import http.client, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
dur, kind, start = float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
path = u.path + "?operation=GetCACaps"
t_end = time.monotonic() + dur
t0 = time.monotonic() - start  # the gateway's exec, about
lat, slow = [], []
while time.monotonic() < t_end:
    t = time.monotonic()
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    ms = (time.monotonic() - t) * 1e3
    lat.append(ms)
    if ms > 100:
        slow.append((t - t0, ms))
    time.sleep(0.005)
lat.sort()
print("%s store: %d requests, p50 %.1f ms, p99 %.1f ms, max %.0f ms; slower than 100 ms: %s" % (
    kind, len(lat), lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1],
    ", ".join("%.0f ms at t=%.1f s" % (ms, at) for at, ms in slow) or "none"))
EOF
}

part_store() {
	local empty=$T/store-empty full=$T/store-full i kind st f m
	log "store: template rows, then $ROWS certificates"
	gw_start "$full"
	enroll "$RES/store-seed.json" 20
	stop_gw
	python3 "$SRC/tests/bench/scale_fill.py" "$full/scepgw.db" "$ROWS" | tee "$RES/fill.txt"
	sync
	: >"$RES/store.txt"
	: >"$RES/admin.txt"
	for ((i = 1; i <= ROUNDS; i++)); do
		for kind in empty full; do
			st=$full
			if [ "$kind" = empty ]; then
				st=$empty-$i
			fi
			log "store: round $i, $kind store"
			gw_start "$st"
			f=$RES/store-$kind-$i.json
			local l c0 c1
			l=$(load1)
			c0=$(cpu_ms "$GW_PID")
			enroll "$f" "$RATE_N"
			c1=$(cpu_ms "$GW_PID")
			m=$(mem "$GW_PID")
			echo "$kind $i $(jget "$f" 'd["ok_per_s"]') $(jget "$f" 'd["ok"]')" \
				"$(jget "$f" 'd["failed"]') $(jget "$f" 'd["latency_ms"]["p50"]')" \
				"$(jget "$f" 'd["latency_ms"]["p99"]') $GW_START_S ${m% *} $l" \
				"$(dbsize "$st/scepgw.db") $((c1 - c0)) $GW_LISTEN_S" >>"$RES/store.txt"
			admin_probe "$kind" "$st/scepgw.db"
			stop_gw
			cp "$st/scepgw.log" "$RES/store-$kind-$i.log" 2>/dev/null || true
			[ "$kind" = full ] || rm -rf "$st"
		done
	done
	python3 - "$RES/store.txt" "$RES/admin.txt" "$ROUNDS" <<'EOF' | tee "$RES/store.summary"
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print()
print("### Enrollment rate, empty store vs %s certificates (c=16)" % "full")
print()
print("| round | store | ok/s | ok | failed | p50 ms | p99 ms | CPU ms/enr | startup s (to listen) | VmRSS MiB | db MiB | load |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %.0f | %s | %s | %.1f | %.1f | %.2f | %.2f (%s) | %.1f | %s | %s |" % (
        r[1], r[0], float(r[2]), r[3], r[4], float(r[5]), float(r[6]),
        int(r[11]) / max(1, int(r[3])), float(r[7]), r[12], int(r[8]) / 1024, r[10], r[9]))
med = {k: statistics.median(float(r[2]) for r in rows if r[0] == k) for k in ("empty", "full")}
cpu = {k: statistics.median(int(r[11]) / max(1, int(r[3])) for r in rows if r[0] == k)
       for k in ("empty", "full")}
print()
print("median ok/s: empty %.0f, full %.0f: full/empty = %.3f (%+.1f%%; criterion: within 10%%)" % (
    med["empty"], med["full"], med["full"] / med["empty"], 100 * (med["full"] / med["empty"] - 1)))
print("median gateway CPU ms per enrollment: empty %.2f, full %.2f (%+.1f%%)" % (
    cpu["empty"], cpu["full"], 100 * (cpu["full"] / cpu["empty"] - 1)))
adm = {}
for l in open(sys.argv[2]):
    kind, what, res = l.rstrip("\n").split("|")
    code, sec = res.split()
    adm.setdefault(what, {}).setdefault(kind, []).append((code, float(sec) * 1e3))
print()
print("### Admin routes (median of %s calls, ms; HTTP status)" % sys.argv[3])
print()
print("| route | empty store | full store |")
print("|---|---|---|")
for what, by in adm.items():
    cell = lambda v: "%.1f (%s)" % (statistics.median(x[1] for x in v), v[0][0]) if v else "-"
    print("| %s | %s | %s |" % (what, cell(by.get("empty")), cell(by.get("full"))))
EOF
	if [ "$STALL_S" -gt 0 ]; then
		echo
		echo "### Event-loop stalls, ${STALL_S} s of GetCACaps every 5 ms from gateway start (idle otherwise)"
		echo
		for kind in empty full; do
			st=$full
			[ "$kind" = full ] || st=$empty-stall
			log "store: stall probe, $kind store, ${STALL_S}s"
			gw_start "$st"
			stall_probe "$kind" "$STALL_S" | tee -a "$RES/stall.txt"
			stop_gw
		done
	fi
	echo
	echo "### EXPLAIN QUERY PLAN on the full store"
	echo
	python3 "$SRC/tests/bench/scale_sql.py" "$SRC" "$full/scepgw.db" | tee "$RES/sql.txt"
	echo "full store file: $(dbsize "$full/scepgw.db") MiB"
	rm -rf "$full"
}

# ---- 3. idle connections ---------------------------------------------------------------

# idle_run NAME ARGS...: sgwidle against the running gateway; samples the
# gateway while the connections are held.
idle_run() {
	local name=$1 ready=$T/idle-ready pid m0 m1 m2 caps fds sock i
	shift
	rm -f "$ready"
	m0=$(mem "$GW_PID")
	timeout 900 "$SGWIDLE" --json -u "$GW_URL" -c "$IDLE" --ready-file "$ready" "$@" \
		>"$RES/idle-$name.json" 2>"$RES/idle-$name.err" &
	pid=$!
	_PIDS+=("$pid")
	for ((i = 0; i < 6000; i++)); do
		if [ -s "$ready" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
		sleep 0.1
	done
	sleep 2 # let the gateway settle
	m1=$(mem "$GW_PID")
	fds=$(find "/proc/$GW_PID/fd" -mindepth 1 2>/dev/null | wc -l)
	sock=$(awk '/^TCP:/ { print $3 " inuse, " $NF * 4 " KiB buffers" }' /proc/net/sockstat)
	caps=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 \
		"$GW_URL?operation=GetCACaps" || echo "000 -")
	wait "$pid" || true
	untrack "$pid"
	sleep 1
	m2=$(mem "$GW_PID")
	echo "$name ${m0% *} ${m1% *} ${m1#* } ${m2% *} $fds ${caps% *} ${caps#* } $(load1) $sock" \
		>>"$RES/idle.txt"
}

part_idle() {
	local IDLE_CAPS="max_sockets: $((IDLE + 100)), max_sockets_per_peer: 0"

	: >"$RES/idle.txt"
	log "idle: $IDLE connections, limits.timeout $IDLE_TIMEOUT, held ${HOLD}s"
	# a fresh gateway for each kind: freed memory stays in the allocator
	# all from one address, some never sending a byte: lift the socket caps
	# and the whole-request deadline (limits.max_sockets*, request_timeout)
	gw_start "$T/idle-bare" "limits: { timeout: $IDLE_TIMEOUT, $IDLE_CAPS, request_timeout: $IDLE_TIMEOUT }"
	curl -fsS -o /dev/null "$GW_URL?operation=GetCACert"
	idle_run bare --hold "$HOLD"
	stop_gw
	gw_start "$T/idle-caps" "limits: { timeout: $IDLE_TIMEOUT, $IDLE_CAPS }"
	curl -fsS -o /dev/null "$GW_URL?operation=GetCACert"
	idle_run caps --caps --hold "$HOLD"
	idle_run caps-again --caps --hold "$HOLD" # same gateway: does RSS keep growing?
	stop_gw
	if [ "$DEFAULT_HOLD" -gt 0 ]; then
		log "idle: $IDLE connections, default limits.timeout, held ${DEFAULT_HOLD}s"
		gw_start "$T/idle-default" "limits: { $IDLE_CAPS }"
		curl -fsS -o /dev/null "$GW_URL?operation=GetCACert"
		idle_run default-timeout --caps --hold "$DEFAULT_HOLD"
		stop_gw
	fi
	python3 - "$RES" "$IDLE" <<'EOF' | tee "$RES/idle.summary"
import json, os, sys
res, n = sys.argv[1], int(sys.argv[2])
print()
print("### %d idle connections" % n)
print()
print("| run | set up | closed by gateway (idle s) | still open at end | recheck ok | RSS before MiB | RSS held MiB | KiB per conn | HWM MiB | RSS after MiB | gateway fds | GetCACaps meanwhile | TCP sockets (sockstat) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for l in open(os.path.join(res, "idle.txt")):
    f = l.split()
    name, r0, r1, hwm, r2, fds, code, sec, load = f[:9]
    sock = " ".join(f[9:])
    d = json.load(open(os.path.join(res, "idle-%s.json" % name)))
    ok = d["answered"] if d["caps"] else d["connected"]
    closed = "%d" % d["closed_by_server"]
    if d["closed_by_server"]:
        closed += " (%.1f..%.1f)" % (d["closed_idle_min_s"], d["closed_idle_max_s"])
    print("| %s | %d/%d in %.1f s | %s | %d | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %s | %s in %.1f ms | %s |" % (
        name, ok, d["requested"], d["setup_s"], closed, d["open_at_end"],
        d["recheck_ok"] if d["caps"] else "-", int(r0) / 1024, int(r1) / 1024,
        (int(r1) - int(r0)) / max(1, ok), int(hwm) / 1024, int(r2) / 1024, fds, code,
        float(sec) * 1e3 if sec != "-" else -1, sock))
EOF
}

# ---- main --------------------------------------------------------------------------------

echo "# scepgw scale $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -n): $(nproc) cores," \
	"$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(openssl version)"
# the source tree the gateway was built from (meson-info beside the binary), else this one
GW_SRC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
	"$(dirname "$SCEPGW")/meson-info/meson-info.json" 2>/dev/null || echo "$SRC")
echo "# scepgw: $SCEPGW, from $GW_SRC at $(git -C "$GW_SRC" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# uptime: $(uptime)"
echo "# RLIMIT_NOFILE: soft $(ulimit -Sn), hard $(ulimit -Hn)"
P=$T/pki
mkpki "$P" 2048
openssl rand -hex 24 | tr -d '\n' >"$P/admin.token"
echo "bench:$(sha256sum <"$P/admin.token" | cut -d' ' -f1):admin" >"$P/admin.tokens"
chmod 0600 "$P/admin.token" "$P/admin.tokens"
for part in $PARTS; do
	case $part in
	rss) part_rss ;;
	store) part_store ;;
	idle) part_idle ;;
	*) echo "scale.sh: unknown part '$part' (rss, store, idle)" >&2; exit 2 ;;
	esac
	echo "# uptime: $(uptime)"
done
