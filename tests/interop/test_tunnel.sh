#!/usr/bin/env bash
# ustack tunnel: a server and three client network namespaces (created here
# with unshare, so they vanish with their holder processes on any exit path)
# joined to the server's namespace by veth pairs:
#
#   c1 vtnc1 10.210.1.2/24 --- vtns1 10.210.1.1/24 \
#   c2 vtnc2 10.210.2.2/24 --- vtns2 10.210.2.1/24  server, UDP port 51820
#   c3 vtnc3 10.210.3.2/24 --- vtns3 10.210.3.1/24 /
#
# Inside the tunnel (10.210.100.0/24 and fd10:210:100::/64): server ustnl0
# .1/::1, c1 ustnl1 .2/::2, c2 ustnl2 .3/::3, c3 (wrong key, then a hijack
# attempt, then over IPv6 outside: vtnc3 fd10:210:3::2 -- vtns3 ::1, with
# --no-offload) ustnl3. The server listens on [::]:51820 (both families).
#
# Checks: genkey (mode 0600, no overwrite), bad options exit 2, a key file
# readable by others is refused; each client pings the other through the
# server and the server's inner address; a full-MTU ping with DF; 50 MB of
# TCP c1 -> server -> c2 arrive intact (throughput printed); a captured
# datagram replayed, tampered copies and malformed datagrams are dropped and
# the named counters rise by exactly what was sent; a wrong key gives no
# connectivity and raises RxAuthFail; a client cannot take a live client's
# address; a killed client restarts and reconnects without a server
# restart; clients rejoin a restarted server; a frozen client's session
# expires and it rejoins when it thaws; clean exits (SIGTERM, SIGINT) remove
# the devices. IPv6 inside (pings, TCP checked by SHA-256) and outside (c3);
# the offloads are in use (super-frames cut, datagrams sent with GSO, joined
# again for the TUN device) and c3 runs without them; tshark finds nothing
# wrong in captures of c3's IPv6 outer datagrams and inner packets.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=tunnel
PORT=51820
MB=50
[ "${UST_SAN:-0}" = 1 ] && MB=10
NSPIDS=()
PIDS=()
tnl_cleanup() {
	local p
	for p in "${PIDS[@]}" "${NSPIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	ust_cleanup
}
trap tnl_cleanup EXIT

# mkns VAR: a fresh network namespace held by a sleeping process; VAR gets its pid.
mkns() {
	local pid i
	unshare -n sleep 200 &
	pid=$!
	NSPIDS+=("$pid")
	for ((i = 0; i < 50; i++)); do
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" != "$(readlink /proc/$$/ns/net)" ] && break
		sleep 0.05
	done
	nsenter -t "$pid" -n ip link set lo up
	printf -v "$1" '%s' "$pid"
}
inns() {
	local pid=$1
	shift
	nsenter -t "$pid" -n -- "$@"
}

# start NAME NSPID tunnel-args...: ustack tunnel in the background; sets PID_NAME.
start() {
	local name=$1 ns=$2
	shift 2
	nsenter -t "$ns" -n -- "$USTACK" tunnel "$@" >"$UST_TMP/$name.out" 2>"$UST_TMP/$name.err" &
	PIDS+=($!)
	printf -v "PID_$name" '%s' $!
}
# waitfor NAME PATTERN SECONDS: the pattern shows up in NAME's output.
waitfor() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE "$2" "$UST_TMP/$1.out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# snap NAME: SIGUSR1, wait for the new dump to be complete.
snap() {
	local f=$UST_TMP/$1.out pid=PID_$1 n i
	n=$(grep -cE '^(Peers|Session):' "$f")
	kill -USR1 "${!pid}"
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -cE '^(Peers|Session):' "$f")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
# cnt NAME COUNTER: the counter in NAME's last dump.
cnt() {
	awk -v n="$2" '/^Tunnel:$/ { g = 1; next } /^[A-Za-z]/ { g = 0 } g && $1 == n { v = $2 } END { print v }' \
		"$UST_TMP/$1.out"
}
# stop NAME [SIG]: the process exits 0 within 10 s and printed its counters.
stop() {
	local name=$1 sig=${2:-TERM} pid=PID_$1 i rc
	kill -"$sig" "${!pid}" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "${!pid}" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "${!pid}" 2>/dev/null && kill -KILL "${!pid}"
	{ wait "${!pid}"; } 2>/dev/null
	rc=$?
	if [ "$sig" = KILL ]; then
		return 0
	fi
	if [ $rc = 0 ] && grep -q '^ustack: stopping' "$UST_TMP/$name.out" && grep -q '^Tunnel:$' "$UST_TMP/$name.out"; then
		ok "$T: $name exits 0 on SIG$sig and prints its counters"
	else
		not_ok "$T: $name exit $rc on SIG$sig (or no counters)"
		diag "$UST_TMP/$name.err"
	fi
}
# nsping NSPID "<what>" ping-args...: every probe answered (as ust_ping, but
# in the given namespace).
nsping() {
	local ns=$1 what=$2 out sum tx rx
	shift 2
	out=$(timeout 30 nsenter -t "$ns" -n -- ping "$@" 2>&1)
	sum=$(printf '%s\n' "$out" | grep -E '[0-9]+ packets transmitted' | tail -n 1)
	tx=$(printf '%s\n' "$sum" | sed -nE 's/^([0-9]+) packets transmitted.*/\1/p')
	rx=$(printf '%s\n' "$sum" | sed -nE 's/.* ([0-9]+) received.*/\1/p')
	if [ -n "$tx" ] && [ "$tx" -gt 0 ] && [ "$tx" = "$rx" ] && [[ "$sum" == *" 0% packet loss"* ]] &&
		[[ "$sum" != *duplicates* ]] && [[ "$sum" != *errors* ]]; then
		ok "$T: $what: ping $* ($sum)"
	else
		not_ok "$T: $what: ping $* (${sum:-no summary line})"
		printf '%s\n' "$out" | tail -n 5 | diag
	fi
}
# noping NSPID "<what>" ping-args...: no probe answered.
noping() {
	local ns=$1 what=$2 out
	shift 2
	out=$(timeout 30 nsenter -t "$ns" -n -- ping "$@" 2>&1)
	if printf '%s\n' "$out" | grep -qE ' 0 received'; then
		ok "$T: $what: ping $* gets no answer"
	else
		not_ok "$T: $what: ping $* was answered"
		printf '%s\n' "$out" | tail -n 3 | diag
	fi
}
# gone NSPID DEV "<what>": the device no longer exists in that namespace.
gone() {
	local i
	for ((i = 0; i < 30; i++)); do
		inns "$1" ip link show dev "$2" >/dev/null 2>&1 || break
		sleep 0.1
	done
	if inns "$1" ip link show dev "$2" >/dev/null 2>&1; then
		not_ok "$T: $3: device $2 still exists"
	else
		ok "$T: $3: device $2 removed"
	fi
}

