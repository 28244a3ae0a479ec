#!/usr/bin/env bash
# t_pg_loop: on PostgreSQL, the store calls of an operator's approval and
# rejection, a revocation, a one-time challenge, the timer's tick and the
# /healthz ping wait on a store thread, never on the event loop (issue 20:
# "it never blocks the event loop").  psql holds an exclusive lock on the
# table the call needs for 4 s (for /healthz: the database's processes are
# stopped for 3 s); meanwhile GetCACaps answers within 1 s; then the call
# completes.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

pg_start
GW_PENDING_TTL=8s # the timer's tick every 2 s (txn_admin.c)
GW_STORE=$(pg_store_yaml 4) gw_config "$CFG"
gw_start "$CFG"
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }

# lock TABLE: hold an exclusive lock on TABLE for 4 s (background, pid in locker)
lock() {
	pg_psql -c "BEGIN; LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT" \
		>/dev/null 2>&1 &
	locker=$!
	sleep 0.5
	check "psql holds the lock on $1" kill -0 "$locker" # a failed LOCK exits at once
}
caps_fast() { curl -sSf --max-time 1 -o /dev/null "$URL?operation=GetCACaps"; }
# while_locked TABLE NAME CMD...: CMD in the background while TABLE is locked;
# GetCACaps must answer meanwhile, CMD must succeed once the lock is gone
while_locked() {
	local table=$1 what=$2 rc=0
	shift 2
	lock "$table"
	"$@" >"$D/$what.out" 2>&1 &
	local pid=$!
	sleep 0.3
	check "GetCACaps answers within 1 s while $what waits for the locked $table" caps_fast
	wait "$locker" || true
	wait "$pid" || rc=$?
	check "$what completes once the lock is gone (exit $rc)" test "$rc" = 0
}

# --- approve and reject (held NAME: a request held for approval, its id in ID) ------------------------------------------------------------
held() {
	check "PKCSReq on the manual profile ($1): PENDING" \
		enroll -u "$BASE/scep/manual/pkiclient.exe" -c "$CHALLENGE" --cn "$1" \
		--out-key "$D/$1.key" --expect pending
	ID=$(ctl pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "CN='"$1"'" in t["subject"].split(","): print(t["id"])')
}
state() { pg_psql -c "select state from transactions where id = $1"; }
held loop-appr
check "held (id '$ID')" test -n "$ID"
while_locked transactions "an approval" ctl approve "$ID"
check "... committed: no longer awaiting approval (state $(state "$ID"))" \
	test "$(state "$ID")" != 2
held loop-rej
check "held (id '$ID')" test -n "$ID"
while_locked transactions "a rejection" ctl reject "$ID" --reason "not this one"
check "... committed: REJECTED (state $(state "$ID"))" test "$(state "$ID")" = 6

# --- revoke through the admin API --------------------------------------------------
check "enroll loop-rv" enroll -u "$URL" -c "$CHALLENGE" --cn loop-rv --out "$D/rv.pem" \
	--out-key "$D/rv.key"
SER=$(openssl x509 -in "$D/rv.pem" -noout -serial | sed 's/^serial=//')
while_locked certificates "a revocation" ctl revoke "$SER" --reason keyCompromise
revoked() { test "$(pg_psql -c "select count(*) from certificates where serial = lower('$SER') and revoked <> 0")" = 1; }
check "... committed: the store marks it revoked" revoked

# --- a one-time challenge (admin API) ------------------------------------------------
while_locked otps "a challenge's creation" ctl challenge otp
OTP=$(tail -n 1 "$D/a challenge's creation.out")
check "... committed: the challenge ($OTP) enrolls" enroll -u "$BASE/scep/otp/pkiclient.exe" \
	-c "$OTP" --cn loop-otp --out "$D/otp.pem" --out-key "$D/otp.key"

# --- the timer's tick: leases, expiry, resubmission -----------------------------------
sweep_lease() { pg_psql -c "select expires from leases where job = 'txn-sweep'"; }
caps_thrice() {
	local i
	for i in 1 2 3; do
		caps_fast || return 1
		sleep 1
	done
}
lock transactions
check "GetCACaps answers within 1 s, three times over 3 s, while the timer's tick waits for the locked transactions" \
	caps_thrice
wait "$locker" || true
lease0=$(sweep_lease) # the stuck tick renewed it before it waited; the next ones again
renewed() {
	local i
	for ((i = 0; i < 30; i++)); do
		[ "$(sweep_lease)" -gt "$lease0" ] && return 0
		sleep 0.2
	done
	return 1
}
check "the tick completes once the lock is gone (the sweep's lease renewed past $lease0)" renewed

# --- /healthz's store ping: the database's processes stopped for 3 s ------------------
PM=$(head -n 1 "$PG_DIR/data/postmaster.pid")
BACKENDS=$(pgrep -P "$PM" | tr '\n' ' ' || true)
check "the database's processes (children of $PM: $BACKENDS)" test -n "$BACKENDS"
# shellcheck disable=SC2086  # one pid per word
kill -STOP $BACKENDS
# shellcheck disable=SC2086
(
	sleep 3
	kill -CONT $BACKENDS 2>/dev/null
) &
cont=$!
curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/healthz" >"$D/hz.code" 2>&1 &
hz=$!
sleep 0.3
check "GetCACaps answers within 1 s while /healthz waits for the stopped database" caps_fast
wait "$cont" || true
wait "$hz" || true
check "/healthz answers 200 once the database runs again" test "$(cat "$D/hz.code")" = 200

finish
