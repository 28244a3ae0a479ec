#!/usr/bin/env bash
# t_webhook: challenge validation by an HMAC-signed webhook over HTTPS
# (tests/fakes/fake_webhook): allow, deny with a reason, a timeout, a spoofed
# (badly signed) answer, answers not bound to their request (an allow replayed
# onto another request, no nonce, another nonce), the request's signature
# verified by the webhook, the challenge sent only when the profile says so,
# plain http:// refused unless allow_insecure_http, the ca_bundle and
# pin_sha256 trust keys, and no secret in the gateway log.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

for p in python3 openssl curl; do
	command -v "$p" >/dev/null || { echo "$p not found"; exit 1; }
done
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

WH=$T/webhook
mkdir -p "$WH"
HMAC_SECRET="whsec-$(openssl rand -hex 16)"
(umask 077; printf '%s\n' "$HMAC_SECRET" >"$T/hmac.secret")
python3 "$SRC/tests/fakes/fake_webhook" --dir "$WH" --secret-file "$T/hmac.secret" \
	--tls-cert "$PKI/tls.pem" --tls-key "$PKI/tls.key" 2>"$T/fake_webhook.log" &
track_pid $!
for ((i = 0; i < 100; i++)); do [ -s "$WH/port" ] && break; sleep 0.1; done
[ -s "$WH/port" ] || { echo "fake_webhook did not start"; cat "$T/fake_webhook.log"; exit 1; }
HOOK=https://127.0.0.1:$(cat "$WH/port")/scep-check
# a port nothing listens on
DEAD=https://127.0.0.1:$(free_port)/x
# the webhook's SPKI pin, and one of another key
PIN=$(openssl x509 -in "$PKI/tls.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
OTHER_PIN=$(openssl x509 -in "$PKI/ra.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)

profile() { # NAME URL SEND_CHALLENGE [EXTRA KEYS]
	cat <<EOF2
  $1:
    ra_identity: dev
    ra_profile: dev
    allow_single_des: true
    challenge: { type: webhook, url: "$2", hmac_secret_file: "$T/hmac.secret", ca_bundle: "$PKI/chain.pem", timeout: 2s, send_challenge: $3${4:+, $4} }
EOF2
}
# refused CONFIG TEXT: scepgw -n fails and says TEXT
refused() {
	local out rc=0
	out=$("$SCEPGW" -n -c "$1" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" -ne 0 ] || { echo "scepgw -n exited 0"; return 1; }
	grep -qF -- "$2" <<<"$out" || { echo "expected '$2'"; return 1; }
}
# accepted CONFIG TEXT: scepgw -n passes and says TEXT
accepted() {
	local out
	out=$("$SCEPGW" -n -c "$1" 2>&1) || { printf '%s\n' "$out"; return 1; }
	printf '%s\n' "$out"
	grep -qF -- "$2" <<<"$out" || { echo "expected '$2'"; return 1; }
}
# config checks (scepgw -n): a group-readable secret file and an unknown key are refused
cp "$T/hmac.secret" "$T/hmac.open"
chmod 0644 "$T/hmac.open"
GW_SCEP_PROFILES_EXTRA="$(profile hook "$HOOK" false | sed "s|$T/hmac.secret|$T/hmac.open|")"
gw_config "$T/bad1.yaml"
check "a group/world-readable hmac_secret_file is refused" not "$SCEPGW" -n -c "$T/bad1.yaml"
GW_SCEP_PROFILES_EXTRA="$(profile hook "$HOOK" false | sed 's|send_challenge: false|bogus: 1|')"
gw_config "$T/bad2.yaml"
check "an unknown key in a webhook challenge is refused" not "$SCEPGW" -n -c "$T/bad2.yaml"
PLAIN=http://127.0.0.1:$(cat "$WH/port")/scep-check
GW_SCEP_PROFILES_EXTRA="$(profile hook "$PLAIN" true)"
gw_config "$T/bad3.yaml"
check "a plain http:// webhook is a config error in scepgw -n" \
	refused "$T/bad3.yaml" "url: plain http:// exposes the request (with the challenge)"
GW_SCEP_PROFILES_EXTRA="$(profile hook "$PLAIN" true "allow_insecure_http: true")"
gw_config "$T/insecure.yaml"
check "... unless allow_insecure_http: true, with a loud warning" \
	accepted "$T/insecure.yaml" "INSECURE: the webhook $PLAIN is plain HTTP"
GW_SCEP_PROFILES_EXTRA="$(profile hook "$HOOK" false "pin_sha256: [\"not-a-pin\"]")"
gw_config "$T/bad4.yaml"
check "a malformed pin_sha256 is a config error" refused "$T/bad4.yaml" "pin_sha256: expected"

GW_SCEP_PROFILES_EXTRA="$(profile hook "$HOOK" false "pin_sha256: [\"$PIN\"]")
$(profile hookch "$HOOK" true)
$(profile hookdead "$DEAD" false)
$(profile hookwrongca "$HOOK" false "ca_bundle: \"$PKI/ra.pem\"" | sed "s|ca_bundle: \"$PKI/chain.pem\", ||")
$(profile hookwrongpin "$HOOK" false "pin_sha256: [\"$OTHER_PIN\"]")"
gw_config "$CFG"
check "the webhook config passes scepgw -n" "$SCEPGW" -n -c "$CFG"
gw_start "$CFG"

P() { echo "$BASE/scep/$1/pkiclient.exe"; }
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$(P hook)" -o "$D/ra.pem" >/dev/null
en() { "$SCEPREQ" enroll --ra-chain "$D/ra.pem" "$@"; }
req_of() { grep -F "\"transactionID\"" "$WH/requests.jsonl" | grep -F "CN=$1" || true; }

CH1="dev-ch-$(openssl rand -hex 8)"
check "allow: the webhook allows allow-1 and it enrolls" \
	en -u "$(P hook)" -c "$CH1" --cn allow-1 --san-dns allow-1.example --out "$D/a1.pem"
check "the certificate verifies" openssl verify -CAfile "$PKI/chain.pem" "$D/a1.pem"
check "the webhook verified the request's HMAC signature" \
	bash -c "$(declare -f req_of); WH='$WH'; req_of allow-1 | grep -q '\"sig_ok\": true'"
check "the request carries profile, transactionID, CSR, SANs, key and requester" \
	python3 -c 'import json,sys
r = [json.loads(l) for l in open(sys.argv[1]) if "CN=allow-1" in l][0]
assert r["profile"] == "hook" and r["transactionID"] and r["csr"].startswith("-----BEGIN CERTIFICATE REQUEST")
assert r["sans"]["dns"] == ["allow-1.example"] and r["keyType"] == "RSA" and r["keyBits"] >= 2048
assert r["requester"].startswith("127.0.0.1")' "$WH/requests.jsonl"
check "without send_challenge the challenge is not sent" not grep -qF -- "$CH1" "$WH/requests.jsonl"

CH2="dev-ch-$(openssl rand -hex 8)"
check "send_challenge: the challenge reaches the webhook" \
	en -u "$(P hookch)" -c "$CH2" --cn allow-2
check "... in the request body" grep -qF -- "\"challenge\": \"$CH2\"" "$WH/requests.jsonl"

out=$(en -u "$(P hook)" -c "$CH1" --cn deny-1 --expect failure --expect-failinfo badRequest 2>&1) || true
check "deny: FAILURE badRequest" en -u "$(P hook)" -c "$CH1" --cn deny-2 --expect failure \
	--expect-failinfo badRequest
check "deny: failInfoText carries the webhook's reason ($out)" \
	grep -q "not in the inventory" <<<"$out"

mark=$(gw_log_mark)
check "timeout: the webhook answers after 5 s, the profile waits 2 s: FAILURE" \
	en -u "$(P hook)" -c "$CH1" --cn slow-1 --expect failure --expect-failinfo badRequest
check "... and the log says timeout" bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -q 'webhook denied: webhook: timeout'"

check "a spoofed answer (allow with a bad signature) is refused" \
	en -u "$(P hook)" -c "$CH1" --cn spoof-1 --expect failure --expect-failinfo badRequest
check "... and the log says why" grep -q "bad or missing response signature" "$GW_LOG"

check "an unreachable webhook denies" \
	en -u "$(P hookdead)" -c "$CH1" --cn allow-3 --expect failure --expect-failinfo badRequest

# answers not bound to their request (docs/config.md, webhook protocol)
check "allow-5 is allowed (its answer is what replay-1 gets replayed)" \
	en -u "$(P hook)" -c "$CH1" --cn allow-5
mark=$(gw_log_mark)
check "an allow answer replayed onto another request is refused: FAILURE badRequest" \
	en -u "$(P hook)" -c "$CH1" --cn replay-1 --expect failure --expect-failinfo badRequest
check "... and the log says the nonce is not this request's" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -q \"webhook denied: webhook: the answer's nonce is not this request's\""
mark=$(gw_log_mark)
check "an allow answer without the nonce (a server not upgraded) is refused" \
	en -u "$(P hook)" -c "$CH1" --cn nononce-1 --expect failure --expect-failinfo badRequest
check "... and the log says so" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -q 'webhook denied: webhook: the answer carries no nonce'"
mark=$(gw_log_mark)
check "an allow answer with another nonce is refused" \
	en -u "$(P hook)" -c "$CH1" --cn badnonce-1 --expect failure --expect-failinfo badRequest
check "... and the log says so" \
	bash -c "tail -n +$((mark + 1)) '$GW_LOG' | grep -q \"the answer's nonce is not this request's\""
check "every request carried a fresh nonce, in the body and the header (sig_ok)" \
	python3 -c 'import json,sys
r = [json.loads(l) for l in open(sys.argv[1])]
n = [x.get("nonce") for x in r]
assert all(x["sig_ok"] and x["nonce_ok"] for x in r) and len(set(n)) == len(n), n' "$WH/requests.jsonl"

# trust: ca_bundle is the only trust, pin_sha256 pins the webhook's key
check "the webhook behind the right pin is reached (allow-1 above went through hook's pin)" \
	grep -qF "CN=allow-1" "$WH/requests.jsonl"
mark=$(gw_log_mark)
check "a ca_bundle that does not vouch for the webhook: refused" \
	en -u "$(P hookwrongca)" -c "$CH1" --cn allow-6 --expect failure --expect-failinfo badRequest
check "a pin_sha256 of another key: refused" \
	en -u "$(P hookwrongpin)" -c "$CH1" --cn allow-7 --expect failure --expect-failinfo badRequest
check "... neither reached the webhook" not grep -qE "CN=allow-(6|7)" "$WH/requests.jsonl"

check "the gateway still serves after the timeout" en -u "$(P hook)" -c "$CH1" --cn allow-4
gw_stop
check "the HMAC secret never appears in the gateway log" not grep -qF -- "$HMAC_SECRET" "$GW_LOG"
check "the challenges never appear in the gateway log" \
	not grep -qE -- "$CH1|$CH2" "$GW_LOG"
finish