# ---- keys and command line ----
K=$UST_TMP/tnl.key
K2=$UST_TMP/wrong.key
check "$T: genkey writes a key (under umask 000)" bash -c 'umask 000; exec "$0" tunnel genkey "$1"' "$USTACK" "$K"
expect_eq "$T: the key file is mode 0600" "$(stat -c %a "$K")" 600
check "$T: the key file holds 64 hex digits" grep -qxE '[0-9a-f]{64}' "$K"
sum1=$(sha256sum <"$K")
"$USTACK" tunnel genkey "$K" 2>"$UST_TMP/genkey2.err"
rc=$?
if [ $rc = 1 ] && [ "$(sha256sum <"$K")" = "$sum1" ] && grep -q 'refusing to overwrite' "$UST_TMP/genkey2.err"; then
	ok "$T: genkey refuses to overwrite an existing key (exit 1): $(cat "$UST_TMP/genkey2.err")"
else
	not_ok "$T: genkey over an existing key: exit $rc"
	diag "$UST_TMP/genkey2.err"
fi
"$USTACK" tunnel genkey "$K2"
umask 022
cp "$K" "$UST_TMP/open.key"
chmod 644 "$UST_TMP/open.key"
printf 'not a key\n' >"$UST_TMP/bad.key"
chmod 600 "$UST_TMP/bad.key"

