#!/usr/bin/env bash
# t_intune: Intune SCEP challenge validation against tests/fakes/fake_intune
# (token endpoint, Graph service discovery, ScepActions): Success enrolls and
# sends exactly one successNotification with the certificate's thumbprint and
# serial; ChallengeExpired and a 500 are FAILURE badRequest; an expired token
# (401) is refreshed by one token fetch however many calls got the 401 or
# needed the token meanwhile; a backend failure sends a failureNotification;
# no client secret or challenge in the gateway log.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for p in python3 openssl curl; do
	command -v "$p" >/dev/null || { echo "$p not found"; exit 1; }
done
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

FK=$T/intune
mkdir -p "$FK"
CLIENT_SECRET="entra-secret-$(openssl rand -hex 16)"
(umask 077; printf '%s\n' "$CLIENT_SECRET" >"$T/client.secret")
python3 "$SRC/tests/fakes/fake_intune" --dir "$FK" --secret-file "$T/client.secret" \
	2>"$T/fake_intune.log" &
track_pid $!
for ((i = 0; i < 100; i++)); do [ -s "$FK/port" ] && break; sleep 0.1; done
[ -s "$FK/port" ] || { echo "fake_intune did not start"; cat "$T/fake_intune.log"; exit 1; }
FAKE=http://127.0.0.1:$(cat "$FK/port")

profile() { # NAME RA_PROFILE NOTIFY_WAIT
	cat <<EOF2
  $1:
    ra_identity: dev
    ra_profile: $2
    allow_single_des: true
    challenge:
      type: intune
      tenant: contoso.onmicrosoft.com
      client_id: 11111111-2222-3333-4444-555555555555
      client_secret_file: "$T/client.secret"
      authority_url: "$FAKE/"
      graph_url: "$FAKE/"
      notify_wait: $3
      timeout: 10s
      revocation_interval: ${4:-0}
    getcrl: true
EOF2
}
# an RA profile whose backend always fails (lib.sh)
broken_ra_profile
GW_SCEP_PROFILES_EXTRA="$(profile intune dev true 1s)
$(profile intunenw dev false)
$(profile intunebad broken true)"
gw_config "$CFG"
gw_start "$CFG"

P() { echo "$BASE/scep/$1/pkiclient.exe"; }
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$(P intune)" -o "$D/ra.pem" >/dev/null
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" "$@"; }
state() { curl -fsS "$FAKE/fake/state"; }
SECRETS=("$CLIENT_SECRET")

C1="ok-$(openssl rand -hex 12)"
SECRETS+=("$C1")
check "Success: the device enrolls" en -u "$(P intune)" -c "$C1" --cn intune-1 --out "$D/i1.pem"
check "the certificate verifies" openssl verify -CAfile "$PKI/chain.pem" "$D/i1.pem"
state >"$D/s1.json"
THUMB=$(openssl x509 -in "$D/i1.pem" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
SERIAL=$(openssl x509 -in "$D/i1.pem" -noout -serial | cut -d= -f2)
check "exactly one successNotification, with thumbprint $THUMB and serial $SERIAL" \
	python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))
n = [x for x in s["notifications"] if x["action"] == "successNotification"]
assert len(n) == 1, n
assert n[0]["certificateThumbprint"] == sys.argv[2], n[0]
assert n[0]["certificateSerialNumber"].lstrip("0") == sys.argv[3].lstrip("0"), n[0]
assert n[0]["certificateExpirationDateUtc"].endswith("Z") and n[0]["issuingCertificateAuthority"]
assert not s["rejected"], s["rejected"]' "$D/s1.json" "$THUMB" "$SERIAL"
check "one token per scope, discovery used (Graph and Intune tokens fetched once)" \
	python3 -c 'import json,sys
s = json.load(open(sys.argv[1])); assert s["tokens"] == {"graph": 1, "intune": 1}, s["tokens"]' "$D/s1.json"

C2="expired-$(openssl rand -hex 12)"
SECRETS+=("$C2")
out=$(en -u "$(P intune)" -c "$C2" --cn intune-2 --expect failure --expect-failinfo badRequest 2>&1)
rc=$?
check "ChallengeExpired: FAILURE badRequest (rc $rc)" test "$rc" -eq 0
check "... with ChallengeExpired in failInfoText ($out)" grep -q "failInfoText=ChallengeExpired" <<<"$out"

check "a 500 from Intune: FAILURE badRequest" \
	en -u "$(P intune)" -c http500 --cn intune-3 --expect failure --expect-failinfo badRequest
check "... and a log line says why" grep -q "intune validateRequest: intune: validateRequest failed.*HTTP 500" "$GW_LOG"

