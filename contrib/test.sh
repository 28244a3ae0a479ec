#!/usr/bin/env bash
# test.sh: build scepgw with AddressSanitizer + UBSan and run every test suite
# (unit, fuzz replay, integration).  The last line of the output is always
#   N passed, M failed
# where N counts Ok + Expected fail and M counts Fail + Timeout + Unexpected
# pass + Skipped (a skipped test is not a pass).  Exit 1 when M > 0; a build
# failure prints "0 passed, 1 failed".
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
build=${SCEPGW_TEST_BUILD:-build-asan}
log=$build/contrib-test.log

result() { # result PASSED FAILED: the last line, and the exit status.
	echo "$1 passed, $2 failed"
	if [ "$2" -eq 0 ]; then exit 0; fi
	exit 1
}

if ! bash contrib/deps-debian.sh; then
	echo "test.sh: warning: installing the dependencies failed; trying to build anyway" >&2
fi

# shellcheck disable=SC2054  # the comma is meson's list syntax
opts=(-Db_sanitize=address,undefined -Db_lundef=false)
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" "${opts[@]}" || { echo "test.sh: meson setup failed"; result 0 1; }
else
	rm -rf "$build"
	meson setup "$build" "${opts[@]}" || { echo "test.sh: meson setup failed"; result 0 1; }
fi
ninja -C "$build" || { echo "test.sh: the build failed"; result 0 1; }

mkdir -p "$build"
rc=0
meson test -C "$build" --print-errorlogs --no-rebuild 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}

# meson's closing summary, e.g. "Ok:                 12".
count() { awk -v k="$1" 'index($0, k ":") == 1 { n = $NF } END { print n + 0 }' "$log"; }
ok=$(count Ok)
xfail=$(count 'Expected Fail')
fail=$(count Fail)
upass=$(count 'Unexpected Pass')
skip=$(count Skipped)
tmo=$(count Timeout)

echo
echo "=== summary ($log) ==="
printf 'ok %d, expected fail %d, fail %d, unexpected pass %d, skipped %d, timeout %d (meson test exit %d)\n' \
	"$ok" "$xfail" "$fail" "$upass" "$skip" "$tmo" "$rc"
grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|SKIP|UNEXPECTEDPASS|ERROR) ' "$log" |
	sed 's/^ */  /' | awk '!seen[$0]++' || true

passed=$((ok + xfail))
failed=$((fail + upass + skip + tmo))
if ! grep -q '^Ok:' "$log"; then
	echo "test.sh: meson test printed no summary (exit $rc)"
	failed=$((failed > 0 ? failed : 1))
elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "test.sh: meson test exited $rc with no failed test"
	failed=1
fi
result "$passed" "$failed"
