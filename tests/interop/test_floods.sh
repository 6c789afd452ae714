#!/usr/bin/env bash
# Floods and exhaustion through a TAP device (issue 4), each against a fresh
# `ustack serve` with a connection limit and a TCP buffer budget, each with
# figures: a SYN flood from random sources (hping3) while curl keeps being
# served through SYN cookies; a flood of half-open connections; idle
# established connections up to the connection limit, then recovery; a
# fragment flood; an ARP flood; a UDP flood into a receive queue nobody
# reads. Throughout, ustack's resident memory (VmRSS from /proc, sampled)
# stays under the bound its configuration implies, its packet buffers under
# the pool, and afterwards it still serves. Peaks are printed as `#` notes.
# UST_SAN=1 (the sanitizer build) scales the floods down.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

DEV=usflood0
HOST=10.213.0.1
ME=10.213.0.2
MAC=02:00:5e:d5:00:02
MAXC=200          # --max-conns (the listener is one of them)
TCPMEM=128        # --tcp-mem, MiB
POOL_KB=$(((4096 * 2048 + 96 * (65600 + 128)) / 1024))   # the stack's default packet pools
if [ "${UST_SAN:-0}" = 1 ]; then
	SCALE=4; FLOOD_S=4
	# ASan keeps freed memory in quarantine (256 MiB by default): keep it
	# small so that RSS says something about the stack, not the allocator.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16:malloc_context_size=5"
else
	SCALE=1; FLOOD_S=4
fi

sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1 || true

# ---- helpers ------------------------------------------------------------------

# tap_tx_drops: frames the kernel dropped on $DEV's way to ustack (a full queue).
tap_tx_drops() {
	ip -s link show dev $DEV | awk '/^ *TX:/ { getline; print $4; exit }'
}

