#!/usr/bin/env bash
# `ustack relay` at scale: N concurrent TCP flows and N UDP mappings through
# one relay (N = 10,000; 2,000 in the sanitizer build), within
# --max-memory, in namespaces this script creates:
#
#   $NSP-host: `ustack relay --direct` (its TUN device moved into the client
#              namespace, so its upstream sockets need no policy routing) and
#              the servers: TCP that echoes and holds every connection, UDP
#              echo
#   $NSP-cli:  the client (one Python process holding every socket), its
#              default route into the TUN device
#
# Each flow and each mapping holds a kernel socket in the relay, so both
# at once need 2N descriptors: where the hard RLIMIT_NOFILE allows that
# (and root may raise it), the UDP mappings join the held TCP flows; else
# (a hard limit of 20,000 without CAP_SYS_RESOURCE, as on the CI machine)
# the TCP flows are closed first and the script says so.
#
# Checks: every flow and mapping is held (the relay's own listing) and
# carries data both ways; the memory the relay accounts (the stack's
# buffers and its own state) stays within the budget, and its peak RSS too
# (normal build); the flows go away when the client closes, the mappings
# when they time out, and the memory with them. Notes the cost of an idle
# TCP flow and the new flows per second.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=relay-scale
SAN=${UST_SAN:-0}
NSP=${UST_RELAY_NS:-ust-rlys-$$}   # (the PID: see test_relay.sh)
H=$NSP-host C=$NSP-cli
BUDGET_MB=${UST_RELAY_SCALE_MB:-256}
if [ "$SAN" = 1 ]; then N=2000; else N=10000; fi
N=${UST_RELAY_SCALE_N:-$N}
HOST_IP=10.212.9.1

stale_ns ust-rlys

ust_ns_add "$H" "$C"
# The host's address, on a veth pair of its own (nothing is sent on it).
ip -n "$H" link add vrsc0 type veth peer name vrsc1
ip -n "$H" addr add $HOST_IP/24 dev vrsc0
ip -n "$H" link set vrsc0 up
ip -n "$H" link set vrsc1 up
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=1048576
WANT=$((2 * N + 512))
[ "$HARD" -lt "$WANT" ] && ulimit -Hn "$WANT" 2>/dev/null && HARD=$WANT
ulimit -n "$HARD"
if [ "$HARD" -ge "$WANT" ]; then
	TOGETHER=1
	note "$T: descriptor limit $HARD: the UDP mappings are held beside the TCP flows"
else
	TOGETHER=0
	note "$T: descriptor limit $HARD (hard, not raisable here) < $WANT: the TCP flows are closed before the UDP mappings open"
fi
[ "$HARD" -ge $((N + 256)) ] || { not_ok "$T: descriptor limit $HARD is below $((N + 256))"; ust_finish; }

cat >"$UST_TMP/srv.py" <<'PY'
import selectors, socket, sys
host = sys.argv[1]
sel = selectors.DefaultSelector()
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind((host, 9000))
lst.listen(4096)
lst.setblocking(False)
sel.register(lst, selectors.EVENT_READ, "accept")
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
udp.bind((host, 9001))
udp.setblocking(False)
sel.register(udp, selectors.EVENT_READ, "udp")
print("up", flush=True)
while True:
    for key, _ in sel.select():
        if key.data == "accept":
            for _ in range(256):
                try:
                    c, _ = lst.accept()
                except BlockingIOError:
                    break
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "conn")
        elif key.data == "udp":
            for _ in range(256):
                try:
                    d, peer = udp.recvfrom(2048)
                except BlockingIOError:
                    break
                udp.sendto(d, peer)
        else:
            c = key.fileobj
            try:
                d = c.recv(4096)
            except OSError:
                d = b""
            if d:
                c.send(d)
            else:
                sel.unregister(c)
                c.close()
PY

