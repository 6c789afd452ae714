#!/usr/bin/env bash
# `ustack run`: unmodified Debian programs with their IP sockets on ustack
# (the LD_PRELOAD shim, preload/), against the kernel's clients and servers.
# The kernel is 10.78.0.1, ustack 10.78.0.2 on TAP devices ustrunN that each
# `ustack run` creates and must remove when its program exits.
#
#  - tests/preload/probe: 138 socket cases (errno values, blocking,
#    SO_RCVTIMEO, EINTR and SA_RESTART, MSG_WAITALL, poll/select/epoll LT, ET
#    and one-shot over a mix of ustack sockets and a pipe, fork) print the
#    same on the kernel and under ustack run; AF_INET6 sockets dual-stack
#  - curl under ustack fetches 20 MB from a kernel-side nginx (SHA-256, and
#    nginx's log shows ustack's address)
#  - nginx under ustack, one process and master + 2 workers, serves curl
#    (SHA-256) and wrk from the kernel; with one worker stopped the other
#    serves alone, both ways round (the workers share the listener)
#  - iperf3 -s under ustack against the kernel's iperf3 -c, both directions
#  - nc TCP both ways (SHA-256), socat UDP both ways
#  - getaddrinfo through glibc's resolver: dnsmasq on the kernel side sees
#    the query come from ustack's address; curl by name
#  - programs ustack run's program execs see no LD_PRELOAD, bash's
#    commands included; a process alone in its family (env, nice,
#    sh -c 'exec ...') hands the stack to the program it execs
#  - a SIGTERM handler with SA_RESETHAND that re-raises (node's exit) still
#    ends with the connections closed and the counters written
# Every run ends with no packet buffer in use or lost, and the device gone.
#
# Under the sanitizer build the shim is built with ASan and `ustack run`
# puts the ASan runtime first in LD_PRELOAD. curl hangs in glibc's setlocale
# under a preloaded ASan runtime whether or not the shim is there
# (LD_PRELOAD=libasan.so curl --version never returns), so in that pass the
# client fetching from nginx is Python's urllib instead (also unmodified).
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=run
K=10.78.0.1
ME=10.78.0.2
BIN=$(dirname "$USTACK")
PROBE=$BIN/tests/preload/probe
SAN=${UST_SAN:-0}
NDEV=0

if [ ! -r "$BIN/libustack-preload.so" ] || [ ! -x "$PROBE" ]; then
	not_ok "$T: $BIN/libustack-preload.so or $PROBE missing (run make)"
	ust_finish
fi

# urun NAME PROGRAM...: `ustack run` (at most 60 s) on a fresh TAP, counters
# to $UST_TMP/NAME.stats, stderr to NAME.err; sets DEV.
urun() {
	local name=$1
	shift
	NDEV=$((NDEV + 1))
	DEV=ustrun$NDEV
	timeout 60 "$USTACK" run -v --tap "$DEV" --ip $ME/24 --host-ip $K/24 --stats "$UST_TMP/$name.stats" -- "$@" \
		2>>"$UST_TMP/$name.err"
}
# urun_bg NAME PROGRAM...: the same in the background; UPID is the program's
# pid (ustack run execs it), stdout to NAME.out.
urun_bg() {
	local name=$1
	shift
	NDEV=$((NDEV + 1))
	DEV=ustrun$NDEV
	"$USTACK" run -v --tap "$DEV" --ip $ME/24 --host-ip $K/24 --stats "$UST_TMP/$name.stats" -- "$@" \
		>"$UST_TMP/$name.out" 2>>"$UST_TMP/$name.err" &
	UPID=$!
}
# reap PID SECS: wait for it (then SIGKILL); sets RC
reap() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && kill -KILL "$1"
	wait "$1"
	RC=$?
}

