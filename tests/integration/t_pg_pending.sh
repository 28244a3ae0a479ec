#!/usr/bin/env bash
# t_pg_pending: backend work in flight outlives the instance that started it
# (issue 20).  Two gateways, A and B, on one PostgreSQL database and
# tests/fakes/fake_ejbca with approvals: a PKCSReq on A is PENDING in EJBCA
# (the transaction BACKEND_PENDING, its handle in the store), A is killed
# with SIGKILL, EJBCA approves, and the device's CertPoll on B gets the
# certificate (B finalizes from the stored handle alone).
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_pg.sh
. "$(dirname "$0")/lib_pg.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
# shellcheck source=lib_ejbca.sh
. "$(dirname "$0")/lib_ejbca.sh"

pg_start
ejbca_profile '    allow_single_des: true'
GW_STORE=$(pg_store_yaml 2) GW_TOP_EXTRA="instance: gw-a" gw_config "$CFG"
gw_b_config
sed -i 's/^instance: gw-a$/instance: gw-b/' "$B_CFG"
gw_start
gw_b_start

A_URL=$BASE/scep/ejbca/pkiclient.exe
B_URL=$B_BASE/scep/ejbca/pkiclient.exe
D=$T/c
mkdir -p "$D"
fake_set '{"approval": true, "finalize": "wait"}'
check "A: the PKCSReq waits for approval in EJBCA (PENDING)" \
	"$SCEPREQ" enroll -u "$A_URL" -c "$CHALLENGE" --cn pend-1 --out-key "$D/key.pem" \
	--save-request "$D/req.der" --expect pending
id=$(curl -fsS "${ADMIN[@]}" "$FAKE/fake/pending" |
	jq_py 'd = json.load(sys.stdin); w = [k for k, v in d.items() if v == "waiting"]; print(w[-1]) if w else sys.exit(1)') || id=
check "EJBCA holds request ${id:-none}" test -n "$id"
check "the transaction is BACKEND_PENDING in the store, written by gw-a" \
	test "$(pg_psql -c "select state, instance from transactions where subject like '%pend-1%'")" = "4|gw-a"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null || true
GW_PID=
log "A killed with SIGKILL"
check "B: a CertPoll before the approval is still PENDING" \
	"$SCEPREQ" enroll -u "$B_URL" --send-request "$D/req.der" --key "$D/key.pem" --certpoll \
	--expect pending
check "EJBCA approves request $id" curl -fsS "${ADMIN[@]}" -X POST \
	-H 'Content-Type: application/json' -d '{"approve": true, "comment": "t_pg_pending"}' \
	"$FAKE/ejbca/ejbca-rest-api/v1/approval/$id/process"
check "B: the device's CertPoll gets the certificate" \
	"$SCEPREQ" enroll -u "$B_URL" --send-request "$D/req.der" --key "$D/key.pem" --certpoll \
	--poll 10 --poll-interval 1 --out "$D/cert.pem"
check "the certificate verifies against the fake CA's chain" \
	openssl verify -CAfile "$FK/ca-chain.pem" "$D/cert.pem"
SERIAL=$(openssl x509 -in "$D/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
check "the transaction is ISSUED by gw-b and the certificate is in the store" \
	test "$(pg_psql -c "select t.state, t.instance from transactions t join certificates c
		on c.txn_id = t.id where ltrim(c.serial, '0') = ltrim('$SERIAL', '0')")" = "5|gw-b"
check "B finalized it at EJBCA (POST v1/certificate/$id/finalize)" \
	test -n "$(requests_to "certificate/$id/finalize")"

gw_b_stop
finish
