#!/usr/bin/env bash
# t_pg_loop: on PostgreSQL, the store calls of an operator's approval and
# rejection, a revocation, a one-time challenge, the timer's tick, the local
# CA's shared state (its revocations, a CRL served, the CRL stored after a
# revocation, the periodic CRL job), a background submission that fails and
# the /healthz ping wait on a store thread, never on the event loop (issue
# 20: "it never blocks the event loop").  psql holds an exclusive lock on the
# table the call needs for 3 s (a row lock for the failed submission; for
# /healthz: the database's processes are stopped for 3 s); meanwhile
# GetCACaps answers within 1 s; then the call completes.
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
# the CRL job every 7 s (crl_validity / 8, local/revoke.c)
sed -i 's|state_dir: "\([^"]*\)" }|state_dir: "\1", crl_validity: 1m }|' "$CFG"
check "crl_validity: 1m in the configuration" grep -q 'crl_validity: 1m' "$CFG"
gw_start "$CFG"
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }

# lock TABLE [SECONDS]: hold an exclusive lock on TABLE for 3 s (background, pid in locker)
lock() {
	pg_psql -c "BEGIN; LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(${2:-3}); COMMIT" \
		>/dev/null 2>&1 &
	locker=$!
	check "psql holds the lock on $1" pg_table_locked "$1"
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
lock transactions 4
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

# --- the local CA's shared state: its revocations and its CRL ------------------------
lists() { openssl crl -inform DER -in "$1" -noout -text | grep -qi "Serial Number: $2\$"; }
crl_lists() { curl -sSf -o "$D/now.crl" "$BASE/crl/local-ca.crl" && lists "$D/now.crl" "$1"; }
check "enroll loop-ca1" enroll -u "$URL" -c "$CHALLENGE" --cn loop-ca1 --out "$D/ca1.pem" \
	--out-key "$D/ca1.key"
SER=$(openssl x509 -in "$D/ca1.pem" -noout -serial | sed 's/^serial=//')
while_locked ca_revoked "a revocation into the CA's list" ctl revoke "$SER"
check "... the CRL lists $SER" crl_lists "$SER"
check "enroll loop-ca2" enroll -u "$URL" -c "$CHALLENGE" --cn loop-ca2 --out "$D/ca2.pem" \
	--out-key "$D/ca2.key"
SER=$(openssl x509 -in "$D/ca2.pem" -noout -serial | sed 's/^serial=//')
while_locked ca_crl "a revocation's CRL" ctl revoke "$SER"
check "... the CRL lists $SER" crl_lists "$SER"
while_locked ca_crl "a CRL served" curl -sSf -o "$D/locked.crl" "$BASE/crl/local-ca.crl"
check "... it lists $SER" lists "$D/locked.crl" "$SER"
crl_lease() { pg_psql -c "select expires from leases where job = 'crl:local-ca'"; }
caps_for() {
	local i
	for ((i = 0; i < $1; i++)); do
		caps_fast || return 1
		sleep 1
	done
}
lease0=$(crl_lease)
lock ca_crl 9
check "GetCACaps answers within 1 s, 8 times over 8 s, while the CRL job (every 7 s) waits for the locked ca_crl" \
	caps_for 8
wait "$locker" || true
check "... the CRL job ran meanwhile (its lease renewed past '$lease0': $(crl_lease))" \
	test "$(crl_lease)" -gt "${lease0:-0}"

# --- a background submission that fails: its FAILED row waits, not the loop ------------
# A held request becomes a SUBMITTED one left by a restart, carrying another
# request's sealed CSR: the timer's tick submits it again, the CSR opened is
# not the recorded one, and the FAILED update waits for psql's row lock.
held loop-f1
ID1=$ID
held loop-f2
check "held (ids '$ID1' '$ID')" test -n "$ID1" -a -n "$ID"
printf '%s\n' "UPDATE transactions SET state = 3, updated = 1, csr_sealed = (SELECT csr_sealed FROM transactions WHERE id = $ID) WHERE id = $ID1;" \
	"BEGIN;" "SELECT 1 FROM transactions WHERE id = $ID1 FOR UPDATE;" "SELECT pg_sleep(5);" \
	"COMMIT;" | pg_psql >/dev/null 2>&1 &
locker=$!
check "psql holds the row of transaction $ID1" pg_table_locked transactions RowShareLock
check "GetCACaps answers within 1 s, 4 times over 4 s, while the failed submission's update waits for the row" \
	caps_for 4
wait "$locker" || true
failed() {
	local i
	for ((i = 0; i < 30; i++)); do
		[ "$(state "$ID1")" = 7 ] && return 0
		sleep 0.2
	done
	return 1
}
check "... committed once the lock is gone: FAILED (state $(state "$ID1"))" failed
check "... logged" grep -q "failed: stored request unreadable" "$GW_LOG"

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
