#!/usr/bin/env bash
# t_proxy_proto.sh: PROXY protocol v1 and v2 on a listener (issue 17 item 7).
# Two more listeners with `proxy_protocol: true`, plain and TLS, behind a
# python relay that plays the load balancer: it accepts on its own port,
# connects to the gateway (from 127.0.0.1, or 127.0.0.2: not trusted) and
# sends a v1 or v2 header naming a chosen client before relaying the bytes.
#  - v1 TCP4 and v2 TCP6 headers: the request line names the header's client
#    as peer= and the balancer as via=; an enrollment with scepreq through the
#    relay is logged with the client's address, and one awaiting approval is
#    listed (scepgwctl pending) with it;
#  - v2 TCP6: micromdm scepclient enrolls through the balancer;
#  - v2 LOCAL (the balancer's own health check): the balancer is the peer;
#  - TLS: the header comes before the handshake (curl through a v2 relay);
#  - refused, with a log line: a connection without a header, a header from
#    a peer outside trusted_proxies, a header that is not one (v1 garbage);
#  - the per-peer cap counts the header's client, not the balancer;
#  - proxy_protocol without trusted_proxies is a config error.
# shellcheck disable=SC2317  # the check functions run through check()
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PX_PORT=$(free_port)
PXS_PORT=$(free_port)
GW_LISTEN_EXTRA="  - { address: \"127.0.0.1:$PX_PORT\", proxy_protocol: true }
  - address: \"127.0.0.1:$PXS_PORT\"
    proxy_protocol: yes
    tls: { cert: \"$PKI/tls.pem\", key: \"$PKI/tls.key\" }"
GW_TOP_EXTRA='trusted_proxies: ["127.0.0.1"]
limits: { max_sockets_per_peer: 2 }'
gw_config "$CFG"

# The balancer: relay.py LPORT TARGET VERSION CLIENT [SOURCE].  VERSION: 1, 2,
# local (v2 LOCAL) or garbage (a line that is no header).
cat >"$T/relay.py" <<'PY'
import ipaddress, socket, struct, sys, threading
lport, target, version, client = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
source = sys.argv[5] if len(sys.argv) > 5 else "127.0.0.1"
SIG = b"\r\n\r\n\x00\r\nQUIT\n"

def header(cport):
    ip = ipaddress.ip_address(client)
    if version == "1":
        fam = "TCP4" if ip.version == 4 else "TCP6"
        dst = "127.0.0.1" if ip.version == 4 else "::1"
        return ("PROXY %s %s %s %d %d\r\n" % (fam, client, dst, cport, target)).encode()
    if version == "garbage":
        return b"PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n"
    if version == "local":
        return SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    if ip.version == 4:
        addrs = ip.packed + ipaddress.ip_address("127.0.0.1").packed
        fam = 0x11
    else:
        addrs = ip.packed + ipaddress.ip_address("::1").packed
        fam = 0x21
    body = addrs + struct.pack("!HH", cport, target) + b"\x03\x00\x04abcd"  # and a TLV
    return SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body

def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def serve(c):
    u = socket.socket()
    u.bind((source, 0))
    u.connect(("127.0.0.1", target))
    u.sendall(header(c.getpeername()[1]))
    t = threading.Thread(target=pipe, args=(u, c), daemon=True)
    t.start()
    pipe(c, u)
    t.join()
    c.close()
    u.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", lport))
s.listen(64)
open(sys.argv[0] + ".%d.ready" % lport, "w").close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
relay() { # VERSION CLIENT TARGET [SOURCE]: start a relay, print its port
	local p
	p=$(free_port)
	python3 "$T/relay.py" "$p" "$3" "$1" "$2" "${4:-127.0.0.1}" >>"$T/relay.log" 2>&1 &
	track_pid $!
	for ((i = 0; i < 50; i++)); do [ -e "$T/relay.py.$p.ready" ] && break; sleep 0.1; done
	echo "$p"
}
caps() { curl -fsS --max-time 10 -o /dev/null "$@"; }
path='/scep/dev/pkiclient.exe?operation=GetCACaps'

gw_start "$CFG"
check "the proxy listeners are logged as such" \
	grep -q "listening on http://127.0.0.1:$PX_PORT (PROXY protocol)" "$GW_LOG"

R1=$(relay 1 203.0.113.10 "$PX_PORT")
check "v1 TCP4: GetCACaps through the balancer" caps "http://127.0.0.1:$R1$path"
check "... logged with the header's client as peer= and the balancer as via=" \
	grep -q 'peer=203.0.113.10 via=127.0.0.1 op=GetCACaps' "$GW_LOG"
check "v1: an enrollment through the balancer" \
	"$SCEPREQ" enroll -u "http://127.0.0.1:$R1/scep/dev/pkiclient.exe" -c "$CHALLENGE" \
	--cn proxied-1 --out "$T/p1.pem"
check "... its request line names the client" \
	grep -Eq 'peer=203.0.113.10 via=127.0.0.1 op=PKCSReq .*outcome=success' "$GW_LOG"

check "v1: a request awaiting approval through the balancer" \
	"$SCEPREQ" enroll -u "http://127.0.0.1:$R1/scep/manual/pkiclient.exe" -c "$CHALLENGE" \
	--cn proxied-pending --expect pending
pending_peer() {
	ctl pending --json | python3 -c 'import json,sys
print([t["peer"] for t in json.load(sys.stdin)["transactions"] if "CN=proxied-pending" in t["subject"]])'
}
check "... the approval queue shows the header's client as its peer" \
	test "$(pending_peer)" = "['203.0.113.10']"

R2=$(relay 2 2001:db8::7 "$PX_PORT")
check "v2 TCP6 (with a TLV): GetCACaps" caps "http://127.0.0.1:$R2$path"
check "... peer=2001:db8::7 via=127.0.0.1" grep -q 'peer=2001:db8::7 via=127.0.0.1 op=GetCACaps' "$GW_LOG"
sc_enroll() { # micromdm scepclient through the v2 balancer
	mkdir -p "$T/sc"
	(cd "$T/sc" && timeout 60 scepclient -server-url "http://127.0.0.1:$R2/scep/dev/pkiclient.exe" \
		-challenge "$CHALLENGE" -private-key "$T/sc/key.pem" -certificate "$T/sc/cert.pem" \
		-cn proxied-sc) >"$T/sc/client.log" 2>&1 || { tail -n 5 "$T/sc/client.log"; return 1; }
}
check "v2: scepclient enrolls through the balancer" sc_enroll
check "... its request line names the client" \
	grep -Eq 'peer=2001:db8::7 via=127.0.0.1 op=PKCSReq .*outcome=success' "$GW_LOG"

RL=$(relay local 0.0.0.0 "$PX_PORT")
mark=$(gw_log_mark)
check "v2 LOCAL (a health check of the balancer): answered" caps "http://127.0.0.1:$RL$path"
check "... the balancer is the peer, no via=" \
	_log_line_after "$mark" 'peer=127.0.0.1 op=GetCACaps'

RS=$(relay 2 198.51.100.20 "$PXS_PORT")
check "TLS: a v2 header before the handshake, GetCACaps over https" \
	caps --cacert "$PKI/chain.pem" "https://127.0.0.1:$RS$path"
check "... peer=198.51.100.20 via=127.0.0.1" \
	grep -q 'peer=198.51.100.20 via=127.0.0.1 op=GetCACaps' "$GW_LOG"
check "TLS: an enrollment through the balancer" \
	"$SCEPREQ" enroll -u "https://127.0.0.1:$RS/scep/dev/pkiclient.exe" --tls-ca "$PKI/chain.pem" \
	-c "$CHALLENGE" --cn proxied-2 --out "$T/p2.pem"
check "... its request line names the client" \
	grep -Eq 'peer=198.51.100.20 via=127.0.0.1 op=PKCSReq .*outcome=success' "$GW_LOG"

# --- refused ----------------------------------------------------------------
check "no header: the connection is closed" not caps "http://127.0.0.1:$PX_PORT$path"
check "... with a log line" wait_log \
	"listen 127.0.0.1:$PX_PORT: peer=127.0.0.1: connection refused: no PROXY protocol header"
check "no header on TLS: no handshake" not caps --cacert "$PKI/chain.pem" "https://127.0.0.1:$PXS_PORT$path"
RU=$(relay 1 203.0.113.66 "$PX_PORT" 127.0.0.2)
sleep 1.1 # refusals are logged at most once a second per listener
check "a header from a peer outside trusted_proxies: refused" not caps "http://127.0.0.1:$RU$path"
check "... logged" wait_log "peer=127.0.0.2: connection refused: not a PROXY protocol sender"
check "... its client never appears as a peer" not grep -q 'peer=203.0.113.66' "$GW_LOG"
RG=$(relay garbage 0.0.0.0 "$PX_PORT")
sleep 1.1
check "a malformed v1 header: refused" not caps "http://127.0.0.1:$RG$path"
check "... logged" wait_log "peer=127.0.0.1: connection refused: PROXY v1: an address is not IPv4"

# --- the per-peer cap counts the header's client ------------------------------
hold() { # PORT N: N idle connections, kept open by a background python
	python3 - "$1" "$2" <<'PY' &
import socket, sys, time
cs = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(int(sys.argv[2]))]
time.sleep(30)
PY
	track_pid $!
}
RC=$(relay 1 192.0.2.77 "$PX_PORT")
hold "$RC" 2
sleep 1.1
check "two connections from one client: a third is refused" not caps "http://127.0.0.1:$RC$path"
check "... logged with that client" \
	wait_log "peer=192.0.2.77 via=127.0.0.1: connection refused: 2 open from this address"
check "another client through the same balancer is served" caps "http://127.0.0.1:$R1$path"
gw_stop
no_secret_in_log

# --- configuration ---------------------------------------------------------------
GW_TOP_EXTRA=
gw_config "$CFG"
check "proxy_protocol without trusted_proxies is a config error" \
	config_refused "$CFG" 'listen\[2\]\.proxy_protocol: needs trusted_proxies'
finish
