#!/usr/bin/env bash
# t_pg_failover: the PostgreSQL store across a failover (issue 20).  A
# primary and a synchronous streaming standby (pg_basebackup -R,
# synchronous_standby_names '*'); gateway A's conninfo names both hosts with
# target_session_attrs=read-write, gateway B's names both without it (the
# default "any": when the primary is gone its connections land on the
# read-only standby).  Under load on both, the standby's WAL receiver is
# stopped first: no client gets a certificate while the standby cannot
# confirm it.  Then the primary is killed (`pg_ctl stop -m immediate`, the
# commits waiting for the standby with it) and, seconds later, the standby
# promoted:
# while there is no primary both answer PKIOperation with 503, never a
# FAILURE CertRep or a 500 (B's writes on the standby fail with SQLSTATE
# 25006), then both resume on the promoted server without a restart.  Every
# certificate a client received is in the promoted database, no serial
# twice, and a request held PENDING before the failover is approved after
# it (admin API) and delivered by CertPoll.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SGWLOAD:?SGWLOAD must name the load tool}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

pg_start
pg_standby_start
check "the standby replicates synchronously" \
	test "$(pg_psql -d postgres -c 'select sync_state from pg_stat_replication')" = sync
GW_STORE=$(pg_store_yaml 3 "$(pg_pair_url target_session_attrs=read-write)") gw_config "$CFG"
gw_b_config
sed -i 's| target_session_attrs=read-write||' "$B_CFG"
check "B's conninfo has no target_session_attrs" not grep -q target_session_attrs "$B_CFG"
gw_start
gw_b_start
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
status() { curl -s -o /dev/null -w '%{http_code}' "$1"; }
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=/x:/'; }
A_DEV=$URL
B_DEV=$B_BASE/scep/dev/pkiclient.exe
MANUAL=$BASE/scep/manual/pkiclient.exe
standby_psql() { psql -h "$PG2_DIR" -p "$PG2_PORT" -U scepgw -d scepgw -XAtq "$@"; }

check "an enrollment on A before the failover" enroll -u "$A_DEV" -c "$CHALLENGE" --cn pre-a \
	--out "$D/pre-a.pem"
check "an enrollment on B before the failover" enroll -u "$B_DEV" -c "$CHALLENGE" --cn pre-b \
	--out "$D/pre-b.pem"
check "PKCSReq on A's manual profile: PENDING" \
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn fo-appr --out-key "$D/ap.key" \
	--save-request "$D/ap.der" --expect pending
check "... the standby already has the pending request (the commit waited for it)" \
	test "$(standby_psql -c "select count(*) from transactions where subject like '%fo-appr%'")" = 1

# --- load on A and B, in rounds until told to stop ---------------------------------
# (sgwload's own OpenSSL allocations at exit are not the gateway's: no leak check for it)
load() { # NAME URL CONCURRENCY
	local i=0
	while [ ! -e "$D/stop" ]; do
		ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$SGWLOAD" -u "$2" -p "$CHALLENGE" \
			-n 30 -c "$3" -k 2 -q --json --cn-prefix "$1$i-" --serials "$D/$1.$i.serials" \
			>"$D/$1.$i.json" 2>"$D/$1.$i.err" || true
		i=$((i + 1))
		sleep 0.1
	done
}
load la "$A_DEV" 6 &
la=$!
track_pid "$la"
load lb "$B_DEV" 2 &
lb=$!
track_pid "$lb"
certs() { pg_psql -c "select count(*) from certificates where subject like '%CN=$1%'"; }
grows() { # PREFIX N SECONDS: at least N more certificates for PREFIX within SECONDS
	local i base
	base=$(certs "$1")
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(certs "$1")" -ge $((base + $2)) ] && return 0
		sleep 0.1
	done
	return 1
}
check "the load enrolls on A before the failover" grows la 20 30
check "... and on B" grows lb 5 30
mark_a=$(gw_log_mark)
mark_b=$(wc -l <"$B_LOG")

# --- the standby stops confirming (its WAL receiver SIGSTOPped) ---------------------
# A COMMIT now waits for the standby, so no client may get a certificate (with
# asynchronous replication, or a reply sent before its COMMIT returned, the
# clients would get ones the standby never sees).
walrcv=$(standby_psql -d postgres -c 'select pid from pg_stat_wal_receiver')
check "the standby's WAL receiver runs (pid '$walrcv')" test -n "$walrcv"
[ -n "$walrcv" ] || finish
kill -STOP "$walrcv"
log "the standby's WAL receiver stopped"
sleep 1.5 # replies whose COMMIT the standby confirmed before may still be on their way
pause_a=$(gw_log_mark)
pause_b=$(wc -l <"$B_LOG")
sleep 1.5
delivered() { # LOG MARK: certificates delivered since MARK
	tail -n "+$(($2 + 1))" "$1" | grep 'op=PKCSReq' | grep -c 'outcome=success' || true
}
check "no certificate delivered on A while the standby could not confirm" \
	test "$(delivered "$GW_LOG" "$pause_a")" = 0
check "... nor on B" test "$(delivered "$B_LOG" "$pause_b")" = 0

# --- the primary dies; no primary for a few seconds -------------------------------
pg_crash
kill -CONT "$walrcv"
log "primary stopped (immediate); standby not promoted yet"
t0=$(date +%s)
check "A while there is no primary: HTTP 503" \
	enroll -u "$A_DEV" -c "$CHALLENGE" --cn gap-a --expect http-503 --timeout 15
