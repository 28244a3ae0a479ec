#!/usr/bin/env bash
# t_pg_cluster: two gateways on one PostgreSQL database as a cluster (issue
# 20).  Each logs its own `instance:`; /metrics and the revocation check of
# an administrator's client certificate wait for the store on a store thread,
# not on the event loop (a locked table); a revocation made through A's admin
# API is on the CRL B serves, with the same CRL number as A's; the sweeps'
# lease `txn-sweep` is held by A alone while A lives, and after `kill -9` of
# A, B takes it over within the lease's time and finishes the request A left
# SUBMITTED (its CA was slow), which the device polling B then receives.
# The manual profile's pending_ttl of 8 s makes the sweep period 2 s and the
# leases 6 s (txn_admin.c: 3 periods).
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_ejbca.sh
. "$(dirname "$0")/lib_ejbca.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

pg_start
ejbca_profile
GW_PENDING_TTL=8s
GW_TOP_EXTRA="instance: gw-a"
GW_STORE=$(pg_store_yaml 4) gw_config "$CFG"
# an administrator by client certificate (its revocation is checked in the store)
AD=$T/adm
mkdir -p "$AD"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$AD/ca.key" -out "$AD/ca.pem" -days 30 \
	-subj "/CN=Cluster Admin CA" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$AD/alice.key" -out "$AD/alice.csr" \
	-subj "/CN=alice" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$AD/leaf.ext"
openssl x509 -req -in "$AD/alice.csr" -CA "$AD/ca.pem" -CAkey "$AD/ca.key" -days 30 \
	-set_serial "0x$(openssl rand -hex 16)" -extfile "$AD/leaf.ext" -out "$AD/alice.pem" 2>/dev/null
printf '  client_ca: "%s"\n  clients:\n    - { name: alice, spki_sha256: "%s" }\n' "$AD/ca.pem" \
	"$(openssl x509 -in "$AD/alice.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
		sha256sum | cut -d' ' -f1)" >>"$CFG"
gw_b_config
sed -i 's/^instance: gw-a$/instance: gw-b/' "$B_CFG"

gw_start "$CFG" # A first: it takes the sweeps' lease at its start
gw_b_start
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1

# --- each instance logs its own name ------------------------------------------------
check "A's log lines end with instance=gw-a" grep -q ' instance=gw-a$' "$GW_LOG"
check "B's log lines end with instance=gw-b" grep -q ' instance=gw-b$' "$B_LOG"
check "A's log never says instance=gw-b" not grep -q 'instance=gw-b' "$GW_LOG"
check "B's log never says instance=gw-a" not grep -q 'instance=gw-a' "$B_LOG"

# --- admin reads wait for the store on a store thread: a locked table never stalls the loop
# lock TABLE: hold an exclusive lock on TABLE for 4 s (background, pid in locker)
lock() {
	pg_psql -c "BEGIN; LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT" \
		>/dev/null 2>&1 &
	locker=$!
	sleep 0.5
}
caps_fast() { curl -sSf --max-time 1 -o /dev/null "$URL?operation=GetCACaps"; }
lock transactions
curl -sS --cacert "$PKI/chain.pem" -H "Authorization: Bearer $READ_TOKEN" -o "$D/metrics.txt" \
	-w '%{http_code}' "$ADMIN_URL/metrics" >"$D/metrics.code" 2>&1 &
scrape=$!
sleep 0.3
check "GetCACaps on A answers within 1 s while /metrics waits for the locked table" caps_fast
wait "$locker" || true
wait "$scrape" || true
check "/metrics answers 200 once the lock is gone" test "$(cat "$D/metrics.code")" = 200
check "... with the pending transactions' count" \
	grep -q '^scepgw_pending_transactions{state="awaiting_approval",scepgw_instance="gw-a"} 0' \
	"$D/metrics.txt"
lock certificates
curl -sS --cacert "$PKI/chain.pem" --cert "$AD/alice.pem" --key "$AD/alice.key" \
	-o "$D/pending.json" -w '%{http_code}' "$ADMIN_URL/api/v1/transactions" >"$D/alice.code" 2>&1 &
asker=$!
sleep 0.3
check "GetCACaps on A answers within 1 s while a client certificate's revocation check waits" \
	caps_fast
wait "$locker" || true
wait "$asker" || true
check "the administrator by client certificate gets 200 once the lock is gone" \
	test "$(cat "$D/alice.code")" = 200

# --- revoke on A: B's CRL lists it, with A's CRL number --------------------------------
crl_number() { openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2; }
lists() { openssl crl -inform DER -in "$1" -noout -text | grep -qi "Serial Number: $2\$"; }
check "B serves a CRL before the revocation" curl -sSf -o "$D/b0.crl" "$B_BASE/crl/local-ca.crl"
check "enroll on A" "$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" -c "$CHALLENGE" \
	--cn cluster-rv --out "$D/rv.pem" --out-key "$D/rv.key"