bad_option() {
	local out err rc
	out=$(timeout 10 "$USTACK" "$@" 2>"$UST_TMP/bad.err")
	rc=$?
	err=$(cat "$UST_TMP/bad.err")
	if [ $rc = 2 ] && [ -z "$out" ] && [ "$(wc -l <"$UST_TMP/bad.err")" = 1 ] && [[ "$err" == "ustack: "* ]]; then
		ok "$T: ustack $* exits 2: $err"
	else
		not_ok "$T: ustack $* (exit $rc, wanted 2 and one line on stderr)"
		printf 'stdout: %s\nstderr: %s\n' "$out" "$err" | diag
	fi
}
S_OK=(--listen 0.0.0.0:$PORT --tun ustnl9 --ip 10.210.100.1/24 --key "$K")
C_OK=(--server 10.210.1.1:$PORT --tun ustnl9 --ip 10.210.100.9/24 --key "$K")
bad_option tunnel
bad_option tunnel bogus
bad_option tunnel genkey
bad_option tunnel genkey "$UST_TMP/x.key" extra
bad_option tunnel server
bad_option tunnel server --tun ustnl9 --ip 10.210.100.1/24 --key "$K"
bad_option tunnel server --listen 10.210.1.1 --tun ustnl9 --ip 10.210.100.1/24 --key "$K"
bad_option tunnel server --listen 10.210.1.1:0 --tun ustnl9 --ip 10.210.100.1/24 --key "$K"
bad_option tunnel server --listen nowhere:$PORT --tun ustnl9 --ip 10.210.100.1/24 --key "$K"
bad_option tunnel server --listen 0.0.0.0:$PORT --ip 10.210.100.1/24 --key "$K"
bad_option tunnel server --listen 0.0.0.0:$PORT --tun ustnl9 --key "$K"
bad_option tunnel server --listen 0.0.0.0:$PORT --tun ustnl9 --ip 10.210.100.1/24
bad_option tunnel server --listen 0.0.0.0:$PORT --tun ustnl9 --ip 10.210.100.1 --key "$K"
bad_option tunnel server --listen 0.0.0.0:$PORT --tun ustnl90123456789 --ip 10.210.100.1/24 --key "$K"
bad_option tunnel server "${S_OK[@]}" --mtu 100
bad_option tunnel server "${S_OK[@]}" --mtu 1400x
bad_option tunnel server "${S_OK[@]}" --timeout 2
bad_option tunnel server "${S_OK[@]}" --keepalive 5
bad_option tunnel server "${S_OK[@]}" --server 10.210.1.1:$PORT
bad_option tunnel server "${S_OK[@]}" --frobnicate
bad_option tunnel server "${S_OK[@]}" extra-argument
bad_option tunnel server "${S_OK[@]}" --key
bad_option tunnel client --tun ustnl9 --ip 10.210.100.9/24 --key "$K"
bad_option tunnel client --server 0.0.0.0:$PORT --tun ustnl9 --ip 10.210.100.9/24 --key "$K"
bad_option tunnel client "${C_OK[@]}" --keepalive 0
bad_option tunnel client "${C_OK[@]}" --keepalive 40 --timeout 60
bad_option tunnel client "${C_OK[@]}" --listen 0.0.0.0:$PORT
bad_option tunnel client "${C_OK[@]}" --max-peers 3
bad_option tunnel client "${C_OK[@]}" --txqueuelen 2
bad_option tunnel client "${C_OK[@]}" --ip 10.210.100.8/24
bad_option tunnel client "${C_OK[@]}" --ip fd10::1/129
bad_option tunnel client "${C_OK[@]}" --ip fd10::1/64 --mtu 1000
bad_option tunnel client "${C_OK[@]}" --workers 0
bad_option tunnel client --server "[::]:$PORT" --tun ustnl9 --ip 10.210.100.9/24 --key "$K"
bad_option tunnel client --server "[fd10::1:$PORT" --tun ustnl9 --ip 10.210.100.9/24 --key "$K"
bad_option tunnel server --listen "[::]" --tun ustnl9 --ip 10.210.100.1/24 --key "$K"

# Run-time refusals: exit 1, a reason, no device.
runtime_fail() {
	local what=$1 pattern=$2 rc
	shift 2
	timeout 10 "$USTACK" "$@" >/dev/null 2>"$UST_TMP/rt.err"
	rc=$?
	if [ $rc = 1 ] && grep -qE "$pattern" "$UST_TMP/rt.err"; then
		ok "$T: $what: exit 1: $(head -n 1 "$UST_TMP/rt.err")"
	else
		not_ok "$T: $what: exit $rc"
		diag "$UST_TMP/rt.err"
	fi
}
runtime_fail "a key file readable by others is refused" "group or others" \
	tunnel server --listen 127.0.0.1:$PORT --tun ustnl9 --ip 10.210.100.1/24 --key "$UST_TMP/open.key"
runtime_fail "a key file without a key is refused" "does not hold a key" \
	tunnel server --listen 127.0.0.1:$PORT --tun ustnl9 --ip 10.210.100.1/24 --key "$UST_TMP/bad.key"
runtime_fail "a missing key file is refused" "cannot open the key file" \
	tunnel client --server 127.0.0.1:$PORT --tun ustnl9 --ip 10.210.100.1/24 --key "$UST_TMP/none.key"
check "$T: no bad invocation left a device behind" bash -c '! ip link show dev ustnl9 >/dev/null 2>&1'

# ---- namespaces ----
mkns S
mkns C1
mkns C2
mkns C3
for i in 1 2 3; do
	c=C$i
	ip link add vtns$i type veth peer name vtnc$i
	ip link set vtns$i netns "$S"
	ip link set vtnc$i netns "${!c}"
	inns "$S" ip addr add 10.210.$i.1/24 dev vtns$i
	inns "$S" ip link set vtns$i up
	inns "${!c}" ip addr add 10.210.$i.2/24 dev vtnc$i
	inns "${!c}" ip link set vtnc$i up
	inns "$S" ip addr add fd10:210:$i::1/64 dev vtns$i nodad
	inns "${!c}" ip addr add fd10:210:$i::2/64 dev vtnc$i nodad
done
check "$T: c1 reaches the server's outer address" inns "$C1" ping -c 1 -W 2 10.210.1.1

SRV_ARGS=(--listen "[::]:$PORT" --tun ustnl0 --ip 10.210.100.1/24 --ip fd10:210:100::1/64 --mtu 1428 --key "$K")
start srv "$S" server "${SRV_ARGS[@]}"
if waitfor srv 'listening on' 10; then
	ok "$T: server up: $(head -n 1 "$UST_TMP/srv.out")"
else
	not_ok "$T: server did not start"
	diag "$UST_TMP/srv.out" "$UST_TMP/srv.err"
	ust_finish
