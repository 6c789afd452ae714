#!/usr/bin/env bash
# Runs upstream packetdrill's TCP scripts (gtests/net/tcp) against ustack,
# through the plug-in (tests/packetdrill/plugin.c), or against the kernel.
#
#   tests/packetdrill/run.sh [options] [SCRIPT.pkt ...]
#
#   --kernel         the Linux kernel in packetdrill's local mode instead
#   --san            the ASan+UBSan plug-in (build-san/packetdrill/ustack.so)
#   --ipv6           packetdrill's --ip_version=ipv6 (upstream's IPv6 flags)
#   --mapped         --ip_version=ipv4-mapped-ipv6: AF_INET6 sockets, IPv4 packets
#   --check FILE     fail if a script FILE lists does not pass (the ratchet)
#   -j N             N scripts at a time (default 2)
#   --timeout S      per script, in real seconds (default 60)
#   --logs DIR       one log per script (default build/packetdrill/logs[-kernel][-san][-ipv6])
#
# With no SCRIPT, every script in gtests/net/tcp that runs over IPv4 (all but
# the IPv6-only ones), as upstream runs them with --ip_version=ipv4; with
# --ipv6, every script that does not pin IPv4, with --ip_version=ipv6; with
# --mapped, the IPv4 ones with --ip_version=ipv4-mapped-ipv6. Each runs
# in a network namespace of its own (unshare -n) from its own directory, as
# upstream does (the scripts call ../common/defaults.sh, which sets the
# namespace's TCP sysctls). Prints PASS or FAIL per script and the total.
#
# Builds what it needs first (make packetdrill [SAN=1]); PACKETDRILL_DIR names
# the directory with packetdrill's tarball (default ../shared/tools/packetdrill).
# Needs root (namespaces).
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD

MODE=ustack
SAN=0
IPV=ipv4
CHECK=
JOBS=2
TIMEOUT=60
LOGS=
SCRIPTS=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) MODE=kernel ;;
	--san) SAN=1 ;;
	--ipv6) IPV=ipv6 ;;
	--mapped) IPV=mapped ;;
	--check) CHECK=$2; shift ;;
	-j) JOBS=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--logs) LOGS=$2; shift ;;
	-h|--help) sed -n '2,26p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) SCRIPTS+=("$1") ;;
	esac
	shift
done

if [ "$(id -u)" != 0 ]; then
	echo "tests/packetdrill/run.sh: FAILED: needs root (network namespaces)" >&2
	exit 1
fi

TREE=build
[ $SAN = 1 ] && TREE=build-san
if ! make --no-print-directory -j2 packetdrill SAN=$SAN >/tmp/pktdrill-make.$$ 2>&1; then
	cat /tmp/pktdrill-make.$$ >&2
	rm -f /tmp/pktdrill-make.$$
	echo "tests/packetdrill/run.sh: FAILED: could not build packetdrill or the plug-in" >&2
	exit 1
fi
rm -f /tmp/pktdrill-make.$$
PD_BIN=$ROOT/build/packetdrill/packetdrill
PLUGIN=$ROOT/$TREE/packetdrill/ustack.so
TCPDIR=$ROOT/build/packetdrill/src/gtests/net/tcp

if [ -z "$LOGS" ]; then
	LOGS=$ROOT/build/packetdrill/logs
	[ $MODE = kernel ] && LOGS=$LOGS-kernel
	[ $SAN = 1 ] && LOGS=$LOGS-san
	[ $IPV = ipv4 ] || LOGS=$LOGS-$IPV
fi
rm -rf "$LOGS"
mkdir -p "$LOGS"

