#!/usr/bin/env bash
# quickstart.sh: from a fresh Debian 12 to a running development gateway.
# As root: installs the build dependencies, builds and installs scepgw
# (/usr/local/bin), makes a development PKI and config under SCEPGW_STATE
# (default /var/lib/scepgw-dev), prints the SCEP URL, the challenge and
# ready-to-paste enrollment commands, then runs scepgw in the foreground.
#
#   SCEPGW_STATE   state directory (PKI, config, database)  /var/lib/scepgw-dev
#   SCEPGW_PORT    HTTP port on 127.0.0.1                   8080
#   SCEPGW_TLS_PORT HTTPS port on 127.0.0.1                 8443
#
# Rerunning reuses the PKI and the config (delete STATE to start over).
# Development only: the keys are unencrypted files and single DES is allowed.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
state=${SCEPGW_STATE:-/var/lib/scepgw-dev}
port=${SCEPGW_PORT:-8080}
tls_port=${SCEPGW_TLS_PORT:-8443}

[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root (it installs packages and /usr/local/bin/scepgw)" >&2; exit 1; }
case $state in /*) ;; *) state=$PWD/$state ;; esac
[[ $state =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "quickstart: SCEPGW_STATE must be a plain path ([A-Za-z0-9/._-])" >&2; exit 1; }
[[ $port =~ ^[0-9]+$ && $tls_port =~ ^[0-9]+$ ]] || { echo "quickstart: SCEPGW_PORT/SCEPGW_TLS_PORT must be numbers" >&2; exit 1; }

bash contrib/deps-debian.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
meson install -C build --quiet
scepgw=/usr/local/bin/scepgw
[ -x "$scepgw" ] || { echo "quickstart: $scepgw was not installed" >&2; exit 1; }

certs/mkdevpki.sh "$state"
cfg=$state/scepgw.yaml
if [ -f "$cfg" ]; then
	echo "quickstart: reusing $cfg"
	# The URL printed below must be the one the config listens on.
	old=$(sed -n 's/^  - address: "127\.0\.0\.1:\([0-9]*\)"$/\1/p' "$cfg" | head -n 1)
	if [ -n "$old" ] && [ "$old" != "$port" ]; then
		echo "quickstart: $cfg listens on port $old (SCEPGW_PORT=$port ignored; delete the file to change it)" >&2
		port=$old
	fi
else
	(
		umask 077
		cat >"$cfg" <<EOF
# scepgw development configuration written by contrib/quickstart.sh.
log_level: info
default_profile: dev
listen:
  - address: "127.0.0.1:$port"
  - address: "127.0.0.1:$tls_port"
    tls: { cert: "$state/tls.pem", key: "$state/tls.key" }
store: { type: sqlite, path: "$state/scepgw.db" }
ra_identities:
  dev:
    sign: { cert: "$state/ra.pem", key: "$state/ra.key" }
    ca_chain: "$state/chain.pem"
scep_profiles:
  dev:
    ra_identity: dev
    ra_profile: dev
    # micromdm scepclient only speaks DES-CBC: development only
    allow_single_des: true
    capabilities: [POSTPKIOperation, SHA-1, SHA-256, SHA-512, AES, DES3, SCEPStandard]
    challenge: { type: static, secret_file: "$state/challenge" }
ra_profiles:
  dev: { backend: local-ca, template: default, approval: auto }
backends:
  local-ca: { type: local, ca_cert: "$state/issuing-ca.pem", ca_chain: "$state/root-ca.pem", ca_key: "$state/issuing-ca.key" }
EOF
	)
	echo "quickstart: wrote $cfg"
fi
"$scepgw" -n -c "$cfg"

url=http://127.0.0.1:$port/scep/dev/pkiclient.exe
challenge=$(cat "$state/challenge")
cat <<EOF

SCEP URL: $url
Challenge: $challenge

# Enroll with micromdm scepclient (package scep), in another terminal:
mkdir -p /tmp/dev1 && cd /tmp/dev1 && scepclient -server-url $url -challenge $challenge -private-key /tmp/dev1/key.pem -certificate /tmp/dev1/cert.pem -cn device1
openssl verify -CAfile $state/chain.pem /tmp/dev1/cert.pem

# Enroll with the system certmonger (with systemd; without it, start the system
# bus and the daemon by hand: mkdir -p /run/dbus && dbus-daemon --system --fork && certmonger -S):
systemctl start certmonger
mkdir -p /tmp/dev2
getcert add-scep-ca -c scepgw-dev -u $url
getcert request -c scepgw-dev -k /tmp/dev2/key.pem -f /tmp/dev2/cert.pem -g 2048 -N CN=device2 -L $challenge -w --wait-timeout 60
getcert list -f /tmp/dev2/cert.pem
openssl verify -CAfile $state/chain.pem /tmp/dev2/cert.pem

# Starting scepgw in the foreground (Ctrl-C stops it):
EOF
exec "$scepgw" -d -c "$cfg"
