#!/usr/bin/env bash
# A running ustack as users inspect it: the control socket (apps/control.h)
# of serve, relay and tunnel, `ustack stats` (nstat-like, -a, --describe,
# --watch), `ustack ss` (ss -tn-like, -i, -a, -l; the relay's flows, the
# tunnel's peers) and --metrics (Prometheus text format over HTTP), all in
# this script's private network namespace (the relay's proxy in a second
# one, control-prx-PID, removed at exit).
#
# Checks: counters that must move after a ping and a curl do; ss lists a
# held connection with its state and addresses; --watch gives rates, bounded
# (-c) and until SIGINT; the socket is 0600 in a 0700 directory, refuses a
# second ustack on the same device (naming the live one's pid), is removed at
# exit, and one left by a killed ustack is replaced; every metrics line is a
# comment or `name{labels} value` (and Prometheus's own parser reads it); a
# silent metrics client is dropped after the deadline without blocking the
# stack; bad requests get 4xx; error cases exit 1 (no device, no ustack,
# stale) or 2 (bad usage) with one line on stderr.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=control
P=control-prx-$$
PIDS=()
ctl_cleanup() {
	local pid
	disown -a 2>/dev/null
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	if ip netns list 2>/dev/null | grep -qw "$P"; then
		for pid in $(ip netns pids "$P" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$P" 2>/dev/null
	fi
	ust_cleanup
}
trap ctl_cleanup EXIT
# Leftovers of an earlier run that was killed: namespaces named for a pid that is gone.
for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^control-prx-[0-9]+$'); do
	kill -0 "${ns##*-}" 2>/dev/null && continue
	for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
done

DIR=/run/ustack/netns-$(stat -L -c %i /proc/self/ns/net)
DEV=ustctl0 ME=10.231.0.2 HOST=10.231.0.1
SOCK=$DIR/$DEV.sock
MPORT=$((20000 + $$ % 20000))
M=127.0.0.1:$MPORT

# one_line_exit "<what>" RC PATTERN cmd...: exit RC, nothing on stdout, one
# line on stderr that starts with 'ustack: ' and matches PATTERN.
one_line_exit() {
	local what=$1 want=$2 pat=$3 out err rc
	shift 3
	out=$(timeout 20 "$@" 2>"$UST_TMP/err")
	rc=$?
	err=$(cat "$UST_TMP/err")
	if [ "$rc" = "$want" ] && [ -z "$out" ] && [ "$(wc -l <"$UST_TMP/err")" = 1 ] && [[ "$err" == "ustack: "* ]] &&
		[[ "$err" =~ $pat ]]; then
		ok "$T: $what: exit $rc: $err"
	else
		not_ok "$T: $what (exit $rc, wanted $want and one line matching '$pat')"
		printf 'stdout: %s\nstderr: %s\n' "$out" "$err" | diag
	fi
}

# stat_of DEV NAME: the value of Group.Name in `ustack stats -a DEV`.
stat_of() { "$USTACK" stats -a "$1" | awk -v n="$2" '$1 == n { print $2 }'; }

# prom_check "<what>" FILE DEV MIN: the exposition format, line by line (and
# through prometheus_client's parser), with at least MIN samples; keeps
# "NAME VALUE" of every sample in FILE.values.
prom_check() {
	local what=$1 f=$2 dev=$3 min=$4 out
	if out=$("$UST_PY" - "$f" "$dev" "$min" 2>&1 <<'PY'
import re, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
dev = sys.argv[2]
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r"^(%s)\{(%s(?:,%s)*)\} (\S+)$" % (NAME, LABEL, LABEL))
errs, types, helps, series, values = [], {}, set(), set(), []
if not text.endswith("\n"):
    errs.append("does not end with a newline")
for n, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        name, _, h = line[7:].partition(" ")
        if not re.fullmatch(NAME, name) or not h or name in helps:
            errs.append("%d: bad or repeated HELP: %r" % (n, line))
        helps.add(name)
    elif line.startswith("# TYPE "):
        name, _, t = line[7:].partition(" ")
        if not re.fullmatch(NAME, name) or t not in ("counter", "gauge") or name in types:
            errs.append("%d: bad or repeated TYPE: %r" % (n, line))
        elif name not in helps:
            errs.append("%d: TYPE before HELP for %s" % (n, name))
        types[name] = t
    else:
        m = sample.match(line)
        if not m:
            errs.append("%d: neither a comment nor name{labels} value: %r" % (n, line))
            continue
        name, labels, v = m.groups()
        if name not in types:
            errs.append("%d: %s has no TYPE line before it" % (n, name))
        if types.get(name) == "counter" and not name.endswith("_total"):
            errs.append("%d: counter %s does not end in _total" % (n, name))
        if 'device="%s"' % dev not in labels.split(","):
            errs.append("%d: no device label for %s: {%s}" % (n, name, labels))
        if (name, labels) in series:
            errs.append("%d: %s{%s} twice" % (n, name, labels))
        series.add((name, labels))
        if not re.fullmatch(r"[0-9]+", v):
            errs.append("%d: value %r of %s is not a non-negative integer" % (n, v, name))
        values.append((name, v))
try:
    fams = list(text_string_to_metric_families(text))
except Exception as e:
    errs.append("prometheus_client cannot parse it: %s" % e)
    fams = []
if len(values) < int(sys.argv[3]):
    errs.append("only %d samples, wanted %s" % (len(values), sys.argv[3]))
if errs:
    print("\n".join(errs[:20]))
    sys.exit(1)
print("# %d samples, %d families (prometheus_client: %d)" % (len(values), len(types), len(fams)))
for name, v in values:
    print(name, v)
PY
	); then
		ok "$T: $what: $(printf '%s\n' "$out" | head -n 1 | sed 's/^# //')"
		printf '%s\n' "$out" | tail -n +2 >"$f.values"
	else
		not_ok "$T: $what: not the text exposition format"
		printf '%s\n' "$out" | diag
		: >"$f.values"
	fi
}
# prom_value FILE NAME: a sample's value from prom_check's list.
prom_value() { awk -v n="$2" '$1 == n { print $2 }' "$1.values"; }