# clean NAME DEV: after a run: counters written, no buffer in use or lost, no
# connection left closing, no sanitizer report, the device removed.
clean() {
	local name=$1 dev=$2 f=$UST_TMP/$1.stats i
	for ((i = 0; i < 50; i++)); do
		grep -q '^Buffers lost at exit:' "$f" 2>/dev/null && break
		sleep 0.1
	done
	expect_eq "$name: no packet buffers in use at exit" "$(sed -n 's/^Buffers in use: //p' "$f" 2>/dev/null)" 0
	expect_eq "$name: no packet buffer lost" "$(sed -n 's/^Buffers lost at exit: //p' "$f" 2>/dev/null)" 0
	expect_eq "$name: every connection closed before the stack went" \
		"$(sed -n 's/^Connections still closing at exit: //p' "$f" 2>/dev/null)" 0
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$UST_TMP/$name.err" 2>/dev/null; then
		not_ok "$name: sanitizer report"
		diag "$UST_TMP/$name.err"
	else
		ok "$name: no sanitizer report"
	fi
	for ((i = 0; i < 30; i++)); do
		ip link show dev "$dev" >/dev/null 2>&1 || break
		sleep 0.1
	done
	ust_gone "$name" "$dev"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# feed PID PORT: the kernel's nc sends small.bin to $ME:PORT (tries for
# 10 s), where the program urun_bg started as PID listens; then reap it (RC).
feed() {
	local i
	for ((i = 0; i < 100; i++)); do
		timeout 10 nc -N $ME "$2" <"$UST_TMP/small.bin" 2>/dev/null && break
		sleep 0.1
	done
	reap "$1" 20
}

# wait_tcp HOST PORT: until a TCP connection to it succeeds (10 s).
wait_tcp() {
	local i
	for ((i = 0; i < 100; i++)); do
		timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# nginx_conf DIR LISTEN MASTER WORKERS: a config in DIR serving $UST_TMP/www.
nginx_conf() {
	mkdir -p "$1/logs"
	cat >"$1/nginx.conf" <<EOF
daemon off;
master_process $3;
worker_processes $4;
error_log $1/logs/error.log info;
pid $1/nginx.pid;
events { worker_connections 512; }
http {
  log_format withpid '\$remote_addr \$pid "\$request" \$status \$body_bytes_sent';
  access_log $1/logs/access.log withpid;
  client_body_temp_path $1/cb; proxy_temp_path $1/px; fastcgi_temp_path $1/fc;
  uwsgi_temp_path $1/uw; scgi_temp_path $1/sc;
  sendfile on;
  keepalive_timeout 10;
  server { listen $2; root $UST_TMP/www; }
}
EOF
}

MB=20
[ "$SAN" = 1 ] && MB=5
mkdir -p "$UST_TMP/www"
# nginx's workers run as nobody
chmod a+rx "$UST_TMP"
head -c $((MB * 1000000)) /dev/urandom >"$UST_TMP/www/big.bin"
echo "hello from nginx" >"$UST_TMP/www/index.html"
head -c 3000000 /dev/urandom >"$UST_TMP/small.bin"
BIGSHA=$(sha "$UST_TMP/www/big.bin")
SMALLSHA=$(sha "$UST_TMP/small.bin")

# ---- the probe: the same answers as the kernel's -----------------------------
timeout 60 "$PROBE" 127.0.0.1 >"$UST_TMP/probe.kernel" 2>&1
check "$T: probe on the kernel exits 0" test $? = 0
urun probe "$PROBE" $ME >"$UST_TMP/probe.ustack"
check "$T: probe under ustack run exits 0" test $? = 0
dev=$DEV
if diff "$UST_TMP/probe.kernel" "$UST_TMP/probe.ustack" >"$UST_TMP/probe.diff"; then
	ok "$T: all $(wc -l <"$UST_TMP/probe.kernel") probe lines the same as on the kernel"
else
	not_ok "$T: the probe differs from the kernel's (< kernel, > ustack)"
	diag "$UST_TMP/probe.diff"
fi
clean probe "$dev"
# AF_INET6 sockets are ustack's: a dual-stack server on [::] under ustack
# run takes the kernel's IPv4 client as ::ffff:K, as on Linux, and an
# IPV6_V6ONLY socket refuses a v4-mapped destination (ENETUNREACH, 101).
cat >"$UST_TMP/v6srv.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
print("v6only", s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY), flush=True)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, 0x20)
s.bind(("::", 7070))
s.listen(1)
print("listening", flush=True)
c, a = s.accept()
data = c.recv(100)
c.sendall(data.upper())
print("peer", a[0], "local", c.getsockname()[0], "got", data.decode().strip(), flush=True)
c.close()
s.close()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
try:
    u.sendto(b"x", ("::ffff:" + sys.argv[1], 9))
    print("v6only sendto: sent")
