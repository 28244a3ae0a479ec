#!/usr/bin/env bash
# t_shutdown.sh: stopping under load frees nothing a worker still uses.
# The gateway is loaded with enrollments (sgwload, many connections, a queue
# of RSA jobs on the worker pool) and stopped twice: once by two SIGINTs in a
# row (the second one stops at once, with the worker queue full), once by
# SIGTERM while the drain deadline passes.  Each time it must exit without a
# sanitizer report (the profiles used to be freed before the worker pool
# stopped: a use-after-free in a queued job).  The second signal ends the
# drain at once: the requests still in flight are dropped unanswered and
# freed (they leaked), so leak detection stays on for both runs, and the log
# says how many were dropped.
. "$(dirname "$0")/lib.sh"
: "${SGWLOAD:?SGWLOAD must name the sgwload load generator}"

# one worker: the queue stays long while the load runs
GW_TOP_EXTRA="workers: 1"
gw_config "$CFG"

# load_and_stop SIGNALS...: start the gateway, load it, send each signal 10 ms
# apart, wait for the exit; checks the exit and the log.
load_and_stop() {
	local st=0 i load
	GW_LOG=$T/scepgw-$(echo "$*" | tr ' ' -).log
	gw_start
	"$SGWLOAD" -u "$URL" -p "$CHALLENGE" -n 3000 -c 64 -k 4 --key-bits 1024 -j 1 -q -t 5 \
		>/dev/null 2>&1 &
	load=$!
	track_pid "$load"
	# until requests are being served (the log shows finished ones)
	for ((i = 0; i < 600; i++)); do
		grep -q 'op=PKCSReq' "$GW_LOG" && break
		sleep 0.1
	done
	sleep 1
	for s in "$@"; do
		kill -"$s" "$GW_PID"
		sleep 0.01
	done
	for ((i = 0; i < 200; i++)); do
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$GW_PID" || st=$?
	GW_PID=
	kill "$load" 2>/dev/null || true
	wait "$load" 2>/dev/null || true
	check "$* under load: the gateway exits 0 (got $st)" test "$st" -eq 0
	check "$* under load: no sanitizer report" \
		not grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$GW_LOG"
}

load_and_stop INT INT
check "INT INT: the log says how many requests were dropped" \
	grep -Eq 'shutdown: [1-9][0-9]* request\(s\) dropped unanswered' "$GW_LOG"
load_and_stop TERM
finish