cat >"$UST_TMP/cli.py" <<'PY'
# cli.py tcp|udp HOST N DIR: N TCP connections (at most 64 connecting at
# once) with a byte each way on each, or N UDP sockets with a datagram each
# way on each; then holds them until DIR/close-tcp (or close-udp) exists.
import os, selectors, socket, sys, time
mode, host, n, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def wait_file(name, secs):
    end = time.time() + secs
    while not os.path.exists(os.path.join(d, name)):
        if time.time() > end:
            sys.exit("no %s within %d s" % (name, secs))
        time.sleep(0.05)
sel = selectors.DefaultSelector()
socks = []
if mode == "tcp":
    pending, failed, i = {}, 0, 0
    t0 = time.time()
    while len(socks) + failed < n:
        while i < n and len(pending) < 64:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((host, 9000))
            pending[s] = time.time()
            sel.register(s, selectors.EVENT_WRITE)
            i += 1
        for key, _ in sel.select(1.0):
            s = key.fileobj
            sel.unregister(s)
            del pending[s]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                failed += 1
                s.close()
            else:
                socks.append(s)
        for s, t in list(pending.items()):
            if time.time() - t > 15:
                sel.unregister(s)
                del pending[s]
                failed += 1
                s.close()
    dt = time.time() - t0
    print("tcp %d connected %d failed in %.2f s: %.0f new flows/s" % (len(socks), failed, dt, len(socks) / dt),
          flush=True)
    good = 0
    for s in socks:
        s.send(b"x")
        sel.register(s, selectors.EVENT_READ)
    end, left = time.time() + 30, len(socks)
    while left and time.time() < end:
        for key, _ in sel.select(1.0):
            s = key.fileobj
            if s.recv(16) == b"x":
                good += 1
            sel.unregister(s)
            left -= 1
    print("tcp %d echoed" % good, flush=True)
else:
    # In rounds of 256 new sockets, each round's echoes awaited (up to 1 s)
    # before the next, as a client opening flows would; then whatever was
    # lost is sent again. A last pass refreshes every mapping just before
    # the shell counts them (DIR/refresh-udp), so none has timed out.
    def echo_round(ks, secs):
        for k in ks:
            try:
                socks[k].sendto(b"u%d" % k, (host, 9001))
            except BlockingIOError:
                pass
        end, left = time.time() + secs, set(ks)
        while left and time.time() < end:
            for key, _ in sel.select(0.1):
                k = key.data
                try:
                    if socks[k].recv(64) == b"u%d" % k:
                        left.discard(k)
                except BlockingIOError:
                    pass
        return left
    t0 = time.time()
    lost = set()
    for base in range(0, n, 256):
        ks = range(base, min(n, base + 256))
        for k in ks:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.setblocking(False)
            socks.append(u)
            sel.register(u, selectors.EVENT_READ, k)
        lost |= echo_round(ks, 1.0)
    resent = len(lost)
    for attempt in range(3):
        if lost:
            lost = echo_round(sorted(lost), 1.0)
    dt = time.time() - t0
    print("udp %d echoed in %.2f s: %.0f new mappings/s (%d sent again)" % (n - len(lost), dt, n / dt, resent),
          flush=True)
    wait_file("refresh-udp", 120)
    left = set()
    for base in range(0, n, 256):   # bursts within the TUN queue (500)
        left |= echo_round(range(base, min(n, base + 256)), 1.0)
    print("refreshed %d" % (n - len(left)), flush=True)
wait_file("close-" + mode, 120)
for s in socks:
    s.close()
print("closed", flush=True)
PY

ip netns exec "$H" "$UST_PY" "$UST_TMP/srv.py" $HOST_IP >"$UST_TMP/srv.out" 2>&1 &
for ((i = 0; i < 50; i++)); do grep -qs up "$UST_TMP/srv.out" && break; sleep 0.1; done
check "$T: the servers are up" grep -q up "$UST_TMP/srv.out"

ROUT=$UST_TMP/relay.out RERR=$UST_TMP/relay.err
ip netns exec "$H" "$USTACK" relay --tun usrlys0 --ip 10.212.2.1/24 --direct --max-memory ${BUDGET_MB}M \
	--udp-timeout 5 >"$ROUT" 2>"$RERR" &