# ---- usage errors, before anything runs ---------------------------------------
one_line_exit "ustack stats without a device" 2 'which device' "$USTACK" stats
one_line_exit "ustack ss without a device" 2 'which device' "$USTACK" ss
one_line_exit "ustack stats with a bad option" 2 'unknown' "$USTACK" stats $DEV --bogus
one_line_exit "ustack stats --watch 0" 2 'watch wants' "$USTACK" stats $DEV --watch 0
one_line_exit "ustack stats --count without --watch" 2 'count goes with' "$USTACK" stats $DEV -c 3
one_line_exit "ustack stats with two devices" 2 'unexpected argument' "$USTACK" stats $DEV other
one_line_exit "ustack ss -a -l" 2 'do not go together' "$USTACK" ss $DEV -a -l
one_line_exit "ustack stats on a name that cannot be a device" 1 'not a device name' "$USTACK" stats 'a b'
one_line_exit "serve --metrics without a port" 2 'metrics wants' "$USTACK" serve --tap $DEV --ip $ME/24 --metrics 127.0.0.1
one_line_exit "serve --metrics with a host name" 2 'metrics wants' "$USTACK" serve --tap $DEV --ip $ME/24 --metrics localhost:9
check "$T: no bad invocation left a device or a socket behind" bash -c "! ip link show $DEV 2>/dev/null && [ ! -e $SOCK ]"
one_line_exit "ustack stats on a device that does not exist" 1 'no device nodev0' "$USTACK" stats nodev0
one_line_exit "ustack ss on a device no ustack serves" 1 'no ustack is serving lo' "$USTACK" ss lo
out=$("$USTACK" stats --describe)
n=$(printf '%s\n' "$out" | grep -cE '^[A-Za-z][A-Za-z0-9]*\.[A-Za-z0-9]+ +[a-zA-Z(].{9,}$')
expect_num "$T: ustack stats --describe lists every stack counter with a description" "$n" -ge 129
if printf '%s\n' "$out" | grep -qE '^Arp\.InBogus +ARP ignored' && printf '%s\n' "$out" | grep -qE '^TcpExt\.TCPACKSkippedSeq +ACKs'; then
	ok "$T: the counters ustack invented say what they are (Arp.InBogus, TcpExt.TCPACKSkippedSeq)"
