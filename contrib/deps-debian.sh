#!/usr/bin/env bash
# deps-debian.sh [build|package|test]: install the Debian 12 packages that
#   build      building and running scepgw need (contrib/quickstart.sh)
#   package    build + making the .deb (contrib/deb.sh)
#   test       package + everything the test suite runs (contrib/test.sh; the default):
#              cmocka, clang for the fuzz targets, the real clients, pebble,
#              clang-format, and lintian/debootstrap/man-db for tests/package
# Fast when everything is already installed (no apt-get at all).
set -euo pipefail

build=(
	meson ninja-build pkg-config gcc python3 scdoc
	libevent-dev libssl-dev libcurl4-openssl-dev libyaml-dev libjansson-dev
	libsqlite3-dev libpq-dev libjemalloc-dev openssl ca-certificates
	libp11-kit-dev
)
package=(dpkg-dev debhelper fakeroot)
test=(
	clang libclang-rt-14-dev libcmocka-dev postgresql-15 postgresql-client-15
	scep certmonger dbus pebble curl clang-format
	lintian debootstrap man-db
	softhsm2 opensc libengine-pkcs11-openssl
)
case ${1:-test} in
build) pkgs=("${build[@]}") ;;
package) pkgs=("${build[@]}" "${package[@]}") ;;
test) pkgs=("${build[@]}" "${package[@]}" "${test[@]}") ;;
*) echo "usage: $0 [build|package|test]" >&2; exit 2 ;;
esac

# One dpkg-query for all of them; a package dpkg has never heard of is simply absent.
declare -A have=()
while read -r name st; do
	[ "$st" = installed ] && have[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
	[ -n "${have[$p]:-}" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps-debian: all ${#pkgs[@]} packages already installed"
	exit 0
fi

echo "deps-debian: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps-debian: run as root (or install sudo)" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
