#!/usr/bin/env bash
# t_man_keys.sh: scepgw.yaml(5) as built (rendered by man) names every key of
# every table of docs/config.md (each row whose first cell is `code`), so that
# the page cannot drop one.  The rows are read here with sed, not with
# md2scd.py's parser: a table cut by a blank line once lost two keys there.
# Also: the three pages render without warnings from man/groff.
set -euo pipefail
src=${SGW_SOURCE_ROOT:?}
man=${SGW_BUILD_ROOT:?}/docs/man
fail=0
for p in scepgw.8 scepgwctl.1 scepgw.yaml.5; do
	[ -s "$man/$p" ] || { echo "FAIL $man/$p was not built"; exit 1; }
	if warn=$(MANWIDTH=250 man --warnings -l "$man/$p" 2>&1 >/dev/null) && [ -z "$warn" ]; then
		echo "ok   $p renders without warnings"
	else
		echo "FAIL $p: $warn"
		fail=1
	fi
done
page=$(MANWIDTH=250 man -l "$man/scepgw.yaml.5" 2>/dev/null | sed 's/^ *//')
n=0
while IFS= read -r key; do
	n=$((n + 1))
	# an entry starts its line with the key cell, then " (type: ..." or the end of line
	if ! grep -qxF -- "$key" <<<"$page" && ! grep -qF -- "$key (" <<<"$page"; then
		echo "FAIL scepgw.yaml(5) lacks the key '$key' of docs/config.md"
		fail=1
	fi
done < <(sed -n 's/^| \(`[^|]*\) |.*/\1/p' "$src/docs/config.md" | tr -d '`')
[ "$n" -gt 100 ] || { echo "FAIL only $n keys found in docs/config.md"; fail=1; }
echo "t_man_keys: $n keys of docs/config.md checked in scepgw.yaml(5)"
exit "$fail"
