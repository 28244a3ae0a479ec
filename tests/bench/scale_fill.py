#!/usr/bin/env python3
"""scale_fill.py DB ROWS: add ROWS issued certificates to a scepgw SQLite store.

For tests/bench/scale.sh (issue 9, scope item 4).  The store must already hold
at least one certificate issued by the gateway itself: its certificates row and
the transactions row it links to are the templates.  Each new pair gets
  - transactions: the template's profile, state, msg_type, peer and CSR blob, a
    distinct transaction_id, a random signer_key_sha256, a subject
    "CN=scale-fill-NNNNNNN", created = updated spread over the last two years;
  - certificates: the template's issuer (the CA's RFC 2253 name), a distinct
    random serial of the template's length, that subject, not_before = created,
    not_after one year later, txn_id = the new transaction, 1% of them revoked,
    and a DER blob of the template's size: the template certificate with the new
    serial patched in and a random signature (the CN inside the DER is not
    rewritten).
Ids continue after the existing ones.  Rows go in through the schema's own
indexes (no index is dropped and rebuilt), in one transaction with
journal_mode DELETE and synchronous OFF; WAL mode is restored at the end.
"""
import os
import random
import sqlite3
import sys
import time

CHUNK = 10000
SIG_LEN = 256  # RSA-2048 signature at the end of the template DER


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: scale_fill.py DB ROWS")
    path, rows = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(path, isolation_level=None)
    mode = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    if mode != "delete":
        sys.exit("scale_fill: cannot leave WAL mode (is the gateway still running?)")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1048576")  # 1 GiB
    tc = db.execute("SELECT serial, issuer, der, txn_id FROM certificates"
                    " WHERE txn_id IS NOT NULL ORDER BY id LIMIT 1").fetchone()
    if tc is None:
        sys.exit("scale_fill: no issued certificate to use as a template")
    serial, issuer, der, txn_id = tc
    tt = db.execute("SELECT profile, state, msg_type, peer, backend_handle, csr"
                    " FROM transactions WHERE id = ?", (txn_id,)).fetchone()
    sb = bytes.fromhex(serial)
    pos = der.find(sb)
    if pos < 2 or der[pos - 2] != 0x02 or len(sb) < 8 or len(der) < 3 * SIG_LEN:
        sys.exit("scale_fill: cannot find the serial in the template DER")
    head, tail = der[:pos], der[pos + len(sb):len(der) - SIG_LEN]
    profile, state, msg_type, peer, handle, csr = tt
    t_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM transactions").fetchone()[0]
    c_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM certificates").fetchone()[0]
    now = int(time.time())
    span = 2 * 365 * 86400
    rnd = random.Random(1)
    t0 = time.time()
    db.execute("BEGIN")
    for start in range(0, rows, CHUNK):
        tx, cx = [], []
        for k in range(start, min(rows, start + CHUNK)):
            s = bytearray(os.urandom(len(sb)))
            s[0] = 0x01 + s[0] % 0x7f          # positive, no leading zero byte
            s[1:6] = k.to_bytes(5, "big")       # distinct
            created = now - span + (span * k) // rows
            subject = "CN=scale-fill-%07d" % k
            revoked = 1 if rnd.random() < 0.01 else 0
            tx.append((t_id + k, profile, "fill-%07d-%s" % (k, os.urandom(12).hex()),
                       os.urandom(32), state, msg_type, subject, peer, "", s.hex(), handle,
                       csr, created, created))
            cx.append((c_id + k, s.hex(), issuer, subject, created, created + 365 * 86400,
                       head + bytes(s) + tail + os.urandom(SIG_LEN), t_id + k, revoked,
                       created + 86400 if revoked else 0, 1 if revoked else 0))
        db.executemany("INSERT INTO transactions (id, profile, transaction_id,"
                       " signer_key_sha256, state, msg_type, subject, peer, reason,"
                       " cert_serial, backend_handle, csr, created, updated)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tx)
        db.executemany("INSERT INTO certificates (id, serial, issuer, subject, not_before,"
                       " not_after, der, txn_id, revoked, revoked_at, revoke_reason)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", cx)
    db.execute("COMMIT")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    n_c = db.execute("SELECT count(*) FROM certificates").fetchone()[0]
    n_t = db.execute("SELECT count(*) FROM transactions").fetchone()[0]
    db.close()
    print("scale_fill: %d rows in %.1f s; now %d certificates, %d transactions; "
          "DER %d bytes, CSR %d bytes, serial %d bytes; journal_mode %s; file %.1f MiB"
          % (rows, time.time() - t0, n_c, n_t, len(der), len(csr or b""), len(sb), mode,
             os.path.getsize(path) / 1048576.0))


if __name__ == "__main__":
    main()
