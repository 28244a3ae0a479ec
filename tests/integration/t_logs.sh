#!/usr/bin/env bash
# t_logs: the log formats of the real daemon.  Under systemd (JOURNAL_STREAM
# names the stream its stderr is) every line starts with its syslog priority
# (<4> for a warning, <6> for info) and carries no time or pid of its own, so
# `journalctl -p warning` selects the warnings; a request line names the
# method as sent (HEAD too), the user agent, the CSR's subject and what
# authorized the request; X-Forwarded-For names the client only when the TCP
# peer is in trusted_proxies; `log_format: json` writes one
# JSON object per line; an unknown format is a config error.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

head_no_body() { # HEAD on a SCEP route: the GET's Content-Length, and no body after the headers
	local out
	out=$(http_head_raw '/scep/dev/pkiclient.exe?operation=GetCACaps')
	echo "$out"
	grep -q '^HTTP/1.1 200' <<<"$out" && grep -qx 'BODY=0' <<<"$out" &&
		[ "$(grep -ic '^content-length: [1-9]' <<<"$out")" = 1 ] &&
		[ "$(grep -ic '^content-length:' <<<"$out")" = 1 ]
}

# --- under the journal ---------------------------------------------------------
: >"$GW_LOG"
JOURNAL_STREAM=$(stat -c '%d:%i' "$GW_LOG")
export JOURNAL_STREAM
gw_config "$CFG"
gw_start "$CFG"
curl -fsS -o /dev/null -A 'probe/1.0 "quoted"' "$URL?operation=GetCACaps"
curl -fsS -o /dev/null -I "$URL?operation=GetCACaps"
"$SCEPREQ" enroll -u "$URL" -c wrong-challenge --cn logs-1 --expect failure >/dev/null 2>&1 || true
"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn logs-2 >/dev/null 2>&1 || true
check "HEAD is answered with the GET's headers and no body" head_no_body
gw_stop
unset JOURNAL_STREAM
check "a warning carries priority 4" grep -q '^<4>warn: scep_profiles.dev: single DES allowed' "$GW_LOG"
check "an info line carries priority 6" grep -q '^<6>info: .*op=GetCACaps' "$GW_LOG"
check "a refused request is logged as a warning (priority 4)" grep -q '^<4>warn: .*op=PKCSReq.*outcome=denied' "$GW_LOG"
check "the request line names the user agent, made safe" \
	grep -q 'op=GetCACaps method=GET .* ua="probe/1.0 ?quoted?"' "$GW_LOG"
check "a HEAD request is logged as HEAD" grep -q 'op=GetCACaps method=HEAD ' "$GW_LOG"
check "an enrollment's line names its subject and what authorized it" \
	grep -q 'op=PKCSReq .*outcome=success .*subject="CN=logs-2" auth=static' "$GW_LOG"
check "a refused one names its subject, and no authorization" \
	bash -c "grep 'op=PKCSReq .*outcome=denied' '$GW_LOG' | grep 'subject=\"CN=logs-1\"' | grep -vq ' auth='"
check "every line starts with a priority (no time or pid of our own)" \
	not grep -qv '^<[3467]>' "$GW_LOG"
check "without -v: no debug line" not grep -q 'debug:' "$GW_LOG"

# --- JSON ----------------------------------------------------------------------
mv "$GW_LOG" "$T/journal.log"
GW_TOP_EXTRA="log_format: json"
gw_config "$CFG"
gw_start "$CFG"
curl -fsS -o /dev/null "$URL?operation=GetCACaps"
gw_stop
json_ok() {
	python3 - "$GW_LOG" <<'PY'
import json, sys
n = 0
caps = False
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    assert set(o) >= {"time", "ident", "pid", "level", "priority", "msg"}, o
    assert o["level"] in ("error", "warn", "info", "debug"), o
    caps = caps or "op=GetCACaps" in o["msg"]
    n += 1
assert n > 3 and caps, (n, caps)
PY
}
check "log_format json: every line is a JSON object with level, priority and msg" json_ok