# The scripts, relative to gtests/net/tcp.
if [ ${#SCRIPTS[@]} = 0 ]; then
	while IFS= read -r f; do
		if [ $IPV = ipv6 ]; then
			grep -q '^--ip_version=ipv4' "$TCPDIR/$f" || SCRIPTS+=("$f")
		elif [ $IPV = mapped ]; then
			grep -q '^--ip_version=ipv6' "$TCPDIR/$f" || SCRIPTS+=("$f")
		else
			grep -q '^--ip_version=ipv6' "$TCPDIR/$f" || SCRIPTS+=("$f")
		fi
	done < <(cd "$TCPDIR" && find . -name '*.pkt' | sed 's|^\./||' | LC_ALL=C sort)
else
	for i in "${!SCRIPTS[@]}"; do
		s=${SCRIPTS[$i]}
		s=${s#*gtests/net/tcp/}
		SCRIPTS[$i]=$s
		[ -f "$TCPDIR/$s" ] || { echo "run.sh: no script $TCPDIR/$s" >&2; exit 2; }
	done
fi

# preload.so (ours) lets packetdrill's Python code blocks read the plug-in's
# TCP_INFO and strips RTLD_DEEPBIND from its dlopen. For the sanitizer
# build libasan must come first in the process, and right after it.
# Leak checking is off there: packetdrill, not instrumented, leaves its own
# allocations at exit; the plug-in checks the stack's buffers itself.
PRELOAD=$ROOT/$TREE/packetdrill/preload.so
SANENV="LD_PRELOAD=$PRELOAD"
if [ $SAN = 1 ]; then
	LIBASAN=$(${CC:-cc} -print-file-name=libasan.so)
	SANENV="LD_PRELOAD=$PRELOAD:$LIBASAN ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
fi

# run_one SCRIPT: runs it in a fresh namespace; prints "PASS|FAIL SCRIPT".
run_one() {
	local s=$1 dir base log flags
	dir=$TCPDIR/$(dirname "$s")
	base=$(basename "$s")
	log=$LOGS/$(printf '%s' "$s" | tr '/' '_').log
	# Upstream's flags for IPv4 (run_all.py and the kernel's ksft_runner.sh):
	# addresses, and the symbols some scripts use (TFO_COOKIE is what Linux
	# computes for these addresses with defaults.sh's tcp_fastopen_key). A
	# script that names its own addresses (the Fast Open cookie tests: the
	# cookie depends on them) keeps them: on the command line ours would
	# override the script's, and even Linux fails those scripts so.
	#
	# For IPv6 the flags are the kernel selftests' ipv6 set: MTU 1520 (so
	# the MSS is 1460, as the scripts expect: 1520 less 40 and 20), ULA
	# addresses, the cookies Linux computes for them, IPV6_RECVERR; CODE
	# (icmp-baseline's ICMP code) is address_unreachable, ICMPv6's
	# counterpart of host_unreachable. A script's own IPv4 addresses give
	# way to these (they cannot be used in IPv6); its IPv6 ones stay. A
	# script written for IPv6 (named *ipv6* or *-v6*) counts its MSS from
	# the tun device's own MTU, 1500 (mss 1440), so it gets that MTU.
	local lip rip addrs so_extra mtu
	lip=$(sed -n 's/^--local_ip=//p' "$dir/$base" | head -n1)
	rip=$(sed -n 's/^--remote_ip=//p' "$dir/$base" | head -n1)
	addrs=
	if [ "$IPV" = ipv6 ]; then
		case $lip in *:*) ;; *) lip= ;; esac
		case $rip in *:*) ;; *) rip= ;; esac
		[ -z "$lip" ] && addrs="--local_ip=fd3d:0a0b:17d6::1"
		[ -z "$rip" ] && addrs="$addrs --remote_ip=fd3d:fa7b:d17d::1"
		mtu=1520
		case $base in *ipv6*|*-v6*) mtu=1500 ;; esac
		flags="--ip_version=ipv6 --mtu=$mtu $addrs --gateway_ip=fd3d:0a0b:17d6:8888::1 \
-D TFO_COOKIE=c1d1e9742a47a9bc -D TFO_COOKIE_ZERO=82af1a8f9a205c34 \
-D CMSG_LEVEL_IP=SOL_IPV6 -D CMSG_TYPE_RECVERR=IPV6_RECVERR -D CODE=address_unreachable"
		lip=${lip:-fd3d:0a0b:17d6::1}
		so_extra=",mtu=$mtu"
	else
		# IPv4-mapped IPv6: the IPv4 addresses and cookies (the SYN is
		# IPv4), the error queue in its IPv6 form (the socket is AF_INET6).
		[ -z "$lip" ] && addrs="--local_ip=192.168.0.1"
		[ -z "$rip" ] && addrs="$addrs --remote_ip=192.0.2.1"
		local ipv=ipv4 cmsg="-D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR"
		if [ "$IPV" = mapped ]; then
			ipv=ipv4-mapped-ipv6
			cmsg="-D CMSG_LEVEL_IP=SOL_IPV6 -D CMSG_TYPE_RECVERR=IPV6_RECVERR"
		fi
		flags="--ip_version=$ipv $addrs --gateway_ip=192.168.0.1 --netmask_ip=255.255.0.0 \
-D TFO_COOKIE=3021b9d889017eeb -D TFO_COOKIE_ZERO=b7c12350a90dc8f5 \
$cmsg -D CODE=host_unreachable"
		lip=${lip:-192.168.0.1}
		so_extra=
	fi
	local cmd
	if [ $MODE = kernel ]; then
		cmd="ip link set lo up && exec $PD_BIN $flags $base"
	else
		# defaults.sh sets tun0's qdisc: give it a tun0 (unused: the plug-in
		# is the stack).
		cmd="ip link set lo up && ip tuntap add dev tun0 mode tun && ip link set tun0 up && \
exec env $SANENV $PD_BIN --so_filename=$PLUGIN --so_flags=local_ip=$lip$so_extra $flags $base"
	fi
	# A private /tmp too (unshare -m: a tmpfs that goes with the mount
	# namespace): upstream scripts write /tmp/sysctl_restore_<pid>.sh for
	# the namespace's own sysctls and never delete it.
	(cd "$dir" && timeout -k 5 "$TIMEOUT" unshare -n -m sh -c "mount -t tmpfs tmpfs /tmp && $cmd") >"$log" 2>&1
	local rc=$?
	[ $rc = 124 ] && echo "run.sh: timed out after ${TIMEOUT}s" >>"$log"
	if [ $rc = 0 ]; then
		echo "PASS $s"
	else
		echo "FAIL $s"
	fi
}
export -f run_one
export TCPDIR LOGS MODE IPV PD_BIN PLUGIN SANENV TIMEOUT

