#!/usr/bin/env bash
# `ustack relay` (tun2socks) end to end, in namespaces this script creates:
#
#   ust-rly-cli: curl, ping, the UDP client; its default route points into
#                usrly0, the TUN device served by `ustack relay` (which runs
#                here too, its own upstream sockets kept out of usrly0 by
#                SO_MARK and a policy rule)
#      vrlc0 10.211.1.1 --- vrlp0 10.211.1.2
#   ust-rly-prx: microsocks (TCP CONNECT, user/password) on :1080, dante
#                (CONNECT and UDP ASSOCIATE) on :1081; routes to the server
#      vrlp1 10.211.2.1 --- vrls1 10.211.2.2 and .3
#   ust-rly-srv: nginx with a 50 MB file, UDP echo services that report the
#                peer's address (two addresses, to see the UDP mapping)
#
# Checks, through SOCKS5 and again with --direct: the file arrives intact
# (throughput printed), 100 connections at once, a closed port refused in
# under a second, UDP with one mapping across destinations (full cone),
# ICMP echo (forwarded in --direct: the real host answers; answered locally
# through a proxy), fake DNS handing names to the proxy, and a SYN flood
# into the TUN device leaving memory within --max-memory and curl working.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=relay
SAN=${UST_SAN:-0}
# Namespace names carry this script's PID (UST_RELAY_NS sets the prefix
# instead), so runs at once on one machine (two worktrees' make test)
# never share a namespace; stale_ns removes those of runs that died.
NSP=${UST_RELAY_NS:-ust-rly-$$}
C=$NSP-cli P=$NSP-prx S=$NSP-srv
BUDGET_MB=${UST_RELAY_BUDGET_MB:-48}
if [ "$SAN" = 1 ]; then BIG_MB=10 CONC=30 FLOOD_S=2; else BIG_MB=50 CONC=100 FLOOD_S=3; fi
CONC=${UST_RELAY_CONC:-$CONC}   # e.g. UST_RELAY_CONC=2000 UST_RELAY_BUDGET_MB=512 to measure more

in_c() { ip netns exec "$C" "$@"; }
in_p() { ip netns exec "$P" "$@"; }
in_s() { ip netns exec "$S" "$@"; }

stale_ns ust-rly

# Bad invocations: exit 2 with one line on stderr, no device left.
ust_bad_invocations "$T" relay usrly9 "--tun usrly9 --ip 10.211.9.1/24" "--tun usrly9 --ip 10.211.9.1/24 --direct --socks5 10.211.1.2:1080" \
	"--tun usrly9 --ip 10.211.9.1/24 --socks5 10.211.1.2" "--tun usrly9 --ip 10.211.9.1/24 --direct --fake-dns 198.18.0.0/15" \
	"--tun usrly9 --ip 10.211.9.1/24 --direct --user u --pass p" "--tun usrly9 --ip 10.211.9.1/24 --direct --max-memory 1K" \
	"--tap usrly9 --ip 10.211.9.1/24 --direct"

ust_ns_add "$C" "$P" "$S"
ip link add vrlc0 type veth peer name vrlp0
ip link add vrlp1 type veth peer name vrls1
ip link set vrlc0 netns "$C"
ip link set vrlp0 netns "$P"
ip link set vrlp1 netns "$P"
ip link set vrls1 netns "$S"
ip -n "$C" addr add 10.211.1.1/24 dev vrlc0
ip -n "$P" addr add 10.211.1.2/24 dev vrlp0
ip -n "$P" addr add 10.211.2.1/24 dev vrlp1
ip -n "$S" addr add 10.211.2.2/24 dev vrls1
ip -n "$S" addr add 10.211.2.3/24 dev vrls1
for l in "$C vrlc0" "$P vrlp0" "$P vrlp1" "$S vrls1"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$S" route add default via 10.211.2.1
in_p sysctl -qw net.ipv4.ip_forward=1
in_c sysctl -qw net.ipv4.ping_group_range="0 2147483647"
in_c sysctl -qw net.ipv4.conf.all.rp_filter=0
# The relay's own sockets carry mark 1: they route by table 100, out vrlc0.
ip -n "$C" rule add fwmark 1 lookup 100
ip -n "$C" route add default via 10.211.1.2 dev vrlc0 table 100