except OSError as e:
    print("v6only sendto:", e.errno)
u.close()
EOF
urun_bg v6 "$UST_PY" "$UST_TMP/v6srv.py" $K
P=$UPID
dev=$DEV
for ((i = 0; i < 100; i++)); do
	grep -q '^listening' "$UST_TMP/v6.out" 2>/dev/null && break
	sleep 0.1
done
reply=$(timeout 10 python3 -c 'import socket, sys
c = socket.create_connection((sys.argv[1], 7070), timeout=5)
c.sendall(b"hello\n")
print(c.recv(100).decode().strip())' $ME 2>&1)
reap $P 10
expect_eq "$T: an AF_INET6 server on [::] under ustack run answers the kernel's IPv4 client" "$reply" HELLO
expect_eq "$T: ... which it sees as ::ffff:$K on ::ffff:$ME; IPV6_V6ONLY off by default; on, ENETUNREACH to a mapped address" \
	"$(tr '\n' '|' <"$UST_TMP/v6.out")" "v6only 0|listening|peer ::ffff:$K local ::ffff:$ME got hello|v6only sendto: 101|"
check "$T: ... and exits 0" test $RC = 0
clean v6 "$dev"

# ---- a client under ustack: from a kernel-side nginx ----------------------------
nginx_conf "$UST_TMP/kngx" "8080; listen [::]:8080" off 1
nginx -p "$UST_TMP/kngx" -c "$UST_TMP/kngx/nginx.conf" 2>"$UST_TMP/kngx.err" &
KNGX=$!
if ! wait_tcp 127.0.0.1 8080; then
	not_ok "$T: the kernel-side nginx did not start"
	diag "$UST_TMP/kngx.err"
fi
if [ "$SAN" = 1 ]; then
	urun client "$UST_PY" -c 'import sys, urllib.request
open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=30).read())' \
		"http://$K:8080/big.bin" "$UST_TMP/got-client.bin"
	check "$T: Python's urllib under ustack run fetches ${MB} MB from nginx (exit 0)" test $? = 0
else
	urun client curl -sS --fail -o "$UST_TMP/got-client.bin" "http://$K:8080/big.bin"
	check "$T: curl under ustack run fetches ${MB} MB from nginx (exit 0)" test $? = 0
fi
expect_eq "$T: the file arrives intact (SHA-256)" "$(sha "$UST_TMP/got-client.bin" 2>/dev/null)" "$BIGSHA"
check "$T: nginx's access log shows the request from ustack's address $ME" \
	grep -qE "^$ME [0-9]+ \"GET /big.bin HTTP/1.1\" 200 $((MB * 1000000))\$" "$UST_TMP/kngx/logs/access.log"
clean client "$DEV"

# ---- nginx under ustack -------------------------------------------------------------
# serve_checks NAME: curl (SHA-256) and wrk from the kernel against nginx on ustack
serve_checks() {
	local name=$1
	timeout 60 curl -sS --fail -o "$UST_TMP/$name.bin" "http://$ME/big.bin"
	check "$name: curl from the kernel fetches ${MB} MB (exit 0)" test $? = 0
	expect_eq "$name: intact (SHA-256)" "$(sha "$UST_TMP/$name.bin" 2>/dev/null)" "$BIGSHA"
	timeout 30 wrk -t 2 -c 16 -d 2s "http://$ME/index.html" >"$UST_TMP/$name.wrk" 2>&1
	check "$name: wrk exits 0" test $? = 0
	local n
	n=$(awk '/requests in/ { print $1 }' "$UST_TMP/$name.wrk")
	expect_num "$name: wrk completes requests over 16 keep-alive connections" "${n:-0}" -ge 200
	if grep -qE 'Socket errors|Non-2xx' "$UST_TMP/$name.wrk"; then
		not_ok "$name: wrk reports errors"
		diag "$UST_TMP/$name.wrk"
	else
		ok "$name: wrk reports no socket errors and no non-2xx answer ($(awk '/Requests\/sec/ { print $2 }' "$UST_TMP/$name.wrk") requests/s)"
	fi
}