fi
C1_ARGS=(--server 10.210.1.1:$PORT --tun ustnl1 --ip 10.210.100.2/24 --ip fd10:210:100::2/64 --key "$K")
start c1 "$C1" client "${C1_ARGS[@]}" --txqueuelen 1000
# c2 idles with a short keepalive: it must find a restarted server by itself.
start c2 "$C2" client --server 10.210.2.1:$PORT --tun ustnl2 --ip 10.210.100.3/24 --ip fd10:210:100::3/64 --key "$K" --keepalive 3 --stats 2
for c in c1 c2; do
	if waitfor $c '^ustack: tunnel: connected' 10; then
		ok "$T: $c: $(grep -m 1 'connected' "$UST_TMP/$c.out")"
	else
		not_ok "$T: $c did not connect"
		diag "$UST_TMP/$c.out" "$UST_TMP/$c.err"
	fi
done
link=$(inns "$C1" ip -o link show dev ustnl1)
if [[ "$link" == *"mtu 1428 "* && "$link" == *UP* ]]; then
	ok "$T: c1's ustnl1 is up with MTU 1428 (1500 - 28 outer - 44 tunnel)"
else
	not_ok "$T: c1's ustnl1: $link"
fi
expect_eq "$T: c1's ustnl1 has --txqueuelen 1000" "$(inns "$C1" ip -o link show dev ustnl1 | grep -o "qlen [0-9]*")" "qlen 1000"
check "$T: c1's ustnl1 has 10.210.100.2/24" bash -c "nsenter -t $C1 -n ip -o -4 addr show dev ustnl1 | grep -q ' 10.210.100.2/24 '"
check "$T: c1's ustnl1 has fd10:210:100::2/64" bash -c "nsenter -t $C1 -n ip -o -6 addr show dev ustnl1 | grep -q ' fd10:210:100::2/64 '"


nsping "$C1" "c1 -> c2 through the server" -c 3 -i 0.2 -W 2 10.210.100.3
nsping "$C2" "c2 -> c1 through the server" -c 3 -i 0.2 -W 2 10.210.100.2
nsping "$C1" "c1 -> the server's inner address" -c 3 -i 0.2 -W 2 10.210.100.1
nsping "$C2" "c2 -> the server's inner address" -c 3 -i 0.2 -W 2 10.210.100.1
nsping "$S" "server -> c1's inner address" -c 3 -i 0.2 -W 2 10.210.100.2
nsping "$C1" "IPv6 inside: c1 -> c2 through the server" -6 -c 3 -i 0.2 -W 2 fd10:210:100::3
nsping "$C1" "IPv6 inside: c1 -> the server's inner address" -6 -c 3 -i 0.2 -W 2 fd10:210:100::1
nsping "$S" "IPv6 inside: server -> c2" -6 -c 3 -i 0.2 -W 2 fd10:210:100::3
nsping "$C2" "IPv6 inside: c2 -> c1, full-MTU packets (1428 bytes)" -6 -c 3 -i 0.2 -W 2 -M do -s 1380 fd10:210:100::2
nsping "$C1" "c1 -> c2, full-MTU packets (1428 bytes) with DF" -c 3 -i 0.2 -W 2 -M do -s 1400 10.210.100.3
noping "$C1" "c1 -> c2, a packet over the MTU with DF is not sent" -c 1 -W 1 -M do -s 1401 10.210.100.3
snap srv
nr0=$(cnt srv NoRoute)
noping "$C1" "c1 -> an inner address no client holds" -c 2 -i 0.2 -W 1 10.210.100.77
noping "$C1" "c1 -> an inner IPv6 address no client holds" -6 -c 2 -i 0.2 -W 1 fd10:210:100::77
snap srv
expect_eq "$T: the server dropped all four (NoRoute), never broadcast them" "$(($(cnt srv NoRoute) - nr0))" 4

# ---- bulk TCP c1 -> server -> c2 ----
# bulk FROM-NS TO-NS DST MB "<what>": MB of random bytes over TCP, checked by SHA-256.
bulk() {
	local from=$1 to=$2 dst=$3 mb=$4 what=$5 lpid src lrc t0 t1 i
	head -c "${mb}M" /dev/urandom >"$UST_TMP/send.bin"
	rm -f "$UST_TMP/recv.bin"
	inns "$to" timeout 60 socat -u TCP6-LISTEN:5001,reuseaddr,ipv6only=0 OPEN:"$UST_TMP/recv.bin",creat,trunc &
	PIDS+=($!)
	lpid=$!
	for ((i = 0; i < 50; i++)); do
		inns "$to" ss -ltn | grep -q ':5001 ' && break
		sleep 0.1
	done
	t0=$(date +%s.%N)
	inns "$from" timeout 60 socat -u OPEN:"$UST_TMP/send.bin" "TCP:$dst:5001"
	src=$?
	wait "$lpid"
	lrc=$?
	t1=$(date +%s.%N)
	if [ $src = 0 ] && [ $lrc = 0 ] && [ "$(sha256sum <"$UST_TMP/send.bin")" = "$(sha256sum <"$UST_TMP/recv.bin")" ]; then
		ok "$T: $mb MB over TCP $what arrive intact (sha256)"
		note "throughput: $(awk -v a="$t0" -v b="$t1" -v m="$mb" 'BEGIN { printf "%.1f MB/s (%d MB in %.2f s)", m / (b - a), m, b - a }'), $what"
	else
		not_ok "$T: $mb MB over TCP $what (sender exit $src, receiver exit $lrc, $(stat -c %s "$UST_TMP/recv.bin" 2>/dev/null) bytes arrived)"
	fi
	rm -f "$UST_TMP/send.bin" "$UST_TMP/recv.bin"
}
bulk "$C1" "$C2" 10.210.100.3 $MB "c1 -> server -> c2"
bulk "$C2" "$C1" "[fd10:210:100::2]" $((MB / 5)) "over IPv6 inside, c2 -> server -> c1"
# The offloads were in use: super-frames read and cut, datagrams sent in
# GSO batches and received in GRO batches, segments joined for the TUN device.
snap c1
snap c2
expect_num "$T: offloads: c1 cut TCP super-frames (TunReadPackets > 2 x TunReadFrames)" \
	"$(cnt c1 TunReadPackets)" -gt "$((2 * $(cnt c1 TunReadFrames)))"