# softnet_drops: frames the kernel's per-CPU backlogs dropped, all CPUs (the
# second column of /proc/net/softnet_stat, in hex).
softnet_drops() {
	local n=0 _a d _r
	while read -r _a d _r; do n=$((n + 16#$d)); done </proc/net/softnet_stat
	echo $n
}

# dump: SIGUSR1, wait (<= 3 s) for the new counter dump in $UST_OUT.
dump() {
	local n i
	n=$(grep -c '^Buffers in use' "$UST_OUT")
	kill -USR1 "$UST_PID" 2>/dev/null || return 1
	for ((i = 0; i < 60; i++)); do
		[ "$(grep -c '^Buffers in use' "$UST_OUT")" -gt "$n" ] && return 0
		sleep 0.05
	done
	return 1
}
# cnt GROUP NAME: the value in the latest dump.
cnt() { ust_stat "$1" "$2"; }

# The sampler: VmRSS (kB) every 50 ms and a counter dump every 0.5 s, while
# the phase runs. Started and stopped by this script only (its own pid).
SAMPLER=
sample_start() {
	RSS_LOG=$UST_TMP/$1.rss
	: >"$RSS_LOG"
	(
		i=0
		while kill -0 "$UST_PID" 2>/dev/null && [ $i -lt 2400 ]; do
			awk '/^VmRSS/ { print $2 }' "/proc/$UST_PID/status" 2>/dev/null >>"$RSS_LOG"
			[ $((i % 10)) = 0 ] && kill -USR1 "$UST_PID" 2>/dev/null
			i=$((i + 1))
			sleep 0.05
		done
	) &
	SAMPLER=$!
}
sample_stop() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
	SAMPLER=
	dump
	PEAK_RSS=$(sort -n "$RSS_LOG" | tail -n 1)
	PEAK_BUFS=$(sed -n 's/^Buffers in use: //p' "$UST_OUT" | sort -n | tail -n 1)
	PEAK_TCPMEM=$(sed -n 's/^TCP buffer bytes: //p' "$UST_OUT" | sort -n | tail -n 1)
}
# mem_checks NAME: peak RSS under the configured bound, buffers under the pool.
mem_checks() {
	local name=$1 limit
	# The bound: RSS at start + the packet pools + the TCP buffer budget +
	# 8 KiB per connection (its control block and socket) + 16 MiB for the
	# allocator and the process's own pages (64 MiB under ASan).
	limit=$((BASE_RSS + POOL_KB + TCPMEM * 1024 + MAXC * 8 + (${UST_SAN:-0} == 1 ? 65536 : 16384)))
	note "$name: peak VmRSS $((PEAK_RSS / 1024)) MiB (start $((BASE_RSS / 1024)) MiB, bound $((limit / 1024)) MiB)," \
		"peak packet buffers $PEAK_BUFS of $((4096 + 96)), peak TCP buffer bytes $PEAK_TCPMEM (budget $((TCPMEM << 20)))"
	expect_num "$name: peak VmRSS within the configured bound (kB)" "$PEAK_RSS" -le "$limit"
	expect_num "$name: packet buffers in use never above the pool" "$PEAK_BUFS" -le $((4096 + 96))
	expect_num "$name: TCP buffer bytes never above --tcp-mem" "$PEAK_TCPMEM" -le $((TCPMEM << 20))
}
start() {
	local name=$1
	shift
	ust_start "$name" --tap $DEV --ip $ME/${PLEN:-16} --host-ip $HOST/${PLEN:-16} --mac $MAC --gateway $HOST \
		--max-conns $MAXC --tcp-mem $TCPMEM "$@" || return 1
	ip neigh replace $ME lladdr $MAC dev $DEV nud permanent
	sleep 0.2
	BASE_RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$UST_PID/status")
}
curl_ok() { [ "$(timeout 5 curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$ME/")" = 200 ]; }

# ---- 0. the stack with no route back to the flood (issue 11) -------------------
# `serve` exactly as a new user runs it: no --gateway, so random sources are
# unreachable and must get nothing (a SYN flood like this once crashed the
# stack in the MSS set-up: the route it read had never been found). First a
# few dozen crafted frames from off-net sources (SYNs with options, a
# cookie-looking ACK, echoes, UDP to the echo port (also in two fragments)
# and to a closed port, a RST), then hping3's flood; during and after it curl is served and ping
# answered from the kernel's side (on the subnet, so routable).
T=noroute
DEV0=usC0 ME0=10.204.0.2 HOST0=10.204.0.1
mkdir -p "$UST_TMP/www0"
head -c 200000 /dev/urandom >"$UST_TMP/www0/file.bin"
echo hello >"$UST_TMP/www0/index.html"
if ust_start $T --tap $DEV0 --ip $ME0/24 --host-ip $HOST0/24 --http 80:"$UST_TMP/www0" --udp-echo 7; then
	MAC0=$(ip -o link show dev $DEV0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	# ustack's own MAC, as ARP tells the kernel
	ping -c 1 -W 2 $ME0 >/dev/null 2>&1
	UMAC0=$(ip neigh show $ME0 dev $DEV0 | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
	timeout 60 "$UST_PY" - "$DEV0" "${UMAC0:-ff:ff:ff:ff:ff:ff}" "$ME0" <<'PY' >"$UST_TMP/$T.py" 2>&1
import sys
from scapy.all import Ether, IP, TCP, UDP, ICMP, Raw, conf, get_if_hwaddr
conf.verb = 0
dev, mac, me = sys.argv[1], sys.argv[2], sys.argv[3]
s = conf.L2socket(iface=dev)
e = Ether(src=get_if_hwaddr(dev), dst=mac)
n = 0
for i in range(6):
    src = "192.0.2.%d" % (1 + i)
    for f in (IP(src=src, dst=me) / TCP(sport=2000 + i, dport=80, flags="S", options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)]),
              IP(src=src, dst=me) / TCP(sport=2100 + i, dport=80, flags="S"),
              IP(src=src, dst=me) / TCP(sport=2200 + i, dport=80, flags="A", seq=1, ack=0x1234567),
              IP(src=src, dst=me) / TCP(sport=2300 + i, dport=81, flags="S"),
              IP(src=src, dst=me) / TCP(sport=2400 + i, dport=80, flags="R", seq=5),
              IP(src=src, dst=me) / ICMP(type=8, id=i, seq=1) / Raw(b"x" * 56),
              IP(src=src, dst=me) / UDP(sport=3000 + i, dport=7) / Raw(b"echo?"),
              IP(src=src, dst=me) / UDP(sport=3100 + i, dport=9999) / Raw(b"closed"),
              IP(src=src, dst=me, flags="MF", id=i + 1, proto=17) / Raw(bytes(UDP(sport=3200 + i, dport=7, len=80, chksum=0)) + b"f" * 64),
              IP(src=src, dst=me, frag=9, id=i + 1, proto=17) / Raw(b"g" * 8)):
        s.send(e / f)
        n += 1
s.close()
print("sent", n)
PY
	note "$T: crafted frames: $(cat "$UST_TMP/$T.py")"
	check "$T: ustack alive after the crafted frames" kill -0 "$UST_PID"
	FLOOD0_S=$FLOOD_S
	timeout -s INT $((FLOOD0_S + 10)) hping3 -q -S -p 80 --flood --rand-source $ME0 >"$UST_TMP/$T.hping" 2>&1 &
	HP=$!
	t0=$SECONDS
	sleep 0.3
	tried=0 served=0
	while [ $tried -lt 500 ] && { [ $((SECONDS - t0)) -lt $FLOOD0_S ] ||
		{ [ $served -lt 3 ] && [ $((SECONDS - t0)) -lt $((FLOOD0_S + 8)) ]; }; }; do
		tried=$((tried + 1))
		r=$(timeout 8 curl -s -m 6 -o /dev/null -w '%{http_code}' "http://$ME0/")
		[ "$r" = 200 ] && served=$((served + 1))
	done
	kill -INT $HP 2>/dev/null
	wait $HP
	check "$T: ustack alive after the flood" kill -0 "$UST_PID"
	sent=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$UST_TMP/$T.hping" | tail -n 1)
	expect_num "$T: curl served during the flood ($served of $tried)" "$served" -ge 3
	sum=$(timeout 10 curl -s -m 8 "http://$ME0/file.bin" | sha256sum | cut -d' ' -f1)
	expect_eq "$T: curl after the flood: file intact" "$sum" "$(sha256sum <"$UST_TMP/www0/file.bin" | cut -d' ' -f1)"
	ust_ping "$T: ping after the flood" -c 3 -i 0.2 -W 3 $ME0
	dump
	note "$T: hping3 sent ${sent:-?} SYNs; ustack took $(cnt Tcp InSegs) segments, counted" \
		"$(cnt Ip OutNoRoutes) answers with no route, $(cnt TcpExt ListenDrops) SYNs dropped," \
		"$(cnt TcpExt SyncookiesSent) cookies sent"
	expect_num "$T: the flood's SYNs reached TCP" "$(cnt Tcp InSegs)" -gt 1000
	expect_num "$T: each unanswerable SYN dropped and counted" "$(cnt TcpExt ListenDrops)" -gt 1000
	expect_num "$T: Ip.OutNoRoutes counts them" "$(cnt Ip OutNoRoutes)" -ge "$(cnt TcpExt ListenDrops)"
	# Nothing was sent to the flood's sources: ustack's segments out are
	# curl's only (a few per connection), far below the flood's thousands.
	expect_num "$T: no SYN-ACKs to unreachable sources (cookies sent)" "$(cnt TcpExt SyncookiesSent)" -eq 0
	expect_num "$T: no connection left half-open" "$(cnt Tcp CurrEstab)" -eq 0
	# One random source in a few dozen runs falls inside 10.204.0.0/24, on
	# the link: its SYN-ACK waits for an ARP answer that never comes, until
	# ARP gives up (3 requests, 1 s apart) and frees it. Let that end (at
	# most 6 s) before the stop checks that no buffer is held.
	for ((i = 0; i < 12; i++)); do
		[ "$(sed -n 's/^Buffers in use: //p' "$UST_OUT" | tail -n 1)" = 0 ] && break
		sleep 0.5
		dump
	done
	note "$T: ARP requests sent $(cnt Arp OutRequests), replies $(cnt Arp InReplies)," \
		"buffers in use before the stop: $(sed -n 's/^Buffers in use: //p' "$UST_OUT" | tail -n 1)"
	ust_stop $T
fi

# ---- 1. SYN flood from random sources, curl served through cookies ------------
T=synflood
# A /30 here: a random source is then (almost) never on the link, where
# ustack would hold its SYN-ACKs while ARP for it fails, up to the end.
if PLEN=30 start $T --http 80; then
	sample_start $T
	txd0=$(tap_tx_drops)
	sn0=$(softnet_drops)
	# The flood lasts FLOOD_S, longer (up to FLOOD_MAX_S) until three curls
	# are through: a curl whose SYN the full device queue drops twice waits
	# the kernel's 1 + 2 s of SYN backoff, which a short flood may not fit.
	# The release build takes hping3's --flood (some 200,000 SYNs a second).
	# The sanitizer build, two to three times slower, does not: a full flood
	# outruns it, and then the TAP queue, not ustack, decides which of
	# curl's SYNs get through (CI saw 4.8 million frames dropped there and
	# 2 of 4 curls served). It gets two hping3s at -i u1 (about 10,000 SYNs
	# a second each, usleep's floor), which still overfill the half-open
	# queue 150 times a second, and, for a busy machine, longer curls (a
	# third SYN retransmission, 1 + 2 + 4 s, is served, not lost), more time
	# to see three through and a lower share served (60%, against 80%).
	FLOOD_MAX_S=$((FLOOD_S + 8)) SERVED_PCT=80 CURL_S=6 RATE=(--flood) NHP=1
	if [ "${UST_SAN:-0}" = 1 ]; then
		FLOOD_MAX_S=$((FLOOD_S + 24)) SERVED_PCT=60 CURL_S=10 RATE=(-i u1) NHP=2
	fi
	HP=()
	for ((i = 0; i < NHP; i++)); do
		timeout -s INT $((FLOOD_MAX_S + 2)) hping3 -q -S -p 80 "${RATE[@]}" --rand-source $ME \
			>"$UST_TMP/$T.hping$i" 2>&1 &
		HP+=($!)
	done
	t0=$SECONDS
	sleep 0.3
	tried=0 served=0
	while [ $tried -lt 500 ] && { [ $((SECONDS - t0)) -lt $FLOOD_S ] ||
		{ [ $served -lt 3 ] && [ $((SECONDS - t0)) -lt $FLOOD_MAX_S ]; }; }; do
		tried=$((tried + 1))
		r=$(timeout $((CURL_S + 2)) curl -s -m $CURL_S -o /dev/null -w '%{http_code} %{time_total}' "http://$ME/")
		echo "$r" >>"$UST_TMP/$T.curls"
		[ "${r%% *}" = 200 ] && served=$((served + 1))
	done
	kill -INT "${HP[@]}" 2>/dev/null
	wait "${HP[@]}"
	flood_s=$((SECONDS - t0))
	sample_stop
	sent=$(cat "$UST_TMP/$T".hping* | sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' | awk '{ n += $1 } END { print n }')
	note "$T: hping3 sent ${sent:-?} SYNs in ${flood_s} s; ustack took $(cnt Tcp InSegs) segments," \
		"sent $(cnt TcpExt SyncookiesSent) cookies, took $(cnt TcpExt SyncookiesRecv) back," \
		"dropped $(cnt TcpExt ListenDrops) SYNs, $(cnt Ip InAddrErrors) martian sources"
	# Where frames were lost: the device's TX queue (kernel to ustack, full
	# while hping3 outruns the stack) and the kernel's per-CPU backlog (ustack's
	# SYN-ACKs to the flood's sources; host-wide, so only indicative).
	note "$T: frames dropped at the TAP queue before ustack read them:" \
		"$(($(tap_tx_drops) - txd0)), kernel backlog drops (host-wide):" \
		"$(($(softnet_drops) - sn0))"
	note "$T: curl during the flood: $served of $tried served; seconds each:" \
		"$(awk '{ printf "%s%s", sep, $2; sep = " " }' "$UST_TMP/$T.curls")"
	expect_num "$T: the SYN flood filled the half-open queue (cookies sent)" "$(cnt TcpExt SyncookiesSent)" -gt 100
	expect_num "$T: curl kept being served during the flood (at least 3)" "$served" -ge 3
	# The kernel's queue on the device drops frames under the flood (curl's
	# too: it retransmits); a curl that fails to finish in CURL_S counts as lost.
	expect_num "$T: at least $SERVED_PCT% of the curls during the flood were served ($served of $tried)" \
		$((served * 100)) -ge $((tried * SERVED_PCT))
	expect_num "$T: curl connections completed through cookies" "$(cnt TcpExt SyncookiesRecv)" -ge 1
	mem_checks $T
	check "$T: curl after the flood" curl_ok
	ust_stop $T
fi

# ---- 2. half-open connections from spoofed sources ----------------------------
T=halfopen
N=$((3000 / SCALE))
if start $T --http 80; then
	sample_start $T
	timeout 60 "$UST_PY" - "$DEV" "$MAC" "$ME" "$N" <<'PY' >"$UST_TMP/$T.py" 2>&1
import sys
from scapy.all import Ether, IP, TCP, conf, get_if_hwaddr
conf.verb = 0
dev, mac, me, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
src = get_if_hwaddr(dev)
s = conf.L2socket(iface=dev)
# Off-subnet sources: the SYN-ACKs go to the kernel (the gateway), which
# drops them (not its address, no forwarding): nothing ever completes.
for i in range(n):
    f = Ether(src=src, dst=mac) / IP(src="172.16.%d.%d" % (i // 250, 1 + i % 250), dst=me) / \
        TCP(sport=1024 + i % 60000, dport=80, flags="S", seq=i * 7919)
    s.send(f)
s.close()
print("sent", n)
PY
	dump
	half=$(grep -c '^SYN-RECV ' <(awk '/^Buffers in use/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$UST_OUT"))
	ok_during=0
	for i in 1 2 3 4 5; do curl_ok && ok_during=$((ok_during + 1)); done
	sample_stop
	note "$T: $N SYNs from spoofed sources: $half connections half-open after them (at most half the table: $((MAXC / 2)))," \
		"$(cnt TcpExt SyncookiesSent) cookies sent, $(cnt TcpExt ListenDrops) dropped"
	expect_num "$T: half-open connections bounded by half the connection table" "$half" -le $((MAXC / 2))
	expect_num "$T: every SYN beyond the backlog answered by a cookie or dropped" \
		$(($(cnt TcpExt SyncookiesSent) + $(cnt TcpExt ListenDrops) + half)) -ge "$N"
	expect_num "$T: 5 curls right after the flood are all served" "$ok_during" -eq 5
	mem_checks $T
	ust_stop $T
fi

# ---- 3. idle established connections up to the connection limit ---------------
T=connlimit
if start $T --http 80; then
	sample_start $T
	timeout 60 "$UST_PY" - "$ME" $((MAXC + 50)) "$UST_TMP/$T.hold" <<'PY' >"$UST_TMP/$T.py" 2>&1 &
import os, select, socket, sys, time
me, n, hold = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((me, 80))
    socks.append(s)
# Wait up to 4 s for the handshakes; the ones beyond the limit never finish.
deadline = time.time() + 4
pending = set(socks)
up = set()
while pending and time.time() < deadline:
    _, w, _ = select.select([], list(pending), [], 0.2)
    for s in w:
        pending.discard(s)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            up.add(s)
# Past the limit ustack answers with a SYN cookie but resets the ACK (no
# slot for it): such a connection looks established here for a moment.
time.sleep(1)
alive = 0
for s in up:
    try:
        s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("handshakes", len(up), "alive", alive, "of", n, flush=True)
open(hold, "w").write("%d %d\n" % (alive, len(up)))
# Hold them idle until told to let go (the file disappears), then close all.
while os.path.exists(hold) and time.time() < deadline + 30:
    time.sleep(0.1)
for s in socks:
    s.close()
print("closed", flush=True)
PY
	PY=$!
	for ((i = 0; i < 100; i++)); do [ -s "$UST_TMP/$T.hold" ] && break; sleep 0.1; done
	up= shook=
	read -r up shook <"$UST_TMP/$T.hold"
	dump
	estab=$(cnt Tcp CurrEstab)
	full_curl=ok
	curl_ok || full_curl=refused
	note "$T: $((MAXC + 50)) connects at a limit of $MAXC: ${up:-?} established and alive (${shook:-?} handshakes," \
		"the rest reset), CurrEstab $estab," \
		"TCPConnLimit $(cnt TcpExt TCPConnLimit), a curl at the limit: $full_curl"
	expect_num "$T: connections up to the limit (the listener is one) are established" "${up:-0}" -eq $((MAXC - 1))
	expect_num "$T: ustack counts them established" "$estab" -eq $((MAXC - 1))
	expect_num "$T: the SYNs beyond the limit are counted" "$(cnt TcpExt TCPConnLimit)" -ge 50
	expect_eq "$T: a new connection at the limit is not served" "$full_curl" refused
	rm -f "$UST_TMP/$T.hold"
	wait $PY
	sleep 1
	check "$T: after the idle connections close, curl is served again (recovery)" curl_ok
	dump
	expect_num "$T: and no connection is left but the listener's and curl's closing ones" \
		"$(cnt Tcp CurrEstab)" -eq 0
	sample_stop
	mem_checks $T
	ust_stop $T
fi

# ---- 4. a flood of never-completed fragments -----------------------------------
T=fragflood
N=$((5000 / SCALE))
if start $T --udp-echo 7; then
	sample_start $T
	timeout 60 "$UST_PY" - "$DEV" "$MAC" "$HOST" "$ME" "$N" <<'PY' >"$UST_TMP/$T.py" 2>&1
import sys
from scapy.all import Ether, IP, Raw, conf, get_if_hwaddr
conf.verb = 0
dev, mac, host, me, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
src = get_if_hwaddr(dev)
s = conf.L2socket(iface=dev)
for i in range(n):
    s.send(Ether(src=src, dst=mac) / IP(src=host, dst=me, id=i, flags="MF", frag=0, proto=17) / Raw(b"f" * 1480))
s.close()
PY
	sleep 0.3
	dump
	held=$(sed -n 's/^Buffers in use: //p' "$UST_OUT" | tail -n 1)
	# The 32 datagrams still held are then completed (an 8-byte last
	# fragment each): reassembly lets go of every buffer.
	timeout 60 "$UST_PY" - "$DEV" "$MAC" "$HOST" "$ME" "$N" <<'PY' >>"$UST_TMP/$T.py" 2>&1
import sys
from scapy.all import Ether, IP, Raw, conf, get_if_hwaddr
conf.verb = 0
dev, mac, host, me, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
src = get_if_hwaddr(dev)
s = conf.L2socket(iface=dev)
for i in range(n - 32, n):
    s.send(Ether(src=src, dst=mac) / IP(src=host, dst=me, id=i, flags=0, frag=1480 // 8, proto=17) / Raw(b"f" * 8))
s.close()
PY
	sleep 0.3
	sample_stop
	note "$T: $N first fragments, never completed: $(cnt Ip ReasmReqds) taken, $(cnt Ip ReasmEvictions) evicted," \
		"$(cnt Ip ReasmFails) failed (table of 32 datagrams, 4 MiB)"
	expect_num "$T: every fragment reached reassembly" "$(cnt Ip ReasmReqds)" -eq $((N + 32))
	expect_num "$T: all but the 32 newest evicted" "$(cnt Ip ReasmEvictions)" -eq $((N - 32))
	expect_num "$T: buffers held by reassembly during the flood: one per datagram" "$held" -eq 32
	expect_num "$T: the 32 held datagrams complete" "$(cnt Ip ReasmOKs)" -eq 32
	expect_num "$T: and let go of their buffers" "$(sed -n 's/^Buffers in use: //p' "$UST_OUT" | tail -n 1)" -eq 0
	mem_checks $T
	ust_ping "$T: a fragmented ping afterwards" -c 3 -i 0.2 -W 3 -s 8000 $ME
	check "$T: UDP echo afterwards" ust_py echo $ME 7 3000
	ust_stop $T
fi

# ---- 5. an ARP flood -------------------------------------------------------------
T=arpflood
N=$((5000 / SCALE))
if start $T --udp-echo 7; then
	sample_start $T
	timeout 60 "$UST_PY" - "$DEV" "$ME" "$N" <<'PY' >"$UST_TMP/$T.py" 2>&1
import sys
from scapy.all import ARP, Ether, conf
conf.verb = 0
dev, me, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = conf.L2socket(iface=dev)
for i in range(n):
    m = "02:00:00:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255)
    s.send(Ether(src=m, dst="ff:ff:ff:ff:ff:ff") /
           ARP(op=1, hwsrc=m, psrc="10.213.%d.%d" % (10 + i // 250, 1 + i % 250), pdst=me))
s.close()
PY
	sleep 0.3
	sample_stop
	note "$T: $N ARP senders: $(cnt Arp InRequests) requests, $(cnt Arp OutReplies) replies," \
		"$(cnt Arp CacheEvictions) evictions (cache of 256)"
	expect_num "$T: every request for us was answered" "$(cnt Arp OutReplies)" -ge "$N"
	expect_num "$T: the cache evicted instead of growing" "$(cnt Arp CacheEvictions)" -ge $((N - 256))
	mem_checks $T
	ust_ping "$T: ping afterwards" -c 3 -i 0.2 -W 3 $ME
	ust_stop $T
fi

# ---- 6. a UDP flood into a receive queue nobody reads ------------------------------
T=udpflood
N=$((40000 / SCALE))
if start $T --udp-sink 9999 --udp-echo 7; then
	sample_start $T
	timeout 60 "$UST_PY" - "$ME" "$N" <<'PY' >"$UST_TMP/$T.py" 2>&1
import socket, sys
me, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = b"u" * 1000
sent = 0
for i in range(n):
    try:
        s.sendto(data, (me, 9999))
        sent += 1
    except OSError:
        pass
print("sent", sent)
PY
	sleep 0.3
	sample_stop
	sent=$(sed -n 's/^sent //p' "$UST_TMP/$T.py")
	nin=$(cnt Udp InDatagrams) drop=$(cnt Udp RcvbufErrors)
	note "$T: ${sent:-?} datagrams sent at the sink: $nin queued, $drop dropped at the full queue" \
		"(the rest lost before ustack: device queue)"
	expect_num "$T: the full queue dropped datagrams" "$drop" -gt 0
	expect_num "$T: queued + dropped never exceeds what was sent" $((nin + drop)) -le "${sent:-0}"
	check "$T: UDP echo on another port still works with the sink full" ust_py echo $ME 7 1000 5
	mem_checks $T
	ust_stop $T
fi

ust_finish
