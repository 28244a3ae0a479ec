#!/usr/bin/env bash
# loop_block.sh: does a slow CA block the event loop?  (issue 6; never a timed
# test, not registered with meson)
#
#   tests/bench/loop_block.sh [BUILD_DIR]     (default /tmp/build-d)
#
# Starts tests/fakes/fake_ejbca answering every REST call after SGW_LB_DELAY
# seconds (5), and scepgw with an EJBCA profile.  SGW_LB_CLIENTS keep-alive
# GetCACaps client processes (4) run throughout, counted in 0.25 s buckets,
# while idle windows of SGW_LB_SECONDS (3) alternate with SGW_LB_ROUNDS (3)
# rounds of SGW_LB_ENROLL (50) enrollments at once: idle, round, idle, ...,
# idle.  A round's busy window is every bucket in which at least
# SGW_LB_WAITING (default: all; at least 90%) of its enrollments waited at the
# fake and none had been answered yet, taken afterwards from the fake's own
# timeline (GET /fake/timeline), so nothing polls the fake while it is
# measured.  Each round is compared with the idle windows around it; the
# figure is the median of the rounds.  All enrollments must succeed.
# Everything listens on 127.0.0.1, lives in a fresh /tmp directory, and is
# stopped by PID at exit.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-/tmp/build-d}
SCEPGW=$BUILD/scepgw
SCEPREQ=$BUILD/tests/tools/scepreq
DELAY=${SGW_LB_DELAY:-5}
NENROLL=${SGW_LB_ENROLL:-50}
CLIENTS=${SGW_LB_CLIENTS:-4}
SECS=${SGW_LB_SECONDS:-3}
ROUNDS=${SGW_LB_ROUNDS:-3}
WAITING=${SGW_LB_WAITING:-$NENROLL}
if ((WAITING > NENROLL || 10 * WAITING < 9 * NENROLL)); then
	echo "SGW_LB_WAITING must be between 90% of SGW_LB_ENROLL and SGW_LB_ENROLL" >&2
	exit 2
fi
T=$(mktemp -d /tmp/scepgw-loopblock.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ "${SGW_LB_KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$SRC/certs/mkdevpki.sh" "$T/pki" >/dev/null
FK=$T/ejbca
python3 "$SRC/tests/fakes/fake_ejbca" --dir "$FK" 2>"$T/fake.log" &
PIDS+=($!)
for ((i = 0; i < 300; i++)); do [ -s "$FK/port" ] && break; sleep 0.1; done
FAKE=https://127.0.0.1:$(cat "$FK/port")
ADMIN=(--cacert "$FK/admin-ca.pem" --cert "$FK/admin.pem" --key "$FK/admin.key")
curl -fsS "${ADMIN[@]}" -X POST -H 'Content-Type: application/json' \
	-d "{\"delay\": $DELAY}" "$FAKE/fake/config" >/dev/null

PORT=$(free_port)
cat >"$T/scepgw.yaml" <<EOF
log_level: ${SGW_LB_LOG:-warn}
listen:
  - address: "127.0.0.1:$PORT"
store: { type: sqlite, path: "$T/scepgw.db" }
ra_identities:
  ejb: { sign: { cert: "$FK/ra.pem", key: "$FK/ra.key" }, ca_chain: "$FK/ca-chain.pem" }
scep_profiles:
  ejbca:
    ra_identity: ejb
    ra_profile: ejbca
    capabilities: [POSTPKIOperation, SHA-256, AES, SCEPStandard]
    challenge: { type: static, secret_file: "$T/pki/challenge" }
ra_profiles:
  ejbca: { backend: ejbca, template: default, approval: auto }
backends:
  ejbca:
    type: ejbca
    url: "$FAKE/ejbca/ejbca-rest-api"
    client_cert: "$FK/admin.pem"
    client_key: "$FK/admin.key"
    ca_bundle: "$FK/admin-ca.pem"
    ca_name: FakeIssuingCA
    ca_chain: "$FK/ca-chain.pem"
    certificate_profile: ENDUSER
    end_entity_profile: SCEP_EEP
    timeout: 60s
    max_connections: 64
EOF
"$SCEPGW" -c "$T/scepgw.yaml" 2>"$T/scepgw.log" &
GW=$!
PIDS+=("$GW")
URL=http://127.0.0.1:$PORT/scep/ejbca/pkiclient.exe
for ((i = 0; i < 100; i++)); do curl -fsS -o /dev/null "$URL?operation=GetCACaps" 2>/dev/null && break; sleep 0.1; done
CHALLENGE=$(cat "$T/pki/challenge")

echo "# $((ROUNDS * NENROLL)) client keys"
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 1; i <= NENROLL; i++)); do echo "$T/k$r-$i.pem"; done
done | xargs -P "$(nproc)" -I{} openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out {} 2>/dev/null
# the gateway's start-up call (the CA's DN) waits SGW_LB_DELAY too: let it end
for ((i = 0; i < 300; i++)); do
	n=$(curl -fsS "${ADMIN[@]}" "$FAKE/fake/inflight" | python3 -c 'import json, sys; print(json.load(sys.stdin)["inflight"])')
	[ "$n" = 0 ] && break
	sleep 0.1
