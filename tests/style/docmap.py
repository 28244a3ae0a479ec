#!/usr/bin/env python3
"""docmap.py: docs/architecture.md is the map of the code, so it must name
every source file under gateway/ and backends/, and every source file it
names must exist.  Run from the source root (check.sh does).

A name is a path from the top (`gateway/txn/txn.c`), where `name.[ch]` stands
for the source and its header; a path inside gateway/ or backends/ written
without that prefix (`scep/scep_msg.c`, `local/local.c`) only has to exist.
Prints one line per problem and a summary; exits 1 on any problem.
"""
import os
import re
import sys

DOC = "docs/architecture.md"
FULL = re.compile(r"(?<![\w/])((?:gateway|backends)/[\w/]*?\w+)\.(\[ch\]|c|h)(?!\w)")
SHORT = re.compile(r"(?<![\w/])((?:core|scep|csr|store|config|validator|revoke|txn|http|admin|ctl"
                   r"|local|ejbca|acme)/\w+)\.(\[ch\]|c|h)(?!\w)")


def sources():
    out = set()
    for top in ("gateway", "backends"):
        for root, dirs, files in os.walk(top):
            dirs.sort()
            out.update(os.path.join(root, f) for f in files if f.endswith((".c", ".h")))
    return out


def expand(stem, ext):
    return [stem + ".c", stem + ".h"] if ext == "[ch]" else [stem + "." + ext]


def main():
    with open(DOC) as f:
        text = f.read()
    have = sources()
    named, problems = set(), []
    for stem, ext in FULL.findall(text):
        named.update(expand(stem, ext))
    for stem, ext in SHORT.findall(text):
        for name in expand(stem, ext):
            if not any(os.path.exists(os.path.join(t, name)) for t in ("gateway", "backends")):
                problems.append("%s names %s, which does not exist" % (DOC, name))
    for name in sorted(named - have):
        problems.append("%s names %s, which does not exist" % (DOC, name))
    for name in sorted(have - named):
        problems.append("%s does not name %s: add it to the map" % (DOC, name))
    for p in problems:
        print(p)
    print("docmap: %d source files, %d named in %s, %d problem%s" %
          (len(have), len(named & have), DOC, len(problems), "" if len(problems) == 1 else "s"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