check "B (on the read-only standby) while there is no primary: HTTP 503" \
	enroll -u "$B_DEV" -c "$CHALLENGE" --cn gap-b --expect http-503 --timeout 15
check "A's GetCACaps still answers 200" test "$(status "$A_DEV?operation=GetCACaps")" = 200
healthz() { # CODE BASE SECONDS: BASE's /healthz answers CODE within SECONDS
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		[ "$(status "$2/healthz")" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
check "A's /healthz says not ready" healthz 503 "$BASE" 5
check "B's /healthz says not ready (connected to a standby or not at all)" healthz 503 "$B_BASE" 5
load_503() { # LOG MARK NAME: NAME's load got a 503 since MARK (within 20 s)
	local i
	for ((i = 0; i < 100; i++)); do
		tail -n "+$(($2 + 1))" "$1" | grep 'op=PKCSReq' | grep "txn=$3" | grep -q 'status=503' &&
			return 0
		sleep 0.2
	done
	return 1
}
check "A's load gets 503s while there is no primary" load_503 "$GW_LOG" "$mark_a" la
check "B's load gets 503s while there is no primary" load_503 "$B_LOG" "$mark_b" lb
while [ $(($(date +%s) - t0)) -lt 3 ]; do sleep 0.2; done
pg_promote_standby
log "standby promoted: $(pg_psql -c 'select pg_is_in_recovery()')"
check "the promoted server is out of recovery" test "$(pg_psql -c 'select pg_is_in_recovery()')" = f

check "A's /healthz is ready again within 20 s" healthz 200 "$BASE" 20
check "B's /healthz is ready again within 20 s" healthz 200 "$B_BASE" 20
check "the load enrolls on A after the failover" grows la 20 40
check "... and on B" grows lb 5 40
touch "$D/stop"
wait "$la" || true
wait "$lb" || true
check "A reconnected (logged)" grep -q 'store: postgresql: connection [0-9]* re-established' "$GW_LOG"

# --- what the clients saw ------------------------------------------------------------
only_503() { # NAME: every round of NAME: failures are HTTP 503 only; some 503, some ok
	python3 - "$D" "$1" <<'EOF'
import glob, json, sys
ok = failed = n503 = 0
bad = []
for f in sorted(glob.glob(f"{sys.argv[1]}/{sys.argv[2]}.*.json")):
    d = json.load(open(f))
    ok += d["ok"]; failed += d["failed"]
    n503 += d["http_status"].get("503", 0)
    if set(d["failures"]) - {"http_status"} or set(d["http_status"]) - {"503"}:
        bad.append((f, d["failures"], d["failinfo"], d["http_status"]))
print(f"{sys.argv[2]}: ok {ok} failed {failed} (503: {n503})")
assert not bad, bad
assert ok > 0 and n503 > 0, "the failover did not happen during the load"
EOF
}
check "A's load: the only failures are 503s (while there was no primary)" only_503 la
check "B's load: the only failures are 503s (none for the standby's read-only errors)" only_503 lb
outcomes() { # LOG MARK: the PKIOperation outcomes logged since MARK
	tail -n "+$(($2 + 1))" "$1" | grep 'op=PKCSReq' | sed -n 's/.* outcome=\([A-Za-z]*\) .*/\1/p' |
		sort | uniq -c
}
log "A's outcomes across the failover: $(outcomes "$GW_LOG" "$mark_a" | tr '\n' ' ')"
log "B's outcomes across the failover: $(outcomes "$B_LOG" "$mark_b" | tr '\n' ' ')"
check "A logged no outcome but success and unavailable" \
	test -z "$(outcomes "$GW_LOG" "$mark_a" | grep -vwE 'success|unavailable')"
check "B logged no outcome but success and unavailable" \
	test -z "$(outcomes "$B_LOG" "$mark_b" | grep -vwE 'success|unavailable')"

cat "$D"/la.*.serials "$D"/lb.*.serials >"$D/all.serials"
serial_of "$D/pre-a.pem" >>"$D/all.serials"
serial_of "$D/pre-b.pem" >>"$D/all.serials"
log "$(wc -l <"$D/all.serials") certificates received by clients"
check "every certificate a client received is in the promoted database" \
	pg_has_serials "$D/all.serials"
check "no serial was received twice" \
	test -z "$(cut -d: -f2 "$D/all.serials" | tr 'A-F' 'a-f' | sed 's/^0*//' | sort | uniq -d)"

# --- after the failover --------------------------------------------------------------
check "an enrollment on A after the failover" enroll -u "$A_DEV" -c "$CHALLENGE" --cn post-a
check "an enrollment on B after the failover" enroll -u "$B_DEV" -c "$CHALLENGE" --cn post-b
ID=$(pg_psql -c "select id from transactions where subject like '%CN=fo-appr%'")
check "the pending request is in the promoted database (id '$ID')" test -n "$ID"
check "approved after the failover (admin API on A)" ctl approve "$ID"
check "the approved request is issued" pg_txn_state "$ID" 5
check "CertPoll delivers it" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/ap.der" --key "$D/ap.key" --cn fo-appr \
	--out "$D/ap.pem"
check "... a certificate for fo-appr that verifies" \
	bash -c "openssl verify -CAfile '$PKI/chain.pem' '$D/ap.pem' && openssl x509 -in '$D/ap.pem' -noout -subject | grep -q fo-appr"

gw_b_stop
finish