RPID=$!
UST_PID=$RPID
for ((i = 0; i < 150; i++)); do grep -qs ready "$ROUT" && break; kill -0 $RPID 2>/dev/null || break; sleep 0.1; done
if ! grep -q ready "$ROUT"; then
	not_ok "$T: the relay did not get ready"
	diag "$ROUT" "$RERR"
	ust_finish
fi
ip -n "$H" link set usrlys0 netns "$C"
ip -n "$C" addr add 10.212.2.2/24 dev usrlys0
ip -n "$C" link set usrlys0 up
ip -n "$C" route add default dev usrlys0
ok "$T: relay ready within --max-memory ${BUDGET_MB}M, its TUN device in the client namespace"

rss_kb() { awk "/^$1:/ { print \$2 }" /proc/$RPID/status; }
report() { kill -USR1 $RPID; sleep 0.5; }
last() { grep "$1" "$ROUT" | tail -n 1; }
memf() { last '^relay.mem ' | sed -n "s/.* $1 \([0-9]*\).*/\1/p"; }
RSS0=$(rss_kb VmRSS)
report
TCP0=$(memf tcp)

flows() { last '^relay flows:' | sed -n 's/relay flows: tcp \([0-9]*\), udp \([0-9]*\).*/\1 \2/p'; }
# wait_gone WHAT PATTERN: reports until the flow line matches (50 s at most).
wait_gone() {
	for ((i = 0; i < 100; i++)); do
		report
		last '^relay flows:' | grep -q "^relay flows: $2" && break
		sleep 0.5
	done
	expect_eq "$T: $1" "$(last '^relay flows:' | grep -c "^relay flows: $2")" 1
}
# memory_checks WHEN: the budget's accounts, from the latest report.
memory_checks() {
	read -r used peak max <<<"$(last '^relay.mem ' | sed -n 's/^relay.mem stack_used \([0-9]*\) stack_peak \([0-9]*\) stack_max \([0-9]*\) .*/\1 \2 \3/p')"
	local rpeak rmax hwm
	rpeak=$(memf relay_peak)
	rmax=$(memf relay_max)
	hwm=$(rss_kb VmHWM)
	note "$T: $1: stack buffers $((used >> 20)) MiB (peak $((peak >> 20)) of $((max >> 20)) MiB)," \
		"relay state $((rpeak >> 10)) KiB of $((rmax >> 20)) MiB, VmHWM $((hwm >> 10)) MiB, budget $BUDGET_MB MiB"
	expect_num "$T: $1: the stack's buffers stayed within their share of the budget" "${peak:-1}" -le "${max:-0}"
	expect_num "$T: $1: the relay's own state stayed within its share" "${rpeak:-1}" -le "${rmax:-0}"
	if [ "$SAN" = 1 ]; then
		note "$T: VmHWM not compared under ASan (its shadow memory and quarantine dominate)"
	else
		expect_num "$T: $1: relay VmHWM (peak RSS) within --max-memory" "$((hwm >> 10))" -le "$BUDGET_MB"
	fi
}

# ---- N TCP flows ----
ip netns exec "$C" "$UST_PY" "$UST_TMP/cli.py" tcp $HOST_IP "$N" "$UST_TMP" >"$UST_TMP/tcp.out" 2>&1 &
TPID=$!
for ((i = 0; i < 1800; i++)); do grep -qs 'tcp .* echoed' "$UST_TMP/tcp.out" && break; kill -0 $TPID 2>/dev/null || break; sleep 0.1; done
note "$T: $(grep -m1 connected "$UST_TMP/tcp.out")"
expect_eq "$T: all $N TCP connections carried a byte each way" "$(sed -n 's/^tcp \([0-9]*\) echoed/\1/p' "$UST_TMP/tcp.out")" "$N"
sleep 0.5
RSS1=$(rss_kb VmRSS)
report
read -r flows_tcp flows_udp <<<"$(flows)"
expect_num "$T: TCP flows held at once (the relay's listing)" "${flows_tcp:-0}" -ge "$N"
TCP1=$(memf tcp)
RELAY1=$(memf relay_buffers)
if [ -n "$RSS1" ] && [ -n "$TCP1" ] && [ "${flows_tcp:-0}" -gt 0 ]; then
	note "$T: an idle TCP flow costs $(((RSS1 - RSS0) * 1024 / flows_tcp)) bytes of the relay's RSS;" \
		"$(((TCP1 - TCP0) / flows_tcp)) bytes of stack buffers and $((RELAY1 / flows_tcp)) bytes of relay state accounted" \
		"(and the kernel's upstream socket, outside the process)"
