#!/usr/bin/env bash
# check.sh: the house rules a machine can check (docs/conventions.md 16, 19).
#  - clang-format (.clang-format) has nothing to change in any C file
#  - banned calls: sprintf, vsprintf, strcpy, strcat, atoi, gets, and
#    curl_easy_perform (it blocks the event loop) in gateway/ and backends/
#    (gateway/ctl/ is scepgwctl, a separate short-lived CLI: blocking libcurl
#    is fine there, so the grep covers gateway/*.[ch] but not gateway/ctl/)
#  - no source file in gateway/ or backends/ over 1,000 lines
#  - the layer rule (gateway/core/ includes only itself, backends/ only itself
#    and gateway/core/) and no cycle between .c files, from the objects in
#    SGW_BUILD_ROOT (layers.py)
#  - docs/architecture.md names every source file of gateway/ and backends/,
#    and every source file it names exists (docmap.py)
set -uo pipefail
cd "${SGW_SOURCE_ROOT:?}" || exit 1
fail=0
mapfile -t files < <(find gateway backends tests -name '*.[ch]' | sort)

# one clang-format process for all files; it names each file it would change
if ! out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1); then
	printf '%s\n' "$out" | grep -oE '^[^:]+\.[ch]:' | sort -u |
		sed 's/:$//; s/^/clang-format would change /'
	fail=1
fi

banned='\b(sprintf|vsprintf|strcpy|strcat|atoi|gets|curl_easy_perform)[[:space:]]*\('
if grep -nE "$banned" gateway/*.[ch] gateway/*/*.[ch] backends/*.[ch] backends/*/*.[ch] 2>/dev/null; then
	echo "banned function used (see above)"
	fail=1
fi

for f in gateway/*.c gateway/*/*.c backends/*.c backends/*/*.c; do
	n=$(wc -l <"$f")
	if [ "$n" -gt 1000 ]; then
		echo "$f has $n lines (hard cap 1000): split it by job"
		fail=1
	fi
done

# docs/architecture.md names every source file, and only files that exist
if ! docmap=$(python3 tests/style/docmap.py 2>&1); then
	printf '%s\n' "$docmap" | sed '$d'
	fail=1
fi

# layers.py prints its summary (files, levels, cycles) last: it ends this output
if ! layers=$(python3 tests/style/layers.py 2>&1); then
	fail=1
fi
printf '%s\n' "$layers" | sed '$d'
summary=$(printf '%s\n' "$layers" | tail -n 1)

if [ "$fail" -eq 0 ]; then
	echo "style: ${#files[@]} files clean; $summary"
else
	echo "style: failed; $summary"
fi
exit "$fail"
