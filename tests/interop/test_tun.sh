#!/usr/bin/env bash
# The ping and UDP tests over a TUN device (bare IP, no link layer): the
# kernel at 10.201.3.1, `ustack serve --tun` at 10.201.3.2; then once more
# on a TUN device with a 576-byte MTU, so even middling datagrams fragment.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

# id_reuse ME HOST MTU: scapy sends two 8000-byte UDP datagrams to port 7,
# fragmented to the MTU and both with IP ID 4242, as two Linux sockets'
# random IDs can collide; a kernel socket must get each echo back intact.
id_reuse() {
	timeout 60 "$UST_PY" - "$@" <<'PY'
import os, socket, sys
from scapy.all import IP, UDP, Raw, conf, fragment
me, host, mtu = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((host, 0))
s.connect((me, 7))
s.settimeout(3)
l3 = conf.L3socket()   # one raw socket: both datagrams go out well inside a second
for i in range(2):
    data = os.urandom(8000)
    pkt = IP(src=host, dst=me, id=4242) / UDP(sport=s.getsockname()[1], dport=7) / Raw(data)
    frags = fragment(pkt, fragsize=(mtu - 20) // 8 * 8)
    for f in frags:
        l3.send(f)
    try:
        back = s.recv(65536)
    except socket.timeout:
        sys.exit("datagram %d (%d fragments, IP ID 4242): no echo within 3 s" % (i + 1, len(frags)))
    if back != data:
        sys.exit("datagram %d: %d bytes came back, not the %d sent" % (i + 1, len(back), len(data)))
print("both datagrams with IP ID 4242 echoed intact")
PY
}

tun_run() {
	local T=$1 DEV=$2 HOST=$3 ME=$4 MTU=$5 size
	shift 5
	UST_PINGS_SENT=0
	ust_start $T --tun $DEV --ip $ME/24 --host-ip $HOST/24 --udp-echo 7 --pcap "$UST_TMP/$T.pcap" "$@" || return
	check "$T: ustack created $DEV, a TUN device, and the kernel has $HOST/24 on it" \
		bash -c "ip -d link show dev $DEV | grep -q 'tun type tun' && ip -o addr show dev $DEV | grep -q 'inet $HOST/24'"
	check "$T: $DEV has MTU $MTU" bash -c "ip -o link show dev $DEV | grep -q ' mtu $MTU '"
	for size in 0 56 1472 1473 8000 65507; do
		ust_ping "$T: ${size}-byte echo" -c 3 -i 0.2 -W 3 -s $size $ME
	done
	ust_ping "$T: flood" -f -c 5000 -W 1 $ME
	for size in 1 548 1472 1473 8000 60000 65507; do
		check "$T: a ${size}-byte datagram comes back from port 7 intact" ust_py echo $ME 7 $size
	done
	check "$T: 100 datagrams of 60000 bytes in a row, each echoed intact" ust_py echo $ME 7 60000 100
	head -c 60000 /dev/urandom >"$UST_TMP/$T.big.in"
	timeout 15 socat -b 65536 -T 3 -t 3 - UDP:$ME:7 <"$UST_TMP/$T.big.in" >"$UST_TMP/$T.big.out" 2>/dev/null
	check "$T: socat -b 65536 - UDP:$ME:7 gets 60000 bytes back unchanged" cmp "$UST_TMP/$T.big.in" "$UST_TMP/$T.big.out"
	check "$T: two fragmented datagrams with one IP ID, back to back, both come back (no false duplicate)" \
		id_reuse $ME $HOST $MTU
	check "$T: a datagram to closed port 9 makes the kernel socket see connection refused" ust_py refused $ME 9

	ust_stop $T
	ust_gone $T $DEV
	stat_is $T Icmp InEchos -ge $UST_PINGS_SENT
	expect_num "$T: Icmp OutEchoReps == InEchos" "$(ust_stat Icmp OutEchoReps)" -eq "$(ust_stat Icmp InEchos)"
	stat_is $T Udp InDatagrams -ge 110
	expect_num "$T: Udp OutDatagrams == InDatagrams" "$(ust_stat Udp OutDatagrams)" -eq "$(ust_stat Udp InDatagrams)"
	stat_is $T Udp NoPorts -ge 1
	stat_is $T Icmp OutDestUnreachs -ge 1
	stat_is $T Ip InHdrErrors -eq 0
	stat_is $T Ip InCsumErrors -eq 0
	stat_is $T Udp InCsumErrors -eq 0
	stat_is $T Ip ReasmFails -eq 0
	stat_is $T Ip ReasmOKs -ge 100
	stat_is $T Arp OutRequests -eq 0
	stat_is $T Link OutErrors -eq 0
	ust_pcap $T "$UST_TMP/$T.pcap"
	n=$(tshark -n -r "$UST_TMP/$T.pcap" -Y "ip.src==$ME && frame.len > $MTU" 2>/dev/null | wc -l)
	expect_num "$T: no packet from ustack is longer than the MTU" "$n" -eq 0
	expect_eq "$T: the pcap is raw IP (no Ethernet)" \
		"$(capinfos -E -T "$UST_TMP/$T.pcap" 2>/dev/null | awk -F'\t' 'NR == 2 { print $2 }')" "rawip"
}

tun_run tun ustun1 10.201.3.1 10.201.3.2 1500
tun_run tun_mtu576 ustun2 10.201.4.1 10.201.4.2 576 --mtu 576
ust_finish