# ---- servers ----
WWW=$UST_TMP/www
mkdir -p "$WWW"
head -c $((BIG_MB << 20)) /dev/urandom >"$WWW/big.bin"
head -c 200000 /dev/urandom >"$WWW/mid.bin"
head -c 1000000 /dev/urandom >"$WWW/one.bin"
BIG_SUM=$(sha256sum <"$WWW/big.bin" | cut -d' ' -f1)
cat >"$UST_TMP/nginx.conf" <<EOF
user root;
daemon off;
worker_processes 1;
pid $UST_TMP/nginx.pid;
error_log $UST_TMP/nginx.err;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
	access_log off;
	client_body_temp_path $UST_TMP/ngx_body;
	proxy_temp_path $UST_TMP/ngx_proxy;
	fastcgi_temp_path $UST_TMP/ngx_fcgi;
	uwsgi_temp_path $UST_TMP/ngx_uwsgi;
	scgi_temp_path $UST_TMP/ngx_scgi;
	server { listen 10.211.2.2:8080 backlog=4096; root $WWW; }
}
EOF
ip netns exec "$S" nginx -c "$UST_TMP/nginx.conf" -e "$UST_TMP/nginx.err" &
# UDP echo that says who it saw: "<peer ip>:<peer port> <data>"; "poke"
# also gets a datagram from another port (7777), never sent to before.
cat >"$UST_TMP/udpsrv.py" <<'PY'
import select, socket
socks = []
for a in ("10.211.2.2", "10.211.2.3"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a, 7))
    socks.append(s)
other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
other.bind(("10.211.2.2", 7777))
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(65536)
        s.sendto(("%s:%d " % peer).encode() + data, peer)
        if data == b"poke":
            other.sendto(b"unsolicited", peer)
PY
ip netns exec "$S" "$UST_PY" "$UST_TMP/udpsrv.py" &
# Half close: counts what it reads until EOF, then answers and closes.
ip netns exec "$S" socat TCP-LISTEN:9000,bind=10.211.2.2,fork,reuseaddr SYSTEM:'wc -c' &
# Behind the proxy, "localhost" is the proxy's own host: a page only it has.
mkdir -p "$UST_TMP/prxwww"
echo "served behind the proxy $$" >"$UST_TMP/prxwww/marker.txt"
ip netns exec "$P" "$UST_PY" -m http.server 8090 --bind 127.0.0.1 --directory "$UST_TMP/prxwww" >/dev/null 2>&1 &
ip netns exec "$P" microsocks -i 10.211.1.2 -p 1080 -u relayuser -P relaypass >"$UST_TMP/microsocks.log" 2>&1 &
cat >"$UST_TMP/danted.conf" <<EOF
logoutput: $UST_TMP/danted.log
internal: 10.211.1.2 port = 1081
external: 10.211.2.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: root
client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect udpassociate udpreply }
EOF
ip netns exec "$P" danted -f "$UST_TMP/danted.conf" -p "$UST_TMP/danted.pid" >"$UST_TMP/danted.out" 2>&1 &
for ((i = 0; i < 100; i++)); do
	in_s bash -c 'exec 3<>/dev/tcp/10.211.2.2/8080' 2>/dev/null &&
		in_p bash -c 'exec 3<>/dev/tcp/10.211.1.2/1080 && exec 4<>/dev/tcp/10.211.1.2/1081' 2>/dev/null && break
	sleep 0.1
done
check "$T: nginx, microsocks and dante are up" in_p bash -c 'exec 3<>/dev/tcp/10.211.1.2/1081 && exec 4<>/dev/tcp/10.211.2.2/8080'

# ---- the relay ----
RPID=
# start_relay NAME relay-options...: runs it in the client namespace, waits
# for 'ready', points the client's default route into usrly0.
start_relay() {
	local name=$1 i
	shift
	ROUT=$UST_TMP/$name.out RERR=$UST_TMP/$name.err
	ip netns exec "$C" "$USTACK" relay --tun usrly0 --ip 10.211.0.1/24 --host-ip 10.211.0.2/24 \
		--mark 1 "$@" >"$ROUT" 2>"$RERR" &
	RPID=$!
	UST_PID=$RPID
	for ((i = 0; i < 150; i++)); do
		grep -q ready "$ROUT" 2>/dev/null && break
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q ready "$ROUT"; then
		not_ok "$name: ustack relay $* did not get ready"
		diag "$ROUT" "$RERR"
		return 1
	fi
	ip -n "$C" route replace default dev usrly0
	ok "$name: ustack relay $* is ready"
}
# stop_relay NAME: SIGTERM; exit 0, report printed, no sanitizer report.
stop_relay() {
	local name=$1 i
	kill -TERM "$RPID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$RPID" 2>/dev/null
	wait "$RPID"
	local rc=$?
	UST_PID=
	expect_eq "$name: relay exits 0 on SIGTERM" "$rc" 0
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$RERR"; then
		not_ok "$name: sanitizer report"
		diag "$RERR"
	fi
	grep -q '^relay.TcpAccepted ' "$ROUT" || not_ok "$name: no counters printed at exit"
}
# rstat NAME: the last value of relay.NAME printed by the relay.
rstat() { sed -n "s/^relay\.$1 //p" "$ROUT" | tail -n 1; }
report() { kill -USR1 "$RPID"; sleep 0.3; }

