#!/usr/bin/env bash
# MLD against the kernel's bridge: ustack's TAP device is a port of a Linux
# bridge that snoops MLD and is the link's querier, as a switch with MLD
# snooping is. ustack must answer the bridge's queries (RFC 3810; MLDv1
# with an MLDv1 querier, RFC 3810 8) so that the bridge's MDB lists
# ustack's solicited-node groups on that port, and a host on another port
# reaches it across the bridge. (With mcast_flood off on the port this
# kernel's bridge does not forward the NS to ff02::1:ff00:2 even with that
# MDB entry in place: it floods link-scope groups rather than snooping
# them, so what is checked is what the bridge learnt from ustack.)
#
#   ns C: vml1 fd38::1 --- vml0 [br0, querier] usml0 (TAP) --- ustack fd38::2
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

ME6=fd38::2
PEER6=fd38::1
SNODE=ff02::1:ff00:2   # ustack's solicited-node group (fd38::2 and its link-local share it)
C=ust-mld-$$-c
stale_ns ust-mld
ip link set lo up
# This namespace is the test's: no DAD, so that the bridge's querier (which
# needs a usable link-local address) starts at once.
sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
ust_ns_add "$C"
ip netns exec "$C" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0

# mld_run NAME VERSION: a bridge querying with MLD VERSION, ustack on one
# port and ns C on the other.
mld_run() {
	local T=$1 ver=$2 i mdb
	ip link del br0 2>/dev/null
	ip link del vml0 2>/dev/null
	# Queries every second at first (startup interval, centiseconds), answers due within 1 s.
	ip link add br0 type bridge mcast_snooping 1 mcast_querier 1 mcast_mld_version $ver \
		mcast_startup_query_count 10 mcast_startup_query_interval 100 mcast_query_response_interval 100 ||
		{ not_ok "$T: cannot make a bridge with MLD snooping"; return; }
	ip link add vml0 type veth peer name vml1 netns "$C"
	ip link set vml0 master br0
	ip link set vml0 up
	ip -n "$C" addr add $PEER6/64 dev vml1
	ip -n "$C" link set vml1 up
	ust_start $T --tap usml0 --mac 02:00:5e:38:00:02 --ip 10.238.0.2/24 --ip $ME6/64 \
		--pcap "$UST_TMP/$T.pcap" || return
	ip link set usml0 master br0
	ip link set br0 up
	for ((i = 0; i < 50; i++)); do
		mdb=$(bridge mdb show dev br0 2>/dev/null)
		grep -q "port usml0 grp $SNODE" <<<"$mdb" && break
		sleep 0.2
	done
	check "$T: the bridge learnt $SNODE on ustack's port" \
		grep -q "port usml0 grp $SNODE" <<<"$mdb"
	check "$T: ... and ff02::1:ff38:2, the group of its link-local fe80::5eff:fe38:2" \
		grep -q "port usml0 grp ff02::1:ff38:2" <<<"$mdb"
	check "$T: the bridge learnt no all-nodes group (ff02::1 is never reported, RFC 3810 6)" \
		bash -c "! grep -q 'port usml0 grp ff02::1 ' <<<\"\$1\"" _ "$mdb"
	check "$T: ping -6 across the bridge reaches ustack" ip netns exec "$C" ping -6 -c 2 -i 0.3 -W 2 $ME6
	# An answer may wait up to the query's response delay (1 s here): give
	# the last query's its time before stopping.
	sleep 1.2
	ust_stop $T
	stat_is $T Icmp6 InGroupMembQueries -ge 1
	stat_is $T Icmp6 InBadMLD -eq 0
	if [ "$ver" = 2 ]; then
		stat_is $T Icmp6 OutMLDv2Reports -ge 1
		stat_is $T Icmp6 OutGroupMembResponses -eq 0
	else
		stat_is $T Icmp6 OutGroupMembResponses -ge 1
	fi
	# The reports of the version the querier speaks, after its query: an
	# MLDv1 querier gets MLDv1 reports (type 131), an MLDv2 one MLDv2 (143).
	local n want=143
	[ "$ver" = 1 ] && want=131
	n=$(tshark -r "$UST_TMP/$T.pcap" -Y "icmpv6.type == 130" -T fields -e frame.number 2>/dev/null | head -n 1)
	n=$(tshark -r "$UST_TMP/$T.pcap" -Y "frame.number > ${n:-999999} && eth.src == 02:00:5e:38:00:02 && icmpv6.type == $want" \
		2>/dev/null | wc -l)
	expect_num "$T: ustack's answers to the MLDv$ver query are MLDv$ver reports (type $want) in the capture" "$n" -ge 1
	ust_pcap $T "$UST_TMP/$T.pcap"
	ip link del br0
}
mld_run mld2 2
mld_run mld1 1
ust_finish
