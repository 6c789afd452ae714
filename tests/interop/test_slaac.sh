#!/usr/bin/env bash
# SLAAC against a real router daemon: Debian's radvd advertises fd37:1::/64
# on the kernel's side of a TAP device while `ustack serve` runs there with
# only an IPv4 --ip. ustack must make fd37:1::<EUI-64 of its MAC> from the
# router advertisement (RFC 4862 5.5.3), do DAD on it, learn the default
# router (RFC 4861 6.3.4), the advertised link MTU and hop limit, and answer
# on the new address: ping -6 and curl -6 from the kernel, a ping from an
# off-link source that only the learnt default route reaches. When radvd
# exits it advertises a router lifetime of 0: the default route must go, so
# that off-link source gets no more answers while the on-link one still does.
# Then with --stable-secret: RFC 7217 stable, opaque identifiers instead of
# EUI-64 (the same key gives the same addresses on a restart, another key
# others), and with --no-ra: no SLAAC address and no solicitations.
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
# The kernel's side skips DAD on its link-local address (this namespace is
# the test's own): radvd advertises from it, and need not wait a second or
# two on each device.
sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
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
	# The advertised Cur Hop Limit (RFC 4861 6.3.4): ustack's TCP segments
	# and echo replies from the SLAAC address carry 77, not 64.
	hl=$(tshark -r "$UST_TMP/$T.pcap" -Y "ipv6.src == $SLAAC6 && (tcp || icmpv6.type == 129)" \
		-T fields -e ipv6.hlim 2>/dev/null | sort -u | tr '\n' ' ')
	expect_eq "$T: ustack's TCP and echo replies use the advertised hop limit" "${hl% }" 77
	ust_pcap $T "$UST_TMP/$T.pcap"
fi

# dump_now: a running ustack's SIGUSR1 dump (addresses, counters), from its
# Addresses line to its connection table.
dump_now() {
	local n i
	n=$(grep -c '^State ' "$UST_OUT")
	kill -USR1 "$UST_PID"
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c '^State ' "$UST_OUT")" -gt "$n" ] && break
		sleep 0.1
	done
	awk -v want=$((n + 1)) '/^Addresses:/ { k++; on = (k == want) } on; /^State / && on { exit }' "$UST_OUT"
}
# addrs_now: the address lines of dump_now.
addrs_now() { dump_now | awk '/^Addresses:/ { on = 1; next } /^[A-Z]/ { on = 0 } on'; }

# stable_run NAME KEY [use]: ustack with --stable-secret KEY under radvd;
# sets LL and GLOBAL to its link-local and SLAAC addresses; with "use", the
# kernel pings and downloads from the SLAAC address too.
stable_run() {
	local T=$1 key=$2 use=$3 a
	LL= GLOBAL=
	ust_start $T --tap $DEV --mac $MAC --ip 10.237.0.2/24 --host-ip 10.237.0.1/24 --http 80:"$WWW" \
		--stable-secret $key || return 1
	radvd -C "$UST_TMP/radvd.conf" -n -m stderr -p "$UST_TMP/radvd.pid" 2>"$UST_TMP/radvd-$T.log" &
	RADVD=$!
	for ((i = 0; i < 40; i++)); do
		a=$(addrs_now)
		GLOBAL=$(printf '%s\n' "$a" | awk '$1 == "inet6" && / slaac/ && !/tentative/ { sub("/.*", "", $2); print $2 }')
		[ -n "$GLOBAL" ] && break
		sleep 0.25
	done
	LL=$(printf '%s\n' "$a" | awk '$1 == "inet6" && / scope link/ { sub("/.*", "", $2); print $2 }')
	check "$T: a SLAAC address in fd37:1::/64, marked stable-privacy, within 10 s" \
		bash -c "printf '%s\n' \"\$1\" | grep -q 'inet6 fd37:1:.*/64 .* slaac stable-privacy'" _ "$a"
	check "$T: the SLAAC address $GLOBAL is not the EUI-64 one" test -n "$GLOBAL" -a "$GLOBAL" != $SLAAC6
	check "$T: the link-local address $LL is not the EUI-64 one" test -n "$LL" -a "$LL" != fe80::5eff:fe10:2030
	if [ -n "$GLOBAL" ] && [ "$use" = use ]; then
		ust_ping "$T: ping -6 on the stable address" -6 -c 2 -i 0.2 -W 2 "$GLOBAL"
		timeout 30 curl -6 -sS -g -o "$UST_TMP/got.bin" "http://[$GLOBAL]/file.bin" 2>"$UST_TMP/curl.err"
		check "$T: curl -6 fetches the file from the stable address intact" cmp "$WWW/file.bin" "$UST_TMP/got.bin"
	fi
	kill -TERM $RADVD
	wait $RADVD
	ust_stop $T
	stat_is $T Icmp6 SlaacAddrs -eq 1
	stat_is $T Icmp6 DadConflicts -eq 0
}
KEY1=1f2e:3d4c:5b6a:7988:a7b6:c5d4:e3f2:109a
KEY2=1f2e:3d4c:5b6a:7988:a7b6:c5d4:e3f2:109b
stable_run stable1 $KEY1 use
G1=$GLOBAL L1=$LL
stable_run stable2 $KEY1
expect_eq "stable: the same key gives the same SLAAC address after a restart" "$GLOBAL" "$G1"
expect_eq "stable: the same key gives the same link-local address after a restart" "$LL" "$L1"
stable_run stable3 $KEY2
check "stable: another key gives another SLAAC address ($GLOBAL, $G1)" test -n "$GLOBAL" -a "$GLOBAL" != "$G1"
check "stable: another key gives another link-local address ($LL, $L1)" test -n "$LL" -a "$LL" != "$L1"

# --no-ra: radvd's advertisements are counted and ignored.
T=no-ra
if ust_start $T --tap $DEV --mac $MAC --ip 10.237.0.2/24 --host-ip 10.237.0.1/24 --no-ra; then
	radvd -C "$UST_TMP/radvd.conf" -n -m stderr -p "$UST_TMP/radvd.pid" 2>"$UST_TMP/radvd-$T.log" &
	RADVD=$!
	# radvd's first advertisement comes at once: wait until ustack has
	# counted one, then give SLAAC (with DAD) the time it takes elsewhere.
	for ((i = 0; i < 40; i++)); do
		ras=$(dump_now | awk '/^Icmp6:/ { on = 1; next } /^[A-Z]/ { on = 0 } on && $1 == "InRouterAdvertisements" { print $2 }')
		[ "${ras:-0}" -gt 0 ] && break
		sleep 0.25
	done
	expect_num "$T: ustack counted radvd's advertisement" "${ras:-0}" -gt 0
	sleep 1.5
	check "$T: no ping -6 answer on the EUI-64 SLAAC address" bash -c "! ping -6 -c 1 -W 1 $SLAAC6 >/dev/null 2>&1"
	check "$T: no SLAAC address among ustack's" bash -c "! printf '%s\n' \"\$1\" | grep -q slaac" _ "$(addrs_now)"
	kill -TERM $RADVD
	wait $RADVD
	ust_stop $T
	stat_is $T Icmp6 InRouterAdvertisements -ge 1
	stat_is $T Icmp6 OutRouterSolicits -eq 0
	stat_is $T Icmp6 SlaacAddrs -eq 0
fi
ust_finish