else
	not_ok "$T: Arp.InBogus or TcpExt.TCPACKSkippedSeq without its description"
fi

# ---- serve: the socket, stats, ss, watch, metrics ------------------------------
ust_start serve --tap $DEV --ip $ME/24 --host-ip $HOST/24 --tcp-echo 7 --http 80 --metrics $M || ust_finish
expect_eq "$T: the control socket is a 0600 socket of root's" "$(stat -c '%F %a %U' "$SOCK" 2>&1)" "socket 600 root"
expect_eq "$T: in a 0700 directory of root's" "$(stat -c '%a %U' "$DIR" 2>&1)" "700 root"
expect_eq "$T: /run/ustack is 0700" "$(stat -c '%a' /run/ustack 2>&1)" 700

out=$("$USTACK" stats $DEV)
rc=$?
bad=$(printf '%s\n' "$out" | grep -vE '^[A-Z][A-Za-z0-9]*\.[A-Za-z0-9]+ +[1-9][0-9]*$')
if [ $rc = 0 ] && [ -n "$out" ] && [ -z "$bad" ]; then
	ok "$T: ustack stats $DEV: $(printf '%s\n' "$out" | wc -l) nonzero counters, each 'Group.Name value'"
else
	not_ok "$T: ustack stats $DEV (exit $rc)"
	printf '%s\n' "$bad" | diag
fi
all=$("$USTACK" stats -a $DEV)
expect_num "$T: ustack stats -a shows every counter, zeros too" "$(printf '%s\n' "$all" | grep -cE '^[A-Z][A-Za-z0-9]*\.[A-Za-z0-9]+ +[0-9]+$')" -ge 137
expect_num "$T: ... and Mem gauges" "$(printf '%s\n' "$all" | awk '$1 == "Mem.MaxBytes" { print $2 }')" -gt 0
echos0=$(stat_of $DEV Icmp.InEchos) opens0=$(stat_of $DEV Tcp.PassiveOpens) segs0=$(stat_of $DEV Tcp.InSegs)
ust_ping "$T: pings" -c 3 -i 0.2 -W 2 $ME
check "$T: curl from the stack's HTTP server" curl -sf -o /dev/null --max-time 10 http://$ME/
expect_eq "$T: Icmp.InEchos moved by the 3 pings" "$(stat_of $DEV Icmp.InEchos)" $((echos0 + 3))
expect_num "$T: Tcp.PassiveOpens moved with the curl" "$(stat_of $DEV Tcp.PassiveOpens)" -gt "$opens0"
expect_num "$T: Tcp.InSegs moved with the curl" "$(stat_of $DEV Tcp.InSegs)" -ge $((segs0 + 4))
d=$("$USTACK" stats -d $DEV | awk '$1 == "Icmp.InEchos"')
if [[ "$d" =~ ^Icmp\.InEchos\ +[0-9]+\ +echo\ requests\ received$ ]]; then
	ok "$T: ustack stats -d shows the description after the value: $d"
else
	not_ok "$T: ustack stats -d: '$d'"
fi

# A connection held open to the echo port: ss shows it.
sleep 4 | nc $ME 7 >/dev/null &
HOLD=$!
PIDS+=($HOLD)
for ((i = 0; i < 50; i++)); do
	"$USTACK" ss $DEV | grep -q '^ESTAB ' && break
	sleep 0.1
