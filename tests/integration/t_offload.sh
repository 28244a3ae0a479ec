#!/usr/bin/env bash
# t_offload.sh: the request path's store steps off the loop (issue 20).  With
# `store: { type: sqlite, offload: true }` SQLite runs the steps on one store
# thread, as PostgreSQL will on its pool: a representative set of the
# enrollment tests passes there too (enroll, re-send, renewal, GetCert,
# approval with CertPoll, one-time challenges, 6 parallel uses of one, the
# admin API's reads, the load tool at c=32), and GetCACaps keeps answering at once while every
# PKIOperation waits in a store step (the database write-locked by another
# process for 1.2 s while they are sent: the steps wait in SQLite's busy
# handler on the store thread; inline they would hold the loop).
# shellcheck disable=SC2317  # the check functions run through check()
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"
: "${SGWLOAD:?SGWLOAD must name the sgwload load generator}"

GW_STORE_EXTRA=", offload: ${SGW_T_OFFLOAD:-true}"
gw_config "$CFG"
gw_start
GW_T0=$SECONDS
D=$T/c
mkdir -p "$D"
MANUAL=$BASE/scep/manual/pkiclient.exe
OTP_URL=$BASE/scep/otp/pkiclient.exe
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
pending_id() {
	ctl pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "CN=" + sys.argv[1] in t["subject"]:
        print(t["id"])' "$1"
}

