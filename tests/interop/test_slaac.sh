#!/usr/bin/env bash
# SLAAC against a real router daemon: Debian's radvd advertises fd37:1::/64
# on the kernel's side of a TAP device while `ustack serve` runs there with
# only an IPv4 --ip. ustack must make fd37:1::<EUI-64 of its MAC> from the
# router advertisement (RFC 4862 5.5.3), do DAD on it, learn the default
# router (RFC 4861 6.3.4) and the advertised link MTU, and answer on the new
# address: ping -6 and curl -6 from the kernel, a ping from an off-link
# source that only the learnt default route reaches. When radvd exits it
# advertises a router lifetime of 0: the default route must go, so that
# off-link source gets no more answers while the on-link one still does.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=slaac
DEV=ussl0
MAC=02:00:5e:10:20:30
SLAAC6=fd37:1::5eff:fe10:2030   # EUI-64 of $MAC: U/L bit flipped, ff:fe in the middle
OFFLINK6=fd37:2::1               # the kernel's, on lo: reached only through a router
MTU6=1400
if ! command -v radvd >/dev/null; then
	not_ok "$T: radvd is not installed (tools/install-deps.sh installs it)"
	ust_finish
fi
WWW=$UST_TMP/www
mkdir -p "$WWW"
head -c 2000000 /dev/urandom >"$WWW/file.bin"
cat >"$UST_TMP/radvd.conf" <<EOF
interface $DEV {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 4;
	AdvDefaultLifetime 120;
	AdvCurHopLimit 77;
	AdvLinkMTU $MTU6;
	prefix fd37:1::/64 {
		AdvOnLink on;
		AdvAutonomous on;
		AdvValidLifetime 3600;
		AdvPreferredLifetime 1800;
	};
};
EOF

# ping6_within SECS ARGS...: 0 once one echo is answered, within SECS.
ping6_within() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		ping -6 -c 1 -W 1 "$@" >/dev/null 2>&1 && return 0
		sleep 0.3
	done
	return 1
}

ip link set lo up
ip addr add $OFFLINK6/128 dev lo
if ust_start $T --tap $DEV --mac $MAC --ip 10.237.0.2/24 --host-ip 10.237.0.1/24 --http 80:"$WWW" \
	--pcap "$UST_TMP/$T.pcap"; then
	radvd -C "$UST_TMP/radvd.conf" -n -m stderr -p "$UST_TMP/radvd.pid" 2>"$UST_TMP/radvd.log" &
	RADVD=$!
	check "$T: ustack answers ping -6 on its SLAAC address $SLAAC6 within 20 s of radvd's start" \
		ping6_within 20 $SLAAC6
	ust_ping "$T: ping -6 on the SLAAC address" -6 -c 3 -i 0.2 -W 2 $SLAAC6
	timeout 30 curl -6 -sS -g -o "$UST_TMP/got.bin" "http://[$SLAAC6]/file.bin" 2>"$UST_TMP/curl.err"
	check "$T: curl -6 fetches a 2 MB file from the SLAAC address intact" cmp "$WWW/file.bin" "$UST_TMP/got.bin"
	check "$T: a ping from off-link $OFFLINK6 is answered through the learnt default router" \
		ping6_within 5 -I $OFFLINK6 $SLAAC6
	# radvd's exit sends a final RA with router lifetime 0 (RFC 4861 6.2.5).
	kill -TERM $RADVD
	wait $RADVD
	check "$T: radvd exited (its final advertisement sent)" grep -q -i "exiting\|removing" "$UST_TMP/radvd.log"
	sleep 1
	check "$T: after the router's lifetime-0 advertisement, the off-link source gets no answer" \
		bash -c "! ping -6 -c 2 -i 0.3 -W 1 -I $OFFLINK6 $SLAAC6 >/dev/null 2>&1"
	ust_ping "$T: the on-link kernel still reaches the SLAAC address" -6 -c 2 -i 0.2 -W 2 $SLAAC6
	ust_stop $T
	stat_is $T Icmp6 InRouterAdvertisements -ge 2
	stat_is $T Icmp6 OutRouterSolicits -ge 1
	stat_is $T Icmp6 SlaacAddrs -eq 1
	stat_is $T Icmp6 DadConflicts -eq 0
	stat_is $T Icmp6 InBadNd -eq 0
	# The advertised MTU: ustack's SYN-ACKs to the kernel offer MSS 1400 - 60.
	mss=$(tshark -r "$UST_TMP/$T.pcap" -Y "ipv6.src == $SLAAC6 && tcp.flags.syn == 1 && tcp.flags.ack == 1" \
		-T fields -e tcp.options.mss_val 2>/dev/null | sort -u | tr '\n' ' ')
	expect_eq "$T: ustack's SYN-ACK offers the MSS of the advertised $MTU6-byte link MTU" "${mss% }" $((MTU6 - 60))
	ust_pcap $T "$UST_TMP/$T.pcap"
fi
ust_finish