# --- behind a proxy -------------------------------------------------------------
# 127.0.0.1 is the proxy here.  Untrusted, its X-Forwarded-For means nothing;
# trusted, the right-most address it did not add itself is the client, and an
# address a device wrote further left is never believed.
mv "$GW_LOG" "$T/json.log"
GW_TOP_EXTRA=
gw_config "$CFG"
gw_start "$CFG"
curl -fsS -o /dev/null -H 'X-Forwarded-For: 203.0.113.7' "$URL?operation=GetCACaps"
gw_stop
check "an untrusted peer's X-Forwarded-For is ignored" \
	grep -q 'peer=127.0.0.1 op=GetCACaps' "$GW_LOG"
check "... and never logged as the client" not grep -q '203.0.113.7' "$GW_LOG"
mv "$GW_LOG" "$T/untrusted.log"
GW_TOP_EXTRA='trusted_proxies: ["127.0.0.0/8", "::1"]'
gw_config "$CFG"
gw_start "$CFG"
curl -fsS -o /dev/null -H 'X-Forwarded-For: 203.0.113.7' "$URL?operation=GetCACaps"
curl -fsS -o /dev/null -H 'X-Forwarded-For: 198.51.100.66, 203.0.113.8' "$URL?operation=GetCACaps"
curl -fsS -o /dev/null -H 'X-Forwarded-For: not-an-address' "$URL?operation=GetCACaps"
"$SCEPREQ" enroll -u "$URL" -c wrong-challenge --cn logs-3 --expect failure >/dev/null 2>&1 || true
gw_stop
check "a trusted proxy's X-Forwarded-For names the client, the proxy as via=" \
	grep -q 'peer=203.0.113.7 via=127.0.0.1 op=GetCACaps' "$GW_LOG"
check "the right-most untrusted address is the client, not one a device wrote" \
	grep -q 'peer=203.0.113.8 via=127.0.0.1 op=GetCACaps' "$GW_LOG"
check "... the spoofed one appears nowhere" not grep -q '198.51.100.66' "$GW_LOG"
check "a malformed X-Forwarded-For keeps the proxy as the peer, with a warning" \
	grep -q 'peer=127.0.0.1: X-Forwarded-For from a trusted proxy is not a list of addresses' "$GW_LOG"
GW_TOP_EXTRA='trusted_proxies: ["10.0.0.1/8"]'
gw_config "$CFG"
check "a range with host bits set is a config error" \
	config_refused "$CFG" "trusted_proxies: '10.0.0.1/8' is not an address or CIDR range"

# --- an unknown format ---------------------------------------------------------
GW_TOP_EXTRA="log_format: syslog"
gw_config "$CFG"
check "an unknown log_format is refused, naming the key" \
	config_refused "$CFG" "log_format: unknown log format 'syslog'"

# --- -v: debug lines on the request path, never a secret ------------------------
mv "$GW_LOG" "$T/trusted.log"
GW_TOP_EXTRA=
gw_config "$CFG"
GW_ARGS=-v gw_start "$CFG"
"$SCEPREQ" enroll -u "$URL" -c wrong-challenge --cn logs-v1 --expect failure >/dev/null 2>&1 || true
"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn logs-v2 >/dev/null 2>&1 || true
gw_stop
check "-v: the decoded message (type, digest, signer key, signingTime)" \
	grep -Eq 'debug: txn=[^ ]+ profile=dev peer=127.0.0.1: PKCSReq \(messageType 19\) decoded: digest SHA256, signer key sha256 [0-9a-f]{16}\.\.\., signingTime [-+][0-9]+s from now' "$GW_LOG"
check "-v: the validator's verdict, with the reason of a denial" \
	grep -q 'debug: txn=.* profile=dev peer=127.0.0.1: static: denied: challenge password mismatch' "$GW_LOG"
check "-v: ... and an accepted one" grep -q 'debug: txn=.* profile=dev peer=127.0.0.1: static: accepted' "$GW_LOG"
check "-v: the backend's answer and its time" \
	grep -Eq 'debug: txn=.* profile=dev: backend local-ca answered issued in [0-9.]+ ms' "$GW_LOG"
no_secret_in_log
finish