# stop_nginx NAME PID: SIGQUIT (graceful), exit 0 within 20 s
stop_nginx() {
	local i
	kill -QUIT "$2" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$2" 2>/dev/null && kill -KILL "$2"
	wait "$2"
	check "$1: nginx exits 0 on SIGQUIT" test $? = 0
}

nginx_conf "$UST_TMP/ngx1" "$ME:80" off 1
urun_bg ngx1 nginx -p "$UST_TMP/ngx1" -c "$UST_TMP/ngx1/nginx.conf"
P=$UPID
dev=$DEV
if wait_tcp $ME 80; then
	ok "ngx1: nginx (one process) under ustack run accepts connections"
	serve_checks ngx1
else
	not_ok "ngx1: nginx under ustack run does not answer on $ME:80"
	diag "$UST_TMP/ngx1.err" "$UST_TMP/ngx1/logs/error.log"
fi
stop_nginx ngx1 $P
clean ngx1 "$dev"

nginx_conf "$UST_TMP/ngx2" "$ME:80" on 2
urun_bg ngx2 nginx -p "$UST_TMP/ngx2" -c "$UST_TMP/ngx2/nginx.conf"
P=$UPID
dev=$DEV
workers=
for ((i = 0; i < 100; i++)); do
	workers=$(pgrep -P $P | tr '\n' ' ')
	[ "$(echo $workers | wc -w)" = 2 ] && break
	sleep 0.1