done
ss_out=$("$USTACK" ss $DEV)
lport=$(ss -tn state established "( dport = :7 )" | awk 'NR == 2 { n = split($3, a, ":"); print a[n] }')
if printf '%s\n' "$ss_out" | head -n 1 | grep -q '^State  *Recv-Q  *Send-Q  *Local Address:Port  *Peer Address:Port$' &&
	printf '%s\n' "$ss_out" | grep -qE "^ESTAB +0 +0 +$ME:7 +$HOST:$lport\$" &&
	! printf '%s\n' "$ss_out" | grep -q LISTEN; then
	ok "$T: ustack ss $DEV lists the held connection as ss -tn does ($HOST:$lport), no listeners"
else
	not_ok "$T: ustack ss $DEV (kernel's port: '$lport')"
	printf '%s\n' "$ss_out" | diag
fi
ss_l=$("$USTACK" ss -l $DEV)
if printf '%s\n' "$ss_l" | grep -qE '^LISTEN .* [^ ]*:7 ' && printf '%s\n' "$ss_l" | grep -qE '^LISTEN .* [^ ]*:80 ' &&
	! printf '%s\n' "$ss_l" | grep -q '^ESTAB'; then
	ok "$T: ustack ss -l lists the two listeners only"
else
	not_ok "$T: ustack ss -l"
	printf '%s\n' "$ss_l" | diag
fi
ss_i=$("$USTACK" ss $DEV -i -a)
if printf '%s\n' "$ss_i" | grep -qE '^LISTEN' && printf '%s\n' "$ss_i" | grep -A1 "^ESTAB.*$HOST:$lport" |
	grep -qE '^	 (cubic|reno|bbr) .*rto:[0-9.]+ rtt:[0-9.]+/[0-9.]+ mss:[0-9]+ .*cwnd:[0-9]+ .*segs_out:[0-9]+ segs_in:[0-9]+'; then
	ok "$T: ustack ss -i -a adds cwnd, rtt, rto... under each connection, and the listeners"
else
	not_ok "$T: ustack ss -i -a"
	printf '%s\n' "$ss_i" | diag
fi

# --watch: bounded, with pings going on; and until SIGINT.
ping -q -c 12 -i 0.1 $ME >/dev/null 2>&1 &
PIDS+=($!)
w=$(timeout 20 "$USTACK" stats $DEV --watch 0.3 -c 3)
rc=$?
blocks=$(printf '%s\n' "$w" | grep -cE '^# [0-9]{2}:[0-9]{2}:[0-9]{2}  per second over 0\.[0-9]{2} s$')
rate=$(printf '%s\n' "$w" | awk '$1 == "Icmp.InEchos" && $2 > 0 { n++ } END { print n + 0 }')
if [ $rc = 0 ] && [ "$blocks" = 3 ] && [ "$rate" -ge 1 ] && ! printf '%s\n' "$w" | grep -vE '^#' | grep -qvE '^[A-Z][A-Za-z0-9]*\.[A-Za-z0-9]+ +[0-9]+(\.[0-9])?(  \(now\))?$'; then
	ok "$T: ustack stats --watch 0.3 -c 3: 3 reports, Icmp.InEchos at a rate above 0 in $rate"
else
	not_ok "$T: ustack stats --watch 0.3 -c 3 (exit $rc, $blocks reports, rate in $rate)"
	printf '%s\n' "$w" | diag
fi
"$USTACK" stats $DEV --watch 0.2 >"$UST_TMP/watch.out" 2>&1 &
WP=$!
sleep 1.1
kill -INT $WP
wait $WP
rc=$?
blocks=$(grep -c '^# ' "$UST_TMP/watch.out")
if [ $rc = 0 ] && [ "$blocks" -ge 3 ]; then
	ok "$T: ustack stats --watch runs until SIGINT, then exits 0 ($blocks reports)"
else
	not_ok "$T: ustack stats --watch until SIGINT (exit $rc, $blocks reports)"
	diag "$UST_TMP/watch.out"
fi