done

python3 - "$PORT" "$CLIENTS" "$SECS" "$NENROLL" "$ROUNDS" "$WAITING" "$SCEPREQ" "$URL" "$CHALLENGE" \
	"$T" "$(cat "$FK/port")" "$FK" "$GW" "${PIDS[0]}" <<'EOF'
import http.client, json, multiprocessing as mp, os, ssl, statistics, subprocess, sys, threading, time
(port, nclients, secs, nenroll, rounds, waiting, scepreq, url, challenge, tdir, fport, fk, gw,
 fake) = sys.argv[1:15]
port, nclients, nenroll, rounds, waiting = map(int, (port, nclients, nenroll, rounds, waiting))
secs = float(secs)
B, HZ = 0.25, os.sysconf("SC_CLK_TCK")

def load(stop, q):  # one keep-alive client: completions per absolute 0.25 s bucket
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    cnt = {}
    while not stop.is_set():
        c.request("GET", "/scep/ejbca/pkiclient.exe?operation=GetCACaps")
        r = c.getresponse(); r.read()
        if r.status == 200:
            k = int(time.time() / B); cnt[k] = cnt.get(k, 0) + 1
        if r.will_close:
            c.close(); c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    q.put(cnt)

def ticks(pid, children=False):  # CPU ticks used so far (0 once the process is gone)
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(x) for x in f[11:15 if children else 13])

stop, q = mp.Event(), mp.Queue()
clients = [mp.Process(target=load, args=(stop, q)) for _ in range(nclients)]
for p in clients: p.start()
cpu, cpu_stop = [], threading.Event()
def sampler():  # the same cheap /proc reads in every window, idle or busy
    while not cpu_stop.is_set():
        cpu.append((time.time(), ticks(int(gw)), ticks(int(fake), True),
                    sum(ticks(p.pid) for p in clients)))
        time.sleep(B)
threading.Thread(target=sampler, daemon=True).start()

