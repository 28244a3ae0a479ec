#!/usr/bin/env bash
# t_check.sh: `scepgw -n` catches what causes outages (issue 17 item 3):
# an expired RA certificate (error), one expiring in 3 days (warning with the
# days left, threshold `expiry_warning`), a ca_chain without the RA's issuer
# (warning: t_ejbca's RA is of another CA than the one it serves, and works),
# two listeners on one address, a file the service user cannot read; every
# error of a configuration in one run, each naming file, line and key path
# (also for a file that cannot be read); an unknown enum value lists the
# allowed ones.  It used to pass all of these, or stop at the first error.
# The local CA's certificate and key, which only the backend's start read
# (so -n passed a missing, mismatched or expired one): missing, not PEM,
# mismatched, expired (error), expiring (warning), unreadable by the service
# user (warning); a YAML syntax error names file:line:column.
. "$(dirname "$0")/lib.sh"

D=$T/c
mkdir -p "$D"
gw_config "$CFG"

# mkcert OUT DAYS_FROM DAYS_TO [ca]: the RA certificate again (its key, subject,
# extensions), issued by the dev issuing CA, valid from now+DAYS_FROM to
# now+DAYS_TO; with `ca`, the issuing CA's certificate again, self-signed
mkcert() {
	python3 - "$PKI" "$1" "$2" "$3" "${4:-ra}" <<'EOF'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
pki, out, a, b, what = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
ca = x509.load_pem_x509_certificate(open(pki + "/issuing-ca.pem", "rb").read())
key = serialization.load_pem_private_key(open(pki + "/issuing-ca.key", "rb").read(), None)
ra = ca if what == "ca" else x509.load_pem_x509_certificate(open(pki + "/ra.pem", "rb").read())
pub = key.public_key() if what == "ca" else ra.public_key()
now = datetime.datetime.now(datetime.timezone.utc)
bld = (x509.CertificateBuilder().subject_name(ra.subject).issuer_name(ca.subject)
       .public_key(pub).serial_number(x509.random_serial_number())
       .not_valid_before(now + datetime.timedelta(days=a))
       .not_valid_after(now + datetime.timedelta(days=b)))
for e in ra.extensions:
    bld = bld.add_extension(e.value, e.critical)
open(out, "wb").write(bld.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
EOF
}
# ncheck CFG: scepgw -n, stderr to $D/out, exit status printed
ncheck() {
	local st=0
	"$SCEPGW" -n -c "$1" >"$D/out" 2>&1 || st=$?
	echo "$st"
}
LINE_RA=$(grep -n "sign: { cert: \"$PKI/ra.pem\"" "$CFG" | cut -d: -f1)

check "the development configuration passes" test "$(ncheck "$CFG")" = 0

# --- an expired RA certificate -----------------------------------------------------------
mkcert "$D/ra-expired.pem" -30 -1
sed "s#\"$PKI/ra.pem\"#\"$D/ra-expired.pem\"#" "$CFG" >"$D/expired.yaml"
check "an expired RA certificate: -n fails" test "$(ncheck "$D/expired.yaml")" = 1
check "... naming file, line, key path and that it expired" \
	grep -E "^error: $D/expired.yaml:$LINE_RA: ra_identities\.dev\.sign\.cert: RA certificate .*scepgw RA.* expired 1 day\(s\) ago" "$D/out"

# --- one expiring in 3 days: a warning with the days left; the threshold --------------
mkcert "$D/ra-3d.pem" -30 3.05
sed "s#\"$PKI/ra.pem\"#\"$D/ra-3d.pem\"#" "$CFG" >"$D/3d.yaml"
check "expiring in 3 days: -n passes" test "$(ncheck "$D/3d.yaml")" = 0
check "... with a warning naming the days left" \
	grep -E "^warning: $D/3d.yaml:$LINE_RA: ra_identities\.dev\.sign\.cert: RA certificate .* expires in 3 day\(s\)" "$D/out"
printf 'expiry_warning: 2d\n' >>"$D/3d.yaml"
check "expiry_warning: 2d: passes" test "$(ncheck "$D/3d.yaml")" = 0
check "... without the warning" not grep -q "expires in" "$D/out"

# --- several errors in one run -------------------------------------------------------------
# ca_chain without the RA's issuer (the root alone), both listeners on one
# address, a missing RA key
sed -e "s#ca_chain: \"$PKI/chain.pem\"#ca_chain: \"$PKI/root-ca.pem\"#" \
	-e "s#127.0.0.1:$TLS_PORT#127.0.0.1:$PORT#" \
	"$CFG" >"$D/many.yaml"
python3 - "$D/many.yaml" "$PKI" "$T" <<'EOF'
import sys
f, pki, t = sys.argv[1:4]
s = open(f).read()
s = s.replace("ra_identities:\n", "ra_identities:\n  broken:\n    sign: { cert: \"%s/ra.pem\", key: \"%s/no-such.key\" }\n    ca_chain: \"%s/chain.pem\"\n" % (pki, t, pki), 1)
open(f, "w").write(s)
EOF
check "several errors: -n fails" test "$(ncheck "$D/many.yaml")" = 1
check "... the ca_chain without the RA's issuer (a warning)" \
	grep -E "^warning: $D/many.yaml:[0-9]+: ra_identities\.dev\.ca_chain: .*root-ca.pem holds no certificate that issued the RA certificate" "$D/out"
check "... the two listeners on one address" \
	grep -E "^error: $D/many.yaml:[0-9]+: listen\[1\]\.address: 127\.0\.0\.1:$PORT is also listen\[0\]" "$D/out"
check "... the RA key that cannot be read, with file, line and key path" \
	grep -E "^error: $D/many.yaml:[0-9]+: ra_identities\.broken\.sign\.key: .*no-such.key" "$D/out"
check "... and counts them: 2 errors, 1 warning" grep -E "^2 error\(s\), 1 warning\(s\)" "$D/out"

# --- the local CA's certificate and key -------------------------------------------------------
LINE_BK=$(grep -n "local-ca: { type: local" "$CFG" | cut -d: -f1)
ca_case() { # NAME SED-EXPRESSION: a config with the local CA changed
	sed "$2" "$CFG" >"$D/$1.yaml"
}
ca_case ca-nokey "s#ca_key: \"$PKI/issuing-ca.key\"#ca_key: \"$D/no-such-ca.key\"#"
check "a missing CA key: -n fails" test "$(ncheck "$D/ca-nokey.yaml")" = 1
check "... naming file, line, key path and the file" \
	grep -E "^error: $D/ca-nokey.yaml:$LINE_BK: backends\.local-ca\.ca_key: $D/no-such-ca.key: No such file" "$D/out"
ca_case ca-mismatch "s#ca_key: \"$PKI/issuing-ca.key\"#ca_key: \"$PKI/ra.key\"#"
check "a CA key of another certificate: -n fails" test "$(ncheck "$D/ca-mismatch.yaml")" = 1
check "... saying it does not match" \
	grep -E "^error: $D/ca-mismatch.yaml:$LINE_BK: backends\.local-ca\.ca_key: $PKI/ra.key does not match the CA certificate $PKI/issuing-ca.pem" "$D/out"
ca_case ca-nocert "s#ca_cert: \"$PKI/issuing-ca.pem\"#ca_cert: \"$D/no-such-ca.pem\"#"
check "a missing CA certificate: -n fails" test "$(ncheck "$D/ca-nocert.yaml")" = 1
check "... naming it" grep -E "^error: $D/ca-nocert.yaml:$LINE_BK: backends\.local-ca\.ca_cert: $D/no-such-ca.pem: cannot read" "$D/out"
echo "not a certificate" >"$D/garbage.pem"
ca_case ca-garbage "s#ca_cert: \"$PKI/issuing-ca.pem\"#ca_cert: \"$D/garbage.pem\"#"
check "a CA certificate file without a certificate: -n fails" test "$(ncheck "$D/ca-garbage.yaml")" = 1
check "... naming it" grep -E "^error: $D/ca-garbage.yaml:$LINE_BK: backends\.local-ca\.ca_cert: .*garbage.pem" "$D/out"
mkcert "$D/ca-expired.pem" -30 -2 ca
ca_case ca-expired "s#ca_cert: \"$PKI/issuing-ca.pem\"#ca_cert: \"$D/ca-expired.pem\"#"
check "an expired CA certificate: -n fails" test "$(ncheck "$D/ca-expired.yaml")" = 1
check "... saying it expired" \
	grep -E "^error: $D/ca-expired.yaml:$LINE_BK: backends\.local-ca\.ca_cert: CA certificate .* expired 2 day\(s\) ago" "$D/out"
check "... and the key still matches it (no other error)" grep -E "^1 error\(s\)" "$D/out"
mkcert "$D/ca-3d.pem" -30 3.05 ca
ca_case ca-3d "s#ca_cert: \"$PKI/issuing-ca.pem\"#ca_cert: \"$D/ca-3d.pem\"#"
check "a CA certificate expiring in 3 days: -n passes" test "$(ncheck "$D/ca-3d.yaml")" = 0
check "... with the RA certificates' warning" \
	grep -E "^warning: $D/ca-3d.yaml:$LINE_BK: backends\.local-ca\.ca_cert: CA certificate .* expires in 3 day\(s\)" "$D/out"

# --- a YAML syntax error: file:line:column ------------------------------------------------------
sed "s/^listen:$/listen: [ {address: x }/" "$CFG" >"$D/syntax.yaml"
LINE_SYN=$(($(grep -n "^listen:" "$D/syntax.yaml" | cut -d: -f1) + 1))
check "a YAML syntax error: -n fails" test "$(ncheck "$D/syntax.yaml")" = 1
check "... naming file, line and column" \
	grep -E "^error: $D/syntax.yaml:$LINE_SYN:[0-9]+: while parsing a flow sequence" "$D/out"

# --- an unknown enum value lists the allowed ones --------------------------------------------
sed "s/^log_level: .*/log_level: verbose/" "$CFG" >"$D/enum.yaml"
check "an unknown log_level: -n fails" test "$(ncheck "$D/enum.yaml")" = 1
check "... listing the allowed values" \
	grep -E "log_level: unknown log level 'verbose' \(one of: error, warn, info, debug\)" "$D/out"

# --- a file the service user cannot read ------------------------------------------------------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 0755 "$PKI"
	cp "$PKI/chain.pem" "$D/private-chain.pem"
	chmod 0600 "$D/private-chain.pem"
	sed -e "s#ca_chain: \"$PKI/chain.pem\"#ca_chain: \"$D/private-chain.pem\"#" "$CFG" >"$D/user.yaml"
	printf 'user: nobody\n' >>"$D/user.yaml"
	check "a file the service user cannot read: -n warns" test "$(ncheck "$D/user.yaml")" = 0
	check "... naming it, its line and key path" \
		grep -E "^warning: $D/user.yaml:[0-9]+: ra_identities\.dev\.ca_chain: $D/private-chain.pem is not readable by user 'nobody' \(owner uid 0, mode 0600\)" "$D/out"
	check "... the CA key too (owner-only, root's)" \
		grep -E "^warning: $D/user.yaml:$LINE_BK: backends\.local-ca\.ca_key: $PKI/issuing-ca.key is not readable by user 'nobody'" "$D/out"
fi
finish
