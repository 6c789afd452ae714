#!/usr/bin/env bash
# TCP between the kernel and ustack across a router that misbehaves, as a
# real path does, where neither end sees it: this script's namespace is the
# router (it forwards, and its nftables forward hook drops, marks or
# filters), a child namespace of its own (unshare -n) holds the kernel's
# client, and `ustack serve --iperf3 --no-offload --cc bbr` sits on a TAP in
# the router. Offloads are off on every device: a drop is one segment.
#   1. 1% of forwarded TCP packets dropped each way: iperf3 both ways, and
#      ustack's loss recovery (RACK, PRR) and BBR keep it going.
#   2. ECN: the kernel client asks for it (net.ipv4.tcp_ecn=1 in its own
#      namespace); the router marks 2% of ECT(0) packets CE each way (this
#      kernel has no marking qdisc: fq_codel, red, codel, pie and fq are all
#      missing, so nftables' `ip ecn set ce` marks instead). ustack sees CE
#      and echoes ECE, the kernel answers with CWR; ustack's data is ECT(0)
#      (the router marks it), the kernel's ECE makes ustack respond.
#   3. A black hole: the router drops IP packets over 1200 bytes and sends
#      no ICMP. ustack (sending) finds it by PLPMTUD and the transfer goes on.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=lossy
ME=10.217.2.2
CLI=10.217.1.1
CPID=

# The client's namespace: a child of ours, gone with its sleep process.
cleanup_client() {
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	CPID=
}
trap 'cleanup_client; ust_cleanup' EXIT
unshare -n sleep 600 &
CPID=$!
sleep 0.2
inc() { nsenter -t "$CPID" -n "$@"; }

offloads_off() { "${@:2}" ethtool -K "$1" tso off gso off gro off >/dev/null 2>&1; }
check "$T: a veth pair into the client's namespace" ip link add tlr0 type veth peer name tlc0 netns "$CPID"
ip addr add 10.217.1.254/24 dev tlr0
ip link set tlr0 up
inc ip link set lo up
inc ip addr add $CLI/24 dev tlc0
inc ip link set tlc0 up
inc ip route add default via 10.217.1.254
offloads_off tlr0
offloads_off tlc0 inc
sysctl -qw net.ipv4.ip_forward=1
check "$T: the client namespace asks for ECN (net.ipv4.tcp_ecn=1, its own)" inc sysctl -qw net.ipv4.tcp_ecn=1

# nft_set RULE...: the router's forward hook holds only these rules.
nft_set() {
	nft flush ruleset
	nft add table inet tl
	nft add chain inet tl filt '{ type filter hook forward priority 0; policy accept; }'
	local r
	for r in "$@"; do
		nft add rule inet tl filt $r || return 1
	done
}
# nft_count [N]: packets the N-th counter (1: the first) has seen.
nft_count() { nft list ruleset | sed -nE 's/.*counter packets ([0-9]+).*/\1/p' | sed -n "${1:-1}p"; }

# iperf3_bytes JSON: bytes received, or 0.
iperf3_bytes() {
	"$UST_PY" -c 'import json,sys
try:
    j = json.load(open(sys.argv[1])); print(0 if "error" in j else j["end"]["sum_received"]["bytes"])
except Exception:
    print(0)' "$1"
}

# iperf3_c OUT ARGS...: an iperf3 client run from the client namespace into
# OUT. Like iperf3's own server, ustack's runs one test at a time and the
# last test ends only when its control connection closes; under loss that
# FIN can wait for a retransmission, so a "busy" answer is retried (at most
# 20 times, 0.5 s apart) instead of counted as a failed transfer.
iperf3_c() {
	local out=$1 i
	shift
	for i in $(seq 20); do
		timeout 30 nsenter -t "$CPID" -n iperf3 -c $ME "$@" >"$out" 2>&1
		grep -q 'server is busy' "$out" || return 0
		sleep 0.5
	done
}

if ust_start $T --tap tlu0 --ip $ME/24 --host-ip 10.217.2.1/24 --gateway 10.217.2.1 --no-offload --cc bbr \
	--iperf3 5201; then
	offloads_off tlu0
	for i in $(seq 50); do inc ping -c 1 -W 1 $ME >/dev/null 2>&1 && break; sleep 0.1; done

	# 1. random loss
	check "$T: the router drops 1% of forwarded TCP packets" \
		nft_set 'meta l4proto tcp numgen random mod 100 < 1 counter drop'
	iperf3_c "$UST_TMP/loss-fwd.json" -t 2 -J -C bbr
	expect_num "$T: 1% loss, kernel BBR sends to ustack: over 20 MB in 2 s" "$(iperf3_bytes "$UST_TMP/loss-fwd.json")" -gt 20000000
	iperf3_c "$UST_TMP/loss-rev.json" -t 2 -J -R
	expect_num "$T: 1% loss, ustack BBR sends to the kernel: over 20 MB in 2 s" "$(iperf3_bytes "$UST_TMP/loss-rev.json")" -gt 20000000
	expect_num "$T: the router dropped packets" "$(nft_count)" -gt 10

	# 2. ECN marks
	check "$T: the router marks 2% of ECT(0) packets CE, each way" \
		nft_set "ip saddr $CLI ip ecn ect0 numgen random mod 100 < 2 counter ip ecn set ce" \
		"ip saddr $ME ip ecn ect0 numgen random mod 100 < 2 counter ip ecn set ce"
	iperf3_c "$UST_TMP/ecn-fwd.json" -t 2 -J
	expect_num "$T: ECN, kernel sends: over 20 MB in 2 s" "$(iperf3_bytes "$UST_TMP/ecn-fwd.json")" -gt 20000000
	iperf3_c "$UST_TMP/ecn-rev.json" -t 2 -J -R
	expect_num "$T: ECN, ustack sends: over 20 MB in 2 s" "$(iperf3_bytes "$UST_TMP/ecn-rev.json")" -gt 20000000
	expect_num "$T: the router marked the kernel's ECT(0) packets CE" "$(nft_count 1)" -gt 10
	expect_num "$T: the router marked ustack's ECT(0) packets CE (ustack's data is ECT(0))" "$(nft_count 2)" -gt 10

	# 3. a black hole for packets over 1200 bytes
	check "$T: the router drops IP packets over 1200 bytes, without ICMP" \
		nft_set 'ip length > 1200 counter drop'
	iperf3_c "$UST_TMP/bh.json" -t 4 -J -R
	expect_num "$T: black hole, ustack sends: over 5 MB in 4 s" "$(iperf3_bytes "$UST_TMP/bh.json")" -gt 5000000
	nft flush ruleset

	ust_stop $T
	ust_gone $T tlu0
	stat_is $T TcpExt TCPSackRecovery -gt 0
	stat_is $T TcpExt TCPECNCeRecv -gt 0
	stat_is $T TcpExt TCPECNEceRecv -gt 0
	stat_is $T TcpExt TCPECNResponses -gt 0
	stat_is $T TcpExt TCPMTUPBlackhole -ge 1
	stat_is $T TcpExt TCPMTUPSuccess -ge 1
	stat_is $T TcpExt TCPECNCwrRecv -gt 0   # the kernel answered ustack's ECE
fi
cleanup_client
ust_finish