done
expect_eq "ngx2: nginx's master forked 2 workers" "$(echo $workers | wc -w)" 2
if wait_tcp $ME 80; then
	ok "ngx2: nginx (master + 2 workers) under ustack run accepts connections"
	serve_checks ngx2
	# each worker alone: stop the other one
	for w in $workers; do
		others=$(echo $workers | tr ' ' '\n' | grep -vx "$w")
		kill -STOP $others
		good=0
		for ((i = 0; i < 10; i++)); do
			[ "$(timeout 5 curl -s "http://$ME/index.html")" = "hello from nginx" ] && good=$((good + 1))
		done
		kill -CONT $others
		expect_num "ngx2: with the other worker stopped, worker $w answers 10 of 10" $good -eq 10
		n=$(grep -c " $w \"GET /index.html" "$UST_TMP/ngx2/logs/access.log")
		expect_num "ngx2: worker $w logged requests itself" "$n" -ge 10
	done
else
	not_ok "ngx2: nginx under ustack run does not answer on $ME:80"
	diag "$UST_TMP/ngx2.err" "$UST_TMP/ngx2/logs/error.log"
fi
stop_nginx ngx2 $P
clean ngx2 "$dev"

# ---- iperf3 -s under ustack ------------------------------------------------------------
iperf_ok() {
	"$UST_PY" - "$1" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
if "error" in j:
    sys.exit("iperf3 error: " + j["error"])
s, r = j["end"]["sum_sent"]["bytes"], j["end"]["sum_received"]["bytes"]
print(f"sent {s} received {r}, {j['end']['sum_received']['bits_per_second'] / 1e9:.2f} Gbit/s")
if r < 10000000 or r > s:
    sys.exit("wanted >= 10 MB received, no more than sent")
EOF
}
for dir in "" -R; do
	name=iperf3${dir:+-R}
	# -1: one test, then exit (so no probe connection before it). Without
	# -4 iperf3 listens on an AF_INET6 socket on [::] (dual-stack); with -4
	# -B on an AF_INET one: one direction each.
	if [ -z "$dir" ]; then
		urun_bg "$name" iperf3 -s -1
	else
		urun_bg "$name" iperf3 -s -4 -1 -B $ME
	fi
	P=$UPID
	dev=$DEV
	for ((i = 0; i < 100; i++)); do
		grep -q 'Server listening' "$UST_TMP/$name.out" 2>/dev/null && break
		sleep 0.1
	done
	timeout 30 iperf3 -c $ME -t 2 $dir -J >"$UST_TMP/$name.json" 2>&1
	check "$name: the kernel's iperf3 -c $dir against iperf3 -s under ustack exits 0" test $? = 0
	check "$name: both ends count the bytes" iperf_ok "$UST_TMP/$name.json"
	reap $P 10
	check "$name: iperf3 -s -1 exits 0 after its test" test $RC = 0
	clean "$name" "$dev"
done

# ---- nc and socat ------------------------------------------------------------------------
timeout 20 nc -l 5000 >"$UST_TMP/nc1.out" &
L=$!
sleep 0.3
urun nc-out nc -N $K 5000 <"$UST_TMP/small.bin"
check "nc-out: nc under ustack sends 3 MB to the kernel's nc -l (exit 0)" test $? = 0
wait $L
expect_eq "nc-out: intact (SHA-256)" "$(sha "$UST_TMP/nc1.out")" "$SMALLSHA"
clean nc-out "$DEV"

urun_bg nc-in nc -l $ME 5001
dev=$DEV
feed $UPID 5001
check "nc-in: nc -l under ustack takes 3 MB from the kernel's nc (exit 0)" test $RC = 0
expect_eq "nc-in: intact (SHA-256)" "$(sha "$UST_TMP/nc-in.out")" "$SMALLSHA"
clean nc-in "$dev"

urun_bg socat-udp-in socat -T 5 UDP-RECVFROM:7000,bind=$ME PIPE
L=$UPID
dev=$DEV
got=
for ((i = 0; i < 30; i++)); do
	[ -n "$got" ] && break
	sleep 0.2
	got=$(echo "datagram $i" | timeout 2 socat -T 1 - UDP:$ME:7000 2>/dev/null)
done
expect_eq "socat-udp-in: socat under ustack echoes a kernel socat's datagram" "${got%% *}" datagram
reap $L 20
clean socat-udp-in "$dev"

timeout 20 socat -T 5 UDP-RECVFROM:7001 PIPE &
L=$!
sleep 0.3
got=$(echo "to the kernel" | urun socat-udp-out socat -T 2 - UDP:$K:7001)
expect_eq "socat-udp-out: socat under ustack gets its datagram echoed by the kernel's socat" "$got" "to the kernel"
wait $L
clean socat-udp-out "$DEV"

# ---- name resolution through ustack ---------------------------------------------------------
# The name has an IPv6 address too: glibc asks for AAAA beside A, and with
# no AAAA data and no upstream dnsmasq answers REFUSED, which made glibc
# fail the whole lookup now and then (whichever answer came first).
if command -v dnsmasq >/dev/null; then
	printf 'nameserver %s\noptions timeout:2 attempts:2\n' $K >"$UST_TMP/resolv.conf"
	cat >"$UST_TMP/dns.sh" <<EOF
mount --bind "$UST_TMP/resolv.conf" /etc/resolv.conf || exit 9
dnsmasq --no-daemon --no-resolv --no-hosts --bind-dynamic --listen-address=$K \
	--address=/www.ustack.test/$K --address=/www.ustack.test/fd78::1 --log-queries --log-facility="$UST_TMP/dns.log" \
	--pid-file="$UST_TMP/dns.pid" --user=root 2>"$UST_TMP/dnsmasq.err" &
D=\$!
"$USTACK" run --tap ustrundns --ip $ME/24 --host-ip $K/24 --stats "$UST_TMP/dns.stats" -- \
	getent ahostsv4 www.ustack.test >"$UST_TMP/getent.out" 2>"$UST_TMP/dns.err"
echo \$? >"$UST_TMP/getent.rc"
if [ "$SAN" != 1 ]; then
	"$USTACK" run --tap ustrundns2 --ip $ME/24 --host-ip $K/24 --stats "$UST_TMP/dns2.stats" -- \
		curl -sS --fail -o "$UST_TMP/byname.html" http://www.ustack.test:8080/index.html 2>>"$UST_TMP/dns.err"
	echo \$? >"$UST_TMP/curlname.rc"
fi
kill \$D
wait \$D
EOF
	# a private mount namespace: /etc/resolv.conf is the test's only there
	timeout 60 unshare -m bash "$UST_TMP/dns.sh"
	expect_eq "dns: getent ahostsv4 under ustack run exits 0" "$(cat "$UST_TMP/getent.rc" 2>/dev/null)" 0
	check "dns: glibc's resolver answers www.ustack.test = $K" grep -q "^$K .*www.ustack.test" "$UST_TMP/getent.out"
	check "dns: dnsmasq saw the query come from ustack's address $ME" \
		grep -q "query\[A\] www.ustack.test from $ME" "$UST_TMP/dns.log"
	cp "$UST_TMP/dns.err" "$UST_TMP/dnsres.err"
	mv "$UST_TMP/dns.stats" "$UST_TMP/dnsres.stats" 2>/dev/null
	clean dnsres ustrundns
	if [ "$SAN" != 1 ]; then
		expect_eq "dns: curl by name under ustack run exits 0" "$(cat "$UST_TMP/curlname.rc" 2>/dev/null)" 0
		expect_eq "dns: curl by name gets the page" "$(cat "$UST_TMP/byname.html" 2>/dev/null)" "hello from nginx"
		cp "$UST_TMP/dns.err" "$UST_TMP/dnscurl.err"
		mv "$UST_TMP/dns2.stats" "$UST_TMP/dnscurl.stats" 2>/dev/null
		clean dnscurl ustrundns2
	fi
else
	not_ok "dns: dnsmasq is not installed (tools/install-deps.sh installs dnsmasq-base)"
fi

# ---- IPv6 only, and the device options passed through ------------------------------------
# `ustack run` takes the options of every other command (both families'
# --ip, --cc, --no-ipv6, ...) and waits for DAD before the program starts.
NDEV=$((NDEV + 1))
DEV=ustrun$NDEV
if [ "$SAN" = 1 ]; then
	GET6=("$UST_PY" -c 'import sys, urllib.request
open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=30).read())' \
		"http://[fd78:1::1]:8080/big.bin" "$UST_TMP/got-v6.bin")
