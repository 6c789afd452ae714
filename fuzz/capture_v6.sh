#!/usr/bin/env bash
# IPv6 traffic from real Linux kernels, captured for the v6 codec tests and
# the fuzz seeds (fuzz/split_pcap6.py turns the capture into
# fuzz/corpus/{ipv6,ip6ext,icmp6,nd6}/). Needs root and radvd (Debian's
# radvd package; only this script uses it, CI does not run it).
#
#   bash fuzz/capture_v6.sh OUT.pcap
#
# Three network namespaces of our own, nothing in the machine's:
#   A (this script, under unshare -n)  a0 fd00:a::1 --- r0 fd00:a::2  R (router, radvd)
#   R                                  r1 fd00:b::1 --- b0 fd00:b::2  B (MTU 1280)
# tshark records a0 with checksum offload off on every veth, so every
# checksum in the capture is the one Linux computed. What it records: the
# link coming up (MLDv2 reports, DAD NS with nonce, RS, radvd's RA, SLAAC's
# DAD), NS/NA, ping -6 of 0, 56 and 3000 bytes (fragments both ways), a
# multicast ping, Packet Too Big and Time Exceeded from R, a TCP connection
# and a refused one over v6, a UDP port unreachable, a redirect, a unicast
# NUD probe, an unsolicited NA, and the kernel's answers to hand-made packets (scapy): unknown
# option with high bits 10, RH0, unknown next header, hop-by-hop not first,
# 14 bytes of padding, a non-zero PadN, a valid hop-by-hop and destination options header,
# an atomic fragment.
set -u
if [ -z "${V6CAP_IN_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "capture_v6.sh: needs root" >&2; exit 1; }
	exec timeout -k 5 120 unshare --net env V6CAP_IN_NETNS=1 bash "$0" "$@"
fi
OUT=$(realpath -m -- "${1:?usage: capture_v6.sh OUT.pcap}")
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
	echo "capture_v6.sh: not in a private network namespace; refusing" >&2
	exit 1
fi
command -v radvd >/dev/null || { echo "capture_v6.sh: needs radvd (apt-get install radvd)" >&2; exit 1; }
R=v6wire-r$$
B=v6wire-b$$
TMP=$(mktemp -d /tmp/v6wire-cap.XXXXXX)
TS_PID=
RA_PID=
cleanup() {
	[ -n "$RA_PID" ] && kill "$RA_PID" 2>/dev/null
	[ -n "$TS_PID" ] && kill -INT "$TS_PID" 2>/dev/null && wait "$TS_PID" 2>/dev/null
	ip netns del "$R" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf -- "$TMP"
}
trap cleanup EXIT
set -e
ip link set lo up
ip netns add "$R"
ip netns add "$B"
ip -n "$R" link set lo up
ip -n "$B" link set lo up
ip link add a0 type veth peer name r0 netns "$R"
ip -n "$R" link add r1 type veth peer name b0 netns "$B"
for x in ":a0" "$R:r0" "$R:r1" "$B:b0"; do
	ns=${x%%:*} dev=${x#*:}
	if [ -n "$ns" ]; then
		ip netns exec "$ns" ethtool -K "$dev" tx off rx off >/dev/null
	else
		ethtool -K "$dev" tx off rx off >/dev/null
	fi
done
ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$R" link set r1 mtu 1280
ip -n "$B" link set b0 mtu 1280
ip -n "$R" addr add fd00:a::2/64 dev r0
ip -n "$R" addr add fd00:b::1/64 dev r1
ip -n "$B" addr add fd00:b::2/64 dev b0
ip -n "$R" link set r1 up
ip -n "$B" link set b0 up
ip -n "$B" -6 route add default via fd00:b::1
# a0 up while its peer is down: no carrier, so no address work yet.
ip addr add fd00:a::1/64 dev a0
ip link set a0 up
set +e
tshark -q -i a0 -w "$OUT" -F pcap 2>"$TMP/tshark.log" &
TS_PID=$!
for _ in $(seq 50); do grep -q "Capturing on" "$TMP/tshark.log" && break; sleep 0.1; done
sleep 0.5
cat >"$TMP/radvd.conf" <<EOF
interface r0 {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 10;
	AdvLinkMTU 1500;
	prefix fd00:a::/64 { AdvOnLink on; AdvAutonomous on; };
};
EOF
ip -n "$R" link set r0 up
ip netns exec "$R" radvd -n -C "$TMP/radvd.conf" -p "$TMP/radvd.pid" -m stderr 2>"$TMP/radvd.log" &
RA_PID=$!
# DAD, the RS, the RA and SLAAC's DAD: wait until no address is tentative.
sleep 2
for _ in $(seq 60); do
	[ -z "$(ip -6 addr show dev a0 tentative)" ] && ip -6 addr show dev a0 | grep -q 'fd00:a::.*dynamic' && break
	sleep 0.2
done
ip -6 route add fd00:b::/64 via fd00:a::2
ip -6 route add fd00:c::/64 via fd00:a::2
ip addr add fd00:a::3/64 dev a0 nodad
# R's route back out of r0, to A's link-local address: R redirects A.
a_ll=$(ip -6 addr show dev a0 scope link | awk '/inet6/ { sub(/\/.*/, "", $2); print $2 }')
ip -n "$R" -6 route add fd00:c::/64 via "$a_ll" dev r0
ping -6 -c 2 -i 0.2 -W 2 fd00:a::2 >/dev/null
ping -6 -c 1 -s 0 -W 2 fd00:a::2 >/dev/null
ping -6 -c 1 -W 2 ff02::1%a0 >/dev/null
ping -6 -c 1 -s 3000 -W 2 fd00:a::2 >/dev/null
ping -6 -c 1 -s 1400 -M do -W 2 fd00:b::2 >/dev/null
ping -6 -c 1 -t 1 -W 2 fd00:b::2 >/dev/null
# (R's redirects share a per-host token bucket with its ICMP errors.)
sleep 1.2
ping -6 -c 1 -W 1 fd00:c::1 >/dev/null
ip netns exec "$B" timeout 5 nc -6 -l -p 8080 >/dev/null &
sleep 0.3
echo hello | timeout 5 nc -6 -q 1 fd00:b::2 8080
timeout 3 nc -6 -z fd00:a::2 81
echo x | timeout 3 socat -T 1 - 'UDP6:[fd00:a::2]:9999' >/dev/null 2>&1
/usr/bin/python3 - <<'EOF'
import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import *
conf.verb = 0
d = "fd00:a::2"
pkts = [
    # unknown destination option, high bits 10: parameter problem code 2
    IPv6(dst=d) / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x8f, optdata=b"\x00" * 4)]) / ICMPv6EchoRequest(id=0x77, seq=1),
    # routing header type 0, one segment left: parameter problem code 0
    IPv6(dst=d) / IPv6ExtHdrRouting(type=0, segleft=1, addresses=["fd00:a::1"]) / ICMPv6EchoRequest(id=0x77, seq=2),
    # unknown next header: parameter problem code 1
    IPv6(dst=d, nh=253) / Raw(b"\x00" * 16),
    # hop-by-hop after a destination options header: parameter problem code 1
    IPv6(dst=d) / IPv6ExtHdrDestOpt(nh=0) / IPv6ExtHdrHopByHop() / ICMPv6EchoRequest(id=0x77, seq=3),
    # 14 padding bytes in a row (two PadN): dropped
    IPv6(dst=d) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 4), PadN(optdata=b"\x00" * 6)], autopad=0) /
        ICMPv6EchoRequest(id=0x77, seq=4),
    # PadN with a non-zero byte: dropped
    IPv6(dst=d) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00\x01\x00\x00")], autopad=0) /
        ICMPv6EchoRequest(id=0x77, seq=7),
    # a valid hop-by-hop (router alert) and destination options header: echo reply
    IPv6(dst=d) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 4)]) /
        ICMPv6EchoRequest(id=0x77, seq=5),
    # an atomic fragment (offset 0, M 0): echo reply
    IPv6(dst=d) / IPv6ExtHdrFragment(id=0x1234, offset=0, m=0) / ICMPv6EchoRequest(id=0x77, seq=6, data=b"atomic"),
]
for p in pkts:
    send(p, iface="a0")
    time.sleep(0.2)
EOF
# A unicast NUD probe: the entry made stale, then used.
lla=$(ip -n "$R" link show r0 | awk '/link\/ether/ { print $2 }')
ip -6 neigh replace fd00:a::2 lladdr "$lla" dev a0 nud stale
ping -6 -c 1 -W 2 fd00:a::2 >/dev/null
sleep 6
ping -6 -c 1 -W 2 fd00:a::2 >/dev/null
# An unsolicited NA (ndisc_notify) for a new address once DAD is done.
sysctl -qw net.ipv6.conf.a0.ndisc_notify=1
ip addr add fd00:a::4/64 dev a0
sleep 2
sleep 0.5
kill -INT "$TS_PID"
wait "$TS_PID"
TS_PID=
echo "capture_v6.sh: $(tshark -r "$OUT" 2>/dev/null | wc -l) frames in $OUT"
