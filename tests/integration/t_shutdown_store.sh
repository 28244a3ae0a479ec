#!/usr/bin/env bash
# t_shutdown_store.sh: stopping while PKIOperations wait in store steps frees
# every request.  With `store: { offload: true }` (one store thread) another
# process write-locks the database, sgwload sends 24 enrollments at once and
# their first store step queues behind the lock (each waits out SQLite's 2 s
# busy timeout in turn).  Then:
#  - SIGTERM: the 10 s drain deadline passes with steps still queued; they are
#    dropped, and the requests they belonged to are freed (they leaked);
#  - SIGTERM, then SIGINT 1 s later: the second signal ends the drain at once,
#    freeing the same way.
# During the drain a request on a connection kept alive from before gets 503
# with Retry-After.  Each time, under ASan with leak detection on: exit 0, no sanitizer report,
# and a log line with how many requests were dropped unanswered.
# shellcheck disable=SC2317  # the check functions run through check()
. "$(dirname "$0")/lib.sh"
: "${SGWLOAD:?SGWLOAD must name the sgwload load generator}"

GW_STORE_EXTRA=", offload: true"
gw_config "$CFG"
D=$T/c
mkdir -p "$D"

# stop_while_locked NAME SIGNAL...: lock the store, start the gateway and the
# load, send the signals 1 s apart once every request is queued, wait for the
# exit, unlock; checks the exit, the log and the sanitizers.
stop_while_locked() {
	local name=$1 st=0 i locker load t0
	shift
	GW_LOG=$T/scepgw-$name.log
	rm -f "$D/locked" "$D/release" "$D/signalled"
	gw_start
	python3 -c 'import os,sqlite3,sys,time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
end = time.time() + 50
while not os.path.exists(sys.argv[3]) and time.time() < end:
    time.sleep(0.05)
c.execute("COMMIT")' "$T/scepgw.db" "$D/locked" "$D/release" &
	locker=$!
	track_pid "$locker"
	for ((i = 0; i < 100; i++)); do [ -e "$D/locked" ] && break; sleep 0.05; done
	"$SGWLOAD" -u "$URL" -p "$CHALLENGE" -n 24 -c 24 -k 2 --key-bits 1024 -t 40 \
		>"$D/$name-load.out" 2>&1 &
	load=$!
	track_pid "$load"
	for ((i = 0; i < 300; i++)); do grep -q '^sgwload: built ' "$D/$name-load.out" && break; sleep 0.05; done
	# a keep-alive connection opened now asks again during the drain
	python3 -c 'import http.client,os,sys,time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/scep/dev/pkiclient.exe?operation=GetCACaps"); c.getresponse().read()
end = time.time() + 10
while not os.path.exists(sys.argv[2]) and time.time() < end:
    time.sleep(0.05)
c.request("GET", "/scep/dev/pkiclient.exe?operation=GetCACaps"); r = c.getresponse(); r.read()
print(r.status, r.getheader("Retry-After"))' "$PORT" "$D/signalled" >"$D/$name-drain.out" 2>&1 &
	track_pid $!
	# every request decoded and queued for its first store step
	sleep 2
	for s in "$@"; do
		kill -"$s" "$GW_PID"
		touch "$D/signalled"
		sleep 1
	done
	t0=$SECONDS
	for ((i = 0; i < 250; i++)); do
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	STOP_SECONDS=$((SECONDS - t0))
	wait "$GW_PID" || st=$?
	GW_PID=
	touch "$D/release"
	wait "$locker" || true
	kill "$load" 2>/dev/null || true
	wait "$load" 2>/dev/null || true
	check "$name: the gateway exits 0 (got $st)" test "$st" -eq 0
	check "$name: no sanitizer report (no leak)" \
		not grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$GW_LOG"
	check "$name: the log says how many requests were dropped" \
		grep -Eq 'shutdown: [1-9][0-9]* request\(s\) dropped unanswered' "$GW_LOG"
}

stop_while_locked term TERM
check "term: a request on a kept-alive connection during the drain: 503 with Retry-After: 10" \
	grep -qx '503 10' "$D/term-drain.out"
check "... logged with its reason" grep -q 'status=503.*reason="shutting down"' "$GW_LOG"
check "term: the drain deadline passed with requests in flight" \
	grep -q 'requests still in flight, stopping anyway' "$GW_LOG"
stop_while_locked term-int TERM INT
check "term-int: the second signal ended the drain" grep -q 'second signal: stopping now' "$GW_LOG"
check "term-int: ... at once (exited ${STOP_SECONDS}s after it, not at the 10 s deadline)" \
	test "$STOP_SECONDS" -le 4
finish