# --metrics: the format, the values, HTTP's errors.
curl -sf --max-time 10 -D "$UST_TMP/m.hdr" -o "$UST_TMP/m.txt" http://$M/metrics
check "$T: curl http://$M/metrics" test -s "$UST_TMP/m.txt"
if grep -qi '^content-type: text/plain; version=0.0.4' "$UST_TMP/m.hdr"; then
	ok "$T: served as text/plain; version=0.0.4"
else
	not_ok "$T: content type"
	diag "$UST_TMP/m.hdr"
fi
prom_check "serve's metrics" "$UST_TMP/m.txt" $DEV 137
expect_eq "$T: ustack_icmp_in_echos_total is Icmp.InEchos" "$(prom_value "$UST_TMP/m.txt" ustack_icmp_in_echos_total)" \
	"$(stat_of $DEV Icmp.InEchos)"
expect_num "$T: ustack_tcp_curr_estab (a gauge) counts the held connection" \
	"$(prom_value "$UST_TMP/m.txt" ustack_tcp_curr_estab)" -ge 1
if grep -q '^# TYPE ustack_tcp_curr_estab gauge$' "$UST_TMP/m.txt" &&
	grep -q '^# TYPE ustack_tcp_in_segs_total counter$' "$UST_TMP/m.txt" &&
	grep -qE '^# HELP ustack_arp_in_bogus_total ARP ignored: .*\(Arp\.InBogus\)$' "$UST_TMP/m.txt" &&
	grep -qE "^ustack_info\{device=\"$DEV\",program=\"serve\",version=\"[0-9.]+\"\} 1$" "$UST_TMP/m.txt"; then
	ok "$T: TYPE counter/gauge, HELP from the counter's description, ustack_info"
else
	not_ok "$T: TYPE, HELP or ustack_info lines"
	grep -E 'curr_estab|in_segs_total|arp_in_bogus|ustack_info' "$UST_TMP/m.txt" | diag
fi
expect_eq "$T: HEAD /metrics: 200, no body" "$(curl -s -I --max-time 5 -o /dev/null -w '%{http_code} %{size_download}' http://$M/metrics)" "200 0"
expect_eq "$T: GET / is 404" "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://$M/)" 404
expect_eq "$T: POST /metrics is 405" "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -d x http://$M/metrics)" 405
expect_eq "$T: a 6 KB request head is 431" \
	"$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 6000 /dev/zero | tr '\0' a)" http://$M/metrics)" 431
expect_eq "$T: not HTTP at all is 400" "$(printf 'hello\r\n\r\n' | timeout 5 nc -q 2 127.0.0.1 $MPORT | head -n 1 | tr -d '\r')" \
	"HTTP/1.1 400 Bad Request"
# A client that connects and says nothing: dropped at the 5 s deadline;
# meanwhile the stack and the control socket answer, and the next scrape
# waits its turn (one connection at a time).
"$UST_PY" - $MPORT >"$UST_TMP/idle.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.monotonic()
s.settimeout(15)
try:
    d = s.recv(100)
except socket.timeout:
    d = None