check "a 200 that is not JSON: FAILURE badRequest" \
	en -u "$(P intune)" -c notjson --cn intune-3b --expect failure --expect-failinfo badRequest
out=$(en -u "$(P intune)" -c nobody-knows --cn intune-3c --expect failure 2>&1) || true
check "any other code: FAILURE with it in failInfoText ($out)" \
	grep -q "failInfoText=BadUserIdInChallenge" <<<"$out"

# every token answers 401 now and the token endpoint fails after 1 s: calls
# waiting for that fetch are all answered (FAILURE), none left hanging
curl -fsS -X POST "$FAKE/fake/expire-tokens" >/dev/null
curl -fsS -X POST -d '{"seconds": 1, "fail": true}' "$FAKE/fake/token-delay" >/dev/null
pids=()
for k in 1 2 3; do
	CF="ok-$(openssl rand -hex 12)"
	SECRETS+=("$CF")
	en -u "$(P intune)" -c "$CF" --cn "intune-fail-$k" --expect failure >"$D/fail-$k.out" 2>&1 &
	pids+=($!)
done
for k in 1 2 3; do
	rc=0
	wait "${pids[$((k - 1))]}" || rc=$?
	check "no token (503) for call $k at the same time: FAILURE (rc $rc)" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || sed 's/^/     | /' "$D/fail-$k.out"
done
check "... a log line says why" grep -q "intune: token request failed: .*HTTP 503" "$GW_LOG"

# every token answers 401 now, and a new one takes 1.5 s: the enrollment, four
# validations at once and the revocation feed (polling each second) all need it
curl -fsS -X POST "$FAKE/fake/expire-tokens" >/dev/null
curl -fsS -X POST -d '{"seconds": 1.5}' "$FAKE/fake/token-delay" >/dev/null
C4="ok-$(openssl rand -hex 12)"
SECRETS+=("$C4")
pids=()
for k in 1 2 3 4; do
	CE="expired-$(openssl rand -hex 12)"
	SECRETS+=("$CE")
	en -u "$(P intune)" -c "$CE" --cn "intune-par-$k" --expect failure \
		--expect-failinfo badRequest >"$D/par-$k.out" 2>&1 &
	pids+=($!)
done
check "an expired token (401) is refreshed once and the device enrolls" \
	en -u "$(P intune)" -c "$C4" --cn intune-4 --out "$D/i4.pem" --out-key "$D/i4.key"
for k in 1 2 3 4; do
	rc=0
	wait "${pids[$((k - 1))]}" || rc=$?
	check "validation $k at the same time: FAILURE badRequest (rc $rc)" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || sed 's/^/     | /' "$D/par-$k.out"
done
curl -fsS -X POST -d '{"seconds": 0}' "$FAKE/fake/token-delay" >/dev/null
check "... one second Intune token was fetched for all of them" \
	bash -c "curl -fsS '$FAKE/fake/state' | python3 -c 'import json,sys; t = json.load(sys.stdin)[\"tokens\"]; assert t[\"intune\"] == 2, t'"

C5="ok-$(openssl rand -hex 12)"
SECRETS+=("$C5")
check "notify_wait false: the device enrolls too" en -u "$(P intunenw)" -c "$C5" --cn intune-5
sleep 0.5

C6="ok-$(openssl rand -hex 12)"
SECRETS+=("$C6")
check "a backend failure after Success: FAILURE" \
	en -u "$(P intunebad)" -c "$C6" --cn intune-6 --expect failure
state >"$D/s2.json"
check "one failureNotification with an HRESULT, successNotifications for intune-1, -4, -5 only" \
	python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))
f = [x for x in s["notifications"] if x["action"] == "failureNotification"]
ok = [x for x in s["notifications"] if x["action"] == "successNotification"]
assert len(f) == 1 and f[0]["hResult"] == 2147500037 and f[0]["errorDescription"], f
assert len(ok) == 3, ok
assert len({x["transactionId"] for x in ok}) == 3' "$D/s2.json"

# --- certmonger (GET, AES-256) through the Intune profile ---------------------------
C7="ok-$(openssl rand -hex 12)"
SECRETS+=("$C7")
CM=$T/cm
check "certmonger ran and exited" certmonger_run "$CM" "getcert add-scep-ca -s -c intune -u '$(P intune)' >add.out 2>&1
getcert request -s -c intune -k '$CM/out/key.pem' -f '$CM/out/cert.pem' -g 2048 -N CN=intune-cm \\
	-L '$C7' -w --wait-timeout 60 >req.out 2>&1
