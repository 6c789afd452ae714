#!/usr/bin/env bash
# Kernel UDP sockets talk to `ustack serve --tap ... --udp-echo 7` in a
# private namespace: small and large (fragmented) datagrams echoed byte for
# byte, socat as a client, and a datagram to a closed port refused.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

DEV=ustap2
HOST=10.201.2.1
ME=10.201.2.2
T=tap_udp

if ust_start $T --tap $DEV --ip $ME/24 --host-ip $HOST/24 --udp-echo 7 --udp-echo 30007 --pcap "$UST_TMP/$T.pcap"; then
	# 1472: the largest unfragmented on a 1500 MTU; 1473 the smallest that
	# fragments; 60000: 41 fragments each way; 65507: the largest datagram.
	for size in 0 1 22 1472 1473 8000 60000 65507; do
		check "$T: a ${size}-byte datagram comes back from port 7 intact" ust_py echo $ME 7 $size
	done
	check "$T: 200 datagrams of 1000 bytes in a row, each echoed intact" ust_py echo $ME 7 1000 200
	check "$T: 20 datagrams of 60000 bytes in a row, each echoed intact" ust_py echo $ME 7 60000 20
	check "$T: a second echo port (30007) works too" ust_py echo $ME 30007 100

	printf 'hello, ustack\n' >"$UST_TMP/small.in"
	head -c 60000 /dev/urandom >"$UST_TMP/big.in"
	for f in small big; do
		timeout 15 socat -b 65536 -T 3 -t 3 - UDP:$ME:7 <"$UST_TMP/$f.in" >"$UST_TMP/$f.out" 2>"$UST_TMP/$f.err"
		check "$T: socat -b 65536 - UDP:$ME:7 gets $(stat -c %s "$UST_TMP/$f.in") bytes back unchanged" \
			cmp "$UST_TMP/$f.in" "$UST_TMP/$f.out"
	done

	check "$T: a datagram to closed port 9 makes the kernel socket see connection refused" ust_py refused $ME 9
	check "$T: ...and to closed port 40000" ust_py refused $ME 40000

	ust_stop $T
	ust_gone $T $DEV
	# 8 single + 200 + 20 + 1 + 2 socat datagrams echoed
	stat_is $T Udp InDatagrams -ge 231
	expect_num "$T: Udp OutDatagrams == InDatagrams" "$(ust_stat Udp OutDatagrams)" -eq "$(ust_stat Udp InDatagrams)"
	stat_is $T Udp NoPorts -ge 2
	stat_is $T Icmp OutDestUnreachs -ge 2
	stat_is $T Udp InErrors -eq 0
	stat_is $T Udp InCsumErrors -eq 0
	stat_is $T Ip InHdrErrors -eq 0
	stat_is $T Ip InCsumErrors -eq 0
	stat_is $T Ip ReasmFails -eq 0
	# 1473, 8000, 60000, 65507, 20 x 60000, socat's 60000
	stat_is $T Ip ReasmOKs -ge 25
	stat_is $T Ip FragOKs -ge 25
	ust_pcap $T "$UST_TMP/$T.pcap"
	n=$(tshark -n -r "$UST_TMP/$T.pcap" -Y "ip.src==$ME && icmp.type==3 && icmp.code==3" 2>/dev/null | wc -l)
	expect_num "$T: the pcap holds ustack's ICMP port unreachables" "$n" -ge 2
fi
ust_finish