fi
memory_checks "$N TCP flows"
expect_num "$T: no flow was refused for memory" "$(sed -n 's/^relay\.TcpNoMemory //p' "$ROUT" | tail -n 1)" -eq 0
if [ $TOGETHER = 0 ]; then
	touch "$UST_TMP/close-tcp"
	wait $TPID
	wait_gone "the TCP flows are gone once the client closed them" "tcp 0,"
fi

# ---- N UDP mappings ----
RSS2=$(rss_kb VmRSS)
ip netns exec "$C" "$UST_PY" "$UST_TMP/cli.py" udp $HOST_IP "$N" "$UST_TMP" >"$UST_TMP/udp.out" 2>&1 &
UPID=$!
for ((i = 0; i < 600; i++)); do grep -qs '^udp' "$UST_TMP/udp.out" && break; kill -0 $UPID 2>/dev/null || break; sleep 0.1; done
note "$T: $(grep '^udp' "$UST_TMP/udp.out")"
expect_eq "$T: all $N UDP sockets got their datagram back" "$(sed -n 's/^udp \([0-9]*\) echoed.*/\1/p' "$UST_TMP/udp.out")" "$N"
touch "$UST_TMP/refresh-udp"
for ((i = 0; i < 600; i++)); do grep -qs '^refreshed' "$UST_TMP/udp.out" && break; kill -0 $UPID 2>/dev/null || break; sleep 0.1; done
RSS3=$(rss_kb VmRSS)
report
read -r flows_tcp flows_udp <<<"$(flows)"
expect_num "$T: UDP mappings held at once" "${flows_udp:-0}" -ge "$N"
[ $TOGETHER = 1 ] && expect_num "$T: TCP flows still held beside them" "${flows_tcp:-0}" -ge "$N"
base=0
[ $TOGETHER = 1 ] && base=${RELAY1:-0}
note "$T: a UDP mapping costs $((($(memf relay_buffers) - base) / ${flows_udp:-1})) bytes of relay state accounted and its kernel" \
	"socket (the relay's RSS grew by $(((${RSS3:-0} - ${RSS2:-0}) * 1024 / N)) bytes a mapping, reusing what the TCP flows left)"
memory_checks "$N UDP mappings$([ $TOGETHER = 1 ] && echo " and $N TCP flows")"
expect_num "$T: no mapping was refused" "$(sed -n 's/^relay\.UdpMapLimit //p' "$ROUT" | tail -n 1)" -eq 0

# The client closes everything: TCP flows end at once, the mappings after
# --udp-timeout 5 s (the relay's tick checks each second).
touch "$UST_TMP/close-tcp" "$UST_TMP/close-udp"
wait $TPID $UPID
wait_gone "every flow and mapping is gone after the client closed" "tcp 0, udp 0,"
expect_num "$T: the stack's TCP buffers came back" "$(memf tcp)" -le "$TCP0"
expect_num "$T: the relay's own state came back" "$(memf relay_buffers)" -eq 0

kill -TERM $RPID
for ((i = 0; i < 100; i++)); do kill -0 $RPID 2>/dev/null || break; sleep 0.1; done
wait $RPID
expect_eq "$T: relay exits 0 on SIGTERM" "$?" 0
UST_PID=
if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$RERR"; then
	not_ok "$T: sanitizer report"
	diag "$RERR"
fi
note "$T: took ${SECONDS}s"
ust_finish