print("closed" if d == b"" else "got %r" % d, "after %.1f s" % (time.monotonic() - t))
PY
IDLE=$!
sleep 0.3
t0=$(date +%s%N)
check "$T: with a silent metrics client connected, ustack stats answers" "$USTACK" stats $DEV
ust_ping "$T: with a silent metrics client connected, the stack answers" -c 1 -W 2 $ME
code=$(curl -s --max-time 12 -o /dev/null -w '%{http_code}' http://$M/metrics)
dt=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
wait $IDLE
idle=$(cat "$UST_TMP/idle.out")
if [ "$code" = 200 ] && [[ "$idle" =~ ^closed\ after\ ([0-9.]+)\ s$ ]] &&
	awk -v t="${BASH_REMATCH[1]}" 'BEGIN { exit !(t >= 4.5 && t < 8) }'; then
	ok "$T: the silent metrics client was dropped ($idle); the next scrape got 200 after $dt s"
else
	not_ok "$T: silent metrics client: '$idle', next scrape $code after $dt s"
fi

# A second ustack on the same device is refused, naming the live one.
one_line_exit "a second serve on $DEV" 1 "in use by a running ustack \\(pid $UST_PID" \
	"$USTACK" serve --tap $DEV --ip 10.231.9.2/24
check "$T: ... and the first one still answers" "$USTACK" stats $DEV
# --metrics on a port in use: exit 1, nothing left behind.
one_line_exit "serve --metrics on a port in use" 1 "cannot listen for --metrics on $M" \
	"$USTACK" serve --tap ustctl1 --ip 10.231.8.2/24 --metrics $M
check "$T: ... no device or socket left" bash -c "! ip link show ustctl1 2>/dev/null && [ ! -e $DIR/ustctl1.sock ] && [ ! -e $DIR/ustctl1.lock ]"
kill $HOLD 2>/dev/null
wait $HOLD 2>/dev/null

ust_stop serve
check "$T: the socket and its lock are removed at exit" bash -c "[ ! -e $SOCK ] && [ ! -e $DIR/$DEV.lock ]"
check "$T: ... and the namespace's directory with them" test ! -e "$DIR"
one_line_exit "ustack stats after serve stopped" 1 'no device ustctl0' "$USTACK" stats $DEV

# ---- a stale socket: left by a killed serve, refused by clients, replaced ----
ust_start stale --tap $DEV --ip $ME/24 --host-ip $HOST/24 || ust_finish
kill -KILL $UST_PID
wait $UST_PID 2>/dev/null
UST_PID=
check "$T: a killed serve leaves its socket" test -S "$SOCK"
one_line_exit "ustack stats on a stale socket" 1 'gone \(stale control socket' "$USTACK" stats "$SOCK"
ust_start restart --tap $DEV --ip $ME/24 --host-ip $HOST/24 || ust_finish
first=$(echo counters | timeout 5 socat - UNIX-CONNECT:"$SOCK" 2>&1 | head -n 1)
if [[ "$first" == "# ustack serve on $DEV, pid $UST_PID, "* ]] && [ ! -s "$UST_ERR" ] && "$USTACK" stats $DEV >/dev/null; then
	ok "$T: the next serve replaced the stale socket quietly, and answers on it: $first"
else
	not_ok "$T: stale socket not replaced: '$first'"
	diag "$UST_ERR"
fi
ust_stop restart

# ---- serve --queues: the queues' counters added up, every queue's connections ----
ust_start queues --tun $DEV --ip $ME/24 --host-ip $HOST/24 --queues 2 --tcp-echo 7 || ust_finish
for k in 1 2 3; do sleep 3 | nc $ME 7 >/dev/null & PIDS+=($!); done
ust_ping "$T: queues: pings" -c 4 -i 0.1 -W 2 $ME
for ((i = 0; i < 50; i++)); do
	[ "$("$USTACK" ss $DEV | grep -c '^ESTAB ')" = 3 ] && break
	sleep 0.1
done
expect_eq "$T: queues: ustack ss lists the 3 connections, whichever queue holds each" "$("$USTACK" ss $DEV | grep -c '^ESTAB ')" 3
expect_num "$T: queues: Icmp.InEchos added over the queues" "$(stat_of $DEV Icmp.InEchos)" -ge 4
expect_eq "$T: queues: Tcp.CurrEstab added over the queues" "$(stat_of $DEV Tcp.CurrEstab)" 3
ust_stop queues

# ---- tunnel: server and client on loopback, peers and session listed ----
K=$UST_TMP/tunnel.key
"$USTACK" tunnel genkey "$K" >/dev/null
TPORT=$((MPORT + 1)) TM=127.0.0.1:$((MPORT + 2))
"$USTACK" tunnel server --listen 127.0.0.1:$TPORT --tun ustnls0 --ip 10.231.5.1/24 --key "$K" --workers 2 \
	--metrics $TM >"$UST_TMP/tsrv.out" 2>&1 &
TSRV=$!
PIDS+=($TSRV)
for ((i = 0; i < 100; i++)); do grep -q 'listening on' "$UST_TMP/tsrv.out" && break; sleep 0.1; done
"$USTACK" tunnel client --server 127.0.0.1:$TPORT --tun ustnlc0 --ip 10.231.5.2/24 --key "$K" >"$UST_TMP/tcli.out" 2>&1 &
TCLI=$!
PIDS+=($TCLI)
for ((i = 0; i < 100; i++)); do grep -q '^ustack: tunnel: connected' "$UST_TMP/tcli.out" && break; sleep 0.1; done
peers=$("$USTACK" ss ustnls0)
if printf '%s\n' "$peers" | grep -q '^Peers: 1$' && printf '%s\n' "$peers" | grep -qE '^ +10\.231\.5\.2 .* from 127\.0\.0\.1:[0-9]+ +session '; then
	ok "$T: tunnel: ustack ss on the server lists the client as its peer"
else
	not_ok "$T: tunnel: ustack ss ustnls0"
	{ printf '%s\n' "$peers"; cat "$UST_TMP/tsrv.out" "$UST_TMP/tcli.out"; } | diag
fi
sess=$("$USTACK" ss ustnlc0)
if [[ "$sess" =~ ^Session:\ [0-9a-f]{16}/[0-9a-f]{16}\ with\ 127\.0\.0\.1:$TPORT ]]; then
	ok "$T: tunnel: ustack ss on the client shows its session: $sess"
else
	not_ok "$T: tunnel: ustack ss ustnlc0: '$sess'"
fi
expect_eq "$T: tunnel: the server's Tunnel.Handshakes" "$(stat_of ustnls0 Tunnel.Handshakes)" 1
expect_eq "$T: tunnel: the server's Tunnel.Peers gauge" "$(stat_of ustnls0 Tunnel.Peers)" 1
expect_eq "$T: tunnel: the client's Tunnel.Connected gauge" "$(stat_of ustnlc0 Tunnel.Connected)" 1
curl -sf --max-time 10 -o "$UST_TMP/tm.txt" http://$TM/metrics
prom_check "tunnel server's metrics" "$UST_TMP/tm.txt" ustnls0 46
expect_num "$T: tunnel: ustack_tunnel_hellos_recv_total" "$(prom_value "$UST_TMP/tm.txt" ustack_tunnel_hellos_recv_total)" -ge 1
if grep -q '^# HELP ustack_tunnel_rx_auth_fail_total datagrams dropped: they failed authentication' "$UST_TMP/tm.txt"; then
	ok "$T: tunnel: HELP lines carry the tunnel counters' descriptions"
else
	not_ok "$T: tunnel: no description in ustack_tunnel_rx_auth_fail_total's HELP"
fi
one_line_exit "a second tunnel client on ustnlc0" 1 "in use by a running ustack \\(pid $TCLI" \
	"$USTACK" tunnel client --server 127.0.0.1:$TPORT --tun ustnlc0 --ip 10.231.5.3/24 --key "$K"
kill $TCLI $TSRV
wait $TCLI; rc1=$?
wait $TSRV; rc2=$?
expect_eq "$T: tunnel: both ends exit 0" "$rc1 $rc2" "0 0"
check "$T: tunnel: their sockets are gone" bash -c "[ ! -e $DIR/ustnls0.sock ] && [ ! -e $DIR/ustnlc0.sock ]"

# ---- relay: a flow through a SOCKS5 proxy in a second namespace, listed ----
ip netns add $P || { not_ok "$T: cannot create namespace $P"; ust_finish; }
ip -n $P link set lo up
ip link add vctl0 type veth peer name vctl1 netns $P
ip addr add 10.231.3.1/24 dev vctl0
ip link set vctl0 up
ip -n $P addr add 10.231.3.2/24 dev vctl1
ip -n $P addr add 10.231.2.2/32 dev lo
ip -n $P link set vctl1 up
ip netns exec $P microsocks -i 10.231.3.2 -p 1080 >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec $P socat TCP-LISTEN:7777,bind=10.231.2.2,reuseaddr,fork EXEC:cat >/dev/null 2>&1 &
PIDS+=($!)
RM=127.0.0.1:$((MPORT + 3))
"$USTACK" relay --tun usrlyc0 --ip 10.231.0.1/24 --host-ip 10.231.0.2/24 --socks5 10.231.3.2:1080 \
	--metrics $RM >"$UST_TMP/relay.out" 2>&1 &
RLY=$!
PIDS+=($RLY)
for ((i = 0; i < 100; i++)); do grep -q 'ready' "$UST_TMP/relay.out" && break; sleep 0.1; done
ip route add 10.231.2.0/24 dev usrlyc0
for ((i = 0; i < 50; i++)); do
	ip netns exec $P ss -ltn | grep -q ':1080 ' && ip netns exec $P ss -ltn | grep -q ':7777 ' && break
	sleep 0.1
done
got=$(timeout 15 "$UST_PY" -c '
import socket
s = socket.create_connection(("10.231.2.2", 7777), timeout=10)
s.sendall(b"through the relay\n")
b = b""
while not b.endswith(b"\n"):
    d = s.recv(100)
    if not d:
        break
    b += d
print(b.decode().strip())' 2>&1)
expect_eq "$T: relay: a TCP echo through the relay and the proxy" "$got" "through the relay"
sleep 5 | nc 10.231.2.2 7777 >/dev/null &
HOLD=$!
PIDS+=($HOLD)
for ((i = 0; i < 50; i++)); do
	"$USTACK" ss usrlyc0 | grep -qE '^  tcp .* open ' && break
	sleep 0.1
done
flows=$("$USTACK" ss usrlyc0)
if printf '%s\n' "$flows" | grep -qE '^ESTAB .* 10\.231\.2\.2:7777 +10\.231\.0\.2:[0-9]+$' &&
	printf '%s\n' "$flows" | grep -qE '^relay flows: tcp 1, udp 0, ping 0$' &&
	printf '%s\n' "$flows" | grep -qE '^  tcp 10\.231\.0\.2:[0-9]+ -> 10\.231\.2\.2:7777 open up [0-9]+ down [0-9]+ '; then
	ok "$T: relay: ustack ss lists the stack's connection and the relay's flow"
else
	not_ok "$T: relay: ustack ss usrlyc0"
	{ printf '%s\n' "$flows"; cat "$UST_TMP/relay.out"; } | diag
fi
expect_num "$T: relay: Relay.TcpAccepted" "$(stat_of usrlyc0 Relay.TcpAccepted)" -ge 2
expect_eq "$T: relay: Relay.OpenTcpFlows gauge" "$(stat_of usrlyc0 Relay.OpenTcpFlows)" 1
curl -sf --max-time 10 -o "$UST_TMP/rm.txt" http://$RM/metrics
prom_check "relay's metrics" "$UST_TMP/rm.txt" usrlyc0 165
expect_num "$T: relay: ustack_relay_tcp_opened_total" "$(prom_value "$UST_TMP/rm.txt" ustack_relay_tcp_opened_total)" -ge 2
kill $HOLD 2>/dev/null
kill $RLY
wait $RLY
expect_eq "$T: relay: exits 0" "$?" 0
check "$T: relay: its socket is gone" test ! -e "$DIR/usrlyc0.sock"
check "$T: no socket of this namespace left in /run/ustack" test ! -e "$DIR"
if grep -qE 'AddressSanitizer|runtime error:' "$UST_TMP"/*.out "$UST_TMP"/*.err 2>/dev/null; then
	not_ok "$T: sanitizer report"
	grep -hE -A5 'AddressSanitizer|runtime error:' "$UST_TMP"/*.out "$UST_TMP"/*.err | diag
else
	ok "$T: no sanitizer report from the tunnel or the relay"
fi
ust_finish
