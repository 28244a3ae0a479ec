#!/usr/bin/env bash
# t_user.sh: with `user:` set the daemon drops to that user after binding,
# and revocation and CRLs still work: the local CA's state directory and its
# files (made by root: the directory as an installer makes it, the files by a
# `scepgw revoke` run as root) become the user's before the drop.  `scepgw -n`
# reports a state directory that user could not write.  Runs as root, with
# the unprivileged user `nobody`.
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	echo "t_user: needs root and the user nobody" >&2
	exit 1
fi

hexserial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
D=$T/c
mkdir -p "$D"

# the state as root leaves it: a 0755 directory and a lock file, both root's
chmod 0755 "$T/ca-state"
: >"$T/ca-state/local-ca.lock"
GW_TOP_EXTRA="user: nobody"
gw_config "$CFG"

# -n: a state directory of another user that nobody cannot write is refused
mkdir -p "$T/other-state"
chown daemon "$T/other-state"
chmod 0755 "$T/other-state"
sed "s|state_dir: \"$T/ca-state\"|state_dir: \"$T/other-state\"|" "$CFG" >"$T/other.yaml"
check "scepgw -n refuses a state_dir the user cannot write" \
	bash -c "! '$SCEPGW' -n -c '$T/other.yaml' 2>&1 | tee /dev/stderr | grep -q 'configuration OK'"
check "... and says why" \
	bash -c "'$SCEPGW' -n -c '$T/other.yaml' 2>&1 | grep -q 'state_dir $T/other-state: not writable by the user'"
check "scepgw -n accepts the root-owned state_dir (start hands it over)" "$SCEPGW" -n -c "$CFG"

gw_start
check "the gateway runs as nobody" test "$(ps -o user= -p "$GW_PID")" = nobody
check "enroll as nobody" \
	"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn user-a --out "$D/a.pem" --out-key "$D/a.key"
"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn user-b --out "$D/b.pem" --out-key "$D/b.key" \
	>/dev/null
SB=$(hexserial "$D/b.pem")
check "scepgwctl revoke $SB (the daemon writes the revocation file as nobody)" \
	ctl revoke "$SB" --reason keyCompromise
check "GetCRL (a new CRL, written as nobody) lists it" \
	bash -c "'$SCEPREQ' getcrl -u '$URL' --signer-cert '$D/a.pem' --signer-key '$D/a.key' |
		grep -qi 'revoked=0*$SB reason=keyCompromise'"
"$SCEPREQ" enroll -u "$URL" -c "$CHALLENGE" --cn user-c --out "$D/c.pem" --out-key "$D/c.key" \
	>/dev/null
SC=$(hexserial "$D/c.pem")
check "scepgw revoke $SC as root, while the daemon runs as nobody" \
	"$SCEPGW" -c "$CFG" revoke "$SC" --reason superseded
check "GetCRL still works (the daemon reads what root wrote) and lists both" \
	bash -c "'$SCEPREQ' getcrl -u '$URL' --signer-cert '$D/a.pem' --signer-key '$D/a.key' >'$D/crl2.out' &&
		grep -qi 'revoked=0*$SB reason=keyCompromise' '$D/crl2.out' &&
		grep -qi 'revoked=0*$SC reason=superseded' '$D/crl2.out'"
check "the state directory and its files are nobody's" \
	test -z "$(find "$T/ca-state" ! -user nobody)"
check "no permission error in the log" not grep -q 'Permission denied' "$GW_LOG"
gw_stop

finish