cat >"$UST_TMP/cli.py" <<'PY'
import socket, struct, sys

def udp_map(port, a, b, want_cone):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    s.settimeout(3)
    seen = []
    for dst in (a, b):
        s.sendto(b"hello", (dst, 7))
        data, peer = s.recvfrom(65536)
        if peer != (dst, 7) or not data.endswith(b" hello"):
            sys.exit("bad answer %r from %r" % (data, peer))
        seen.append(data.split()[0].decode())
    print("mapped as %s by %s and %s by %s" % (seen[0], a, seen[1], b))
    if seen[0] != seen[1]:
        sys.exit("different mappings")
    if want_cone == "1":
        s.sendto(b"poke", (a, 7))
        got = set()
        for _ in range(2):
            data, peer = s.recvfrom(65536)
            got.add((peer, data.split()[-1]))
        if ((a, 7777), b"unsolicited") not in got:
            sys.exit("no datagram from a new remote (%s:7777): %r" % (a, got))
        print("a datagram from %s:7777, never sent to, came through" % a)

def dns(server, name):
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q + struct.pack(">HH", 1, 1), (server, 53))
    r = s.recv(512)
    qd, an = struct.unpack(">HH", r[4:8])
    if r[:2] != q[:2] or not (r[2] & 0x80) or an < 1:
        sys.exit("bad answer %r" % r)
    print(socket.inet_ntoa(r[-4:]))
    s.sendto(q + struct.pack(">HH", 28, 1), (server, 53))   # AAAA: empty, NOERROR
    r = s.recv(512)
    if (r[3] & 0xF) != 0 or struct.unpack(">H", r[6:8])[0] != 0:
        sys.exit("AAAA: wanted an empty NOERROR answer, got %r" % r)

def refused(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, int(port)))
    s.send(b"anyone?")
    try:
        s.recv(512)
    except ConnectionRefusedError:
        print("connection refused")
        return
    except socket.timeout:
        sys.exit("no error within 3 s")
    sys.exit("an answer from a closed port?")

