#!/usr/bin/env bash
# loop_block.sh: does a slow CA block the event loop?  (issue 6; never a timed
# test, not registered with meson)
#
#   tests/bench/loop_block.sh [BUILD_DIR]     (default /tmp/build-d)
#
# Starts tests/fakes/fake_ejbca answering every REST call after SGW_LB_DELAY
# seconds (5), and scepgw with an EJBCA profile.  Measures GetCACaps throughput
# (SGW_LB_CLIENTS keep-alive client processes, SGW_LB_SECONDS each run) while
# idle, then while SGW_LB_ENROLL enrollments (50) wait for the fake, and prints
# both figures and their ratio.  All 50 enrollments must then succeed.
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

echo "# $NENROLL client keys"
for ((i = 1; i <= NENROLL; i++)); do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k$i.pem" 2>/dev/null
done

# The driver: GetCACaps from $CLIENTS keep-alive processes in 0.25 s buckets,
# first idle, then while the enrollments run; a monitor samples the fake's
# in-flight count.  "busy" is the buckets in which >= 90% of the enrollments
# were waiting at the fake.
python3 - "$PORT" "$CLIENTS" "$SECS" "$NENROLL" "$SCEPREQ" "$URL" "$CHALLENGE" "$T" \
	"$(cat "$FK/port")" "$FK" <<'EOF'
import http.client, json, multiprocessing as mp, ssl, subprocess, sys, threading, time
port, nclients, secs, nenroll = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
scepreq, url, challenge, tdir, fport, fk = sys.argv[5:11]
B = 0.25

def load(stop, q):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    done = []
    while not stop.is_set():
        c.request("GET", "/scep/ejbca/pkiclient.exe?operation=GetCACaps")
        r = c.getresponse(); r.read()
        if r.status == 200:
            done.append(time.time())
        if r.will_close:
            c.close(); c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    q.put(done)

def run_load(during):
    stop, q = mp.Event(), mp.Queue()
    ps = [mp.Process(target=load, args=(stop, q)) for _ in range(nclients)]
    for p in ps: p.start()
    t0 = time.time()
    extra = during() if during else time.sleep(secs)
    stop.set()
    done = sorted(t for _ in ps for t in q.get())
    for p in ps: p.join()
    return t0, time.time(), done, extra

ctx = ssl.create_default_context(cafile=fk + "/admin-ca.pem")
ctx.load_cert_chain(fk + "/admin.pem", fk + "/admin.key")
mon = [None]
def inflight():  # one kept-alive connection: the monitor must not load the machine
    if mon[0] is None:
        mon[0] = http.client.HTTPSConnection("127.0.0.1", int(fport), context=ctx, timeout=10)
    mon[0].request("GET", "/fake/inflight")
    return json.loads(mon[0].getresponse().read())["inflight"]

def buckets(t0, t1, done):
    n = int((t1 - t0) / B)
    cnt = [0] * n
    for t in done:
        k = int((t - t0) / B)
        if 0 <= k < n: cnt[k] += 1
    return cnt

def enrollments():
    procs = [subprocess.Popen([scepreq, "enroll", "-u", url, "-c", challenge, "--cn", "lb-%d" % i,
                               "--key", "%s/k%d.pem" % (tdir, i), "--timeout", "120"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i in range(1, nenroll + 1)]
    samples = []
    while any(p.poll() is None for p in procs):
        samples.append((time.time(), inflight()))
        time.sleep(0.1)
    samples.append((time.time(), inflight()))
    return samples, sum(p.returncode == 0 for p in procs)

run_load(None)  # warm-up
t0, t1, done, _ = run_load(None)
idle = buckets(t0, t1, done)
idle_rps = sum(idle) / (len(idle) * B)
t0, t1, done, (samples, ok) = run_load(enrollments)
cnt = buckets(t0, t1, done)
busy = []
for k, c in enumerate(cnt):
    a, b = t0 + k * B, t0 + (k + 1) * B
    s = [n for t, n in samples if a <= t < b]
    if s and min(s) >= 0.9 * nenroll:
        busy.append(c)
peak = max(n for _, n in samples)
print("idle:  GetCACaps %.0f req/s (%d clients, %.0fs)" % (idle_rps, nclients, secs))
if not busy:
    print("busy:  no interval with >= %d enrollments waiting (peak %d)" % (0.9 * nenroll, peak))
    sys.exit(1)
busy_rps = sum(busy) / (len(busy) * B)
print("busy:  GetCACaps %.0f req/s over %.2fs in which >= %d of %d enrollments waited at the fake (peak %d)"
      % (busy_rps, len(busy) * B, int(0.9 * nenroll + 0.999), nenroll, peak))
print("ratio: %.3f (%+.1f%%); slowest 0.25 s bucket: idle %.0f, busy %.0f req/s (a blocked loop gives 0)"
      % (busy_rps / idle_rps, (busy_rps / idle_rps - 1) * 100, min(idle) / B, min(busy) / B))
print("enrollments: %d of %d succeeded" % (ok, nenroll))
sys.exit(0 if ok == nenroll else 1)
EOF