def enroll(r):  # one round: nenroll enrollments at once; wait for all of them
    procs = [subprocess.Popen([scepreq, "enroll", "-u", url, "-c", challenge,
                               "--cn", "lb-%d-%d" % (r, i), "--key", "%s/k%d-%d.pem" % (tdir, r, i),
                               "--timeout", "120"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for i in range(1, nenroll + 1)]
    return sum(p.wait() == 0 for p in procs)

time.sleep(2)  # warm-up
idle, busy, ok = [], [], 0
for r in range(rounds + 1):
    t0 = time.time(); time.sleep(secs); idle.append((t0, time.time()))
    if r == rounds:
        break
    t0 = time.time(); ok += enroll(r); busy.append((t0, time.time()))
    time.sleep(0.5)  # the last replies leave
stop.set()
counts = {}
for _ in clients:
    for k, n in q.get().items(): counts[k] = counts.get(k, 0) + n
for p in clients: p.join()
cpu_stop.set()

ctx = ssl.create_default_context(cafile=fk + "/admin-ca.pem")
ctx.load_cert_chain(fk + "/admin.pem", fk + "/admin.key")
c = http.client.HTTPSConnection("127.0.0.1", int(fport), context=ctx, timeout=10)
c.request("GET", "/fake/timeline")
timeline = json.loads(c.getresponse().read())["timeline"]

def rate(ks):
    return sum(counts.get(k, 0) for k in ks) / (len(ks) * B) if ks else 0.0
def whole(a, b):  # the 0.25 s buckets inside [a, b)
    return list(range(int(a / B) + 1, int(b / B)))
def cpu_pct(ks, col):  # % of one core over the buckets ks (the nearest samples)
    a = min(cpu, key=lambda s: abs(s[0] - ks[0] * B)); b = min(cpu, key=lambda s: abs(s[0] - (ks[-1] + 1) * B))
    return 100.0 * (b[col] - a[col]) / HZ / max(b[0] - a[0], 1e-9)

idle_k = [whole(a, b) for a, b in idle]
busy_k, fails = [], 0
for r, (a, b) in enumerate(busy):
    reqs = [e for e in timeline if "pkcs10enroll" in e["path"] and a <= e["received"] <= b]
    arrived = sorted(e["received"] for e in reqs)
    if len(arrived) < waiting or any(e["waited"] is None for e in reqs):
        print("round %d: only %d enrollments reached the fake" % (r + 1, len(arrived)))
        fails += 1; busy_k.append([]); continue
    # from the moment `waiting` enrollments wait at the fake until the first one is answered
    ks = whole(arrived[waiting - 1], min(e["waited"] for e in reqs))
    if not ks:
        print("round %d: no 0.25 s bucket with >= %d enrollments waiting" % (r + 1, waiting))
        fails += 1
    busy_k.append(ks)
ratios = []
for r, ks in enumerate(busy_k):
    if not ks:
        continue
    ref = (rate(idle_k[r]) + rate(idle_k[r + 1])) / 2
    ratios.append(rate(ks) / ref)
    print("round %d: idle %.0f | busy %.0f req/s over %.2f s, slowest bucket %.0f | idle %.0f -> %.3f"
          % (r + 1, rate(idle_k[r]), rate(ks), len(ks) * B, min(counts.get(k, 0) for k in ks) / B,
             rate(idle_k[r + 1]), ratios[-1]))
if ratios:
    allb = [k for ks in busy_k for k in ks]; alli = [k for ks in idle_k for k in ks]
    print("idle:  GetCACaps %.0f req/s (median of %d windows of %.0f s, %d clients)"
          % (statistics.median(rate(ks) for ks in idle_k), len(idle_k), secs, nclients))
    print("busy:  GetCACaps %.0f req/s (median of %d rounds; all %.2f s in which >= %d of %d "
          "enrollments waited at the fake)" % (statistics.median(rate(ks) for ks in busy_k if ks),
                                               len(ratios), len(allb) * B, waiting, nenroll))
    m = statistics.median(ratios)
    print("ratio: %.3f (%+.1f%%), median of the rounds; within 10%%: %s"
          % (m, (m - 1) * 100, "yes" if m >= 0.9 else "NO"))
    print("cpu, %% of one core, idle/busy: gateway %.0f/%.0f, fake %.0f/%.0f, GetCACaps clients %.0f/%.0f"
          % tuple(v for col in (1, 2, 3) for v in (statistics.median(cpu_pct(ks, col) for ks in idle_k),
                                                    statistics.median(cpu_pct(ks, col) for ks in busy_k if ks))))
print("enrollments: %d of %d succeeded" % (ok, rounds * nenroll))
sys.exit(0 if ok == rounds * nenroll and not fails else 1)
EOF
