#!/usr/bin/env bash
# t_http_limits.sh: what an unauthenticated client can do to the sockets.
#   - a client that drips one byte a second is closed at the whole-request
#     deadline (limits.request_timeout), although each byte restarts evhttp's
#     own timeout; logged and counted;
#   - connections over limits.max_sockets_per_peer from one address, and over
#     limits.max_sockets on a listener, are closed at once, logged and
#     counted, while other clients are served;
#   - requests evhttp refuses by itself (body over max_body: 413, headers over
#     max_headers: 400) get a log line with the reason and a count;
#   - with a small RLIMIT_NOFILE the daemon survives a connection flood (the
#     reserve descriptor sheds what it cannot accept) and answers afterwards.
. "$(dirname "$0")/lib.sh"

# py SCRIPT ARGS...: python3 with the SCEP port in PORT
py() { PORT=$PORT python3 -c "$@"; }

# metric NAME{LABELS}: its value on the admin /metrics page
metric() {
	curl -sS --cacert "$PKI/chain.pem" -H "Authorization: Bearer $READ_TOKEN" \
		"$ADMIN_URL/metrics" | sed -E 's/,scepgw_instance="[^"]*"\}/}/; s/\{scepgw_instance="[^"]*"\}//' | awk -v k="$1" '$1 == k { print $2 }'
}

GW_TOP_EXTRA='limits: { timeout: 5, request_timeout: 3, max_sockets: 10, max_sockets_per_peer: 5,
  max_body: 1k, max_headers: 2k }'
gw_config "$CFG"
gw_start

# --- slow drip ------------------------------------------------------------------
drip() {
	py '
import os, socket, time
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])))
req = b"POST /scep/dev/pkiclient.exe?operation=PKIOperation HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"x" * 500
t0 = time.time()
s.settimeout(1.0)
for b in req:
    try:
        s.send(bytes([b]))
    except OSError:
        break
    try:
        if s.recv(1) == b"":
            break
    except socket.timeout:
        pass
    except OSError:
        break
    if time.time() - t0 > 20:
        break
print("%.1f" % (time.time() - t0))
'
}
mark=$(gw_log_mark)
secs=$(drip)
log "the dripping client was closed after ${secs}s"
check "a client dripping one byte a second is closed at request_timeout (3 s; took ${secs}s)" \
	python3 -c "import sys; sys.exit(not 2.5 <= float('$secs') <= 5.5)"
check "... with a log line" bash -c "tail -n +$((mark + 1)) '$GW_LOG' |
	grep -q 'listen 127.0.0.1:$PORT: peer=127.0.0.1 .*request not complete within limits.request_timeout (3 s'"
check "... and a count" test "$(metric 'scepgw_http_refused_total{reason="request_timeout"}')" = 1

# a kept-alive connection: the deadline does not run while it idles between
# requests (4 s idle > request_timeout 3 s < timeout 5 s), and starts again at
# the next request's first byte
keepalive() {
	py '
import os, socket, time
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])))
req = b"GET /scep/dev/pkiclient.exe?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n"
def answer():
    s.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(4096)
    return head.split(b"\r\n")[0].decode()
out = [answer() if s.send(req) else ""]
time.sleep(4)
s.send(req)
out.append(answer())
t0 = time.time()
s.settimeout(1.0)
for b in req:
    s.send(bytes([b]))
    try:
        if s.recv(1) == b"":
            break
    except socket.timeout:
        pass
    if time.time() - t0 > 15:
        break
out.append("%.1f" % (time.time() - t0))
print("|".join(out))
'
}
res=$(keepalive)
log "kept-alive connection: $res"
check "a kept-alive connection is served again after idling longer than request_timeout" \
	test "${res%|*}" = "HTTP/1.1 200 OK|HTTP/1.1 200 OK"
check "... and its next dripping request is closed at request_timeout (took ${res##*|}s)" \
	python3 -c "import sys; sys.exit(not 2.5 <= float('${res##*|}') <= 5.5)"

# a request the client abandons half-way gets its line and its count too
mark=$(gw_log_mark)
py '
import os, socket, time
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])))
s.send(b"GET /scep/dev/pkiclient.exe?operation=GetCA")
time.sleep(0.3)
s.close()
time.sleep(0.3)
'
check "a request abandoned half-way is logged" bash -c "tail -n +$((mark + 1)) '$GW_LOG' |
	grep -q 'peer=127.0.0.1 status=- reason=\"connection closed before the request was complete (43 bytes received)\"'"
n=$(metric 'scepgw_http_refused_total{reason="incomplete"}')
check "... and counted ($n)" test "$n" = 1

# --- caps -----------------------------------------------------------------------
# hold SRC N... : connect N sockets from each source address and keep them
# open; print per source how many the gateway closed within 1 s.
cat >"$T/hold.py" <<'PY'
import os, socket, sys, time
port = int(os.environ["PORT"])
plan = [(sys.argv[i], int(sys.argv[i + 1])) for i in range(1, len(sys.argv) - 1, 2)]
socks = []
for src, n in plan:
    for _ in range(n):
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        socks.append((src, s))
        time.sleep(0.02)
