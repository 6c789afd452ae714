#!/usr/bin/env bash
# `ustack relay` (tun2socks) carrying IPv6, in namespaces this script creates:
#
#   ust-r6-PID-cli: curl, ping, the UDP client; its default routes (IPv4 and
#                   IPv6) point into usr6t0, the TUN device served by
#                   `ustack relay --ip 10.231.0.1/24 --ip fd31:10::1/64`
#                   (which runs here too, its upstream sockets kept out of
#                   usr6t0 by SO_MARK and policy rules of both families)
#      vr6c0 10.231.1.1 fd31:1::1 --- vr6p0 10.231.1.2 fd31:1::2
#   ust-r6-PID-prx: microsocks (CONNECT, user/password) on :1080, dante
#                   (CONNECT and UDP ASSOCIATE) on :1081, both reached over
#                   IPv4 and carrying IPv6 destinations (ATYP 4); forwards
#      vr6p1 10.231.2.1 fd31:2::1 --- vr6s1 10.231.2.2 fd31:2::2 and ::3
#   ust-r6-PID-srv: nginx with a 50 MB file on both families, UDP echo
#                   services that report the peer's address
#
# Checks: the file over IPv6 through SOCKS5 and --direct, SHA-256 checked,
# with the throughput of IPv6 and IPv4 side by side from the same relay; UDP
# over IPv6 both ways with one mapping across destinations and a reply from
# a new remote (through dante and --direct); ICMPv6 port unreachable for a
# closed UDP port (--direct); ping -6 forwarded in --direct (the real host
# answers) and answered by the relay through a proxy; fake DNS answering
# AAAA from its IPv6 range and the proxy getting the name; a relay with only
# an IPv6 --ip; the proxy itself reached over IPv6 ([fd31:1::2]:1082, a
# second microsocks); tshark finds nothing malformed in the TUN's pcap.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=relay6
SAN=${UST_SAN:-0}
# Namespace names carry this script's PID, so runs at once never share
# one; stale_ns removes those of runs that died.
NSP=ust-r6-$$
C=$NSP-cli P=$NSP-prx S=$NSP-srv
if [ "$SAN" = 1 ]; then BIG_MB=10; else BIG_MB=50; fi

in_c() { ip netns exec "$C" "$@"; }
in_p() { ip netns exec "$P" "$@"; }
in_s() { ip netns exec "$S" "$@"; }

stale_ns ust-r6

# Bad invocations: exit 2 with one line on stderr, no device left.
ust_bad_invocations "$T" relay usr6t9 "--tun usr6t9 --ip 10.231.9.1/24 --ip 10.231.9.2/24 --direct" \
	"--tun usr6t9 --ip fd31:9::1/64 --ip fd31:9::2/64 --direct" \
	"--tun usr6t9 --ip fd31:9::1/64 --socks5 10.231.1.2:1080 --fake-dns fd31:ff::/96 --fake-dns fd31:fe::/96" \
	"--tun usr6t9 --ip fd31:9::1/64 --socks5 10.231.1.2:1080 --fake-dns fd31:ff::/48" \
	"--tun usr6t9 --ip fd31:9::1/64 --socks5 [fd31:1::2]1080" \
	"--tun usr6t9 --ip fd31:9::1/64 --direct --no-ipv6"