T0=$(date +%s)
RESULTS=$LOGS/results.txt
printf '%s\n' "${SCRIPTS[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$1"' _ {} | tee "$RESULTS.unsorted" |
	while read -r verdict s; do
		if [ "$verdict" = PASS ]; then
			printf 'PASS  %s\n' "$s"
		else
			why=$(grep -v '^\s*$' "$LOGS/$(printf '%s' "$s" | tr '/' '_').log" | tail -n 1 | cut -c1-150)
			printf 'FAIL  %s: %s\n' "$s" "$why"
		fi
	done
LC_ALL=C sort -k2 "$RESULTS.unsorted" >"$RESULTS"
rm -f "$RESULTS.unsorted"
NPASS=$(grep -c '^PASS' "$RESULTS")
NALL=$(wc -l <"$RESULTS")
echo "packetdrill ($MODE, $IPV$([ $SAN = 1 ] && echo ', ASan+UBSan')): $NPASS of $NALL scripts pass ($(($(date +%s) - T0)) s; logs in $LOGS)"

STATUS=0
if [ -n "$CHECK" ]; then
	missing=0
	while IFS= read -r s; do
		s=${s%%#*}
		s=$(echo "$s" | tr -d '[:space:]')
		[ -z "$s" ] && continue
		if ! grep -qx "PASS $s" "$RESULTS"; then
			echo "REGRESSION: $s is in $CHECK but did not pass"
			missing=$((missing + 1))
		fi
	done <"$CHECK"
	need=$(grep -v '^\s*#' "$CHECK" | grep -c '\S')
	new=$(grep '^PASS' "$RESULTS" | cut -d' ' -f2 | grep -vxF -f <(grep -v '^\s*#' "$CHECK" | tr -d '[:blank:]') || true)
	[ -n "$new" ] && printf 'passes, not yet in %s (add them):\n%s\n' "$CHECK" "$(printf '%s\n' "$new" | sed 's/^/  /')"
	if [ $missing -gt 0 ] || [ "$NPASS" -lt "$need" ]; then
		echo "tests/packetdrill/run.sh: FAILED: $missing of the $need scripts in $CHECK did not pass"
		STATUS=1
	fi
fi
exit $STATUS
