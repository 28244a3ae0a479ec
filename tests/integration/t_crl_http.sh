#!/usr/bin/env bash
# t_crl_http: the CRL at /crl/<backend>.crl for relying parties and caches
# (issue 17 item 8): HEAD answers the headers and the length without a body;
# Last-Modified is the CRL's thisUpdate, ETag a digest of it, Cache-Control's
# max-age and Expires run to nextUpdate; If-Modified-Since (curl -z) and
# If-None-Match answer 304 without a body while the CRL is the same, 200 with
# the new CRL after a revocation; a malformed condition is ignored.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
gw_config "$CFG"
gw_start
D=$T/c
mkdir -p "$D"
CRL=$BASE/crl/local-ca.crl

# hdr FILE NAME: the value of header NAME in a curl -D dump
hdr() { awk -v n="$(echo "$2" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == n { sub(/\r$/, "", $2); print $2 }' "$1"; }
# fetch NAME [curl args]: GET the CRL: body D/NAME.crl, headers D/NAME.h, prints the status
fetch() { local n=$1; shift; curl -sS --max-time 10 -D "$D/$n.h" -o "$D/$n.crl" -w '%{http_code}' "$@" "$CRL"; }
# http_date "openssl date": the IMF-fixdate of an openssl time ("Dec  7 16:24:43 2026 GMT")
http_date() { LC_ALL=C TZ=GMT date -d "$1" '+%a, %d %b %Y %H:%M:%S GMT'; }

# --- GET: the validators ------------------------------------------------------
check "GET answers 200" test "$(fetch get)" = 200
last=$(openssl crl -inform DER -in "$D/get.crl" -noout -lastupdate | cut -d= -f2)
next=$(openssl crl -inform DER -in "$D/get.crl" -noout -nextupdate | cut -d= -f2)
LM=$(hdr "$D/get.h" Last-Modified)
ETAG=$(hdr "$D/get.h" ETag)
check "Last-Modified is the CRL's thisUpdate ($LM)" test "$LM" = "$(http_date "$last")"
check "Expires is the CRL's nextUpdate" test "$(hdr "$D/get.h" Expires)" = "$(http_date "$next")"
check "the ETag is a quoted digest ($ETAG)" bash -c "[[ '$ETAG' =~ ^\\\"[0-9a-f]{32}\\\"\$ ]]"
maxage=$(hdr "$D/get.h" Cache-Control | sed -n 's/.*max-age=\([0-9]*\).*/\1/p')
left=$(($(date -d "$next" +%s) - $(date +%s)))
check "Cache-Control is public with a max-age up to nextUpdate ($maxage s, $left s left)" \
	bash -c "grep -qi '^cache-control: public' '$D/get.h' && [ -n '$maxage' ] &&
	[ '$maxage' -le $((left + 2)) ] && [ '$maxage' -ge $((left - 5)) ]"
check "a second GET gets the same CRL and the same ETag" \
	bash -c "[ \"\$(curl -sS -D - -o /dev/null '$CRL' | tr -d '\r' | sed -n 's/^ETag: //Ip')\" = '$ETAG' ]"

# --- HEAD: the headers and the length, no body -----------------------------------
http_head_raw /crl/local-ca.crl >"$D/head.out"
size=$(stat -c %s "$D/get.crl")
check "HEAD answers 200" grep -q '^HTTP/1.1 200' "$D/head.out"
check "HEAD sends no body" grep -qx 'BODY=0' "$D/head.out"
check "HEAD's Content-Length is the GET's length ($size)" grep -qix "content-length: $size" "$D/head.out"
check "HEAD carries the same ETag" grep -qiF "etag: $ETAG" "$D/head.out"
check "curl -I works" bash -c "curl -sSf -I '$CRL' | grep -qi '^last-modified: $LM'"

# --- If-Modified-Since (curl -z) ----------------------------------------------------
check "If-Modified-Since: thisUpdate answers 304" test "$(fetch ims -H "If-Modified-Since: $LM")" = 304
check "the 304 has no body" test ! -s "$D/ims.crl"
check "the 304 repeats the ETag" test "$(hdr "$D/ims.h" ETag)" = "$ETAG"
check "curl -z with a later date: 304" test "$(fetch z1 -z "$(date -d '+1 hour' -u '+%a, %d %b %Y %H:%M:%S GMT')")" = 304
check "curl -z with an earlier date: 200 and the CRL" \
	bash -c "[ \"\$(curl -sS -o '$D/z2.crl' -w '%{http_code}' -z '$(http_date "$last - 1 hour")' '$CRL')\" = 200 ] && cmp -s '$D/z2.crl' '$D/get.crl'"
check "If-Modified-Since in the obsolete RFC 850 form is ignored: 200" \
	test "$(fetch obs -H "If-Modified-Since: Sunday, 06-Nov-33 08:49:37 GMT")" = 200

# --- If-None-Match --------------------------------------------------------------------
check "If-None-Match: the ETag answers 304" test "$(fetch inm -H "If-None-Match: $ETAG")" = 304
check "If-None-Match: a list holding the weak form of it answers 304" \
	test "$(fetch inm2 -H "If-None-Match: \"other\", W/$ETAG")" = 304
check "If-None-Match: * answers 304" test "$(fetch star -H "If-None-Match: *")" = 304
check "If-None-Match: another tag answers 200, even with a current If-Modified-Since" \
	test "$(fetch inm3 -H "If-None-Match: \"0000\"" -H "If-Modified-Since: $LM")" = 200
check "a malformed If-None-Match is ignored: 200" test "$(fetch bad -H 'If-None-Match: nope')" = 200
check "HEAD with If-None-Match: 304" \
	test "$(curl -sS -I -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$CRL")" = 304

# --- a revocation makes a new CRL: the old validators no longer match -----------------
check "GetCACert through scepreq" "$SCEPREQ" getcacert -u "$URL" -o "$D/ra.pem"
check "enroll a certificate" "$SCEPREQ" enroll --ra-chain "$D/ra.pem" -u "$URL" -c "$CHALLENGE" \
	--cn crl-http --out "$D/a.pem" --out-key "$D/a.key"
sleep 1 # thisUpdate has a one-second resolution
serial=$(openssl x509 -in "$D/a.pem" -noout -serial | cut -d= -f2)
check "scepgw revoke" "$SCEPGW" -c "$CFG" revoke "$serial" --reason keyCompromise
check "If-None-Match with the old ETag: 200 and a new CRL" test "$(fetch new -H "If-None-Match: $ETAG")" = 200
check "the new CRL lists the serial" \
	bash -c "openssl crl -inform DER -in '$D/new.crl' -noout -text | grep -qi 'Serial Number: $serial'"
check "with a new ETag" test "$(hdr "$D/new.h" ETag)" != "$ETAG"
check "If-Modified-Since the old thisUpdate: 200" test "$(fetch new2 -H "If-Modified-Since: $LM")" = 200

# --- methods and the log ------------------------------------------------------------
check "POST is refused: 405" test "$(curl -sS -o /dev/null -w '%{http_code}' -d x "$CRL")" = 405
check "the 304s are logged as CRL successes with status 304" \
	grep -q 'op=CRL .*outcome=success status=304' "$GW_LOG"
finish
