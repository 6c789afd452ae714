#!/usr/bin/env bash
# IPv6 against the kernel: `ustack serve` with fd00:ab::2/64 (and
# 10.236.0.2/24 beside it) over a TAP device, where the kernel resolves it
# by NDP, and over a TUN device, where there is no link layer. The kernel's
# ping -6 (fragmented at 3000 bytes both ways), UDP echo from a Python
# socket and nc -6 -u, TCP echo with nc -6, curl -6 of a file from serve's
# --http, iperf3 -6, `ustack get` from a kernel HTTP server, the kernel's
# neighbour table, and tshark over the capture finding nothing malformed.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

ME6=fd00:ab::2
HOST6=fd00:ab::1
ME4=10.236.0.2
HOST4=10.236.0.1
WWW=$UST_TMP/www
mkdir -p "$WWW"
head -c 3000000 /dev/urandom >"$WWW/file.bin"

# Wait (up to 8 s) for the first echo reply: DAD of ustack's address takes
# about a second before it answers.
wait_ping6() {
	local i
	for ((i = 0; i < 16; i++)); do
		ping -6 -c 1 -W 1 "$1" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}

v6_run() {
	local T=$1 KIND=$2 DEV=$3 size
	UST_PINGS_SENT=0
	ust_start $T --$KIND $DEV --ip $ME4/24 --ip $ME6/64 --host-ip $HOST4/24 --host-ip $HOST6/64 \
		--udp-echo 7 --tcp-echo 7 --http 80:"$WWW" --pcap "$UST_TMP/$T.pcap" || return
	check "$T: the kernel has $HOST6/64 on $DEV" bash -c "ip -o -6 addr show dev $DEV | grep -q 'inet6 $HOST6/64'"
	check "$T: ustack answers ping -6 within 8 s of ready (after DAD)" wait_ping6 $ME6
	UST_PINGS_SENT=$((UST_PINGS_SENT + 1))
	for size in 0 56 1232 1452 3000; do
		ust_ping "$T: ${size}-byte echo over IPv6" -6 -c 3 -i 0.2 -W 3 -s $size $ME6
	done
	ust_ping "$T: flood over IPv6" -6 -f -c 2000 -W 1 $ME6
	local sent=$UST_PINGS_SENT
	ust_ping "$T: IPv4 beside it" -c 2 -i 0.2 -W 3 $ME4
	UST_PINGS_SENT=$sent   # counted under Icmp, not Icmp6
	for size in 1 1452 1453 3000 60000; do
		check "$T: a ${size}-byte UDP/IPv6 datagram comes back from port 7 intact" ust_py echo $ME6 7 $size
	done
	check "$T: 50 datagrams of 8000 bytes in a row, each echoed intact" ust_py echo $ME6 7 8000 50
	check "$T: a datagram to closed port 9 makes the kernel socket see connection refused" ust_py refused $ME6 9
	printf 'hello over udp6\n' >"$UST_TMP/$T.u.in"
	timeout 5 nc -6 -u -w 1 $ME6 7 <"$UST_TMP/$T.u.in" >"$UST_TMP/$T.u.out" 2>/dev/null
	check "$T: nc -6 -u gets its line echoed" cmp "$UST_TMP/$T.u.in" "$UST_TMP/$T.u.out"
	head -c 200000 /dev/urandom >"$UST_TMP/$T.t.in"
	timeout 20 nc -6 -N $ME6 7 <"$UST_TMP/$T.t.in" >"$UST_TMP/$T.t.out" 2>/dev/null
	check "$T: nc -6 -N gets 200000 bytes echoed over TCP" cmp "$UST_TMP/$T.t.in" "$UST_TMP/$T.t.out"
	timeout 60 curl -6 -sS -g -o "$UST_TMP/$T.got" "http://[$ME6]/file.bin" 2>"$UST_TMP/$T.curl.err"
	check "$T: curl -6 fetches a 3 MB file from serve --http intact" cmp "$WWW/file.bin" "$UST_TMP/$T.got"
	if [ "$KIND" = tap ]; then
		local mac4 mac6 kmac
		mac6=$(ip -6 neigh show dev $DEV | awk -v a=$ME6 '$1 == a { for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
		mac4=$(ip -4 neigh show dev $DEV | awk -v a=$ME4 '$1 == a { for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
		kmac=$(ip -o link show dev $DEV | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
		if [ -n "$mac6" ] && [ "$mac6" = "$mac4" ] && [ "$mac6" != "$kmac" ]; then
			ok "$T: ip -6 neigh has $ME6 at ustack's MAC $mac6 (the one ARP gave for $ME4)"
		else
			not_ok "$T: ip -6 neigh: '$mac6' for $ME6, '$mac4' for $ME4 by ARP, device $kmac"
			ip neigh show dev $DEV | diag
		fi
		# The link-local address ustack made from its MAC (EUI-64) answers too.
		local ll
		ll=$(/usr/bin/python3 -c 'import sys; m=[int(x,16) for x in sys.argv[1].split(":")]; m[0]^=2; print("fe80::%02x%02x:%02xff:fe%02x:%02x%02x" % (m[0],m[1],m[2],m[3],m[4],m[5]))' "$mac6" 2>/dev/null)
		ust_ping "$T: ustack's EUI-64 link-local address $ll" -6 -c 2 -i 0.2 -W 3 "$ll%$DEV"
		# TCP to it in its zone: ustack answers out of the interface the
		# SYN came in on.
		timeout 30 curl -6 -sS -g -o "$UST_TMP/$T.ll.got" "http://[$ll%25$DEV]/file.bin" 2>"$UST_TMP/$T.ll.err"
		check "$T: curl -6 fetches the file from the link-local address in its zone intact" \
			cmp "$WWW/file.bin" "$UST_TMP/$T.ll.got"
	fi
	ust_stop $T
	ust_gone $T $DEV
	stat_is $T Icmp6 InEchos -ge $UST_PINGS_SENT
	expect_num "$T: Icmp6 OutEchoReplies == InEchos" "$(ust_stat Icmp6 OutEchoReplies)" -eq "$(ust_stat Icmp6 InEchos)"
	stat_is $T Ip6 InHdrErrors -eq 0
	stat_is $T Ip6 InTruncatedPkts -eq 0
	stat_is $T Icmp6 InCsumErrors -eq 0
	stat_is $T Udp InCsumErrors -eq 0
	stat_is $T Tcp InCsumErrors -eq 0
	# 3 echoes of 3000 bytes, datagrams of 1453, 3000 and 60000 bytes, 50 of 8000.
	stat_is $T Ip6 ReasmOKs -ge 56
	stat_is $T Ip6 ReasmFails -eq 0
	stat_is $T Ip6 FragOKs -ge 56
	stat_is $T Icmp6 OutDestUnreachs -ge 1
	if [ "$KIND" = tap ]; then
		stat_is $T Icmp6 InNeighborSolicits -ge 1
		stat_is $T Icmp6 OutNeighborAdvertisements -ge 1
		stat_is $T Icmp6 DadConflicts -eq 0
	else
		stat_is $T Icmp6 OutNeighborSolicits -eq 0
	fi
	ust_pcap $T "$UST_TMP/$T.pcap"
	local n
	n=$(tshark -n -r "$UST_TMP/$T.pcap" -o icmpv6.check_checksum:TRUE -Y 'icmpv6.checksum.status==0' 2>/dev/null | wc -l)
	expect_num "$T: no ICMPv6 message with a bad checksum in the capture" "$n" -eq 0
	# TCP leaves as TSO super-frames the kernel cuts (the capture sees them
	# whole); everything else must fit the MTU (1500, plus 14 on TAP).
	local max=1500
	[ "$KIND" = tap ] && max=1514
	n=$(tshark -n -r "$UST_TMP/$T.pcap" -Y "ipv6.src==$ME6 && frame.len > $max && !tcp" 2>/dev/null | wc -l)
	expect_num "$T: no IPv6 packet from ustack but TCP super-frames is longer than the MTU" "$n" -eq 0
	n=$(tshark -n -r "$UST_TMP/$T.pcap" -Y "ipv6.src==$ME6 && tcp && frame.len > $max" 2>/dev/null | wc -l)
	expect_num "$T: ustack sent TCP/IPv6 super-frames (TSO6)" "$n" -gt 0
	n=$(tshark -n -r "$UST_TMP/$T.pcap" -Y "ipv6.src==$ME6 && ipv6.fragment" 2>/dev/null | wc -l)
	expect_num "$T: ustack sent fragments (3000-byte echo replies, large datagrams)" "$n" -gt 0
}

# iperf3 -6 on its own run, without a capture (tshark over seconds of
# bulk TCP would take longer than the rest of the script).
iperf_run() {
	local T=$1 KIND=$2 DEV=$3
	ust_start $T --$KIND $DEV --ip $ME6/64 --host-ip $HOST6/64 --iperf3 5201 || return
	wait_ping6 $ME6
	if timeout 30 iperf3 -6 -c $ME6 -p 5201 -t 2 -J >"$UST_TMP/$T.iperf.json" 2>&1; then
		ok "$T: iperf3 -6 -c $ME6 runs 2 s ($(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f Mbit/s" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))' "$UST_TMP/$T.iperf.json" 2>/dev/null))"
	else
		not_ok "$T: iperf3 -6 -c $ME6"
		diag "$UST_TMP/$T.iperf.json"
	fi
	if timeout 30 iperf3 -6 -c $ME6 -p 5201 -t 2 -R -J >"$UST_TMP/$T.iperfR.json" 2>&1; then
		ok "$T: iperf3 -6 -R (ustack sends) runs 2 s ($(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f Mbit/s" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))' "$UST_TMP/$T.iperfR.json" 2>/dev/null))"
	else
		not_ok "$T: iperf3 -6 -R -c $ME6"
		diag "$UST_TMP/$T.iperfR.json"
	fi
	ust_stop $T
	stat_is $T Ip6 InHdrErrors -eq 0
	stat_is $T Tcp InCsumErrors -eq 0
}

