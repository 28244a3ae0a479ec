#!/usr/bin/env bash
# t_secrets_at_rest.sh: no challenge is kept in clear (issue 16, item 8).  A
# static challenge, a one-time challenge and a request held for approval are
# enrolled; the database, its WAL and shared-memory files and every log are
# then searched for each challenge: as text, as the DER string of a CSR's
# challengePassword (PrintableString, UTF8String, IA5String), in hex and in
# base64.  The held request is approved (its sealed CSR opened with the RA
# key).  Then the upgrade path: CSRs stored in clear by an older version
# (planted in the old `csr` column) are sealed or dropped at the next start,
# the file rewritten, and the migrated held request can still be approved.
# shellcheck disable=SC2317  # the check functions run through check()
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

gw_config "$CFG"
gw_start
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
MANUAL=$BASE/scep/manual/pkiclient.exe
OTP_URL=$BASE/scep/otp/pkiclient.exe

# no_secret FILE... -- SECRET...: none of the secrets, in any of its encodings,
# is in any of the files (missing files are skipped, and named).
no_secret() {
	python3 - "$@" <<'EOF'
import base64, binascii, os, sys
args = sys.argv[1:]
cut = args.index("--")
files, secrets = args[:cut], [s for s in args[cut + 1:] if s]
assert secrets, "no secret to look for"
found = []
for s in secrets:
    raw = s.encode()
    forms = {"text": raw, "hex": binascii.hexlify(raw), "HEX": binascii.hexlify(raw).upper()}
    for tag, name in ((0x13, "PrintableString"), (0x0c, "UTF8String"), (0x16, "IA5String")):
        forms["DER " + name] = bytes([tag, len(raw)]) + raw
    for i in range(3):  # base64 at each alignment: the part that does not depend on neighbours
        b = base64.b64encode(b"\0" * i + raw)[4:-4]
        forms["base64+%d" % i] = b
    for f in files:
        if not os.path.exists(f):
            continue
        data = open(f, "rb").read()
        for form, needle in forms.items():
            if needle in data:
                found.append("%s...: %s in %s" % (s[:4], form, f))
for f in files:
    print("searched" if os.path.exists(f) else "absent  ", f)
if found:
    print("\n".join(found))
    sys.exit(1)
EOF
}
store_files() { echo "$T/scepgw.db" "$T/scepgw.db-wal" "$T/scepgw.db-shm"; }
log_files() { find "$T" -name '*.log' -type f; }
# pending_id CN: the id of the pending transaction whose subject has CN=CN
pending_id() {
	ctl pending --json | python3 -c 'import json,sys
for t in json.load(sys.stdin)["transactions"]:
    if "CN=" + sys.argv[1] in t["subject"].split(","):
        print(t["id"])' "$1"
}

# --- enrollments: static, one-time, held for approval ---------------------------------
check "static challenge: SUCCESS" enroll -u "$URL" -c "$CHALLENGE" --cn rest-static
OTP1=$(ctl challenge otp 2>/dev/null || true)
check "a one-time challenge was issued" test -n "$OTP1"
check "one-time challenge: SUCCESS" enroll -u "$OTP_URL" -c "$OTP1" --cn rest-otp \
	--challenge-type utf8
check "held for approval: PENDING" enroll -u "$MANUAL" -c "$CHALLENGE" --cn rest-held \
	--txid rest-held-txn --out-key "$D/held.key" --expect pending
check "a second one stays held: PENDING" enroll -u "$MANUAL" -c "$CHALLENGE" --cn rest-wait \
	--txid rest-wait-txn --expect pending
check "the pending list still shows key and SANs of a held request" \
	bash -c "'$SCEPGWCTL' --config '$T/scepgwctl.conf' pending | grep -E 'CN=rest-held' | grep -q rsa-2048"
ID=$(pending_id rest-held)
check "approve the held request (id '$ID')" ctl approve "$ID"
check "its sealed CSR is opened and issued" \
	wait_log "txn=rest-held-txn profile=manual: background submission: ISSUED serial=" 10
check "while running: no challenge in the database, WAL, shm or logs" \
	no_secret $(store_files) $(log_files) "$GW_LOG" -- "$CHALLENGE" "$OTP1"
check "the held request's CSR is kept sealed" python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
r = c.execute("select csr, length(csr_sealed), length(csr_sha256) from transactions where transaction_id = ?", ("rest-wait-txn",)).fetchone()
assert r[0] is None and r[1] > 0 and r[2] == 32, r
n = c.execute("select count(*) from transactions where state >= 5 and csr_sealed is not null").fetchone()[0]
assert n == 0, "%d final rows keep a sealed CSR" % n' "$T/scepgw.db"
gw_stop
check "stopped: no challenge in the database, WAL, shm or logs" \
	no_secret $(store_files) $(log_files) "$GW_LOG" -- "$CHALLENGE" "$OTP1"

# --- upgrade: CSRs an older version stored in clear ------------------------------------
LEGACY=legacy-$(openssl rand -hex 12)
cat >"$D/legacy.cnf" <<EOF
[req]
prompt = no
distinguished_name = dn
attributes = attrs
[dn]
CN = rest-legacy
[attrs]
challengePassword = $LEGACY
EOF
openssl req -new -newkey rsa:2048 -nodes -keyout "$D/legacy.key" -config "$D/legacy.cnf" \
	-outform DER -out "$D/legacy.der" 2>/dev/null
check "the planted CSR holds its challenge in clear" grep -qF -- "$LEGACY" "$D/legacy.der"
# the pending rest-wait row and a final row get the clear CSR, as an older
# version wrote it (the CSR rewritten a few times: old copies in free space)
check "plant clear CSRs in the old column" python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
csr = open(sys.argv[2], "rb").read()
for i in range(3):
    c.execute("update transactions set csr = ?, csr_sealed = NULL, csr_sha256 = NULL, csr_info = ?"
              " where transaction_id in (?, ?)", (csr + bytes(i), "", "rest-wait-txn", "rest-held-txn"))
    c.commit()
c.execute("update transactions set csr = ? where transaction_id in (?, ?)", (csr, "rest-wait-txn", "rest-held-txn"))
c.execute("update csr_legacy set pending = 1")
c.commit()' "$T/scepgw.db" "$D/legacy.der"
gw_start
check "the start-up pass says what it did" wait_log "2 CSR\(s\) an older version kept in clear" 5
check "after the upgrade: no planted challenge in the database, WAL or shm" \
	no_secret $(store_files) -- "$LEGACY"
ID=$(pending_id rest-wait)
check "the migrated held request is approved (id '$ID')" ctl approve "$ID"
check "... and issued from its sealed CSR" \
	wait_log "txn=rest-wait-txn profile=manual: background submission: ISSUED serial=" 10
gw_stop
check "at the end: no challenge anywhere" \
	no_secret $(store_files) $(log_files) "$GW_LOG" -- "$CHALLENGE" "$OTP1" "$LEGACY"
finish