ust_ns_add "$C" "$P" "$S"
for ns in "$C" "$P" "$S"; do
	# No duplicate address detection: addresses usable at once (the
	# kernel's side of the TUN device too).
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add vr6c0 type veth peer name vr6p0
ip link add vr6p1 type veth peer name vr6s1
ip link set vr6c0 netns "$C"
ip link set vr6p0 netns "$P"
ip link set vr6p1 netns "$P"
ip link set vr6s1 netns "$S"
ip -n "$C" addr add 10.231.1.1/24 dev vr6c0
ip -n "$C" addr add fd31:1::1/64 dev vr6c0 nodad
ip -n "$P" addr add 10.231.1.2/24 dev vr6p0
ip -n "$P" addr add fd31:1::2/64 dev vr6p0 nodad
ip -n "$P" addr add 10.231.2.1/24 dev vr6p1
ip -n "$P" addr add fd31:2::1/64 dev vr6p1 nodad
ip -n "$S" addr add 10.231.2.2/24 dev vr6s1
ip -n "$S" addr add fd31:2::2/64 dev vr6s1 nodad
ip -n "$S" addr add fd31:2::3/64 dev vr6s1 nodad
for l in "$C vr6c0" "$P vr6p0" "$P vr6p1" "$S vr6s1"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$S" route add default via 10.231.2.1
ip -n "$S" -6 route add default via fd31:2::1
in_p sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
in_c sysctl -qw net.ipv4.ping_group_range="0 2147483647"
in_c sysctl -qw net.ipv4.conf.all.rp_filter=0
# The relay's own sockets carry mark 1: they route by table 100, out vr6c0.
ip -n "$C" rule add fwmark 1 lookup 100
ip -n "$C" -6 rule add fwmark 1 lookup 100
ip -n "$C" route add default via 10.231.1.2 dev vr6c0 table 100
ip -n "$C" -6 route add default via fd31:1::2 dev vr6c0 table 100

# ---- servers ----
WWW=$UST_TMP/www
mkdir -p "$WWW"
head -c $((BIG_MB << 20)) /dev/urandom >"$WWW/big.bin"
head -c 1000000 /dev/urandom >"$WWW/one.bin"
BIG_SUM=$(sha256sum <"$WWW/big.bin" | cut -d' ' -f1)
cat >"$UST_TMP/nginx.conf" <<EOF
user root;
daemon off;
worker_processes 1;
pid $UST_TMP/nginx.pid;
error_log $UST_TMP/nginx.err;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $UST_TMP/ngx_body;
	proxy_temp_path $UST_TMP/ngx_proxy;
	fastcgi_temp_path $UST_TMP/ngx_fcgi;
	uwsgi_temp_path $UST_TMP/ngx_uwsgi;
	scgi_temp_path $UST_TMP/ngx_scgi;
	server { listen 10.231.2.2:8080; listen [fd31:2::2]:8080; root $WWW; }
}
EOF
in_s nginx -c "$UST_TMP/nginx.conf" -e "$UST_TMP/nginx.err" &
# UDP echo that says who it saw: "<peer ip>:<peer port> <data>"; "poke"
# also gets a datagram from another port (7777), never sent to before.
cat >"$UST_TMP/udpsrv.py" <<'PY'
import select, socket
socks = []
for a in ("fd31:2::2", "fd31:2::3"):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((a, 7))
    socks.append(s)
other = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
other.bind(("fd31:2::2", 7777))
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(65536)
        s.sendto(("[%s]:%d " % peer[:2]).encode() + data, peer)
        if data == b"poke":
            other.sendto(b"unsolicited", peer)
PY
in_s "$UST_PY" "$UST_TMP/udpsrv.py" &
# Behind the proxy, "localhost" is the proxy's own host: a page only it has
# (on :: and so on both loopbacks, whichever the proxy resolves it to).
mkdir -p "$UST_TMP/prxwww"
echo "served behind the proxy $$" >"$UST_TMP/prxwww/marker.txt"
in_p "$UST_PY" -m http.server 8090 --bind :: --directory "$UST_TMP/prxwww" >/dev/null 2>&1 &
in_p microsocks -i 10.231.1.2 -p 1080 -u relayuser -P relaypass >"$UST_TMP/microsocks.log" 2>&1 &
in_p microsocks -i fd31:1::2 -p 1082 -u relayuser -P relaypass >"$UST_TMP/microsocks6.log" 2>&1 &
cat >"$UST_TMP/danted.conf" <<EOF
logoutput: $UST_TMP/danted.log
internal: 10.231.1.2 port = 1081
external: vr6p1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: root
client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
socks pass { from: 0.0.0.0/0 to: ::/0 command: connect udpassociate }
socks pass { from: ::/0 to: 0.0.0.0/0 command: udpreply }
socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect udpassociate udpreply }
EOF
in_p danted -f "$UST_TMP/danted.conf" -p "$UST_TMP/danted.pid" >"$UST_TMP/danted.out" 2>&1 &
for ((i = 0; i < 100; i++)); do
	in_s bash -c 'exec 3<>/dev/tcp/fd31:2::2/8080' 2>/dev/null &&
		in_p bash -c 'exec 3<>/dev/tcp/10.231.1.2/1080 && exec 4<>/dev/tcp/10.231.1.2/1081 && exec 5<>/dev/tcp/::1/8090 &&
			exec 6<>/dev/tcp/fd31:1::2/1082' 2>/dev/null && break
	sleep 0.1