check "the gateway runs one store thread" grep -q 'ready: .* 1 store thread(s)' "$GW_LOG"
check "... named scepgw-store" grep -qx scepgw-store /proc/"$GW_PID"/task/*/comm

# --- enroll, re-send, renewal, GetCert ----------------------------------------------
check "PKCSReq: SUCCESS" enroll -u "$URL" -c "$CHALLENGE" --cn off-1 --txid off-1-txn \
	--out "$D/a.pem" --out-key "$D/a.key" --save-request "$D/a.der"
check "CertPoll of the issued request: the same certificate (read in a store step)" \
	enroll -u "$URL" --certpoll --send-request "$D/a.der" --key "$D/a.key" --cn off-1 \
	--out "$D/a2.pem"
check "... byte for byte" cmp -s "$D/a.pem" "$D/a2.pem"
check "RenewalReq signed by it: SUCCESS" enroll -u "$URL" --cn off-1 --signer-cert "$D/a.pem" \
	--signer-key "$D/a.key" --message-type 17 --out "$D/n.pem" --out-key "$D/n.key"
check "... the old certificate is superseded" grep -q 'renewal: certificate .* superseded by' "$GW_LOG"
check "a second renewal by the superseded certificate falls back to the challenge: refused" \
	enroll -u "$URL" --cn off-1 --signer-cert "$D/a.pem" --signer-key "$D/a.key" \
	--message-type 17 --expect failure --expect-failinfo badRequest
SN=$(openssl x509 -in "$D/n.pem" -noout -serial | sed 's/^serial=//')
"$SCEPREQ" getcert -u "$URL" --ra-chain "$D/ra-chain.pem" --signer-cert "$D/a.pem" \
	--signer-key "$D/a.key" --serial "$SN" -o "$D/got.pem" >"$D/gc.out" 2>&1 || true
check "GetCert of its renewal, signed by the old certificate: SUCCESS" \
	grep -q '^status=SUCCESS serial=' "$D/gc.out"
check "... the very certificate" cmp -s <(openssl x509 -in "$D/n.pem" -outform DER) \
	<(openssl x509 -in "$D/got.pem" -outform DER)

# --- approval: PENDING, CertPoll, approve, CertPoll SUCCESS ----------------------------
check "PKCSReq on the manual profile: PENDING" \
	enroll -u "$MANUAL" -c "$CHALLENGE" --cn off-appr --out-key "$D/m.key" \
	--save-request "$D/m.der" --expect pending
check "CertPoll before the decision: PENDING" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/m.der" --key "$D/m.key" --cn off-appr \
	--expect pending
ID=$(pending_id off-appr || true)
check "approve it ($ID)" ctl approve "$ID"
check "it is issued in the background" wait_log "profile=manual: background submission: ISSUED" 10
check "the next CertPoll: SUCCESS" \
	enroll -u "$MANUAL" --certpoll --send-request "$D/m.der" --key "$D/m.key" --cn off-appr \
	--out "$D/m.pem"
check "... a certificate that verifies" openssl verify -CAfile "$PKI/chain.pem" "$D/m.pem"
# the admin API's reads are store steps too (admin_read.c)
check "scepgwctl show $ID: ISSUED" bash -c "'$SCEPGWCTL' --config '$T/scepgwctl.conf' show '$ID' | grep -q 'state: *ISSUED'"
check "scepgwctl certs --subject off-1: the first certificate and its renewal" \
	test "$(ctl certs --subject off-1 | grep -c 'CN=off-1')" -eq 2
check "scepgwctl show 999999: not found" not ctl show 999999

# --- one-time challenges ----------------------------------------------------------------
OTP1=$(ctl challenge otp 2>/dev/null || true)
OTP2=$(ctl challenge otp 2>/dev/null || true)
check "a one-time challenge enrolls" enroll -u "$OTP_URL" -c "$OTP1" --cn off-otp
check "... once" enroll -u "$OTP_URL" -c "$OTP1" --cn off-otp-b --expect failure \
	--expect-failinfo badRequest
enroll -u "$OTP_URL" -c "$OTP2" --cn off-par --parallel 6 >"$D/par.out" 2>"$D/par.err" || true
check "6 requests at once with one challenge: exactly one enrolls" \
	test "$(grep -c '^serial=' "$D/par.out")" -eq 1

# --- the load tool, c=32 ------------------------------------------------------------------
"$SGWLOAD" -u "$URL" -p "$CHALLENGE" -n 320 -c 32 \
	-k 4 --key-bits 2048 -t 60 >"$D/load.out" 2>&1 || true
sed 's/^/  | /' "$D/load.out"
check "sgwload c=32: 320 ok, 0 failed, 0 duplicate serials" \
	grep -q '^  ok 320  failed 0  duplicate serials 0$' "$D/load.out"
check "... sgwload itself exits without a sanitizer report (leak check on)" \
	not grep -qE 'Sanitizer|runtime error:' "$D/load.out"

# --- GetCACaps while every PKIOperation waits in a store step ------------------------------
# Another process write-locks the database; once sgwload has built its
# requests and sends them, the lock is kept 1.2 s more (under SQLite's 2 s busy
# timeout): the enrollments wait in their senderNonce step meanwhile.
# Kept clear of txn_admin's timer (start-up, then every 60 s), whose store
# calls on the loop would wait behind the store thread's.
e=$(((SECONDS - GW_T0) % 60))
if ((e >= 50)); then sleep $((63 - e)); elif ((e < 3)); then sleep $((3 - e)); fi
python3 -c 'import os,sqlite3,sys,time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
end = time.time() + 8
while not os.path.exists(sys.argv[3]) and time.time() < end:
    time.sleep(0.01)
time.sleep(1.2)
c.execute("COMMIT")' "$T/scepgw.db" "$D/locked" "$D/go" &
LOCKER=$!
track_pid "$LOCKER"
for ((i = 0; i < 100; i++)); do [ -e "$D/locked" ] && break; sleep 0.05; done
"$SGWLOAD" -u "$URL" -p "$CHALLENGE" -n 8 -c 8 \
	-k 2 --key-bits 2048 -t 30 >"$D/locked-load.out" 2>&1 &
LOAD=$!
track_pid "$LOAD"
for ((i = 0; i < 300; i++)); do grep -q '^sgwload: built ' "$D/locked-load.out" && break; sleep 0.02; done
touch "$D/go"
sleep 0.2 # the enrollments are in flight, waiting for the lock
: >"$D/caps.ms"
for ((i = 0; i < 6; i++)); do
	curl -sS -o /dev/null --max-time 5 -w '%{time_total}\n' "$URL?operation=GetCACaps" \
		>>"$D/caps.ms" 2>/dev/null || echo 5 >>"$D/caps.ms"
	sleep 0.1
done
wait "$LOCKER" || true
wait "$LOAD" || true
log "GetCACaps seconds while the store was locked: $(tr '\n' ' ' <"$D/caps.ms")"
check "every GetCACaps answered within 0.5 s while the store steps waited" \
	python3 -c 'import sys; v = [float(x) for x in open(sys.argv[1])]; sys.exit(not (len(v) == 6 and max(v) < 0.5))' \
	"$D/caps.ms"
check "the enrollments sent during the lock all succeeded" \
	grep -q '^  ok 8  failed 0  duplicate serials 0$' "$D/locked-load.out"
check "... after waiting for the lock (max latency over 0.6 s: the test measured something)" \
	python3 -c 'import re,sys; m = re.search(r"max ([0-9.]+)", open(sys.argv[1]).read()); sys.exit(not (m and float(m.group(1)) > 600))' \
	"$D/locked-load.out"

gw_stop
finish