# ustack as the client: `ustack get` of a file from a kernel HTTP server
# over IPv6, with the URL's bracketed literal.
get_run() {
	local T=$1 KIND=$2 DEV=$3 srv
	(cd "$WWW" && exec /usr/bin/python3 -m http.server --bind :: 8000) >"$UST_TMP/$T.http.log" 2>&1 &
	srv=$!
	sleep 1
	if timeout 60 "$USTACK" get --$KIND $DEV --ip $ME6/64 --host-ip $HOST6/64 -o "$UST_TMP/$T.got" \
		"http://[$HOST6]:8000/file.bin" >"$UST_TMP/$T.out" 2>"$UST_TMP/$T.err" &&
		cmp -s "$WWW/file.bin" "$UST_TMP/$T.got"; then
		ok "$T: ustack get 'http://[$HOST6]:8000/file.bin' over $KIND fetches the 3 MB file intact"
	else
		not_ok "$T: ustack get 'http://[$HOST6]:8000/file.bin' over $KIND"
		diag "$UST_TMP/$T.out" "$UST_TMP/$T.err"
	fi
	kill $srv 2>/dev/null
	wait $srv 2>/dev/null
}

v6_run tap6 tap ust6tap0
get_run tap6_get tap ust6tap0
iperf_run tap6_iperf tap ust6tap0
v6_run tun6 tun ust6tun0
get_run tun6_get tun ust6tun0
iperf_run tun6_iperf tun ust6tun0
ust_finish
