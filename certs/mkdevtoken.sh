#!/usr/bin/env bash
# mkdevtoken.sh DIR: the token half of `mkdevpki.sh --pkcs11 DIR` (run after the
# file PKI exists in DIR).  Makes a SoftHSM2 token in DIR/pkcs11/ and generates
# on it, never extractable:
#
#   ra-sign      RSA-2048, id 01: the RA signing key      -> DIR/pkcs11/ra-sign.pem
#   ra-encrypt   RSA-2048, id 02: the RA encryption key   -> DIR/pkcs11/ra-encrypt.pem
#   issuing-ca   RSA-2048, id 03: the local CA's key      -> DIR/pkcs11/issuing-ca.pem
#
# issuing-ca.pem is signed by DIR/root-ca (a file key: the offline root); the RA
# certificates by the token's issuing CA (openssl with the libp11 engine, for
# this script only).  Also written: chain.pem (token issuing CA, root),
# softhsm2.conf and tokens/ (export SOFTHSM2_CONF=DIR/pkcs11/softhsm2.conf for
# the gateway and pkcs11-tool), pin (the user PIN, mode 0600) and
# scepgw-pkcs11.yaml, the configuration lines that use the token by pkcs11: URI.
# Reruns reuse a complete DIR/pkcs11/.  Development only.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cnf=$here/openssl.cnf
module=${SCEPGW_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
p=$dir/pkcs11
label=scepgw
for tool in softhsm2-util pkcs11-tool openssl; do
	command -v "$tool" >/dev/null ||
		{ echo "mkdevtoken: $tool not found (apt-get install softhsm2 opensc)" >&2; exit 1; }
done
[ -r "$module" ] || { echo "mkdevtoken: no PKCS#11 module at $module" >&2; exit 1; }

export SOFTHSM2_CONF=$p/softhsm2.conf
umask 077

if [ -s "$p/scepgw-pkcs11.yaml" ] && [ -s "$p/ra-sign.pem" ] && [ -s "$p/ra-encrypt.pem" ] &&
	openssl verify -CAfile "$dir/root-ca.pem" "$p/issuing-ca.pem" >/dev/null 2>&1 &&
	pkcs11-tool --module "$module" --token-label "$label" --list-objects 2>/dev/null |
	grep -q 'label: *issuing-ca'; then
	echo "mkdevtoken: reusing the token in $p"
	exit 0
fi

rm -rf "$p"
mkdir -p "$p/tokens"
chmod 0700 "$p"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$p/tokens" >"$p/softhsm2.conf"
pin=$(openssl rand -hex 8)
printf '%s\n' "$pin" >"$p/pin"
chmod 0600 "$p/pin"
softhsm2-util --init-token --free --label "$label" --pin "$pin" \
	--so-pin "$(openssl rand -hex 8)" >/dev/null

p11() { pkcs11-tool --module "$module" --token-label "$label" "$@" 2>/dev/null; }
# keypair LABEL ID: generated on the token (CKA_SENSITIVE, never extractable),
# its public key to $p/LABEL.pub.der
keypair() {
	p11 --login --pin "$pin" --keypairgen --key-type rsa:2048 --label "$1" --id "$2" \
		--usage-sign --usage-decrypt >/dev/null
	p11 --read-object --type pubkey --label "$1" -o "$p/$1.pub.der" >/dev/null
}
serial() { echo "0x$(openssl rand -hex 16)"; }
# cert LABEL SUBJECT EXT CA_ARGS...: a certificate for the token key LABEL
# (openssl x509 -force_pubkey: the CSR is only a carrier, made with a throwaway key)
openssl req -new -newkey rsa:2048 -nodes -keyout "$p/carrier.key" -subj /CN=carrier \
	-out "$p/carrier.csr" 2>/dev/null
cert() {
	local name=$1 subj=$2 ext=$3
	shift 3
	openssl x509 -req -in "$p/carrier.csr" -force_pubkey "$p/$name.pub.der" -keyform DER \
		-subj "$subj" -set_serial "$(serial)" -days 730 -sha256 -extfile "$cnf" \
		-extensions "$ext" -out "$p/$name.pem" "$@" 2>/dev/null
}

keypair ra-sign 01
keypair ra-encrypt 02
keypair issuing-ca 03
cert issuing-ca "/CN=scepgw dev issuing CA (token)" v3_issuing \
	-CA "$dir/root-ca.pem" -CAkey "$dir/root-ca.key"
ca_uri="pkcs11:token=$label;object=issuing-ca;type=private;pin-value=$pin"
for k in sign encrypt; do
	cert "ra-$k" "/CN=scepgw RA ($k, token)" "v3_ra_$k" -CA "$p/issuing-ca.pem" \
		-engine pkcs11 -CAkeyform engine -CAkey "$ca_uri"
done
cat "$p/issuing-ca.pem" "$dir/root-ca.pem" >"$p/chain.pem"
rm -f "$p/carrier.key" "$p/carrier.csr" "$p"/*.pub.der
chmod 0644 "$p"/*.pem
openssl verify -CAfile "$dir/root-ca.pem" -untrusted "$p/issuing-ca.pem" \
	"$p/ra-sign.pem" "$p/ra-encrypt.pem" >/dev/null ||
	{ echo "mkdevtoken: the token certificates do not verify" >&2; exit 1; }

cat >"$p/scepgw-pkcs11.yaml" <<YAML
# scepgw with its keys on the development SoftHSM2 token (mkdevpki.sh --pkcs11).
# Run the gateway with SOFTHSM2_CONF=$p/softhsm2.conf in its environment.
pkcs11: { module: $module, pin_file: $p/pin }
ra_identities:
  dev:
    sign: { cert: $p/ra-sign.pem, key: "pkcs11:token=$label;object=ra-sign;type=private" }
    encrypt: { cert: $p/ra-encrypt.pem, key: "pkcs11:token=$label;object=ra-encrypt;type=private" }
    ca_chain: $p/chain.pem
# backends: local-ca:
#   ca_cert: $p/issuing-ca.pem
#   ca_key: "pkcs11:token=$label;object=issuing-ca;type=private"
YAML
echo "mkdevtoken: created a SoftHSM2 token with the RA and CA keys in $p"