SER=$(openssl x509 -in "$D/rv.pem" -noout -serial | sed 's/^serial=//')
check "scepgwctl revokes it through A's admin API" ctl revoke "$SER" --reason keyCompromise
check "A's CRL" curl -sSf -o "$D/a1.crl" "$BASE/crl/local-ca.crl"
check "A's CRL lists the serial" lists "$D/a1.crl" "$SER"
# B reads the stored CRL again at most every 250 ms (on PostgreSQL it does not
# ask the database on the event loop for each CRL it serves)
b_lists() {
	local i
	for ((i = 0; i < 20; i++)); do
		curl -sSf -o "$D/b1.crl" "$B_BASE/crl/local-ca.crl" && lists "$D/b1.crl" "$SER" &&
			return 0
		sleep 0.1
	done
	return 1
}
check "B's CRL lists the serial (within 2 s)" b_lists
NA=$(crl_number "$D/a1.crl")
NB=$(crl_number "$D/b1.crl")
N0=$(crl_number "$D/b0.crl")
check "B's CRL number is A's ($NB = $NA)" test -n "$NA" -a "$NA" = "$NB"
check "... a newer one than before the revocation ($N0)" test "$((NB))" -gt "$((N0))"
check "the CRLs are byte for byte the same" cmp "$D/a1.crl" "$D/b1.crl"

# --- the sweeps' lease: A's alone while A lives ----------------------------------------
holder() { pg_psql -c "select holder from leases where job = 'txn-sweep'"; }
live() { pg_psql -c "select holder from leases where job = '$1' and expires > extract(epoch from now())::bigint"; }
sleep 3 # B has ticked at least once (period 2 s)
check "txn-sweep is held by gw-a (got '$(holder)')" test "$(holder)" = gw-a
check "... a live lease" test "$(live txn-sweep)" = gw-a
check "both instances hold their own lease" \
	test "$(live instance:gw-a)/$(live instance:gw-b)" = gw-a/gw-b
check "B never took txn-sweep while A lives" not grep -q 'took over job txn-sweep' "$B_LOG"

# --- A leaves a request SUBMITTED (its CA is slow) and dies ---------------------------
EURL_A=$BASE/scep/ejbca/pkiclient.exe
EURL_B=$B_BASE/scep/ejbca/pkiclient.exe
state_of() { pg_psql -c "select state || '/' || instance from transactions where transaction_id = '$1'"; }
wait_state() { # wait_state TID STATE/INSTANCE SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "transaction $1 is '$(state_of "$1")', not $2"
	return 1
}
fake_set '{"delay": 30}'
"$SCEPREQ" enroll -u "$EURL_A" -c "$CHALLENGE" --cn cluster-strand --txid cluster-strand \
	--out-key "$D/st.key" --save-request "$D/st.der" --timeout 3 >"$D/st.log" 2>&1 || true
# state 3 is SUBMITTED, 5 ISSUED (enum txn_state)
check "A committed the request as SUBMITTED" wait_state cluster-strand 3/gw-a 10
kill -9 "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
killed=$(date +%s)
fake_set '{"delay": 0}'
check "after kill -9 of A the request is still SUBMITTED by gw-a" \
	test "$(state_of cluster-strand)" = 3/gw-a

taken() {
	local i
	for ((i = 0; i < 150; i++)); do
		[ "$(live txn-sweep)" = gw-b ] && return 0
		sleep 0.1
	done
	return 1
}
check "B takes txn-sweep over" taken
took=$(($(date +%s) - killed))
# the lease lasts 6 s from A's last renewal; B looks every 2 s (+1 s rounding)
check "... within the lease's time + one period ($took s <= 9 s)" test "$took" -le 9
wait_b_log() { GW_LOG=$B_LOG wait_log "$@"; }
check "B logs the takeover from gw-a" \
	wait_b_log 'instance gw-b took over job txn-sweep from gw-a' 5
check "B finishes A's request (ISSUED, written by gw-b)" wait_state cluster-strand 5/gw-b 20
check "B says it took the request over from gw-a" \
	grep -q 'txn=cluster-strand profile=ejbca: instance gw-b took it over from instance gw-a' \
	"$B_LOG"
check "the device's CertPoll on B gets its certificate" \
	"$SCEPREQ" enroll -u "$EURL_B" --certpoll --send-request "$D/st.der" --key "$D/st.key" \
	--cn cluster-strand --out "$D/st.pem" --expect success
check "... for the device's key" \
	cmp <(openssl x509 -in "$D/st.pem" -noout -pubkey) <(openssl pkey -in "$D/st.key" -pubout)
check "no SUBMITTED transaction is left" \
	test "$(pg_psql -c 'select count(*) from transactions where state = 3')" = 0

gw_b_stop
finish
