#!/usr/bin/env bash
# deps-debian.sh: install every Debian 12 package needed to build and test scepgw.
# Fast when everything is already installed (no apt-get at all).
set -euo pipefail

pkgs=(
	meson ninja-build pkg-config gcc clang libclang-rt-14-dev
	libevent-dev libssl-dev libcurl4-openssl-dev libyaml-dev libjansson-dev
	libsqlite3-dev libpq-dev libcmocka-dev libjemalloc-dev
	scep certmonger dbus pebble openssl curl ca-certificates python3 clang-format
)

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
