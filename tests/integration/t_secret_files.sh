#!/usr/bin/env bash
# t_secret_files: every secret-bearing file is refused by `scepgw -n` (not only at
# startup) when group or others can read it, with a message that names the file
# and its kind: a static challenge's secret_file, the admin tokens_file, a
# webhook's hmac_secret_file, the listener's TLS key, the RA key.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# refused FILE KIND CONFIG: scepgw -n fails and says "FILE: KIND is accessible ..."
refused() {
	local out rc=0
	out=$("$SCEPGW" -n -c "$3" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" -ne 0 ] || { echo "scepgw -n exited 0"; return 1; }
	grep -qF -- "$1: $2 is accessible by group or others (mode 0644)" <<<"$out" ||
		{ echo "expected '$1: $2 is accessible by group or others (mode 0644)'"; return 1; }
}

gw_config "$CFG"
check "the development config passes scepgw -n" "$SCEPGW" -n -c "$CFG"

# a world-readable copy of each secret, named in the config in place of the good one
open_copy() { cp "$1" "$2" && chmod 0644 "$2"; }

open_copy "$PKI/challenge" "$T/challenge.open"
sed "s|secret_file: \"$PKI/challenge\"|secret_file: \"$T/challenge.open\"|" "$CFG" >"$T/c1.yaml"
check "a world-readable static challenge secret_file fails scepgw -n, naming its kind" \
	refused "$T/challenge.open" "static challenge secret file" "$T/c1.yaml"

open_copy "$T/admin.tokens" "$T/admin.tokens.open"
sed "s|tokens_file: \"$T/admin.tokens\"|tokens_file: \"$T/admin.tokens.open\"|" "$CFG" >"$T/c2.yaml"
check "a world-readable admin tokens_file fails scepgw -n, naming its kind" \
	refused "$T/admin.tokens.open" "admin tokens file" "$T/c2.yaml"

open_copy "$PKI/tls.key" "$T/tls.key.open"
GW_TLS_KEY=$T/tls.key.open gw_config "$T/c3.yaml"
check "a world-readable listener TLS key fails scepgw -n, naming its kind" \
	refused "$T/tls.key.open" "TLS key" "$T/c3.yaml"

open_copy "$PKI/ra.key" "$T/ra.key.open"
GW_RA_KEY=$T/ra.key.open gw_config "$T/c4.yaml"
check "a world-readable RA key fails scepgw -n, naming its kind" \
	refused "$T/ra.key.open" "private key" "$T/c4.yaml"

printf 'whsec-%s\n' "$(openssl rand -hex 8)" >"$T/hmac.open"
chmod 0644 "$T/hmac.open"
GW_SCEP_PROFILES_EXTRA="  hook:
    ra_identity: dev
    ra_profile: dev
    challenge: { type: webhook, url: \"https://127.0.0.1:1/x\", hmac_secret_file: \"$T/hmac.open\" }"
gw_config "$T/c5.yaml"
check "a world-readable webhook hmac_secret_file fails scepgw -n, naming its kind" \
	refused "$T/hmac.open" "webhook HMAC secret file" "$T/c5.yaml"
finish
