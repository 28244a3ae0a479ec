#!/usr/bin/env bash
# t_pg_load: load on two gateways sharing one PostgreSQL database (issue 20),
# with the project's load tool: 64 connections in all, every enrollment
# succeeds, no serial is issued twice across the instances, each certificate
# a client received is in the database; then kill -9 of A during the load:
# B keeps serving and every certificate a client received (from A too) is in
# the database.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SGWLOAD:?SGWLOAD must name the load tool}"

N=${PG_LOAD_N:-150} # enrollments per instance and round
pg_start
GW_LOG_LEVEL=warn GW_STORE=$(pg_store_yaml 4) gw_config "$CFG"
gw_b_config
gw_start
gw_b_start
D=$T/load
mkdir -p "$D"
# load NAME URL: sgwload in the background, 32 connections; pid in LOAD_PID
load() {
	"$SGWLOAD" -u "$2" -p "$CHALLENGE" -n "$N" -c 32 -k 8 -q --json \
		--cn-prefix "$1" --serials "$D/$1.serials" >"$D/$1.json" 2>"$D/$1.err" &
	LOAD_PID=$!
}
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

# --- both at once: 0 failures, 0 duplicate serials ----------------------------
t0=$SECONDS
load a1 "$URL"
pa=$LOAD_PID
load b1 "$B_BASE/scep/dev/pkiclient.exe"
pb=$LOAD_PID
sa=0 sb=0
wait "$pa" || sa=$?
wait "$pb" || sb=$?
log "two instances, $((2 * N)) enrollments, c=64: $((SECONDS - t0)) s"
check "A's load: every enrollment succeeded ($(json "$D/a1.json" ok) ok)" \
	test "$sa:$(json "$D/a1.json" failed)" = 0:0
check "B's load: every enrollment succeeded ($(json "$D/b1.json" ok) ok)" \
	test "$sb:$(json "$D/b1.json" failed)" = 0:0
check "no serial twice across A and B" \
	test "$(cat "$D/a1.serials" "$D/b1.serials" | sort | uniq -d | wc -l)" = 0
check "the database holds $((2 * N)) certificates" \
	test "$(pg_psql -c 'select count(*) from certificates')" = $((2 * N))
cat "$D/a1.serials" "$D/b1.serials" >"$D/1.serials"
check "each one a client received" pg_has_serials "$D/1.serials"
check "A and B both served requests" bash -c \
	"[ \$(wc -l <'$D/a1.serials') -gt 0 ] && [ \$(wc -l <'$D/b1.serials') -gt 0 ]"

# --- kill -9 of A during the load -------------------------------------------------
load a2 "$URL"
pa=$LOAD_PID
load b2 "$B_BASE/scep/dev/pkiclient.exe"
pb=$LOAD_PID
for ((i = 0; i < 100; i++)); do # until A has issued some of this round
	[ "$(pg_psql -c "select count(*) from certificates where subject like '%a2%'")" -ge 10 ] && break
	sleep 0.1
done
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
log "A killed (kill -9) during the load"
sb=0
wait "$pa" || true
wait "$pb" || sb=$?
check "B kept serving: every enrollment of its load succeeded" \
	test "$sb:$(json "$D/b2.json" failed)" = 0:0
check "A's clients got some certificates before the kill ($(wc -l <"$D/a2.serials"))" \
	test -s "$D/a2.serials"
cat "$D/a2.serials" "$D/b2.serials" >"$D/2.serials"
check "every certificate a client received from A or B is in the database" \
	pg_has_serials "$D/2.serials"
check "no serial twice in the database" \
	test "$(pg_psql -c 'select count(*) - count(distinct serial) from certificates')" = 0
gw_b_stop
finish