expect_num "$T: offloads: c1 sent datagrams in GSO batches (TxDatagrams > 2 x TxCalls)" \
	"$(cnt c1 TxDatagrams)" -gt "$((2 * $(cnt c1 TxCalls)))"
expect_num "$T: offloads: c2 joined segments for its TUN device (TunWritePackets > 2 x TunWriteFrames)" \
	"$(cnt c2 TunWritePackets)" -gt "$((2 * $(cnt c2 TunWriteFrames)))"
expect_num "$T: offloads: c2 received datagrams in batches (RxDatagrams > 2 x RxCalls)" \
	"$(cnt c2 RxDatagrams)" -gt "$((2 * $(cnt c2 RxCalls)))"
snap srv
expect_num "$T: the server forwarded client-to-client packets" "$(cnt srv Forwarded)" -gt 1000

# ---- replayed, tampered, malformed and random datagrams ----
# tnlpkt.py MODE: in the server's namespace, captures a real tunnel datagram
# on vtns1 and sends it again (replays), with one bit flipped (tampered) and
# cut or with a bad version (malformed); "server" mode sends to the server's
# port, plus random datagrams (some with a plausible header); "client" mode
# replays a server-to-c1 frame on the wire towards c1. Prints the counter
# rises the receiver must show: "RxReplay=N RxAuthFail=N RxMalformed=N".
cat >"$UST_TMP/tnlpkt.py" <<'PY'
import os, random, socket, struct, sys, time
mode, iface, port, nrep, ntamp, nrand = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
# ETH_P_ALL: sockets bound to one protocol do not see outgoing frames
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((iface, 0))
s.settimeout(0.5)
want_src, want_type = ("10.210.1.2", 0x02) if mode == "server" else ("10.210.1.1", 0x83)
deadline = time.time() + 8
frame = None
while frame is None and time.time() < deadline:
    try:
        fr, addr = s.recvfrom(65536)
    except socket.timeout:
        continue
    ip = fr[14:]
    if fr[12:14] != b"\x08\x00" or len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17 or socket.inet_ntoa(ip[12:16]) != want_src:
        continue
    ihl = (ip[0] & 15) * 4
    sport, dport, ulen = struct.unpack('!HHH', ip[ihl:ihl + 6])
    data = ip[ihl + 8:ihl + ulen]
    if port in (sport, dport) and len(data) >= 44 and data[0] == want_type:
        frame, pl = fr, data
if frame is None:
    sys.exit("no datagram of type %#x from %s seen on %s" % (want_type, want_src, iface))
time.sleep(0.3)   # the receiver has taken the original by now
tampered = []
for i in range(ntamp):   # a bit flipped in the tag, in the ciphertext, in the header's counter
    b = bytearray(pl)
    b[[len(b) - 1, 30, 27][i % 3]] ^= 1 << (i % 8)
    tampered.append(bytes(b))
malformed = [pl[:3], bytes([pl[0], 9]) + pl[2:]]   # too short; unknown version
exp = {"RxReplay": nrep, "RxAuthFail": ntamp, "RxMalformed": len(malformed)}
if mode == "server":
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    send = lambda p: u.sendto(p, ('127.0.0.1', port))
    rnd = random.Random(int.from_bytes(os.urandom(8), "big"))
    for i in range(nrand):
        b = bytearray(rnd.randbytes(rnd.choice([0, 1, 27, 28, 43, 44, 45, 100, rnd.randrange(200)])))
        if rnd.random() < 0.6 and len(b) >= 28:
            b[0] = rnd.choice([1, 2, 3, 0x83])
            b[1:4] = b"\x02\x00\x00"
            if rnd.random() < 0.1:
                b[20:28] = bytes(8)
        ctr = int.from_bytes(b[20:28], "big") if len(b) >= 28 else 0
        bad = len(b) < 44 or b[1] != 2 or b[2] or b[3] or ctr == 0 or b[0] not in (1, 2, 3)
        exp["RxMalformed" if bad else "RxAuthFail"] += 1
        malformed.append(bytes(b))   # (sent below, whatever its kind)