else
	GET6=(curl -6 -sS -g --fail -o "$UST_TMP/got-v6.bin" "http://[fd78:1::1]:8080/big.bin")
fi
timeout 60 "$USTACK" run -v --tap "$DEV" --ip fd78:1::2/64 --host-ip fd78:1::1/64 --stats "$UST_TMP/v6only.stats" \
	-- "${GET6[@]}" 2>>"$UST_TMP/v6only.err"
check "v6only: a program under ustack run with only an IPv6 --ip fetches ${MB} MB from nginx (exit 0)" test $? = 0
expect_eq "v6only: the file arrives intact (SHA-256)" "$(sha "$UST_TMP/got-v6.bin" 2>/dev/null)" "$BIGSHA"
check "v6only: nginx's access log shows the request from ustack's fd78:1::2" \
	grep -qE "^fd78:1::2 [0-9]+ \"GET /big.bin HTTP/1.1\" 200 $((MB * 1000000))\$" "$UST_TMP/kngx/logs/access.log"
clean v6only "$DEV"
CCPY='import socket; s = socket.socket(); print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode())'
NDEV=$((NDEV + 1))
DEV=ustrun$NDEV
out=$(timeout 60 "$USTACK" run --tap "$DEV" --ip $ME/24 --cc cubic --stats "$UST_TMP/cc.stats" -- "$UST_PY" -c "$CCPY" \
	2>>"$UST_TMP/cc.err")