def conc(host, path, n, size):
    import resource
    n, size = int(n), int(size)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect((host, 8080))
        s.sendall(("GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path).encode())
        socks.append(s)
    print("open %d" % n, flush=True)
    import time
    time.sleep(1.5)
    good = 0
    for s in socks:
        data = b""
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            data += b
        if len(data.split(b"\r\n\r\n", 1)[-1]) == size:
            good += 1
    print("%d complete" % good)

def slow(host, path, stall):
    # A reader that stops: the relay must stop reading upstream (bounded
    # memory), then deliver everything once it reads again.
    import hashlib, time
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(20)
    s.connect((host, 8080))
    s.sendall(("GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path).encode())
    data = bytearray(s.recv(65536))   # (a bytearray: += on bytes copies it all each time)
    print("stalled", flush=True)
    time.sleep(float(stall))
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        data += b
    body = bytes(data).split(b"\r\n\r\n", 1)[1]
    print(hashlib.sha256(body).hexdigest())

{"udp_map": udp_map, "dns": dns, "refused": refused, "slow": slow, "conc": conc}[sys.argv[1]](*sys.argv[2:])
PY

# half_close NAME: the server answers only after our EOF reached it, and nc
# exits only once the server's FIN came back.
half_close() {
	local out
	out=$(printf 'twelve bytes' | in_c timeout 10 nc -N 10.211.2.2 9000 2>&1)
	expect_eq "$1: half close carried both ways (the server saw our EOF, we saw its answer and EOF)" "$(echo $out)" 12
}

# tcp_checks NAME: the file, concurrency, a refused port, a slow reader.
tcp_checks() {
	local name=$1 out t0 t1 ms rc
	out=$(in_c curl -s --max-time 60 -o "$UST_TMP/got.bin" -w '%{speed_download} %{http_code}' \
		http://10.211.2.2:8080/big.bin)
	if [ "$(sha256sum <"$UST_TMP/got.bin" | cut -d' ' -f1)" = "$BIG_SUM" ]; then
		ok "$name: $BIG_MB MB over HTTP through the relay, SHA-256 matches"
		note "$name: throughput $(awk -v b="${out%% *}" 'BEGIN { printf "%.1f Mbit/s", b * 8 / 1e6 }')"
	else
		not_ok "$name: $BIG_MB MB over HTTP through the relay (curl: $out, $(stat -c %s "$UST_TMP/got.bin" 2>/dev/null) bytes)"
	fi
	rm -f "$UST_TMP/got.bin"
	# CONC connections at once: all opened, each asks for 200 kB and waits
	# (the listing is taken then), then all are read to the end.
	rm -f "$UST_TMP/conc.out" "$UST_TMP/slow.out"
	in_c timeout 60 "$UST_PY" "$UST_TMP/cli.py" conc 10.211.2.2 /mid.bin "$CONC" 200000 >"$UST_TMP/conc.out" 2>&1 &
	local cpid=$! held
	for ((i = 0; i < 100; i++)); do grep -qs '^open' "$UST_TMP/conc.out" && break; sleep 0.1; done
	report
	held=$(sed -n 's/^relay flows: tcp \([0-9]*\),.*/\1/p' "$ROUT" | tail -n 1)
	expect_num "$name: connections held open at once (relay's flow listing)" "${held:-0}" -ge "$CONC"
	wait "$cpid"
	expect_eq "$name: $CONC concurrent downloads complete" "$(tail -n 1 "$UST_TMP/conc.out")" "$CONC complete"
	# A closed port: refused (RST), quickly.
	t0=$(date +%s%N)
	out=$(in_c curl -sS -v --max-time 5 http://10.211.2.2:8081/ 2>&1)
	rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	if [ "$rc" = 7 ] && [[ "$out" == *"Connection refused"* ]] && [ "$ms" -lt 1000 ]; then
		ok "$name: a closed port is refused in $ms ms ($(printf '%s\n' "$out" | grep -m1 -o 'connect to.*refused'))"
	else
		not_ok "$name: a closed port: curl exit $rc after $ms ms: $out"
	fi
	# Flow control: a reader that stalls for 2 s on a file much larger than
	# every buffer between it and the server.
	in_c timeout 40 "$UST_PY" "$UST_TMP/cli.py" slow 10.211.2.2 /big.bin 2 >"$UST_TMP/slow.out" 2>&1 &
	local spid=$!
	for ((i = 0; i < 50; i++)); do grep -qs stalled "$UST_TMP/slow.out" && break; sleep 0.1; done
	sleep 1.5
	report
	local down
	down=$(grep -E '^  tcp .* -> 10\.211\.2\.2:8080 open ' "$ROUT" | tail -n 1 | sed -n 's/.* down \([0-9]*\) .*/\1/p')
	expect_num "$name: a stalled reader holds the relay's forwarding (bytes to the client while stalled, of $BIG_MB MB)" \
		"${down:-999999999}" -le $((2 << 20))
	wait "$spid"
	expect_eq "$name: the stalled reader then gets the whole file intact" "$(tail -n 1 "$UST_TMP/slow.out")" "$BIG_SUM"
}
snmp_in_echos() { in_s awk '/^Icmp:/ { n++; if (n == 1) for (i = 1; i <= NF; i++) h[i] = $i; else for (i = 1; i <= NF; i++) if (h[i] == "InEchos") print $i }' /proc/net/snmp; }

# ---- 1: SOCKS5 with user/password (microsocks): TCP, fake DNS, ping answered locally ----
N=socks5
if start_relay $N --socks5 10.211.1.2:1080 --user relayuser --pass relaypass --fake-dns 198.18.0.0/15 \
	--max-memory ${BUDGET_MB}M; then
	tcp_checks $N
	note "$N: half close is not checked through microsocks: it closes both directions at the first EOF"
	ip=$(in_c timeout 10 "$UST_PY" "$UST_TMP/cli.py" dns 10.211.0.53 localhost 2>&1)
	if [[ "$ip" =~ ^198\.(18|19)\.[0-9]+\.[0-9]+$ ]]; then
		ok "$N: fake DNS answers localhost with $ip from 198.18.0.0/15 (AAAA: empty NOERROR)"
		got=$(in_c curl -s --max-time 10 "http://$ip:8090/marker.txt")
		expect_eq "$N: a connection to the fake address reaches the proxy's own localhost (name sent as ATYP 3)" \
			"$got" "$(cat "$UST_TMP/prxwww/marker.txt")"
	else
		not_ok "$N: fake DNS: $ip"
	fi
	before=$(snmp_in_echos)
	out=$(in_c ping -c 2 -i 0.2 -W 2 10.211.2.2 2>&1)
	if [[ "$out" == *"2 received"* ]] && [[ "$out" == *"ttl=64"* ]] && [ "$(snmp_in_echos)" = "$before" ]; then
		ok "$N: ping through a proxy is answered by the relay itself (ttl=64, the server saw none)"
	else
		not_ok "$N: ping through a proxy"
		printf '%s\n' "$out" | diag
	fi
	report
	expect_num "$N: no SOCKS handshake failed" "$(rstat TcpSocksFailed)" -eq 0
	stop_relay $N
fi

# ---- 2: SOCKS5 through dante: CONNECT and UDP ASSOCIATE ----
N=socks5-udp
if start_relay $N --socks5 10.211.1.2:1081 --udp-timeout 3 --tcp-timeout 2 --pcap "$UST_TMP/$N.pcap"; then
	out=$(in_c curl -s --max-time 20 -o /dev/null -w '%{http_code} %{size_download}' http://10.211.2.2:8080/one.bin)
	expect_eq "$N: a download through dante" "$out" "200 1000000"
	half_close $N
	check "$N: UDP through the association keeps one mapping across destinations, replies from new remotes too" \
		in_c timeout 20 "$UST_PY" "$UST_TMP/cli.py" udp_map 40001 10.211.2.2 10.211.2.3 1
	report
	# An idle TCP connection (it sends nothing and waits) and the UDP
	# mapping above expire: --tcp-timeout 2, --udp-timeout 3.
	in_c timeout 8 nc 10.211.2.2 9000 </dev/null >/dev/null 2>&1 &
	sleep 4.5
	report
	expect_num "$N: datagrams relayed back" "$(rstat UdpDatagramsDown)" -ge 4
	expect_num "$N: the idle TCP flow expired" "$(rstat TcpIdleTimeouts)" -ge 1
	expect_num "$N: the idle UDP mapping expired" "$(rstat UdpExpired)" -ge 1
	stop_relay $N
	ust_pcap "$N" "$UST_TMP/$N.pcap"
fi

# ---- 3: --direct: TCP, UDP, unreachable, ping forwarded, SYN flood ----
N=direct
if start_relay $N --direct --udp-timeout 5 --max-memory ${BUDGET_MB}M; then
	tcp_checks $N
	half_close $N
	check "$N: UDP keeps one mapping across destinations; a new remote's datagram comes through (full cone)" \
		in_c timeout 20 "$UST_PY" "$UST_TMP/cli.py" udp_map 40002 10.211.2.2 10.211.2.3 1
	out=$(in_c timeout 10 "$UST_PY" "$UST_TMP/cli.py" refused 10.211.2.2 9 2>&1)
	if [[ "$out" == *"connection refused"* ]]; then
		ok "$N: UDP to a closed port: the client gets port unreachable (ECONNREFUSED)"
	else
		not_ok "$N: UDP to a closed port: $out"
	fi
	before=$(snmp_in_echos)
	out=$(in_c ping -c 3 -i 0.2 -W 2 10.211.2.2 2>&1)
	after=$(snmp_in_echos)
	if [[ "$out" == *"3 received"* ]] && [[ "$out" == *"ttl=63"* ]] && [ $((after - before)) -ge 3 ]; then
		ok "$N: ping reaches the real host: ttl=63 (one router on the real path), the server counted $((after - before)) echoes"
		note "$N: $(printf '%s\n' "$out" | tail -n 1)"
	else
		not_ok "$N: ping forwarded (server InEchos $before -> $after)"
		printf '%s\n' "$out" | diag
	fi
	# SYN flood from random sources into the TUN device, with curl during it.
	in_c timeout "$FLOOD_S" hping3 --flood --rand-source -S -p 8080 10.211.2.2 >/dev/null 2>&1 &
	FPID=$!
	(   # the relay's resident memory, sampled while the flood lasts
		peak=0
		while kill -0 "$FPID" 2>/dev/null; do
			rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$RPID/status 2>/dev/null)
			[ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss && echo "$peak" >"$UST_TMP/rss.peak"
			sleep 0.1
		done
	) &
	SPID=$!
	sleep 0.5
	out=$(in_c curl -s --max-time 20 -o /dev/null -w '%{http_code} %{size_download}' http://10.211.2.2:8080/one.bin)
	wait "$FPID" 2>/dev/null
	wait "$SPID"
	PEAK=$(cat "$UST_TMP/rss.peak" 2>/dev/null || echo 0)
	expect_eq "$N: curl works during a SYN flood" "$out" "200 1000000"
	out=$(in_c curl -s --max-time 20 -o /dev/null -w '%{http_code} %{size_download}' http://10.211.2.2:8080/one.bin)
	expect_eq "$N: curl works after the SYN flood" "$out" "200 1000000"
	hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$RPID/status)
	report
	read -r used peak max <<<"$(sed -n 's/^relay.mem stack_used \([0-9]*\) stack_peak \([0-9]*\) stack_max \([0-9]*\) .*/\1 \2 \3/p' "$ROUT" | tail -n 1)"
	cookies=$(sed -n 's/.*stack.TcpExt.SyncookiesSent \([0-9]*\) .*/\1/p' "$ROUT" | tail -n 1)
	note "$N: SYN flood: ${cookies:-?} SYN cookies sent; stack buffers peak $((${peak:-0} >> 10)) KiB of $((${max:-0} >> 10)) KiB; relay VmRSS peak $((PEAK >> 10)) MiB (VmHWM $((${hwm:-0} >> 10)) MiB), budget $BUDGET_MB MiB"
	expect_num "$N: SYN cookies answered the flood past the half-open limit" "${cookies:-0}" -gt 0
	expect_num "$N: the stack's buffers stayed within their budget" "${peak:-1}" -le "${max:-0}"
	if [ "$SAN" = 1 ]; then
		note "$N: VmRSS not compared under ASan (its shadow memory and quarantine dominate)"
	else
		expect_num "$N: relay VmHWM (peak RSS) within --max-memory" "$((${hwm:-999999} >> 10))" -le "$BUDGET_MB"
	fi
	stop_relay $N
fi
# ---- the memory budget of the stack itself: ustack serve --max-memory ----
# 2 MiB: 256 KiB rings each way make 512 KiB a connection at full size; later
# connections get smaller rings, then are refused (RST), and the memory
# comes back when they close.
N=budget
cat >"$UST_TMP/hold.py" <<'PY'
import socket, sys
host, n = sys.argv[1], int(sys.argv[2])
socks, good, reset = [], 0, 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((host, 80))
        socks.append(s)
    except OSError:
        reset += 1
for s in socks:
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        good += 1 if s.recv(4096).startswith(b"HTTP/1.1 200") else 0
    except OSError:
        reset += 1
print(good, reset)
PY
if ust_start $N --tun usrly8 --ip 10.211.8.2/24 --host-ip 10.211.8.1/24 --http 80 --max-memory 2M; then
	read -r good reset <<<"$(timeout 30 "$UST_PY" "$UST_TMP/hold.py" 10.211.8.2 40 2>&1)"
	expect_num "$N: connections served within a 2 MiB stack budget" "${good:-0}" -ge 4
	expect_num "$N: connections past the budget refused (RST)" "${reset:-0}" -ge 1
	sleep 0.5
	out=$(timeout 10 curl -s -o /dev/null -w '%{http_code}' http://10.211.8.2/)
	expect_eq "$N: after they closed, a new connection is served" "$out" 200
	ust_stop $N
	stat_is $N TcpExt TCPMemoryPressures -ge 1
	stat_is $N TcpExt TCPAbortOnMemory -ge 1
	read -r peak max <<<"$(sed -n 's/^Memory: used [0-9]* peak \([0-9]*\) max \([0-9]*\) .*/\1 \2/p' "$UST_OUT" | tail -n 1)"
	expect_num "$N: the stack's peak stayed within --max-memory" "${peak:-99999999}" -le "${max:-0}"
	note "$N: $good served, $reset refused; peak $peak of $max bytes"
fi

note "$T: took ${SECONDS}s"
ust_finish