time.sleep(1.0)
closed = {}
for src, s in socks:
    s.setblocking(False)
    try:
        gone = s.recv(1) == b""
    except BlockingIOError:
        gone = False
    except OSError:
        gone = True
    closed[src] = closed.get(src, 0) + gone
print(" ".join("%s=%d" % (src, closed.get(src, 0)) for src, _ in plan))
sys.stdout.flush()
# keep them open until told
sys.stdin.read()
PY
mark=$(gw_log_mark)
coproc HOLD { PORT=$PORT python3 "$T/hold.py" 127.0.0.1 6; }
track_pid "$HOLD_PID"
read -r -t 10 res <&"${HOLD[0]}" || res=
log "held from one address: $res"
check "the 6th connection from one address is closed at once (max_sockets_per_peer 5): $res" \
	test "$res" = "127.0.0.1=1"
check "... with a log line" bash -c "tail -n +$((mark + 1)) '$GW_LOG' |
	grep -q 'peer=127.0.0.1: connection refused: 5 open from this address (limits.max_sockets_per_peer)'"
check "another address is served meanwhile" \
	curl -fsS --max-time 5 --interface 127.0.0.2 -o /dev/null "$URL?operation=GetCACaps"
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null || true
check "... counted" test "$(metric 'scepgw_http_refused_total{reason="max_sockets_per_peer"}')" = 1

coproc HOLD { PORT=$PORT python3 "$T/hold.py" 127.0.0.3 5 127.0.0.4 5 127.0.0.5 1; }
track_pid "$HOLD_PID"
read -r -t 10 res <&"${HOLD[0]}" || res=
log "held from three addresses: $res"
check "the 11th connection on the listener is closed at once (max_sockets 10): $res" \
	test "$res" = "127.0.0.3=0 127.0.0.4=0 127.0.0.5=1"
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null || true
check "... counted" test "$(metric 'scepgw_http_refused_total{reason="max_sockets"}')" = 1
check "... and once they are gone, GetCACaps answers" \
	curl -fsS --max-time 5 -o /dev/null "$URL?operation=GetCACaps"

# --- requests evhttp refuses by itself ---------------------------------------------
mark=$(gw_log_mark)
code=$(head -c 4096 /dev/zero | curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
	--data-binary @- "$URL?operation=PKIOperation" || true)
check "a body over max_body gets 413 (got $code)" test "$code" = 413
check "... a log line with the reason" bash -c "tail -n +$((mark + 1)) '$GW_LOG' |
	grep -q 'peer=127.0.0.1 status=413 reason=\"request body over limits.max_body (1024 bytes)\"'"
check "... and a count" test "$(metric 'scepgw_http_refused_total{reason="max_body"}')" = 1
mark=$(gw_log_mark)
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 3000 /dev/zero | tr '\0' a)" \
	"$URL?operation=GetCACaps" || true)
check "headers over max_headers get 400 (got $code)" test "$code" = 400
check "... a log line with the reason" bash -c "tail -n +$((mark + 1)) '$GW_LOG' |
	grep -q 'peer=127.0.0.1 status=400 reason=\"request headers over limits.max_headers\"'"
check "... and a count" test "$(metric 'scepgw_http_refused_total{reason="bad_request"}')" = 1
mark=$(gw_log_mark)
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X DELETE "$URL?operation=GetCACaps" || true)
check "a method the listener does not serve gets 501 (got $code)" test "$code" = 501
check "... a log line with the reason" bash -c "tail -n +$((mark + 1)) '$GW_LOG' |
	grep -q 'peer=127.0.0.1 status=501 reason=\"method not allowed on this listener\"'"
gw_stop

# --- a flood with few descriptors ---------------------------------------------------
GW_TOP_EXTRA='limits: { max_sockets_per_peer: 0 }'
gw_config "$CFG"
printf '#!/bin/sh\nulimit -n 96 || exit 1\nexec "%s" "$@"\n' "$SCEPGW" >"$T/scepgw-lowfd"
chmod +x "$T/scepgw-lowfd"
REAL_SCEPGW=$SCEPGW
SCEPGW=$T/scepgw-lowfd
GW_LOG=$T/scepgw-lowfd.log
gw_start
SCEPGW=$REAL_SCEPGW
cat >"$T/flood.py" <<'PY'
import os, socket, time
port = int(os.environ["PORT"])
socks = []
for i in range(400):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.send(b"GET /scep/dev/pkiclient.exe?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        pass
time.sleep(1)
print(len(socks))
for s in socks:
    s.close()
PY
n=$(PORT=$PORT python3 "$T/flood.py")
log "flood: $n connections made"
check "the gateway survives a flood of 400 connections with ulimit -n 96" kill -0 "$GW_PID"
# The log is rate-limited to a line a second: the first failure decides what
# it says (shed, or paused when no descriptor could be freed at that moment).
check "... logs that accept() failed, and sheds or pauses" \
	grep -Eq 'accept failed: Too many open files; (closed a waiting connection with the reserve descriptor|pausing accept for 200 ms)' "$GW_LOG"
check "... and answers GetCACaps afterwards" wait_http "$URL?operation=GetCACaps" 10
finish
