#!/usr/bin/env bash
# The kernel pings and arpings `ustack serve --tap` in a private namespace:
# every size from empty to the largest IPv4 datagram, a 5000-probe flood,
# ARP, then the counters and the pcap.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

DEV=ustap1
HOST=10.201.1.1
ME=10.201.1.2
MAC=02:00:5e:c9:01:02
T=tap_icmp

if ust_start $T --tap $DEV --ip $ME/24 --host-ip $HOST/24 --mac $MAC --pcap "$UST_TMP/$T.pcap"; then
	check "$T: ustack created $DEV and the kernel has $HOST/24 on it" \
		bash -c "ip -o addr show dev $DEV | grep -q 'inet $HOST/24'"

	# 0: header only; 1472: largest unfragmented on a 1500 MTU; 1473: the
	# smallest that fragments; 8000: 6 fragments; 65507: the largest datagram.
	for size in 0 56 1472 1473 8000 65507; do
		ust_ping "$T: ${size}-byte echo" -c 3 -i 0.2 -W 3 -s $size $ME
	done
	ust_ping "$T: flood" -f -c 5000 -W 1 $ME
	ust_ping "$T: flood of 1473-byte (fragmented) echoes" -f -c 300 -W 1 -s 1473 $ME

	out=$(timeout 20 arping -c 3 -w 10 -I $DEV $ME 2>&1)
	if printf '%s\n' "$out" | grep -q 'Received 3 response(s)'; then
		ok "$T: arping -c 3 -I $DEV $ME gets 3 replies"
	else
		not_ok "$T: arping -c 3 -I $DEV $ME"
		printf '%s\n' "$out" | diag
	fi
	if printf '%s\n' "$out" | grep -qi "reply from $ME \[$MAC\]"; then
		ok "$T: ARP replies carry the --mac address $MAC"
	else
		not_ok "$T: ARP replies do not carry the --mac address $MAC"
	fi
	check "$T: the kernel's neighbour entry for $ME is $MAC" \
		bash -c "ip neigh show $ME dev $DEV | grep -qi 'lladdr $MAC'"

	ust_stop $T
	ust_gone $T $DEV
	stat_is $T Icmp InEchos -ge $UST_PINGS_SENT
	expect_num "$T: Icmp OutEchoReps == InEchos" "$(ust_stat Icmp OutEchoReps)" -eq "$(ust_stat Icmp InEchos)"
	stat_is $T Ip InHdrErrors -eq 0
	stat_is $T Ip InCsumErrors -eq 0
	stat_is $T Icmp InCsumErrors -eq 0
	stat_is $T Icmp InErrors -eq 0
	stat_is $T Ip ReasmFails -eq 0
	# 3 x (1473, 8000, 65507) + 300 fragmented flood probes, each reassembled
	stat_is $T Ip ReasmOKs -ge 309
	stat_is $T Ip FragOKs -ge 309
	stat_is $T Ip FragCreates -ge 618
	stat_is $T Arp InRequests -ge 3
	stat_is $T Arp OutReplies -ge 3
	stat_is $T Link OutErrors -eq 0
	ust_pcap $T "$UST_TMP/$T.pcap"
	n=$(tshark -n -r "$UST_TMP/$T.pcap" -Y "arp.src.proto_ipv4==$ME && (arp.isannouncement || arp.isgratuitous)" 2>/dev/null | wc -l)
	expect_num "$T: ustack announced $ME with a gratuitous ARP when it came up" "$n" -ge 1
fi
ust_finish
