#!/usr/bin/env bash
# t_package.sh: the Debian package, installed the way an operator installs it.
# Builds the .deb from this tree (contrib/deb.sh), runs lintian on it (no
# errors), then in a fresh Debian 12 root (debootstrap --variant=minbase with
# man-db, from the mirror this machine's apt uses; cached as a tarball in
# /var/cache/scepgw-test) installs it with apt and checks: the manual pages,
# the user scepgw and its directories, the unit installed but not enabled;
# `scepgw -n` refuses the example until its keys exist and accepts it once
# they do (owned by scepgw, 0600, as the example says); the gateway started
# with the unit's ExecStart as the unit's User/Group/UMask enrolls scepreq and certmonger
# (on 127.0.0.1, ports this test picks); an upgrade and `apt purge` keep
# /var/lib/scepgw and the keys, and a reinstall serves again from that store.
# No systemd runs in the root: the unit's own lines are executed with setpriv.
# Needs root, debootstrap, dpkg-dev, debhelper, fakeroot, lintian, network
# access to the mirror (contrib/deps-debian.sh installs the tools).
. "$SGW_SOURCE_ROOT/tests/integration/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
for tool in debootstrap dpkg-buildpackage lintian fakeroot; do
	command -v "$tool" >/dev/null || { echo "t_package: $tool is not installed (contrib/deps-debian.sh)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "t_package: needs root (chroot)" >&2; exit 1; }

CACHE=${SCEPGW_TEST_CACHE:-/var/cache/scepgw-test}
R=$T/root
mkdir -p "$CACHE/archives"

# --- the package ---------------------------------------------------------
log "building the package (contrib/deb.sh)"
deb=$("$SRC/contrib/deb.sh" "$T/out" | tail -n 1)
check "contrib/deb.sh builds a .deb" test -s "$deb"
[ -s "$deb" ] || finish
lintian --allow-root --pedantic -I "$deb" >"$T/lintian.txt" 2>&1 || true
sed 's/^/# lintian: /' "$T/lintian.txt"
check "lintian reports no error" not grep -q '^E: ' "$T/lintian.txt"

# --- a fresh Debian 12 root ------------------------------------------------
mirror() { # the Debian mirror of this machine's apt configuration
	local m=
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources | grep -v security | head -n 1)
	fi
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
	echo "${m:-http://deb.debian.org/debian}"
}
base=$CACHE/bookworm-minbase.tar
if [ ! -s "$base" ]; then
	log "debootstrap bookworm from $(mirror) (cached in $base)"
	debootstrap --variant=minbase --include=man-db bookworm "$T/boot" "$(mirror)" >"$T/debootstrap.log" 2>&1 ||
		{
			umount "$T/boot/proc" "$T/boot/sys" 2>/dev/null || true # what debootstrap mounts
			tail -n 20 "$T/debootstrap.log"
			check "debootstrap bookworm" false
			finish
		}
	tar -C "$T/boot" -cf "$base.$$" . && mv "$base.$$" "$base" # atomic for a concurrent run
	rm -rf "${T:?}/boot"
fi
mkdir -p "$R"
tar -C "$R" -xf "$base"
cp /etc/resolv.conf "$R/etc/resolv.conf"
if [ -r /etc/apt/sources.list.d/debian.sources ]; then # same suites as the build machine
	cp /etc/apt/sources.list.d/debian.sources "$R/etc/apt/sources.list.d/"
	: >"$R/etc/apt/sources.list"
