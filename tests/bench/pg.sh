#!/usr/bin/env bash
# pg.sh: scepgw on PostgreSQL against SQLite (issue 20; never a timed test,
# not registered with meson).
#
#   tests/bench/pg.sh
#
# For each of: one instance on SQLite, one instance on PostgreSQL, two
# instances on PostgreSQL (one database), at each concurrency level
# (SGW_PG_LEVELS, "16 64"; with two instances each gets half the connections):
# SGW_PG_N enrollments (1000) with sgwload after a warm-up of 64, and per
# enrollment: the gateways' CPU (/proc/PID/stat utime + stime), PostgreSQL's
# CPU (the postmaster's children and the postmaster's reaped children), the
# statements the gateways sent (pg_stat_statements calls), the round trips
# (the messages the gateways' connections sent: ss data_segs_out), the commits (pg_stat_database xact_commit), the WAL written
# (pg_current_wal_lsn difference) and, for SQLite, the bytes the gateway wrote
# (/proc/PID/io write_bytes: its WAL, checkpoints and log), and the TCP
# payload both ways between the gateways and PostgreSQL (ss: bytes_sent +
# bytes_received of the gateways' connections).  One line of the table per run on stdout.
#
# PostgreSQL 15 runs from tests/integration/lib_pg.sh in a fresh directory,
# with fsync on (the tests run it with fsync off) and pg_stat_statements; the
# SQLite store keeps its default (synchronous: full).  Local CA with RSA-2048
# keys, log_level info, everything on 127.0.0.1, stopped by PID at exit.
#
# Environment:
#   SGW_BENCH_BUILD    build directory (/tmp/build-rel; set up as --buildtype=release
#                      from this tree when missing, and brought up to date)
#   SGW_BENCH_NO_BUILD 1: use the binaries in SGW_BENCH_BUILD as they are
#   SGW_PG_N           enrollments per run (1000)
#   SGW_PG_LEVELS      concurrency levels ("16 64")
#   SGW_PG_POOL        store.pool of each PostgreSQL instance (4, the default)
#   SGW_PG_RUNS        which runs ("sqlite pg1 pg2")
#   SGW_BENCH_OUT      keep the JSON results and logs there (default: discarded)
#   SGW_PG_DELAY_MS    the gateways reach PostgreSQL through tests/bench/delay_relay.py,
#                      which delivers each chunk this many ms late, both ways (a network
#                      between them; this machine's kernel has no netem).  Default: direct
# shellcheck shell=bash
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SGW_BENCH_BUILD:-/tmp/build-rel}
N=${SGW_PG_N:-1000}
LEVELS=${SGW_PG_LEVELS:-16 64}
POOL=${SGW_PG_POOL:-4}
RUNS=${SGW_PG_RUNS:-sqlite pg1 pg2}
WARM=64
RUN_TIMEOUT=900

T=$(mktemp -d /tmp/sgwpgbench.XXXXXX)
chmod 0755 "$T"
RES=${SGW_BENCH_OUT:-$T/results}
mkdir -p "$RES"
_PIDS=()
# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh"
PG_OPTS="-c fsync=on -c shared_preload_libraries=pg_stat_statements"
# shellcheck source=tests/integration/lib_pg.sh
. "$SRC/tests/integration/lib_pg.sh"

bench_build scepgw tests/bench/sgwload
SCEPGW=$BUILD/scepgw
SGWLOAD=$BUILD/tests/bench/sgwload
HZ=$(getconf CLK_TCK)

