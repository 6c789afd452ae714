# shellcheck shell=bash
# Helpers for the interop tests: sourced by tests/interop/test_*.sh.
#
# Each test script runs inside a network namespace of its own: ust_enter_netns
# re-executes the script under `unshare -n` (so the namespace, and every
# device in it, vanishes when the script exits) and refuses to go on unless
# the namespace is fresh (nothing but lo in it). Nothing here touches the
# machine's own namespace or sends traffic outside the private one.
#
# Output is TAP-like: one `ok - <what>` or `not ok - <what>` line per check,
# then a summary; ust_finish exits non-zero if any check failed.
#
# Environment:
#   USTACK        the ustack binary (default: build/ustack of this repository)
#   UST_LOGDIR    keep logs and pcaps here (default: a fresh directory in
#                 $TMPDIR, removed when every check passed)
#   UST_TIMEOUT   seconds the whole script may take (default 240)
#   UST_SAN       1 when USTACK is the sanitizer build (tests/run.sh sets it)

UST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UST_SCRIPT=$(basename "$0" .sh)
UST_PASS=0
UST_FAIL=0
UST_PID=
UST_PY=/usr/bin/python3   # Debian's python3: the one with scapy

UST_TODO=0
ok() { UST_PASS=$((UST_PASS + 1)); echo "ok - $*"; }
not_ok() { UST_FAIL=$((UST_FAIL + 1)); echo "not ok - $*"; }
# todo "<what>" "<known bug>": a check that fails because of a bug already
# reported; shown (TAP's TODO directive) but not counted as a failure.
todo() { UST_TODO=$((UST_TODO + 1)); echo "not ok - $1 # TODO known bug: $2"; }
# Indented detail under the last check (file contents, command output).
diag() { sed -e 's/^/#     /' -- "$@" | head -n 40; }
note() { echo "# $*"; }

# check "<what>" cmd args...: ok if the command succeeds; on failure shows
# its output.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$what"
	else
		not_ok "$what (exit $?)"
		[ -n "$out" ] && printf '%s\n' "$out" | diag
	fi
	return 0
}

# expect_eq "<what>" ACTUAL EXPECTED
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', expected '$3')"; fi
}

# expect_num "<what>" VALUE OP VALUE, OP one of -eq -ne -lt -le -gt -ge
expect_num() {
	local what=$1 a=$2 op=$3 b=$4
	if [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] && test "$a" "$op" "$b"; then
		ok "$what ($a $op $b)"
	else
		not_ok "$what (got '$a', wanted $op $b)"
	fi
}

# Re-executes the calling script in a new network namespace unless it runs in
# one already; then checks that the namespace is fresh and brings lo up.
# Call it first thing: ust_enter_netns "$@".
ust_enter_netns() {
	if [ "$(id -u)" != 0 ]; then
		echo "not ok - $UST_SCRIPT: needs root (network namespaces, TAP/TUN)"
		exit 1
	fi
	if [ -z "${UST_IN_NETNS:-}" ]; then
		# timeout signals the whole process group: ustack children too.
		exec timeout -k 5 "${UST_TIMEOUT:-240}" unshare --net env UST_IN_NETNS=1 bash "$0" "$@"
	fi
	# Fresh: not init's namespace, and no device but lo and the fallback
	# tunnels the kernel puts in every namespace when their modules are loaded.
	local links
	links=$(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
		grep -vxE 'lo|tunl0|sit0|ip6tnl0|gre0|gretap0|erspan0|ip6gre0|ip_vti0|ip6_vti0' | tr '\n' ' ')
	if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ] || [ -n "$links" ]; then
		echo "not ok - $UST_SCRIPT: not in a fresh network namespace (other links: ${links:-none}); refusing to run"
		exit 1
	fi
	ip link set lo up
	USTACK=${USTACK:-$UST_ROOT/build/ustack}
	if ! USTACK=$(realpath -e -- "$USTACK" 2>/dev/null) || [ ! -x "$USTACK" ]; then
		echo "not ok - $UST_SCRIPT: no ustack binary at ${USTACK} (run make, or set USTACK)"
		exit 1
	fi
	if [ -n "${UST_LOGDIR:-}" ]; then
		UST_TMP=$UST_LOGDIR/$UST_SCRIPT
		rm -rf -- "$UST_TMP"
		mkdir -p -- "$UST_TMP"
		UST_KEEP=1
	else
		UST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ustack-$UST_SCRIPT.XXXXXX")
		UST_KEEP=0
	fi
	trap ust_cleanup EXIT
	note "$UST_SCRIPT: ustack=$USTACK logs=$UST_TMP"
}