done
check "$T: nginx, microsocks, dante and the proxy's own page are up" \
	in_p bash -c 'exec 3<>/dev/tcp/10.231.1.2/1081 && exec 4<>/dev/tcp/fd31:2::2/8080 && exec 5<>/dev/tcp/127.0.0.1/8090'

# ---- the relay ----
RPID=
# start_relay NAME relay-options...: runs it in the client namespace with
# the addresses given, waits for 'ready', points the client's default
# routes (each family it has an address of) into usr6t0.
start_relay() {
	local name=$1 i
	shift
	ROUT=$UST_TMP/$name.out RERR=$UST_TMP/$name.err
	ip netns exec "$C" "$USTACK" relay --tun usr6t0 --mark 1 "$@" >"$ROUT" 2>"$RERR" &
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
	[[ " $* " == *" --ip 10."* ]] && ip -n "$C" route replace default dev usr6t0
	ip -n "$C" -6 route replace default dev usr6t0
	ok "$name: ustack relay $* is ready: $(head -n 1 "$ROUT")"
}
BOTH="--ip 10.231.0.1/24 --host-ip 10.231.0.2/24 --ip fd31:10::1/64 --host-ip fd31:10::2/64"
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
	grep -q '^relay.TcpAccepted6 ' "$ROUT" || not_ok "$name: no counters printed at exit"
	ip -n "$C" route del default dev usr6t0 2>/dev/null
	ip -n "$C" -6 route del default dev usr6t0 2>/dev/null
}
# rstat NAME: the last value of relay.NAME printed by the relay.
rstat() { sed -n "s/^relay\.$1 //p" "$ROUT" | tail -n 1; }
report() { kill -USR1 "$RPID"; sleep 0.3; }

cat >"$UST_TMP/cli.py" <<'PY'
import socket, struct, sys

def udp_map(port, a, b, want_cone):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", int(port)))
    s.settimeout(3)
    seen = []
    for dst in (a, b):
        s.sendto(b"hello", (dst, 7))
        data, peer = s.recvfrom(65536)
        if peer[:2] != (dst, 7) or not data.endswith(b" hello"):
            sys.exit("bad answer %r from %r" % (data, peer))
        seen.append(data.split()[0].decode())
    print("mapped as %s by %s and %s by %s" % (seen[0], a, seen[1], b))
    if seen[0] != seen[1]:
        sys.exit("different mappings")
    if want_cone != "1":
        return
    s.sendto(b"poke", (a, 7))
    got = set()
    for _ in range(2):
        data, peer = s.recvfrom(65536)
        got.add((peer[:2], data.split()[-1]))
    if ((a, 7777), b"unsolicited") not in got:
        sys.exit("no datagram from a new remote ([%s]:7777): %r" % (a, got))
    print("a datagram from [%s]:7777, never sent to, came through" % a)