# ---- measurements -------------------------------------------------------------

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# pg_ticks: CPU of the whole server so far: every child of the postmaster,
# plus the children it reaped (cutime + cstime).
pg_ticks() {
	local pm c sum
	pm=$(head -n 1 "$PG_DIR/data/postmaster.pid")
	sum=$(awk '{ print $16 + $17 }' "/proc/$pm/stat")
	for c in $(pgrep -P "$pm"); do
		sum=$((sum + $(ticks "$c" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}
wbytes() { awk '/^write_bytes:/ { print $2 }' "/proc/$1/io"; }
# net_bytes: TCP payload both ways on the gateways' connections to PostgreSQL
net_bytes() {
	ss -tinH state established "( dport = :$DB_PORT )" |
		{ grep -o 'bytes_\(sent\|received\):[0-9]*' || true; } | awk -F: '{ s += $2 } END { print s + 0 }'
}
# net_trips: the messages the gateways sent to PostgreSQL (data_segs_out of
# their connections): one per round trip (a query, or a pipeline of them, is
# one write well under loopback's MSS)
net_trips() {
	ss -tinH state established "( dport = :$DB_PORT )" |
		{ grep -o 'data_segs_out:[0-9]*' || true; } | awk -F: '{ s += $2 } END { print s + 0 }'
}
q() { pg_psql -d postgres -c "$1"; }
# pg_counters: "statements commits wal_lsn" of the database scepgw
pg_counters() {
	q "select (select coalesce(sum(calls), 0) from pg_stat_statements s join pg_database d
	   on d.oid = s.dbid where d.datname = 'scepgw'),
	  (select xact_commit from pg_stat_database where datname = 'scepgw'),
	  pg_current_wal_lsn()" | tr '|' ' '
}

# ---- servers ----------------------------------------------------------------------

mkpki "$T/pki" 2048
P=$T/pki
pg_start
DB_PORT=$PG_PORT
if [ -n "${SGW_PG_DELAY_MS:-}" ]; then
	DB_PORT=$(free_port)
	python3 "$SRC/tests/bench/delay_relay.py" "$DB_PORT" "$PG_PORT" "$SGW_PG_DELAY_MS" &
	_PIDS+=($!)
	sleep 0.5
fi
q 'CREATE EXTENSION pg_stat_statements' >/dev/null

GW_PIDS=()
GW_URLS=()
# gw_up STORE NAME: one more gateway (log level info) with store mapping STORE
# and instance NAME.
gw_up() {
	local st=$T/$2 port
	port=$(free_port)
	mkdir -p "$st"
	gw_yaml "$P" "$port" "$st/scepgw.db" info "instance: $2" |
		sed "s|^store: .*|store: $1|" >"$st/scepgw.yaml"
	"$SCEPGW" -d -c "$st/scepgw.yaml" >"$st/scepgw.log" 2>&1 &
	GW_PIDS+=($!)
	_PIDS+=($!)
	GW_URLS+=("http://127.0.0.1:$port/scep/bench/pkiclient.exe")
	wait_http "${GW_URLS[-1]}?operation=GetCACaps" "$!" ||
		{ echo "pg.sh: scepgw did not start" >&2; tail -n 20 "$st/scepgw.log" >&2; exit 2; }
}
gw_down() {
	local p
	for p in "${GW_PIDS[@]}"; do _stop "$p"; done
	GW_PIDS=()
	GW_URLS=()
}
fresh_db() {
	q 'DROP DATABASE IF EXISTS scepgw WITH (FORCE)' >/dev/null
	q 'CREATE DATABASE scepgw' >/dev/null
}
PG_STORE="{ type: postgresql, conninfo: \"host=127.0.0.1 port=$DB_PORT user=scepgw dbname=scepgw\", password_file: \"$PG_PASSWORD_FILE\", pool: $POOL }"

# load_all OUT C N: sgwload against every gateway at once, C connections in
# all; the JSON of each in OUT.<i>.json
load_all() {
	local out=$1 c=$2 n=$3 i pids=() k=${#GW_URLS[@]}
	for i in "${!GW_URLS[@]}"; do
		timeout "$RUN_TIMEOUT" "$SGWLOAD" --json -q -u "${GW_URLS[$i]}" -p "$(cat "$P/challenge")" \
			-n $((n / k)) -c $((c / k)) -k 8 >"$out.$i.json" 2>"$out.$i.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
}

printf '| run | c | enrollments/s | p99 ms | failed | gateway CPU ms/enr | PostgreSQL CPU ms/enr | statements/enr | round trips/enr | commits/enr | WAL or file bytes/enr | network bytes/enr |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for run in $RUNS; do
	for c in $LEVELS; do
		fresh_db
		case $run in
		sqlite) rm -rf "$T/s1"; gw_up "{ type: sqlite, path: \"$T/s1/scepgw.db\" }" s1 ;;
		pg1) gw_up "$PG_STORE" a1 ;;
		pg2) gw_up "$PG_STORE" a1; gw_up "$PG_STORE" b1 ;;
		esac
		load_all "$RES/$run-$c-warm" "$c" "$WARM"
		sleep 2 # the backends report their counters once idle (at most every second)
		q 'select pg_stat_statements_reset()' >/dev/null
		g0=0 w0=0
		for p in "${GW_PIDS[@]}"; do
			g0=$((g0 + $(ticks "$p")))
			w0=$((w0 + $(wbytes "$p")))
		done
		p0=$(pg_ticks)
		n0=$(net_bytes)
		t0=$(net_trips)
		read -r s0 x0 l0 < <(pg_counters)
		load_all "$RES/$run-$c" "$c" "$N"
		g1=0 w1=0
		for p in "${GW_PIDS[@]}"; do
			g1=$((g1 + $(ticks "$p")))
			w1=$((w1 + $(wbytes "$p")))
		done
		p1=$(pg_ticks)
		n1=$(net_bytes)
		t1=$(net_trips)
		sleep 2
		read -r s1 x1 l1 < <(pg_counters)
		wal=$(q "select pg_wal_lsn_diff('$l1', '$l0')::bigint")
		[ "$run" = sqlite ] && wal=$((w1 - w0))
		python3 - "$run" "$c" "$HZ" "$((g1 - g0))" "$((p1 - p0))" "$((s1 - s0))" "$((x1 - x0))" \
			"$wal" "$((n1 - n0))" "$((t1 - t0))" "$RES/$run-$c".*.json <<'PY'
import json, sys
run, c, hz, g, p, s, x, wal, net, trips = sys.argv[1:11]
rs = [json.load(open(f)) for f in sys.argv[11:]]
ok = sum(r.get("ok", 0) for r in rs)
failed = sum(r.get("failed", 0) for r in rs) + sum(1 for r in rs if "ok" not in r)
el = max(r.get("elapsed_s", 0) for r in rs) or 1
p99 = max(r.get("latency_ms", {}).get("p99", 0) for r in rs)
hz, n = int(hz), max(ok, 1)
pg = run != "sqlite"
ms = lambda t: "%.2f" % (int(t) * 1000 / hz / n)
per = lambda v: "%.1f" % (int(v) / n)
print("| %s | %s | %.0f | %.1f | %d | %s | %s | %s | %s | %s | %s | %s |" % (
    run, c, ok / el, p99, failed, ms(g), ms(p) if pg else "-", per(s) if pg else "-",
    per(trips) if pg else "-",
    per(x) if pg else "-", "%.0f" % (int(wal) / n), "%.0f" % (int(net) / n) if pg else "-"))
PY
		gw_down
	done
done
log "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
