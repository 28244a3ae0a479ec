#!/usr/bin/env python3
"""scale_sql.py SRC DB: EXPLAIN QUERY PLAN for every statement of the SQLite store.

For tests/bench/scale.sh (issue 9, scope item 4).  Reads the statements from
the sources, as compiled: sq_sql[] in gateway/store/store_sqlite_sql.h, sqa_sql[] in
gateway/store/store_sqlite_adm.c (string literals and the *_COLS macros of
store_sqlite_row.h), and the literal SQL passed to sq_query1() / sq_exec_db() /
sqlite3_exec() in gateway/store/store_sqlite*.[ch] (the schema's in
store_sqlite_schema.c).  Prints the plan of each on DB and flags every full
scan (a SCAN step, through an index or not) of a table whose size grows with
use: transactions, certificates, nonces, approvals, otps.  Then times, on DB,
the scanning SELECTs the gateway runs, with the parameters it binds (median of
3 runs).
"""
import glob
import re
import sqlite3
import statistics
import sys
import time

GROWING = ("transactions", "certificates", "nonces", "approvals", "otps")
STR = r'"((?:[^"\\]|\\.)*)"'

# store.h: TXN_AWAITING_APPROVAL = 2, TXN_SUBMITTED = 3
TIMED = {
    "SQ_CERT_COUNT": [((), "count(*)")],
    "SQ_CERT_BY_SERIAL": [(("00ff00ff00ff",), "absent serial (admin revoke, intune feed, "
                           "scepgwctl revoke)")],
    "SQA_TXN_LIST": [((2, 0, 512, 3), "state=awaiting_approval (sweep, every <= 60 s)"),
                     ((3, 1, 512, 3), "state=submitted + approved (sweep, every <= 60 s)"),
                     ((-1, 0, 100, 3), "state=all limit 100 (admin list)")],
    # ?4 and ?5: the rowid window the gateway computes (STORE_CERT_WINDOW below
    # the newest); "TOP" and "LO" are filled in from DB
    "SQA_CERT_SEARCH": [(("no-such-subject", "", 100, "TOP", "LO"),
                         "subject=no-such-subject (one window of 50,000)"),
                        (("", "", 100, "TOP", "LO"), "no filter, latest 100")],
    "SQA_CERT_SEARCH_SERIAL": [(("", "00ff00ff00ff", 100), "serial=absent")],
}


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def macros(text):
    out = {}
    for m in re.finditer(r"#define\s+(\w+)\s+((?:[^\n]*\\\n)*[^\n]*)", text):
        body = m.group(2).replace("\\\n", " ")
        if re.fullmatch(r"\s*(?:%s\s*)+" % STR, body):
            out[m.group(1)] = "".join(re.findall(STR, body))
    return out


def join_tokens(expr, mac):
    sql = []
    for m in re.finditer(r"%s|([A-Za-z_]\w*)" % STR, expr):
        if m.group(1) is not None:
            sql.append(m.group(1))
        elif m.group(2) in mac:
            sql.append(mac[m.group(2)])
        else:
            raise SystemExit("scale_sql: unknown token %s in %r" % (m.group(2), expr))
    return "".join(sql).replace('\\"', '"')


def statements(src):
    files = sorted(glob.glob("%s/gateway/store/store_sqlite*.[ch]" % src))
    if not files:
        raise SystemExit("scale_sql: no gateway/store/store_sqlite*.[ch] under %s" % src)
    text = strip_comments("\n".join(open(f).read() for f in files))
    mac = macros(text)
    out = []
    for arr in ("sq_sql", "sqa_sql"):
        m = re.search(r"static const char \*const %s\[[^\]]*\]\s*=\s*\{(.*?)\n\};" % arr,
                      text, re.S)
        if m is None:
            raise SystemExit("scale_sql: %s[] not found" % arr)
        parts = re.split(r"\[(\w+)\]\s*=", m.group(1))
        for name, expr in zip(parts[1::2], parts[2::2]):
            out.append((name, join_tokens(expr.rstrip().rstrip(","), mac)))
    for i, m in enumerate(re.finditer(r"(?:sq_query1|sq_exec_db|sqlite3_exec)\(\s*[\w>-]+,\s*"
                                      r"((?:%s\s*)+)" % STR, text)):
        out.append(("inline-%d" % (i + 1), join_tokens(m.group(1), mac)))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: scale_sql.py SRC DB")
    src, path = sys.argv[1], sys.argv[2]
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, isolation_level=None)
    print("SQLite %s; %s" % (sqlite3.sqlite_version, ", ".join(
        "%s %d rows" % (t, db.execute("SELECT count(*) FROM %s" % t).fetchone()[0])
        for t in GROWING)))
    flagged = []
    seen = set()
    for name, sql in statements(src):
        if sql in seen or re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA|CREATE)", sql, re.I):
            continue
        seen.add(sql)
        nparam = max([int(x) for x in re.findall(r"\?(\d+)", sql)] or [0])
        try:
            plan = db.execute("EXPLAIN QUERY PLAN " + sql, (None,) * nparam).fetchall()
        except sqlite3.Error as e:
            print("%-18s cannot explain: %s" % (name, e))
            continue
        alias = {a: t for t, a in re.findall(r"\b(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?(\w+)", sql)
                 if t in GROWING}
        scans = [p[3] for p in plan if p[3].startswith("SCAN ") and
                 alias.get(p[3].split()[1], p[3].split()[1]) in GROWING]
        print("%-18s %s" % (name, " | ".join(p[3] for p in plan)))
        if scans:
            flagged.append((name, sql, scans))
    print()
    print("statements that scan a growing table: %d" % len(flagged))
    for name, sql, scans in flagged:
        print("  %-18s %s\n  %-18s   %s" % (name, "; ".join(scans), "", sql))
    print()
    print("time on this database (median of 3, ms):")
    stmts = dict(statements(src))
    top = db.execute("SELECT coalesce(max(id), 0) + 1 FROM certificates").fetchone()[0]
    window = int(re.search(r"#define STORE_CERT_WINDOW (\d+)",
                           open("%s/gateway/store/store.h" % src).read()).group(1))
    fill = {"TOP": top, "LO": max(top - window, 0)}
    for name, cases in TIMED.items():
        for args, what in cases:
            args = tuple(fill.get(a, a) if isinstance(a, str) else a for a in args)
            v = []
            for _ in range(3):
                t = time.perf_counter()
                db.execute(stmts[name], args).fetchall()
                v.append((time.perf_counter() - t) * 1e3)
            print("  %-18s %-62s %9.1f" % (name, what, statistics.median(v)))
    db.close()


if __name__ == "__main__":
    main()
