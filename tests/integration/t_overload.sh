#!/usr/bin/env bash
# t_overload.sh: more requests in flight than limits.max_connections allows
# get HTTP 503 with Retry-After and a log line (outcome=unavailable); the others still enroll,
# and the gateway keeps answering once the burst is over.
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"

GW_TOP_EXTRA="limits: { max_connections: 1 }"
gw_config "$CFG"
gw_start

D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null
# one saved request, then 48 copies of it POSTed over 16 parallel
# connections: the limit is checked when a request arrives, before anything
# else, so copies that overlap get 503 and the rest a CertRep (replay refused)
"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" -c "$CHALLENGE" --cn burst \
	--save-request "$D/req.der" >/dev/null 2>&1
mkdir -p "$D/bodies"
# a URL glob makes 48 transfers; n= is ignored by the gateway
curl -sS -Z --parallel-immediate --parallel-max 16 --data-binary "@$D/req.der" \
	-H 'Content-Type: application/x-pki-message' -o "$D/bodies/#1" \
	-w '%{http_code}\n%{http_code} retry-after=%header{retry-after}\n' \
	"$URL?operation=PKIOperation&n=[1-48]" >"$D/codes" 2>"$D/curl.err" || true
n503=$(grep -c '^503$' "$D/codes" || true)
check "every 503 carries Retry-After: 10" \
	test "$(grep -c '^503 retry-after=10$' "$D/codes" || true)" -eq "$n503"
n200=$(grep -c '^200$' "$D/codes" || true)
check "requests over the in-flight limit got HTTP 503 ($n503 of 48)" test "$n503" -ge 1
check "the others got a CertRep (HTTP 200: $n200)" test "$n200" -ge 1 -a $((n503 + n200)) -eq 48
check "each 503 has a log line with the reason" \
	test "$(grep -c 'outcome=unavailable status=503.*reason="too many requests in progress"' "$GW_LOG")" -eq "$n503"
check "after the burst a single enrollment succeeds" \
	"$SCEPREQ" enroll -u "$URL" --ra-chain "$D/ra-chain.pem" -c "$CHALLENGE" --cn after
gw_stop
finish
