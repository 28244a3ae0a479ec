#!/usr/bin/env bash
# mkdevpki.sh [--pkcs11] DIR: make the development PKI for scepgw in DIR (mode 0700).
# With --pkcs11, also a SoftHSM2 token with the RA and CA keys generated on it,
# and configuration lines that use them by pkcs11: URI (certs/mkdevtoken.sh).
#
#   root-ca.pem/.key      self-signed root, CA:TRUE, keyCertSign+cRLSign, 10 years
#   issuing-ca.pem/.key   signed by the root, CA:TRUE pathlen:0, 2 years (local-ca backend)
#   ra.pem/ra.key         RA certificate, CN=scepgw RA, CA:FALSE,
#                         keyUsage critical digitalSignature+keyEncipherment, 2 years
#   chain.pem             issuing CA then root
#   tls.pem/tls.key       server certificate for 127.0.0.1 / ::1 / localhost, 2 years
#   challenge             random development challenge: 24 URL-safe characters, no newline
#
# RSA-2048, random serials, keys mode 0600.  Idempotent: when DIR already holds
# a complete PKI whose certificates verify, it is reused and the script exits 0.
# Anything incomplete is rebuilt in a staging directory and moved into place
# (an existing valid challenge is kept).  Development only.
set -euo pipefail

usage() { echo "usage: $0 [--pkcs11] DIR" >&2; exit 2; }
pkcs11=0
[ "${1:-}" = --pkcs11 ] && { pkcs11=1; shift; }
[ $# -eq 1 ] || usage
dir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cnf=$here/openssl.cnf
[ -r "$cnf" ] || { echo "mkdevpki: $cnf not found" >&2; exit 1; }
command -v openssl >/dev/null || { echo "mkdevpki: openssl not found" >&2; exit 1; }

umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

certs=(root-ca issuing-ca ra tls)

challenge_ok() {
	# 24 characters of the URL-safe base64 alphabet and nothing else (no newline).
	[ -f "$1" ] && [ "$(wc -c <"$1")" -eq 24 ] && grep -Eqx '[A-Za-z0-9_-]{24}' "$1"
}

complete() {
	local d=$1 n
	for n in "${certs[@]}"; do
		[ -s "$d/$n.pem" ] && [ -s "$d/$n.key" ] || return 1
	done
	[ -s "$d/chain.pem" ] || return 1
	openssl verify -CAfile "$d/root-ca.pem" "$d/issuing-ca.pem" >/dev/null 2>&1 || return 1
	openssl verify -CAfile "$d/root-ca.pem" -untrusted "$d/issuing-ca.pem" \
		"$d/ra.pem" "$d/tls.pem" >/dev/null 2>&1 || return 1
	# Each key matches its certificate.
	for n in "${certs[@]}"; do
		[ "$(openssl x509 -in "$d/$n.pem" -noout -pubkey 2>/dev/null)" = \
		  "$(openssl pkey -in "$d/$n.key" -pubout 2>/dev/null)" ] || return 1
	done
}

new_challenge() {
	# 18 random bytes -> exactly 24 base64 characters, no padding; made URL-safe.
	# Redrawn while it starts with '-' so that it never reads as an option.
	local c=-
	while [ "${c#-}" != "$c" ]; do c=$(openssl rand -base64 18 | tr '+/' '-_'); done
	printf '%s' "$c" >"$1.tmp"
	chmod 0600 "$1.tmp"
	mv -f "$1.tmp" "$1"
}

if complete "$dir"; then
	if challenge_ok "$dir/challenge"; then
		echo "mkdevpki: reusing the development PKI in $dir"
	else
		new_challenge "$dir/challenge"
		echo "mkdevpki: reusing the development PKI in $dir (new challenge)"
	fi
	chmod 0600 "$dir"/*.key "$dir/challenge"
	[ "$pkcs11" = 0 ] || exec "$here/mkdevtoken.sh" "$dir"
	exit 0
fi

stage=$(mktemp -d "$dir/.mkdevpki.XXXXXX")
trap 'rm -rf "$stage"' EXIT

serial() { echo "0x$(openssl rand -hex 16)"; }

genkey() {
	openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ||
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
	chmod 0600 "$1"
}

# issue NAME SUBJECT EXT_SECTION DAYS CA_NAME
issue() {
	local name=$1 subj=$2 ext=$3 days=$4 ca=$5
	genkey "$stage/$name.key"
	openssl req -new -config "$cnf" -key "$stage/$name.key" -subj "$subj" -out "$stage/$name.csr"
	openssl x509 -req -in "$stage/$name.csr" -CA "$stage/$ca.pem" -CAkey "$stage/$ca.key" \
		-set_serial "$(serial)" -days "$days" -sha256 \
		-extfile "$cnf" -extensions "$ext" -out "$stage/$name.pem" 2>/dev/null
	rm -f "$stage/$name.csr"
}

genkey "$stage/root-ca.key"
openssl req -new -x509 -config "$cnf" -key "$stage/root-ca.key" -subj "/CN=scepgw dev root CA" \
	-set_serial "$(serial)" -days 3650 -sha256 -extensions v3_root -out "$stage/root-ca.pem"
issue issuing-ca "/CN=scepgw dev issuing CA" v3_issuing 730 root-ca
issue ra "/CN=scepgw RA" v3_ra 730 issuing-ca
issue tls "/CN=localhost" v3_tls 730 issuing-ca
cat "$stage/issuing-ca.pem" "$stage/root-ca.pem" >"$stage/chain.pem"

if challenge_ok "$dir/challenge"; then
	cp "$dir/challenge" "$stage/challenge"
else
	new_challenge "$stage/challenge"
fi
chmod 0600 "$stage"/*.key "$stage/challenge"
chmod 0644 "$stage"/*.pem

if ! complete "$stage" || ! challenge_ok "$stage/challenge"; then
	echo "mkdevpki: the new PKI does not verify" >&2
	exit 1
fi

for f in "${certs[@]/%/.key}" "${certs[@]/%/.pem}" chain.pem challenge; do
	mv -f "$stage/$f" "$dir/$f"
done
echo "mkdevpki: created a development PKI in $dir"
[ "$pkcs11" = 0 ] || exec "$here/mkdevtoken.sh" "$dir"