def query(s, server, name, qtype):
    q = struct.pack(">HHHHHH", 0x1234 + qtype, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", qtype, 1)
    s.sendto(q, (server, 53))
    r = s.recv(512)
    if r[:2] != q[:2] or not (r[2] & 0x80) or (r[3] & 0xF) != 0:
        sys.exit("bad answer %r" % r)
    return r, struct.unpack(">H", r[6:8])[0]

def dns(server, name, want_a):
    # Over IPv6 to any server address; AAAA from the IPv6 range; A from
    # the IPv4 one, or an empty NOERROR answer without one.
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(3)
    r, an = query(s, server, name, 28)
    if an != 1 or r[-18:-16] != b"\0\x10":
        sys.exit("AAAA: wanted one address, got %r" % r)
    six = socket.inet_ntop(socket.AF_INET6, r[-16:])
    r, an = query(s, server, name, 1)
    if want_a == "1":
        if an != 1:
            sys.exit("A: wanted one address, got %r" % r)
        print(six, socket.inet_ntoa(r[-4:]))
    else:
        if an != 0:
            sys.exit("A: wanted an empty NOERROR answer, got %r" % r)
        print(six, "none")

def refused(host, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
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

{"udp_map": udp_map, "dns": dns, "refused": refused}[sys.argv[1]](*sys.argv[2:])
PY

# fetch NAME URL CURL-OPTS...: the big file, SHA-256 checked; sets SPEED
# (Mbit/s).
fetch() {
	local name=$1 url=$2 out
	shift 2
	SPEED=
	out=$(in_c curl -s --max-time 60 "$@" -o "$UST_TMP/got.bin" -w '%{speed_download} %{http_code}' "$url")
	if [ "$(sha256sum <"$UST_TMP/got.bin" | cut -d' ' -f1)" = "$BIG_SUM" ]; then
		SPEED=$(awk -v b="${out%% *}" 'BEGIN { printf "%.1f", b * 8 / 1e6 }')
		ok "$name: $BIG_MB MB over HTTP ($url) through the relay, SHA-256 matches, $SPEED Mbit/s"
	else
		not_ok "$name: $BIG_MB MB over HTTP ($url) through the relay (curl: $out, $(stat -c %s "$UST_TMP/got.bin" 2>/dev/null) bytes)"
	fi
	rm -f "$UST_TMP/got.bin"
}
# refused NAME URL: curl is refused (a RST) within a second.
refused_tcp() {
	local t0 t1 ms out rc
	t0=$(date +%s%N)
	out=$(in_c curl -sS -v -6 --max-time 5 "$2" 2>&1)
	rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	if [ "$rc" = 7 ] && [[ "$out" == *"Connection refused"* ]] && [ "$ms" -lt 1000 ]; then
		ok "$1: a closed IPv6 port is refused in $ms ms ($(printf '%s\n' "$out" | grep -m1 -o 'connect to.*refused'))"
	else
		not_ok "$1: a closed IPv6 port: curl exit $rc after $ms ms: $out"
	fi
}
snmp6_in_echos() { in_s awk '$1 == "Icmp6InEchos" { print $2 }' /proc/net/snmp6; }

# ---- 1: SOCKS5 with user/password (microsocks): TCP over both families,
# fake DNS with both ranges, ping -6 answered by the relay ----
N=socks5
if start_relay $N $BOTH --socks5 10.231.1.2:1080 --user relayuser --pass relaypass \
	--fake-dns 198.18.0.0/15 --fake-dns fd31:ffff::/96; then
	fetch $N "http://[fd31:2::2]:8080/big.bin" -6
	v6=$SPEED
	fetch $N "http://10.231.2.2:8080/big.bin" -4
	note "$N: throughput through microsocks: IPv6 ${v6:-?} Mbit/s, IPv4 ${SPEED:-?} Mbit/s"
	refused_tcp $N "http://[fd31:2::2]:8081/"
	read -r six four <<<"$(in_c timeout 10 "$UST_PY" "$UST_TMP/cli.py" dns fd31:53::53 localhost 1 2>&1)"
	if [[ "$six" =~ ^fd31:ffff::[0-9a-f:]+$ ]] && [[ "$four" =~ ^198\.(18|19)\.[0-9]+\.[0-9]+$ ]]; then
		ok "$N: fake DNS over IPv6 answers AAAA $six from fd31:ffff::/96 and A $four"
		got=$(in_c curl -s -6 --max-time 10 "http://[$six]:8090/marker.txt")
		expect_eq "$N: a connection to the fake IPv6 address reaches the proxy's own localhost (name sent as ATYP 3)" \
			"$got" "$(cat "$UST_TMP/prxwww/marker.txt")"
		check "$N: the proxy got the name (its log: connected to localhost:8090)" \
			grep -q 'connected to localhost:8090' "$UST_TMP/microsocks.log"
		got=$(in_c curl -s -4 --max-time 10 "http://$four:8090/marker.txt")
		expect_eq "$N: and the same name's fake IPv4 address too" "$got" "$(cat "$UST_TMP/prxwww/marker.txt")"
	else
		not_ok "$N: fake DNS: $six $four"
	fi
	before=$(snmp6_in_echos)
	out=$(in_c ping -6 -c 2 -i 0.2 -W 2 fd31:2::2 2>&1)
	if [[ "$out" == *"2 received"* ]] && [[ "$out" == *"ttl=64 "* ]] && [ "$(snmp6_in_echos)" = "$before" ]; then
		ok "$N: ping -6 through a proxy is answered by the relay itself (hop limit 64, the server saw none)"
	else
		not_ok "$N: ping -6 through a proxy"
		printf '%s\n' "$out" | diag
	fi
	report
	expect_num "$N: TCP connections over IPv6 counted" "$(rstat TcpAccepted6)" -ge 3
	expect_num "$N: AAAA answers counted" "$(rstat DnsAnswers6)" -ge 1
	expect_num "$N: ICMPv6 echo requests counted" "$(rstat IcmpEchoRequests6)" -ge 2
	expect_num "$N: no SOCKS handshake failed" "$(rstat TcpSocksFailed)" -eq 0
	stop_relay $N
fi

# ---- 2: dante: CONNECT and UDP ASSOCIATE to IPv6 destinations, pcap ----
N=socks5-udp
if start_relay $N $BOTH --socks5 10.231.1.2:1081 --pcap "$UST_TMP/$N.pcap"; then
	out=$(in_c curl -s -6 --max-time 20 -o /dev/null -w '%{http_code} %{size_download}' "http://[fd31:2::2]:8080/one.bin")
	expect_eq "$N: a download over IPv6 through dante" "$out" "200 1000000"
	# One remote: dante 1.4.2 connects its IPv6 UDP socket to the target
	# and its "unconnect" leaves it connected to that host (as
	# /proc/net/udp6 shows), so datagrams from any other remote never
	# reach it (its IPv4 sockets are fine; --direct below checks full cone
	# over IPv6).
	note "$N: through dante over IPv6 only the destination itself can answer (dante's IPv6 UDP socket stays connected)"
	check "$N: UDP over IPv6 through the association, both ways, one mapping" \
		in_c timeout 20 "$UST_PY" "$UST_TMP/cli.py" udp_map 40001 fd31:2::2 fd31:2::2 0
	report
	expect_num "$N: IPv6 datagrams relayed up" "$(rstat UdpDatagramsUp6)" -ge 2
	expect_num "$N: IPv6 datagrams relayed back" "$(rstat UdpDatagramsDown6)" -ge 2
	stop_relay $N
	ust_pcap "$N" "$UST_TMP/$N.pcap"
fi

# ---- 3: --direct over both families: TCP, UDP, unreachable, ping -6 forwarded ----
N=direct
if start_relay $N $BOTH --direct --udp-timeout 5; then
	fetch $N "http://[fd31:2::2]:8080/big.bin" -6
	v6=$SPEED
	fetch $N "http://10.231.2.2:8080/big.bin" -4
	note "$N: throughput --direct: IPv6 ${v6:-?} Mbit/s, IPv4 ${SPEED:-?} Mbit/s"
	check "$N: UDP over IPv6: one mapping across destinations; a new remote's datagram comes through (full cone)" \
		in_c timeout 20 "$UST_PY" "$UST_TMP/cli.py" udp_map 40002 fd31:2::2 fd31:2::3 1
	out=$(in_c timeout 10 "$UST_PY" "$UST_TMP/cli.py" refused fd31:2::2 9 2>&1)
	if [[ "$out" == *"connection refused"* ]]; then
		ok "$N: UDP to a closed IPv6 port: the client gets an ICMPv6 port unreachable (ECONNREFUSED)"
	else
		not_ok "$N: UDP to a closed IPv6 port: $out"
	fi
	refused_tcp $N "http://[fd31:2::2]:8081/"
	before=$(snmp6_in_echos)
	out=$(in_c ping -6 -c 3 -i 0.2 -W 2 fd31:2::2 2>&1)
	after=$(snmp6_in_echos)
	if [[ "$out" == *"3 received"* ]] && [[ "$out" == *"ttl=63 "* ]] && [ $((after - before)) -ge 3 ]; then
		ok "$N: ping -6 reaches the real host: hop limit 63 (one router on the real path), the server counted $((after - before)) echoes"
		note "$N: $(printf '%s\n' "$out" | tail -n 1)"
	else
		not_ok "$N: ping -6 forwarded (server Icmp6InEchos $before -> $after)"
		printf '%s\n' "$out" | diag
	fi
	report
	expect_num "$N: IPv6 UDP mappings counted" "$(rstat UdpMappings6)" -ge 2
	expect_num "$N: ICMP unreachables sent" "$(rstat UdpUnreachSent)" -ge 1
	expect_num "$N: echo requests forwarded" "$(rstat IcmpEchoForwarded)" -ge 3
	expect_num "$N: IPv6 bytes to clients counted" "$(rstat TcpBytesDown6)" -ge $((BIG_MB << 20))
	stop_relay $N
fi

# ---- 4: a relay with only an IPv6 address, fake DNS with only an IPv6 range ----
N=only6
if start_relay $N --ip fd31:10::1/64 --host-ip fd31:10::2/64 --direct --pcap "$UST_TMP/$N.pcap"; then
	out=$(in_c curl -s -6 --max-time 20 -o "$UST_TMP/one.got" -w '%{http_code}' "http://[fd31:2::2]:8080/one.bin")
	expect_eq "$N: a download over IPv6 through an IPv6-only relay" "$out $(cmp -s "$UST_TMP/one.got" "$WWW/one.bin" && echo same)" "200 same"
	check "$N: UDP over IPv6 through an IPv6-only relay" \
		in_c timeout 20 "$UST_PY" "$UST_TMP/cli.py" udp_map 40003 fd31:2::2 fd31:2::3 1
	out=$(in_c ping -6 -c 2 -i 0.2 -W 2 fd31:2::3 2>&1)
	if [[ "$out" == *"2 received"* ]]; then ok "$N: ping -6 forwarded"; else not_ok "$N: ping -6"; printf '%s\n' "$out" | diag; fi
	stop_relay $N
	ust_pcap "$N" "$UST_TMP/$N.pcap"
fi
N=only6-fake
if start_relay $N --ip fd31:10::1/64 --host-ip fd31:10::2/64 --socks5 10.231.1.2:1080 --user relayuser \
	--pass relaypass --fake-dns fd31:ffff::/120; then
	read -r six four <<<"$(in_c timeout 10 "$UST_PY" "$UST_TMP/cli.py" dns fd31:53::53 localhost 0 2>&1)"
	if [[ "$six" =~ ^fd31:ffff::[0-9a-f]+$ ]] && [ "$four" = none ]; then
		ok "$N: AAAA from fd31:ffff::/120 ($six); A without an IPv4 range: an empty NOERROR answer"
		got=$(in_c curl -s -6 --max-time 10 "http://[$six]:8090/marker.txt")
		expect_eq "$N: the proxy gets the name" "$got" "$(cat "$UST_TMP/prxwww/marker.txt")"
		expect_num "$N: the proxy's log has the name a third time (twice in section 1)" \
			"$(grep -c 'connected to localhost:8090' "$UST_TMP/microsocks.log")" -ge 3
	else
		not_ok "$N: fake DNS: $six $four"
	fi
	stop_relay $N
fi

# ---- 5: the proxy itself reached over IPv6 ([fd31:1::2]:1082), both families through it ----
N=proxy6
if start_relay $N $BOTH --socks5 "[fd31:1::2]:1082" --user relayuser --pass relaypass; then
	for u in "http://[fd31:2::2]:8080/one.bin" "http://10.231.2.2:8080/one.bin"; do
		out=$(in_c curl -s --max-time 20 -o "$UST_TMP/one.got" -w '%{http_code}' "$u")
		expect_eq "$N: $u through a proxy reached over IPv6" \
			"$out $(cmp -s "$UST_TMP/one.got" "$WWW/one.bin" && echo same)" "200 same"
	done
	check "$N: the IPv6 proxy (its log) took both, from the relay's IPv6 address" \
		bash -c "grep -q '^client.* fd31:1::1: connected to fd31:2::2:8080' '$UST_TMP/microsocks6.log' &&
			grep -q '^client.* fd31:1::1: connected to 10.231.2.2:8080' '$UST_TMP/microsocks6.log'"
	report
	expect_num "$N: no SOCKS handshake failed" "$(rstat TcpSocksFailed)" -eq 0
	stop_relay $N
fi

note "$T: took ${SECONDS}s"
ust_finish