fi
inroot() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	DEBIAN_FRONTEND=noninteractive MANWIDTH=80 "$@"; }
apt_install() { # apt_install ARGS...: apt-get install, the downloads cached in $CACHE
	cp -n "$CACHE"/archives/*.deb "$R/var/cache/apt/archives/" 2>/dev/null || true
	inroot apt-get install -y -q --no-install-recommends "$@" >>"$T/apt.log" 2>&1
	local st=$?
	find "$R/var/cache/apt/archives" -maxdepth 1 -name '*.deb' ! -name 'scepgw_*' \
		-exec cp -n {} "$CACHE/archives/" \;
	return "$st"
}
cp "$deb" "$R/tmp/"
pkg=/tmp/$(basename "$deb")
inroot apt-get update -q >"$T/apt.log" 2>&1 || { tail -n 20 "$T/apt.log"; check "apt-get update in the root" false; finish; }
check "apt installs the package into a fresh Debian 12 root" apt_install "$pkg"
grep -q '^ii  scepgw ' <(inroot dpkg -l scepgw) || { tail -n 30 "$T/apt.log"; finish; }

# --- what the package installed -----------------------------------------------
check "man scepgw shows the page" bash -c "chroot '$R' env MANWIDTH=80 man scepgw 2>/dev/null | grep -q 'scepgw - SCEP (RFC 8894) registration authority gateway'"
check "man 5 scepgw.yaml lists the keys (nonce_ttl)" bash -c "chroot '$R' man 5 scepgw.yaml 2>/dev/null | grep -q nonce_ttl"
check "man scepgwctl shows the page" bash -c "chroot '$R' man scepgwctl 2>/dev/null | grep -q 'scepgwctl - command-line client'"
check "the user scepgw exists" inroot id scepgw
check "bash completes scepgwctl's commands" \
	test "$(inroot bash -c '_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; prev=${COMP_WORDS[COMP_CWORD-1]}; }
		. /usr/share/bash-completion/completions/scepgwctl
		COMP_WORDS=(scepgwctl ap); COMP_CWORD=1; _scepgwctl; echo "${COMPREPLY[*]}"')" = approve
check "/var/lib/scepgw is scepgw's, 0700" test "$(inroot stat -c '%U:%G %a' /var/lib/scepgw)" = "scepgw:scepgw 700"
check "/etc/scepgw is root:scepgw 0750" test "$(inroot stat -c '%U:%G %a' /etc/scepgw)" = "root:scepgw 750"
check "/etc/scepgw/scepgw.yaml is a conffile" grep -qx /etc/scepgw/scepgw.yaml "$R/var/lib/dpkg/info/scepgw.conffiles"
check "the unit is installed" test -f "$R/lib/systemd/system/scepgw.service"
check "the unit is not enabled (no keys yet)" \
	bash -c "! ls '$R'/etc/systemd/system/*.wants/scepgw.service 2>/dev/null | grep -q ."

# --- run it the way the unit does ------------------------------------------
unit=$R/lib/systemd/system/scepgw.service
u_user=$(sed -n 's/^User=//p' "$unit")
u_group=$(sed -n 's/^Group=//p' "$unit")
u_umask=$(sed -n 's/^UMask=//p' "$unit")
u_pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
u_start=$(sed -n 's/^ExecStart=//p' "$unit")
log "unit: User=$u_user Group=$u_group UMask=$u_umask ExecStartPre=$u_pre ExecStart=$u_start"
asunit() { # asunit COMMAND-LINE: as the unit's user and group, with its umask
	inroot setpriv --reuid="$u_user" --regid="$u_group" --init-groups -- \
		/bin/sh -c "umask ${u_umask:-0022}; exec $1"
}
yaml=$R/etc/scepgw/scepgw.yaml
pre_ok() { # the unit's ExecStartPre (scepgw -n) passes
	asunit "$u_pre" >"$T/pre.log" 2>&1
	local st=$?
	sed 's/^/# -n: /' "$T/pre.log"
	[ "$st" -eq 0 ] && grep -q 'configuration OK' "$T/pre.log"
}
check "ExecStartPre refuses the example before its keys exist" not pre_ok

# The example's key files, from the development PKI, owned by the unit's user
install_keys() {
	local e=$R/etc/scepgw
	mkdir -p "$e/tls" "$e/ra"
	cp "$PKI/tls.pem" "$e/tls/server.pem"
	cp "$PKI/tls.key" "$e/tls/server.key"
	cp "$PKI/ra.pem" "$e/ra/sign.pem"
	cp "$PKI/ra.key" "$e/ra/sign.key"
	cp "$PKI/ra.pem" "$e/ra/encrypt.pem"
	cp "$PKI/ra.key" "$e/ra/encrypt.key"
	cp "$PKI/chain.pem" "$e/ca-chain.pem"
	cp "$PKI/issuing-ca.pem" "$e/ca.pem"
	cp "$PKI/issuing-ca.key" "$e/ca.key"
	cp "$PKI/challenge" "$e/devices.challenge"
	inroot chown -R scepgw:scepgw /etc/scepgw/tls /etc/scepgw/ra /etc/scepgw/ca-chain.pem \
		/etc/scepgw/ca.pem /etc/scepgw/ca.key /etc/scepgw/devices.challenge
	chmod 0600 "$e"/tls/server.key "$e"/ra/*.key "$e"/ca.key "$e"/devices.challenge
}
# The test's ports instead of 8080/8443 (the only edit to the example)
set_ports() {
	sed -i -e "s|\"0.0.0.0:8080\"|\"127.0.0.1:$PORT\"|" -e "s|\"\[::\]:8443\"|\"127.0.0.1:$TLS_PORT\"|" "$yaml"
}
install_keys
set_ports
check "ExecStartPre (scepgw -n) as $u_user passes once the keys exist" pre_ok

URL=http://127.0.0.1:$PORT/scep/devices/pkiclient.exe
start_unit() {
	# a simple command, so that $! is the daemon (chroot, env, setpriv and sh exec)
	chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		setpriv --reuid="$u_user" --regid="$u_group" --init-groups -- \
		/bin/sh -c "umask ${u_umask:-0022}; exec $u_start" >>"$GW_LOG" 2>&1 &
	GW_PID=$!
	track_pid "$GW_PID"
	if ! wait_http "$URL?operation=GetCACaps" 20; then
		sed 's/^/  | /' "$GW_LOG" >&2 || true
		check "the packaged gateway starts as $u_user" false
		finish
	fi
}
enroll() { # enroll CN: a real SCEP enrollment with the example's challenge, verified
	"$SCEPREQ" enroll -u "$URL" -c "$(cat "$PKI/challenge")" --cn "$1" --san-dns "$1" \
		--out "$T/$1.pem" --out-key "$T/$1.key" &&
		openssl verify -CAfile "$PKI/root-ca.pem" -untrusted "$PKI/issuing-ca.pem" "$T/$1.pem"
}
start_unit
check "the gateway runs as $u_user" test "$(ps -o uid= -p "$GW_PID" | tr -d ' ')" = "$(inroot id -u scepgw)"
check "a client enrolls with the packaged gateway" enroll a.devices.example.com
# certmonger from Debian, on a private session bus (lib.sh), as a device would:
# SHA-256 and AES, which the production example offers (micromdm scepclient
# signs only with SHA-1, which it does not).
cm_enroll() {
	local cm=$T/cm
	certmonger_run "$cm" "$(
		cat <<EOF2
getcert add-scep-ca -s -c pkg -u "$URL" >add.out 2>&1
getcert request -s -c pkg -k "$cm/out/key.pem" -f "$cm/out/cert.pem" -g 2048 \\
	-N CN=cm.devices.example.com -D cm.devices.example.com -L "$(cat "$PKI/challenge")" \\
	-w --wait-timeout 60 >req.out 2>&1; echo \$? >req.rc
EOF2
	)" || { echo "certmonger did not finish"; return 1; }
	[ "$(cat "$cm/req.rc" 2>/dev/null)" = 0 ] || { cat "$cm/req.out" "$cm/add.out"; return 1; }
	openssl verify -CAfile "$PKI/root-ca.pem" -untrusted "$PKI/issuing-ca.pem" "$cm/out/cert.pem"
}
check "certmonger enrolls with the packaged gateway" cm_enroll
check "the store is in /var/lib/scepgw, owned by scepgw" \
	test "$(inroot stat -c '%U %a' /var/lib/scepgw/scepgw.db)" = "scepgw 600"
st=0
_stop_pid "$GW_PID" 10 || st=$?
check "the gateway stops cleanly on SIGTERM" test "$st" -eq 0
GW_PID=
db_sum=$(sha256sum <"$R/var/lib/scepgw/scepgw.db")

# --- upgrade: the same files under a higher version ---------------------------
dpkg-deb -R "$deb" "$T/up"
sed -i 's/^Version: .*/&.1/' "$T/up/DEBIAN/control"
dpkg-deb -b "$T/up" "$R/tmp/scepgw-upgrade.deb" >/dev/null
check "apt upgrades the package" apt_install /tmp/scepgw-upgrade.deb
check "the upgrade keeps the store" test "$(sha256sum <"$R/var/lib/scepgw/scepgw.db")" = "$db_sum"
check "the upgrade keeps the edited conffile" grep -q "127.0.0.1:$PORT" "$yaml"

# --- purge, then reinstall ---------------------------------------------------
inroot apt-get purge -y -q scepgw >>"$T/apt.log" 2>&1
check "apt purge removes the package" bash -c "! chroot '$R' dpkg -s scepgw >/dev/null 2>&1"
check "purge removes the conffile" test ! -e "$yaml"
check "purge keeps /var/lib/scepgw" test "$(sha256sum <"$R/var/lib/scepgw/scepgw.db")" = "$db_sum"
check "purge keeps the operator's keys" test -s "$R/etc/scepgw/ra/sign.key"
check "apt installs the package again" apt_install "$pkg"
check "the reinstall brings the example back" test -s "$yaml"
set_ports
check "scepgw -n passes again" pre_ok
start_unit
check "the reinstalled gateway enrolls with the kept store" enroll b.devices.example.com
check "... and still knows the first certificate (GetCert from the old store)" \
	"$SCEPREQ" getcert -u "$URL" --signer-cert "$T/a.devices.example.com.pem" \
	--signer-key "$T/a.devices.example.com.key" -o "$T/a-again.pem"
finish
