#!/usr/bin/env bash
# deb.sh [OUTDIR]: build the Debian package scepgw_<version>_<arch>.deb from
# this tree into OUTDIR (default: build-deb).  The packaging lives in
# contrib/debian; this script copies the tree (tracked and untracked files,
# not the ignored build directories) to a temporary directory, puts
# contrib/debian there as debian/ with the unit, tmpfiles and sysusers files
# of contrib/, writes debian/changelog and runs dpkg-buildpackage -us -uc -b.
#
# The version is <meson version>+<commits>.g<hash> (+dirty with uncommitted
# changes), so a later commit makes a package that upgrades an earlier one.
# Needs: dpkg-dev, debhelper, fakeroot and the Build-Depends of
# contrib/debian/control (contrib/deps-debian.sh --package installs them).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$top/build-deb}
case $out in /*) ;; *) out=$PWD/$out ;; esac
cd "$top"

upstream=$(sed -n "s/^  version : '\([^']*\)',$/\1/p" meson.build | head -n 1)
[ -n "$upstream" ] || { echo "deb.sh: no version in meson.build" >&2; exit 1; }
version=$upstream
if git rev-parse --git-dir >/dev/null 2>&1; then
	version=$upstream+$(git rev-list --count HEAD).g$(git rev-parse --short=7 HEAD)
	git diff --quiet HEAD 2>/dev/null || version=$version.dirty
fi

work=$(mktemp -d /tmp/scepgw-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/scepgw-$upstream
mkdir -p "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -a contrib/debian "$src/debian"
cp contrib/scepgw.service "$src/debian/scepgw.service"
cp contrib/scepgw.tmpfiles "$src/debian/scepgw.tmpfiles"
mkdir -p "$src/debian/completions"
cp contrib/scepgwctl.bash-completion "$src/debian/completions/scepgwctl"
mkdir -p "$src/debian/sysusers.d"
cp contrib/scepgw.sysusers "$src/debian/sysusers.d/scepgw.conf"
maint=$(sed -n 's/^Maintainer: //p' contrib/debian/control)
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
cat >"$src/debian/changelog" <<EOF
scepgw ($version) unstable; urgency=medium

  * Built from the scepgw tree by contrib/deb.sh.

 -- $maint  $date
EOF

(cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	echo "deb.sh: dpkg-buildpackage failed" >&2
	exit 1
}
mkdir -p "$out"
deb=scepgw_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
cp "$work/$deb" "$out/"
for f in "$work"/scepgw-dbgsym_*.deb; do [ -e "$f" ] && cp "$f" "$out/"; done
echo "$out/$deb"