# On exit: kill whatever this script started that is still running (every
# other process in its private namespace: a ustack that ignored SIGTERM, a
# client that hung), so that the namespace goes away with the script.
# stale_ns PREFIX: deletes named namespaces PREFIX-<pid>-* whose script (pid)
# is no longer running (a run that was killed before its cleanup), killing
# what still runs in them. Scripts name theirs PREFIX-$$-... so that runs at
# once never touch each other's.
stale_ns() {
	local ns pid p
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^$1-[0-9]+-"); do
		pid=${ns#"$1"-}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}

# Named namespaces a script makes for itself (beside the private one it
# runs in): ust_ns_add NAME... creates each with lo up and remembers it
# (a failure is a `not ok` and the end of the script); ust_ns_del kills what
# runs in them and deletes them, at exit too (ust_cleanup calls it).
UST_NS=()
ust_ns_add() {
	local ns
	for ns in "$@"; do
		if ! ip netns add "$ns"; then
			not_ok "$UST_SCRIPT: cannot create namespace $ns"
			ust_finish
		fi
		UST_NS+=("$ns")
		ip -n "$ns" link set lo up
	done
}
ust_ns_del() {
	local ns pid
	disown -a 2>/dev/null   # no "Killed" notices for the servers
	for ns in "${UST_NS[@]}"; do
		ip netns list 2>/dev/null | grep -qw "$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	UST_NS=()
}

# ust_bad_invocations WHAT COMMAND DEV ARGS...: each ARGS string given to
# `ustack COMMAND` exits 2 with one line on stderr and nothing on stdout,
# and leaves no device DEV behind.
ust_bad_invocations() {
	local what=$1 cmd=$2 dev=$3 args out rc
	shift 3
	for args in "$@"; do
		# shellcheck disable=SC2086 # each string is a command line
		out=$(timeout 10 "$USTACK" $cmd $args 2>"$UST_TMP/bad.err")
		rc=$?
		if [ "$rc" = 2 ] && [ -z "$out" ] && [ "$(wc -l <"$UST_TMP/bad.err")" = 1 ]; then
			ok "$what: ustack $cmd $args exits 2: $(cat "$UST_TMP/bad.err")"
		else
			not_ok "$what: ustack $cmd $args (exit $rc)"
			diag "$UST_TMP/bad.err"
		fi
	done
	check "$what: no bad invocation left a device behind" bash -c "! ip link show $dev 2>/dev/null"
}

ust_cleanup() {
	local ns d pid
	ust_ns_del
	if [ -n "$UST_PID" ] && kill -0 "$UST_PID" 2>/dev/null; then
		kill -KILL "$UST_PID" 2>/dev/null
		wait "$UST_PID" 2>/dev/null
	fi
	ns=$(readlink /proc/$$/ns/net)
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" != $$ ] && [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$ns" ] || continue
		kill -0 "$pid" 2>/dev/null || continue
		echo "# $UST_SCRIPT: killing leftover process $pid: $(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)"
		kill -KILL "$pid" 2>/dev/null
	done
	if [ "$UST_KEEP" = 0 ] && [ "$UST_FAIL" = 0 ]; then
		rm -rf -- "$UST_TMP"
	fi
}

# Prints the summary and exits: 0 only if every check passed (and there was
# at least one).
ust_finish() {
	echo "# $UST_SCRIPT: $UST_PASS passed, $UST_FAIL failed$( [ "$UST_TODO" = 0 ] || echo ", $UST_TODO known bug(s) marked TODO")"
	if [ "$UST_FAIL" != 0 ]; then
		echo "# logs and pcaps kept in $UST_TMP"
		exit 1
	fi
	[ "$UST_PASS" -gt 0 ] || exit 1
	exit 0
}

# ust_start NAME serve-options...: starts `ustack serve` in the background
# (stdout in $UST_TMP/NAME.out, stderr in NAME.err) and waits up to 15 s for
# its 'ready' line. Sets UST_PID, UST_OUT, UST_ERR. Returns 1 (after a
# `not ok`) if it exits or does not get ready.
ust_start() {
	local name=$1 i
	shift
	UST_OUT=$UST_TMP/$name.out
	UST_ERR=$UST_TMP/$name.err
	"$USTACK" serve "$@" >"$UST_OUT" 2>"$UST_ERR" &
	UST_PID=$!
	for ((i = 0; i < 150; i++)); do
		if grep -q ready "$UST_OUT" 2>/dev/null; then
			ok "$name: ustack serve $* prints 'ready'"
			return 0
		fi
		kill -0 "$UST_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$UST_PID" 2>/dev/null; then
		not_ok "$name: ustack serve $* did not print 'ready' within 15 s"
		kill -KILL "$UST_PID" 2>/dev/null
	else
		not_ok "$name: ustack serve $* exited before 'ready'"
	fi
	wait "$UST_PID" 2>/dev/null
	UST_PID=
	diag "$UST_OUT" "$UST_ERR"
	return 1
}

# ust_stop NAME [SIGNAL]: SIGTERM (or SIGNAL), wait up to 20 s, then the checks every run must
# pass: exit 0, counters printed, no buffers left in use, no sanitizer
# report. Sets UST_RC.
ust_stop() {
	local name=$1 sig=${2:-TERM} i
	UST_RC=
	[ -n "$UST_PID" ] || return 1
	kill -"$sig" "$UST_PID" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$UST_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$UST_PID" 2>/dev/null; then
		not_ok "$name: ustack did not exit within 20 s of SIG$sig"
		kill -KILL "$UST_PID" 2>/dev/null
	fi
	wait "$UST_PID"
	UST_RC=$?
	UST_PID=
	if [ "$UST_RC" = 0 ]; then
		ok "$name: ustack exits 0 on SIG$sig"
	else
		not_ok "$name: ustack exits $UST_RC on SIG$sig, wanted 0"
		diag "$UST_ERR"
	fi
	if grep -q '^ustack: stopping' "$UST_OUT" && grep -q '^Ip:$' "$UST_OUT" &&
		grep -q '^Icmp:$' "$UST_OUT" && grep -q '^Udp:$' "$UST_OUT" &&
		grep -qE '^    InReceives +[0-9]+$' "$UST_OUT"; then
		ok "$name: ustack prints its counters on SIG$sig"
	else
		not_ok "$name: ustack did not print its counters on SIG$sig"
		diag "$UST_OUT"
	fi
	expect_eq "$name: no packet buffers in use after the run" \
		"$(sed -n 's/^Buffers in use: //p' "$UST_OUT" | tail -n 1)" 0
	expect_eq "$name: no packet buffer lost once the stack is freed" \
		"$(sed -n 's/^Buffers lost at exit: //p' "$UST_OUT" | tail -n 1)" 0
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$UST_ERR"; then
		not_ok "$name: sanitizer report on stderr"
		diag "$UST_ERR"
	else
		ok "$name: no sanitizer report"
	fi
}

# ust_stat GROUP NAME: the value of a counter in the last dump of the last
# stopped ustack (e.g. ust_stat Icmp InEchos); empty if absent.
ust_stat() {
	awk -v g="$1:" -v n="$2" '/^[A-Za-z]/ { grp = $1 } grp == g && $1 == n { v = $2 } END { print v }' "$UST_OUT"
}

# stat_is "<what>" GROUP NAME OP VALUE
stat_is() {
	expect_num "$1: $2 $3" "$(ust_stat "$2" "$3")" "$4" "$5"
}

# ust_gone NAME DEV: the device ustack created has been removed.
ust_gone() {
	if ip link show dev "$2" >/dev/null 2>&1; then
		not_ok "$1: device $2 still exists after ustack exited"
	else
		ok "$1: ustack removed the device $2 it created"
	fi
}

# ust_ping "<what>" ping-args...: the kernel's ping; every probe answered
# (transmitted == received > 0, 0% loss, no duplicates or errors). Adds the
# probes sent to UST_PINGS_SENT.
UST_PINGS_SENT=0
ust_ping() {
	local what=$1 out sum tx rx
	shift
	out=$(timeout 60 ping "$@" 2>&1)
	sum=$(printf '%s\n' "$out" | grep -E '[0-9]+ packets transmitted' | tail -n 1)
	tx=$(printf '%s\n' "$sum" | sed -nE 's/^([0-9]+) packets transmitted.*/\1/p')
	rx=$(printf '%s\n' "$sum" | sed -nE 's/.* ([0-9]+) received.*/\1/p')
	UST_PINGS_SENT=$((UST_PINGS_SENT + ${tx:-0}))
	if [ -n "$tx" ] && [ "$tx" -gt 0 ] && [ "$tx" = "$rx" ] &&
		[[ "$sum" == *" 0% packet loss"* ]] && [[ "$sum" != *duplicates* ]] && [[ "$sum" != *errors* ]]; then
		ok "$what: ping $* ($sum)"
	else
		not_ok "$what: ping $* (${sum:-no summary line})"
		printf '%s\n' "$out" | tail -n 5 | diag
	fi
}

# ust_pcap "<what>" FILE [TSHARK-OPTIONS...]: tshark reads the capture
# without error, it holds frames, and none is malformed, has a bad
# IP/UDP/TCP/ICMP checksum or an error-level expert item. (A checksum status
# of 0 is "Bad"; 2 would be "Unverified".) Extra options go to the checking
# tshark, e.g. -o tcp.desegment_tcp_streams:FALSE for a lossy TCP capture,
# where Wireshark's own stream reassembly reports retransmissions that
# straddle an already reassembled HTTP body as errors.
#
# A TCP checksum of 0xFFFF where the sum computes to 0 is accepted: the two
# are equal in one's complement, and the kernel writes 0xFFFF when it
# finishes an offloaded checksum in software (CSUM_MANGLED_0), but
# Wireshark flags it (tcp.checksum.ffff, an error-level item). Such a frame
# is bad only if it has another error besides.
UST_PCAP_FILTER='ip.checksum.status==0 || udp.checksum.status==0 || tcp.checksum.status==0 || icmp.checksum.status==0 || _ws.malformed || _ws.expert.severity>=error'
UST_PCAP_ERROR=6291456   # PI_ERROR, as tshark prints _ws.expert.severity
ust_pcap() {
	local what=$1 f=$2 frames bad rc
	shift 2
	if [ ! -s "$f" ]; then
		not_ok "$what: pcap $f missing or empty"
		return 0
	fi
	frames=$(timeout 120 tshark -n -r "$f" -T fields -e frame.number 2>"$f.tshark.err" | wc -l)
	# Protocols found only by payload heuristics off (HTTP and DNS stay):
	# random bytes (discard, bulk files) can look like one of them and be
	# "malformed" as that protocol.
	local heur=()
	while read -r h; do heur+=(--disable-protocol "$h"); done < <(tshark -G heuristic-decodes 2>/dev/null |
		awk '($1 == "tcp" || $1 == "udp") && $2 != "http" && $2 != "dns" { print $2 }' | sort -u)
	# And those found by port: an ephemeral port can be another protocol's
	# well-known one (44818, EtherNet/IP), and random bytes there are
	# "malformed". Every protocol the capture shows above TCP and UDP but
	# HTTP and DNS (what the tests speak) is dissected as plain data.
	while read -r h; do heur+=(--disable-protocol "$h"); done < <(timeout 120 tshark -n -r "$f" "${heur[@]}" \
		-T fields -e frame.protocols 2>/dev/null | tr ':' '\n' | sort -u |
		grep -vxE 'eth|ethertype|vlan|arp|ip|ipv6|ipv6\.[a-z]+|icmp|icmpv6|tcp|udp|data|http|dns|media|urlencoded-form|mime_multipart|png|image-jfif|json|xml|data-text-lines|sll|raw|null')
	local topts=(-n -r "$f" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE
		"${heur[@]}" "$@")
	bad=$(timeout 120 tshark "${topts[@]}" -Y "$UST_PCAP_FILTER" -T fields -E occurrence=a -E aggregator=, \
		-e frame.number -e tcp.checksum.ffff -e _ws.expert.severity -e _ws.malformed -e ip.checksum.status \
		-e udp.checksum.status -e icmp.checksum.status 2>>"$f.tshark.err")
	rc=$?
	# The frame numbers of the bad ones: a malformed frame, a bad IP, UDP or
	# ICMP checksum, or an error-level item other than one tcp.checksum.ffff.
	bad=$(printf '%s\n' "$bad" | awk -F'\t' -v err=$UST_PCAP_ERROR 'NF {
		n = 0; m = split($3, sev, ",")
		for (i = 1; i <= m; i++) if (sev[i] + 0 >= err) n++
		if ($2 != "") n--
		st = "," $5 "," $6 "," $7 ","
		if (n > 0 || $4 != "" || st ~ /,0,/) printf "%s%s", sep, $1; sep = " " }')
	[ -n "$bad" ] && bad=$(timeout 120 tshark "${topts[@]}" -Y "frame.number in {$bad}" 2>>"$f.tshark.err")
	if [ "$rc" != 0 ]; then
		not_ok "$what: tshark cannot read $f (exit $rc)"
		grep -v 'Running as user' "$f.tshark.err" | diag
	elif [ "$frames" -eq 0 ]; then
		not_ok "$what: pcap $f holds no frames"
	elif [ -n "$bad" ]; then
		not_ok "$what: tshark finds malformed frames or bad checksums in $f"
		printf '%s\n' "$bad" | diag
	else
		ok "$what: tshark reads $frames frames in the pcap: none malformed, no bad checksum"
	fi
}

# ust_py ARGS...: the UDP client below, on a kernel socket.
#   (HOST of either family: an IPv6 address has a colon)
#   echo HOST PORT SIZE [COUNT]   COUNT datagrams of SIZE bytes come back intact
#   refused HOST PORT             a datagram to HOST:PORT gets connection refused
ust_py() {
	timeout 60 "$UST_PY" - "$@" <<'PY'
import errno, os, socket, sys

def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET

def echo(host, port, size, count=1):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, int(port)))
    size, count = int(size), int(count)
    for i in range(count):
        data = os.urandom(size)
        s.send(data)
        try:
            back = s.recv(65536)
        except socket.timeout:
            sys.exit("datagram %d of %d (%d bytes): no echo within 3 s" % (i + 1, count, size))
        if back != data:
            sys.exit("datagram %d: sent %d bytes, got %d bytes back, %s" % (
                i + 1, size, len(back), "equal length but different bytes" if len(back) == size else "different"))
    print("%d datagram(s) of %d bytes echoed intact" % (count, size))

def refused(host, port):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, int(port)))
    s.send(b"anyone there?")
    try:
        data = s.recv(65536)
    except ConnectionRefusedError:
        print("connection refused, as expected")
        return
    except socket.timeout:
        sys.exit("no error within 3 s (expected connection refused)")
    sys.exit("got a %d-byte answer (expected connection refused)" % len(data))

cmd = sys.argv[1]
{"echo": echo, "refused": refused}[cmd](*sys.argv[2:])
PY
}