expect_eq "cc: --cc cubic reaches the program's sockets (TCP_CONGESTION)" "$out" cubic
clean cc "$DEV"
NDEV=$((NDEV + 1))
DEV=ustrun$NDEV
timeout 60 "$USTACK" run --tap "$DEV" --ip $ME/24 --no-ipv6 --stats "$UST_TMP/noipv6.stats" -- true 2>>"$UST_TMP/noipv6.err"
check "noipv6: ustack run --no-ipv6 runs its program (exit 0)" test $? = 0
clean noipv6 "$DEV"
expect_eq "noipv6: no IPv6 sent" "$(sed -n 's/^Ip6.OutRequests //p' "$UST_TMP/noipv6.stats")" 0

# ---- exec clears the preload ----------------------------------------------------------------
urun exec sh -c 'env | grep -cE "^(LD_PRELOAD|USTACK_RUN_CONF)="' >"$UST_TMP/exec.out"
out=$(cat "$UST_TMP/exec.out")
expect_eq "exec: a program ustack run's program execs sees no LD_PRELOAD or USTACK_RUN_CONF" "$out" 0
clean exec "$DEV"

# bash keeps its environment in its own setenv/unsetenv, so the variables
# the shim took out of environ stayed in what bash passed on: every command
# bash -c ran started a stack of its own on the busy device and exited 126.
urun exec-bash bash -c 'env | grep -cE "^(LD_PRELOAD|USTACK_RUN_CONF|USTACK_RUN_ORIG_LD_PRELOAD)="; echo "env exit ${PIPESTATUS[0]}"' \
	>"$UST_TMP/exec-bash.out"
out=$(cat "$UST_TMP/exec-bash.out")
expect_eq "exec-bash: a command bash -c runs sees none of ustack run's variables, and runs" "$out" "0
env exit 0"
clean exec-bash "$DEV"

# A process alone in its family hands the stack to the program it execs:
# env, nice and sh -c 'exec ...' are each replaced by the next, and nc -l at
# the end listens on ustack (the kernel has no $ME to bind to). sh tries
# each directory of PATH in turn: the execs that fail must leave the stack
# where it is.
urun_bg exec-wrap env nice -n 0 sh -c "exec nc -l $ME 5002"
dev=$DEV
feed $UPID 5002
check "exec-wrap: nc -l exec'd through env, nice and sh -c exec takes 3 MB on ustack (exit 0)" test $RC = 0
expect_eq "exec-wrap: intact (SHA-256)" "$(sha "$UST_TMP/exec-wrap.out")" "$SMALLSHA"
expect_eq "exec-wrap: the stack went with each of the three execs" \
	"$(grep -c 'the stack goes with it' "$UST_TMP/exec-wrap.err")" 3
clean exec-wrap "$dev"

# A SIGTERM handler with SA_RESETHAND that raises the signal again (node's
# way to exit) finds the kernel's default at the second raise: the process
# used to die there without closing its connections or writing counters.
urun_bg resethand "$BIN/tests/preload/resethand" $ME 5003
L=$UPID
dev=$DEV
for ((i = 0; i < 100; i++)); do
	grep -q listening "$UST_TMP/resethand.out" 2>/dev/null && break
	sleep 0.1
done
timeout 20 nc $ME 5003 </dev/null >/dev/null 2>&1 &
N=$!
for ((i = 0; i < 100; i++)); do
	grep -q accepted "$UST_TMP/resethand.out" 2>/dev/null && break
	sleep 0.1
done
kill -TERM $L
reap $L 10
expect_eq "resethand: the program's handler ran and the process died by SIGTERM" \
	"$(tr '\n' ' ' <"$UST_TMP/resethand.out")$RC" "listening accepted caught 143"
wait $N
check "resethand: the kernel's nc saw the connection closed (exit 0)" test $? = 0
clean resethand "$dev"

kill $KNGX 2>/dev/null
wait $KNGX 2>/dev/null
ust_finish