getcert list -s -f '$CM/out/cert.pem' >list.out 2>&1 || true"
check "certmonger enrolls through the Intune profile (status MONITORING)" \
	grep -q 'status: MONITORING' "$CM/list.out"
check "certmonger's certificate verifies" openssl verify -CAfile "$PKI/chain.pem" "$CM/out/cert.pem"
CMTHUMB=$(openssl x509 -in "$CM/out/cert.pem" -noout -fingerprint -sha1 2>/dev/null | cut -d= -f2 | tr -d :)
state >"$D/s-cm.json"
check "exactly one successNotification carries certmonger's thumbprint ($CMTHUMB)" \
	python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))
n = [x for x in s["notifications"] if x["action"] == "successNotification"
     and x["certificateThumbprint"] == sys.argv[2]]
assert sys.argv[2] and len(n) == 1, n' "$D/s-cm.json" "$CMTHUMB"

# --- the revocation feed: Intune asks to revoke intune-1's certificate ------------
check "GetCRL answers and intune-1 is not revoked yet" bash -c "out=\$('$SCEPREQ' getcrl -u '$(P intune)' \
	--ra-chain '$D/ra.pem' --signer-cert '$D/i4.pem' --signer-key '$D/i4.key') && \
	! grep -qi 'revoked=0*${SERIAL#0}' <<<\"\$out\""
# another instance holds the feed's cluster lease (issue 20) for 4 s: this one
# downloads nothing meanwhile, then takes the feed over
python3 -c 'import sqlite3,sys,time
c = sqlite3.connect(sys.argv[1], timeout=10)
n = c.execute("update leases set holder = ?, expires = ? where job = ?",
              ("gw-other", int(time.time()) + 4, "intune-feed:scep_profiles.intune.challenge")).rowcount
c.commit()
assert n == 1, n' "$T/scepgw.db"
curl -fsS -X POST -d "{\"serialNumber\": \"$SERIAL\", \"issuerName\": \"x\"}" "$FAKE/fake/revoke" >/dev/null
sleep 2
check "while another instance holds the feed's lease, the request waits in Intune's queue" \
	bash -c "curl -fsS '$FAKE/fake/state' | python3 -c 'import json,sys
s = json.load(sys.stdin); assert s[\"revocation_queue\"] and not s[\"revocation_results\"], s'"
for ((i = 0; i < 100; i++)); do
	state | grep -q '"succeeded": true' && break
	sleep 0.1
done
state >"$D/s3.json"
check "the feed downloaded the request, revoked it and uploaded success for ctx-1" \
	python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))
assert s["revocation_results"] == [{"requestContext": "ctx-1", "succeeded": True, "errorCode": "0", "errorMessage": ""}], s["revocation_results"]
assert not s["revocation_queue"], s["revocation_queue"]
# the only refusals: Intune calls sent with the token /fake/expire-tokens expired
why = [r["why"] for r in s["rejected"]]
assert why and set(why) == {"intune token required"}, s["rejected"]' "$D/s3.json"
check "this instance took the feed over once the other's lease expired" \
	grep -q 'took over job intune-feed:scep_profiles.intune.challenge from gw-other' "$GW_LOG"
check "GetCRL lists intune-1's serial as revoked" bash -c "'$SCEPREQ' getcrl -u '$(P intune)' \
	--ra-chain '$D/ra.pem' --signer-cert '$D/i4.pem' --signer-key '$D/i4.key' | grep -qi 'revoked=0*${SERIAL#0}'"
check "the store marks it revoked too" \
	python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("select serial, revoked from certificates").fetchall()
want = sys.argv[2].lower().lstrip("0")
assert [r[1] for r in rows if r[0].lstrip("0") == want] == [1], rows' "$T/scepgw.db" "$SERIAL"
curl -fsS -X POST -d '{"serialNumber": "ABCDEF0123", "issuerName": "x"}' "$FAKE/fake/revoke" >/dev/null
for ((i = 0; i < 100; i++)); do
	state | grep -q '"succeeded": false' && break
	sleep 0.1
done
check "a serial this gateway did not issue: failure uploaded with a message" \
	bash -c "curl -fsS '$FAKE/fake/state' | python3 -c 'import json,sys
r = json.load(sys.stdin)[\"revocation_results\"]
assert len(r) == 2 and r[1][\"requestContext\"] == \"ctx-2\" and not r[1][\"succeeded\"] and r[1][\"errorMessage\"], r'"

gw_stop
for s in "${SECRETS[@]}"; do
	check "secret ${s:0:6}... never appears in the gateway log" not grep -qF -- "$s" "$GW_LOG"
done
finish