else:
    ihl = (frame[14] & 15) * 4
    def csum(h):
        t = sum(struct.unpack('!%dH' % (len(h) // 2), h))
        t = (t & 0xffff) + (t >> 16)
        return ~((t & 0xffff) + (t >> 16)) & 0xffff
    def with_payload(p):
        iph = bytearray(frame[14:14 + ihl])
        iph[2:4] = struct.pack('!H', ihl + 8 + len(p))
        iph[10:12] = b"\x00\x00"
        iph[10:12] = struct.pack('!H', csum(bytes(iph)))
        udp = bytearray(frame[14 + ihl:14 + ihl + 8])
        udp[4:6] = struct.pack('!H', 8 + len(p))
        udp[6:8] = b"\x00\x00"   # no checksum: the captured one may be a partial (offloaded) sum
        return frame[:14] + bytes(iph) + bytes(udp) + p
    send = lambda p: s.send(with_payload(p))
for i in range(nrep):
    send(pl)
for p in tampered + malformed:
    send(p)
time.sleep(0.3)
print(" ".join("%s=%d" % kv for kv in exp.items()))
print("captured a %d-byte datagram of type %#x; sent %d replays, %d tampered copies and %d other datagrams" % (
    len(pl), want_type, nrep, ntamp, len(malformed)), file=sys.stderr)
PY
# inject NAME MODE NRANDOM: runs tnlpkt.py while c1 pings the server, then
# checks that NAME's counters rose by exactly what was sent.
inject() {
	local name=$1 mode=$2 nrand=$3 before=() exp ppid out kv k v
	snap "$name"
	inns "$C1" ping -c 30 -i 0.1 -W 1 10.210.100.1 >/dev/null 2>&1 &
	PIDS+=($!)
	ppid=$!
	for k in RxReplay RxAuthFail RxMalformed; do before+=("$(cnt "$name" $k)"); done
	exp=$(inns "$S" timeout 20 "$UST_PY" "$UST_TMP/tnlpkt.py" "$mode" vtns1 $PORT 4 3 "$nrand" 2>"$UST_TMP/tnlpkt.err")
	if [ $? = 0 ]; then
		ok "$T: to $name: $(cat "$UST_TMP/tnlpkt.err")"
	else
		not_ok "$T: to $name: capture and resend failed"
		diag "$UST_TMP/tnlpkt.err"
	fi
	snap "$name"
	local i=0
	for k in RxReplay RxAuthFail RxMalformed; do
		v=$(printf '%s\n' "$exp" | tr ' ' '\n' | sed -n "s/^$k=//p")
		expect_eq "$T: $name's $k rose by exactly the ${v:-?} sent" "$(($(cnt "$name" $k) - ${before[$i]}))" "${v:-?}"
		i=$((i + 1))
	done
	wait "$ppid"
}
inject srv server 300
inject c1 client 0
nsping "$C1" "c1 -> c2 still works after all that (no roaming to the replayer)" -c 2 -i 0.2 -W 2 10.210.100.3

# ---- a client with the wrong key ----
auth0=$(cnt srv RxAuthFail)
start c3 "$C3" client --server 10.210.3.1:$PORT --tun ustnl3 --ip 10.210.100.4/24 --key "$K2"
sleep 1
noping "$C3" "wrong key: c3 -> server" -c 2 -i 0.3 -W 1 10.210.100.1
snap srv
expect_num "$T: wrong key: the server's RxAuthFail rose" "$(($(cnt srv RxAuthFail) - auth0))" -ge 2
if grep -q 'connected' "$UST_TMP/c3.out"; then
	not_ok "$T: wrong key: c3 says it connected"
else
	ok "$T: wrong key: c3 never connects"
fi
stop c3
gone "$C3" ustnl3 "c3 (wrong key) stopped"

# ---- a client claiming a live client's address ----
conf0=$(cnt srv AddrConflicts)
mv "$UST_TMP/c3.out" "$UST_TMP/c3-wrongkey.out"
start c3 "$C3" client --server 10.210.3.1:$PORT --tun ustnl3 --ip 10.210.100.3/24 --key "$K"
if waitfor c3 'refused 10.210.100.3: address in use' 10; then
	ok "$T: hijack: $(grep -m 1 'refused' "$UST_TMP/c3.out")"
else
	not_ok "$T: hijack: c3 was not refused c2's address"
	diag "$UST_TMP/c3.out"
fi
snap srv
expect_num "$T: hijack: the server's AddrConflicts rose" "$(($(cnt srv AddrConflicts) - conf0))" -ge 1
nsping "$C1" "hijack: c1 -> c2 still reaches c2" -c 2 -i 0.2 -W 2 10.210.100.3
if grep -q 'connected' "$UST_TMP/c3.out"; then
	not_ok "$T: hijack: c3 says it connected"
else
	ok "$T: hijack: c3 never connects"
fi
stop c3

# ---- c3 over an IPv6 outer path, without offloads ----
# The veths do no checksum or segmentation offload here, so the captured
# outer datagrams are what a wire would carry (the server still sends with
# UDP GSO: the kernel cuts in software); c3's TUN device carries plain
# packets, so its capture holds finished inner checksums.
inns "$S" ethtool -K vtns3 tx off >/dev/null 2>&1
inns "$C3" ethtool -K vtnc3 tx off >/dev/null 2>&1
mv "$UST_TMP/c3.out" "$UST_TMP/c3-hijack.out"
start c3 "$C3" client --server "[fd10:210:3::1]:$PORT" --tun ustnl3 --ip 10.210.100.4/24 --ip fd10:210:100::4/64 \
	--key "$K" --no-offload --workers 1
if waitfor c3 '^ustack: tunnel: connected' 10; then
	ok "$T: IPv6 outside: c3 $(grep -m 1 'connected' "$UST_TMP/c3.out" | sed 's/^ustack: tunnel: //')"
else
	not_ok "$T: IPv6 outside: c3 did not connect"
	diag "$UST_TMP/c3.out" "$UST_TMP/c3.err"
fi
expect_eq "$T: IPv6 outside: c3's MTU defaults to 1408 (1500 - 48 outer - 44 tunnel)" \
	"$(inns "$C3" ip -o link show dev ustnl3 | grep -o 'mtu [0-9]*')" "mtu 1408"
nsenter -t "$S" -n -- dumpcap -q -i vtns3 -f "udp port $PORT" -w "$UST_TMP/outer6.pcap" >/dev/null 2>&1 &
PIDS+=($!)
cap1=$!
nsenter -t "$C3" -n -- dumpcap -q -i ustnl3 -w "$UST_TMP/inner3.pcap" >/dev/null 2>&1 &
PIDS+=($!)
cap2=$!
sleep 1
nsping "$C3" "IPv6 outside: c3 -> c1" -c 3 -i 0.2 -W 2 10.210.100.2
nsping "$C3" "IPv6 outside and inside: c3 -> c2" -6 -c 3 -i 0.2 -W 2 fd10:210:100::3
nsping "$C3" "IPv6 outside and inside: c3 -> the server" -6 -c 3 -i 0.2 -W 2 -s 1300 fd10:210:100::1
bulk "$C3" "$C1" "[fd10:210:100::2]" 2 "IPv6 inside and (c3's side) outside, offloads off on c3, c3 -> server -> c1"
bulk "$C1" "$C3" 10.210.100.4 2 "c1 -> server -> c3 (IPv6 outside, no offloads)"
sleep 0.5
kill -INT "$cap1" "$cap2" 2>/dev/null
wait "$cap1" "$cap2" 2>/dev/null
ust_pcap "$T: IPv6 outer datagrams on vtns3" "$UST_TMP/outer6.pcap"
expect_eq "$T: the outer capture is UDP over IPv6 only" \
	"$(tshark -n -r "$UST_TMP/outer6.pcap" -Y 'ip' -T fields -e frame.number 2>/dev/null | wc -l)" 0
ust_pcap "$T: inner packets on c3's ustnl3 (IPv4 and IPv6)" "$UST_TMP/inner3.pcap"
expect_num "$T: the inner capture holds IPv6 TCP" \
	"$(tshark -n -r "$UST_TMP/inner3.pcap" -Y 'ipv6 && tcp' -T fields -e frame.number 2>/dev/null | wc -l)" -gt 1000
snap c3
expect_eq "$T: c3 without offloads reads one packet per frame" "$(cnt c3 TunReadPackets)" "$(cnt c3 TunReadFrames)"
expect_eq "$T: c3 without offloads writes one packet per frame" "$(cnt c3 TunWritePackets)" "$(cnt c3 TunWriteFrames)"
snap srv
if grep -q 'fd10:210:3::2' "$UST_TMP/srv.out"; then
	ok "$T: the server lists c3 at its IPv6 endpoint: $(grep -m 1 'fd10:210:3::2' "$UST_TMP/srv.out" | sed 's/  */ /g')"
else
	not_ok "$T: the server does not list c3's IPv6 endpoint"
fi
stop c3
gone "$C3" ustnl3 "c3 (IPv6 outside) stopped"

# ---- c1 killed and restarted ----
snap srv
ev0=$(cnt srv PeersEvicted)
stop c1 KILL
gone "$C1" ustnl1 "c1 killed"
mv "$UST_TMP/c1.out" "$UST_TMP/c1-first.out"
t0=$(date +%s.%N)
start c1 "$C1" client --server 10.210.1.1:$PORT --tun ustnl1 --ip 10.210.100.2/24 --key "$K"
if waitfor c1 '^ustack: tunnel: connected' 15; then
	ok "$T: restarted c1 reconnected in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s, the server still running"
else
	not_ok "$T: restarted c1 did not reconnect"
	diag "$UST_TMP/c1.out"
fi
nsping "$C1" "restarted c1 -> c2" -c 3 -i 0.2 -W 2 10.210.100.3
nsping "$C1" "restarted c1 -> server" -c 3 -i 0.2 -W 2 10.210.100.1
snap srv
expect_eq "$T: the killed c1's session was evicted (PeersEvicted)" "$(($(cnt srv PeersEvicted) - ev0))" 1

# ---- the server restarted ----
stop srv
gone "$S" ustnl0 "server stopped for a restart"
mv "$UST_TMP/srv.out" "$UST_TMP/srv-first.out"
start srv "$S" server "${SRV_ARGS[@]}"
waitfor srv 'listening on' 10 || not_ok "$T: the server did not restart"
t0=$(date +%s.%N)
for ((i = 0; i < 20; i++)); do
	inns "$C1" ping -c 1 -W 1 10.210.100.1 >/dev/null 2>&1 && break
done
if waitfor c1 '^ustack: tunnel: reconnected' 1; then
	ok "$T: server restarted: c1 rejoined on its own traffic in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
else
	not_ok "$T: server restarted: c1 did not rejoin"
	diag "$UST_TMP/c1.out"
fi
if waitfor c2 '^ustack: tunnel: reconnected' 8; then
	ok "$T: server restarted: idle c2 rejoined through its keepalive"
else
	not_ok "$T: server restarted: c2 did not rejoin"
	diag "$UST_TMP/c2.out"
fi
nsping "$C1" "after the server's restart: c1 -> c2" -c 3 -i 0.2 -W 2 10.210.100.3

# ---- clean exits ----
cl0=$(cnt srv PeersClosed)
stop c1
gone "$C1" ustnl1 "c1 stopped"
for ((i = 0; i < 20; i++)); do
	snap srv
	[ "$(($(cnt srv PeersClosed) - cl0))" = 1 ] && break
	sleep 0.1
done
expect_eq "$T: c1's BYE closed its session on the server (PeersClosed)" "$(($(cnt srv PeersClosed) - cl0))" 1
stop c2
gone "$C2" ustnl2 "c2 stopped"
expect_num "$T: c2 printed its counters every 2 s (--stats 2)" "$(grep -c '^Tunnel:$' "$UST_TMP/c2.out")" -ge 6
stop srv
gone "$S" ustnl0 "server stopped"

# ---- expiry: a frozen client is dropped, and rejoins when it thaws ----
mv "$UST_TMP/srv.out" "$UST_TMP/srv-second.out"
mv "$UST_TMP/c1.out" "$UST_TMP/c1-second.out"
start srv "$S" server --listen 0.0.0.0:$PORT --tun ustnl0 --ip 10.210.100.1/24 --key "$K" --timeout 3
waitfor srv 'listening on' 10 || not_ok "$T: the server (--timeout 3) did not start"
start c1 "$C1" client --server 10.210.1.1:$PORT --tun ustnl1 --ip 10.210.100.2/24 --key "$K" --timeout 3
waitfor c1 '^ustack: tunnel: connected' 10 || not_ok "$T: c1 (--timeout 3) did not connect"
nsping "$C1" "c1 with --timeout 3 (keepalive 1 s) -> server" -c 3 -i 0.2 -W 2 10.210.100.1
sleep 3.5
if grep -q 'expired' "$UST_TMP/srv.out"; then
	not_ok "$T: expiry: the server expired c1 although it kept alive"
else
	ok "$T: expiry: c1's 1-second keepalives keep its session past the 3 s timeout"
fi
kill -STOP "$PID_c1"
if waitfor srv 'peer 10.210.100.2 .* expired' 6; then
	ok "$T: expiry: $(grep -m 1 expired "$UST_TMP/srv.out")"
else
	not_ok "$T: expiry: the server did not expire the frozen c1"
fi
kill -CONT "$PID_c1"
t0=$(date +%s.%N)
if waitfor c1 '^ustack: tunnel: reconnected' 10; then
	ok "$T: expiry: thawed c1 noticed ($(grep -m 1 'nothing from' "$UST_TMP/c1.out" | sed 's/^ustack: tunnel: //')) and rejoined in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
else
	not_ok "$T: expiry: thawed c1 did not rejoin"
	diag "$UST_TMP/c1.out"
fi
nsping "$C1" "expiry: rejoined c1 -> server" -c 3 -i 0.2 -W 2 10.210.100.1
snap srv
expect_eq "$T: expiry: PeersExpired" "$(cnt srv PeersExpired)" 1
snap c1
expect_eq "$T: expiry: c1's ServerLost" "$(cnt c1 ServerLost)" 1
stop c1 INT
gone "$C1" ustnl1 "c1 stopped with SIGINT"
stop srv INT
gone "$S" ustnl0 "server stopped with SIGINT"
note "server counters at exit: $(sed -n '/^ustack: stopping/,$p' "$UST_TMP/srv-second.out" | awk '/^Tunnel:$/ { g = 1; next } /^[A-Za-z]/ { g = 0 } g && $2 != 0 { printf "%s=%s ", $1, $2 }')"
if grep -lE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$UST_TMP"/*.err >/dev/null 2>&1; then
	not_ok "$T: sanitizer report on stderr"
	diag "$(grep -lE 'Sanitizer|runtime error:' "$UST_TMP"/*.err | head -n 1)"
else
	ok "$T: no sanitizer report from any ustack"
fi
ust_finish
