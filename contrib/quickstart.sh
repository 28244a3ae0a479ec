#!/usr/bin/env bash
# quickstart.sh: from a fresh Debian 12 to a running development gateway.
# As root: installs the build dependencies, builds and installs scepgw
# (/usr/local/sbin; the tests are not built), makes a development PKI and config under SCEPGW_STATE
# (default /var/lib/scepgw-dev), prints the SCEP URL, the challenge and
# ready-to-paste enrollment commands, then runs scepgw in the foreground.
#
#   SCEPGW_STATE   state directory (PKI, config, database)  /var/lib/scepgw-dev
#   SCEPGW_PORT    HTTP port on 127.0.0.1                   8080
#   SCEPGW_TLS_PORT HTTPS port on 127.0.0.1                 8443
#   SCEPGW_ADMIN_PORT admin API (HTTPS) on 127.0.0.1         8444
#
# Rerunning reuses the PKI and the config (delete STATE to start over).
# Development only: the keys are unencrypted files and single DES is allowed.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
state=${SCEPGW_STATE:-/var/lib/scepgw-dev}
port=${SCEPGW_PORT:-8080}
tls_port=${SCEPGW_TLS_PORT:-8443}
admin_port=${SCEPGW_ADMIN_PORT:-8444}

[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root (it installs packages and /usr/local/sbin/scepgw)" >&2; exit 1; }
case $state in /*) ;; *) state=$PWD/$state ;; esac
[[ $state =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "quickstart: SCEPGW_STATE must be a plain path ([A-Za-z0-9/._-])" >&2; exit 1; }
[[ $port =~ ^[0-9]+$ && $tls_port =~ ^[0-9]+$ ]] || { echo "quickstart: SCEPGW_PORT/SCEPGW_TLS_PORT must be numbers" >&2; exit 1; }

bash contrib/deps-debian.sh build
# the tests need test-only packages (contrib/test.sh builds them in build-asan)
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build -Dtests=false
else
	meson setup build -Dtests=false
fi
ninja -C build
meson install -C build --quiet
scepgw=/usr/local/sbin/scepgw
[ -x "$scepgw" ] || { echo "quickstart: $scepgw was not installed" >&2; exit 1; }

certs/mkdevpki.sh "$state"
mkdir -p -m 0700 "$state/ca-state"   # the local CA's revocations and CRLs
# Development admin credentials: a random bearer token (admin.token, shown to
# nobody else), its SHA-256 for the gateway (admin.tokens) and scepgwctl's
# settings (scepgwctl.conf, installed as /etc/scepgw/scepgwctl.conf, where
# scepgwctl looks, unless one is there already); all mode 0600.
if [ ! -s "$state/admin.token" ]; then
	(
		umask 077
		openssl rand -hex 24 >"$state/admin.token"
		echo "dev:$(tr -d '\n' <"$state/admin.token" | sha256sum | cut -d' ' -f1)" >"$state/admin.tokens"
	)
fi
(
	umask 077
	printf 'url = https://127.0.0.1:%s\ntoken_file = %s\ncacert = %s\n' "$admin_port" \
		"$state/admin.token" "$state/chain.pem" >"$state/scepgwctl.conf"
)
if [ ! -e /etc/scepgw/scepgwctl.conf ]; then
	install -d -m 0755 /etc/scepgw
	install -m 0600 "$state/scepgwctl.conf" /etc/scepgw/scepgwctl.conf
fi
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
    # scepclient renews with its existing key (RenewalReq when cert.pem exists)
    renewal: { enabled: true, allow_key_reuse: true }
    getcert: true
    getcrl: true
  manual:                 # same challenge, but an operator approves: scepgwctl pending / approve ID
    ra_identity: dev
    ra_profile: manual
    allow_single_des: true
    challenge: { type: static, secret_file: "$state/challenge" }
  otp:                    # one-time challenges: scepgwctl challenge otp, or GET /certsrv/mscep_admin/
    ra_identity: dev
    ra_profile: dev
    allow_single_des: true
    challenge: { type: otp, ttl: 1h }
ra_profiles:
  dev: { backend: local-ca, template: default, approval: auto }
  manual: { backend: local-ca, template: default, approval: manual, pending_ttl: 7d }
backends:
  local-ca: { type: local, ca_cert: "$state/issuing-ca.pem", ca_chain: "$state/root-ca.pem", ca_key: "$state/issuing-ca.key", state_dir: "$state/ca-state" }
admin:
  listen: "127.0.0.1:$admin_port"
  tls: { cert: "$state/tls.pem", key: "$state/tls.key" }
  tokens_file: "$state/admin.tokens"
  mscep_profile: otp
EOF
	)
	echo "quickstart: wrote $cfg"
fi
if ! grep -q '^admin:' "$cfg"; then
	# a config from an older quickstart: add the admin listener
	printf 'admin:\n  listen: "127.0.0.1:%s"\n  tls: { cert: "%s", key: "%s" }\n  tokens_file: "%s"\n' \
		"$admin_port" "$state/tls.pem" "$state/tls.key" "$state/admin.tokens" >>"$cfg"
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

# Renew (scepclient again in the same directory sends RenewalReq; certmonger resubmits),
# revoke, and read the CRL:
cd /tmp/dev1 && scepclient -server-url $url -challenge unused -private-key /tmp/dev1/key.pem -certificate /tmp/dev1/cert.pem -cn device1
getcert resubmit -f /tmp/dev2/cert.pem -w
scepgw -c $cfg revoke \$(openssl x509 -in /tmp/dev1/cert.pem -noout -serial | cut -d= -f2) --reason superseded
curl -s http://127.0.0.1:$port/crl/local-ca.crl | openssl crl -inform DER -noout -text

# Approval: the manual profile answers PENDING until an operator decides
# (scepgwctl reads /etc/scepgw/scepgwctl.conf; export SCEPGWCTL_CONFIG=$state/scepgwctl.conf
# if that file belongs to another gateway):
mkdir -p /tmp/dev3 && cd /tmp/dev3 && scepclient -server-url http://127.0.0.1:$port/scep/manual/pkiclient.exe -challenge $challenge -private-key /tmp/dev3/key.pem -certificate /tmp/dev3/cert.pem -cn device3 &
scepgwctl pending
scepgwctl approve ID          # or: scepgwctl reject ID --reason "unknown device"

# A one-time challenge (single use, 1 h) for the otp profile:
scepgwctl challenge otp --subject device4

# Starting scepgw in the foreground (Ctrl-C stops it):
EOF
exec "$scepgw" -d -c "$cfg"
