#!/usr/bin/env bash
# The ustack program's behaviour as a command: --help, bad options (exit 2,
# one line on stderr, no device left behind), signals (SIGUSR1 prints the
# counters and goes on, SIGINT stops like SIGTERM), a device ustack did not
# create survives it, and a sanity check of the pcap checker itself.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=cli
# --help: exit 0, usage on stdout, nothing on stderr.
for args in "--help" "-h" "serve --help" "serve -h" "demo --help"; do
	out=$("$USTACK" $args 2>"$UST_TMP/help.err")
	rc=$?
	if [ $rc = 0 ] && [[ "$out" == usage:* ]] && [ ! -s "$UST_TMP/help.err" ]; then
		ok "$T: ustack $args exits 0 and prints the usage on stdout"
	else
		not_ok "$T: ustack $args (exit $rc)"
		diag "$UST_TMP/help.err"
	fi
done

# bad_option "<args>": exit 2, stdout empty, exactly one line on stderr that
# starts with 'ustack: '.
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
bad_option bogus
bad_option serve
bad_option serve --tap ustap5
bad_option serve --ip 10.201.5.2/24
bad_option serve --tap ustap5 --tun ustun5 --ip 10.201.5.2/24
bad_option serve --tap ustap5 --ip 10.201.5.2
bad_option serve --tap ustap5 --ip 10.201.5.300/24
bad_option serve --tap ustap5 --ip 10.201.5.2/33
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --host-ip nonsense
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --gateway 10.201.5
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --mtu 67
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --mtu 65536
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --mtu 1500x
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --mac 01:00:5e:00:00:01
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --mac 02:00:00:00:00
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --udp-echo 0
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --udp-echo 65536
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --frobnicate
bad_option serve --tap ustap5 --ip 10.201.5.2/24 extra-argument
bad_option serve --tap ustap5 --ip
bad_option serve --tap ustap5678901234567 --ip 10.201.5.2/24
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --busy-poll x
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --busy-poll -1
bad_option serve --tap ustap5 --ip 10.201.5.2/24 --busy-poll 1000001
bad_option demo --frobnicate
check "$T: no bad invocation left a device behind" bash -c '[ "$(ip -o link show | wc -l)" = 1 ]'

# Run-time failures: exit 1 with one line, and no device left behind.
out=$(timeout 10 "$USTACK" serve --tap ustap5 --ip 10.201.5.2/24 --pcap /nonexistent-dir/x.pcap 2>&1)
rc=$?
if [ $rc = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && ! ip link show dev ustap5 >/dev/null 2>&1; then
	ok "$T: an unwritable --pcap fails with exit 1 and one line, and leaves no device: $out"
else
	not_ok "$T: an unwritable --pcap (exit $rc, wanted 1 and one line; device left: $(ip link show dev ustap5 >/dev/null 2>&1 && echo yes || echo no))"
	printf '%s\n' "$out" | diag
fi
out=$(timeout 10 "$USTACK" serve --tap ustap5 --ip 10.201.5.2/24 --udp-echo 7 --udp-echo 7 2>&1)
rc=$?
if [ $rc = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && ! ip link show dev ustap5 >/dev/null 2>&1; then
	ok "$T: the same --udp-echo port twice fails with exit 1 and one line: $out"
else
	not_ok "$T: the same --udp-echo port twice (exit $rc)"
	printf '%s\n' "$out" | diag
fi
out=$(timeout 10 "$USTACK" serve --tap lo --ip 10.201.5.2/24 2>&1)
rc=$?
if [ $rc = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ]; then
	ok "$T: --tap on a device that is not a TAP (lo) fails with exit 1 and one line: $out"
else
	not_ok "$T: --tap lo (exit $rc)"
	printf '%s\n' "$out" | diag
fi

# Signals: SIGUSR1 prints the counters and ustack goes on; SIGINT stops it.
if ust_start sig --tap ustap6 --ip 10.201.6.2/24 --host-ip 10.201.6.1/24; then
	kill -USR1 "$UST_PID"
	for ((i = 0; i < 50; i++)); do
		grep -q '^Buffers in use' "$UST_OUT" && break
		sleep 0.1
	done
	if grep -q '^Ip:$' "$UST_OUT" && kill -0 "$UST_PID" 2>/dev/null; then
		ok "sig: SIGUSR1 prints the counters and ustack keeps running"
	else
		not_ok "sig: SIGUSR1 did not print the counters, or ustack stopped"
		diag "$UST_OUT" "$UST_ERR"
	fi
	ust_ping "sig: still answering after SIGUSR1" -c 2 -i 0.2 -W 3 10.201.6.2
	ust_stop sig INT
	expect_eq "sig: two counter dumps (SIGUSR1, then exit)" "$(grep -c '^Buffers in use' "$UST_OUT")" 2
	stat_is sig Icmp InEchos -ge 2
	ust_gone sig ustap6
fi

# Busy polling: after a frame comes in, the stack polls the device for
# --busy-poll microseconds instead of sleeping, and only then sleeps. Its CPU
# time (utime + stime, clock ticks) shows both: about 200 pings x 500 us of
# spinning while pings arrive every 5 ms (~10 ticks; without busy polling a
# ping costs the stack microseconds: 0 or 1 tick), and none once they stop.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
if ust_start busy --tap ustap8 --ip 10.201.8.2/24 --host-ip 10.201.8.1/24 --busy-poll 500 --tcp-echo 7; then
	check "busy: the ready line states the busy polling" grep -q 'busy poll 500 us' "$UST_OUT"
	ust_ping "busy: answering while busy polling" -c 3 -i 0.2 -W 3 10.201.8.2
	t0=$(cpu_ticks "$UST_PID")
	timeout 30 ping -q -c 200 -i 0.005 -W 1 10.201.8.2 >"$UST_TMP/busy.ping" 2>&1
	t1=$(cpu_ticks "$UST_PID")
	note "busy: $(grep -E 'packets transmitted' "$UST_TMP/busy.ping"); ustack's CPU meanwhile: $((t1 - t0)) ticks"
	expect_num "busy: the stack spun after the pings (CPU ticks during 200 pings 5 ms apart)" $((t1 - t0)) -ge 4
	sleep 0.5
	t0=$(cpu_ticks "$UST_PID")
	sleep 1
	t1=$(cpu_ticks "$UST_PID")
	expect_num "busy: and stopped spinning once they stopped (CPU ticks in 1 s idle)" $((t1 - t0)) -le 5
	out=$(printf 'busy poll echo\n' | timeout 10 nc -q 1 10.201.8.2 7)
	expect_eq "busy: TCP echo while busy polling" "$out" "busy poll echo"
	ust_stop busy
fi

# A device that existed before ustack is left in place when it exits.
ip tuntap add dev ustap7 mode tap
if ust_start pre --tap ustap7 --ip 10.201.7.2/24 --host-ip 10.201.7.1/24; then
	if grep -q 'device created' "$UST_OUT"; then
		not_ok "pre: the ready line says ustack created ustap7, which existed before"
	else
		ok "pre: the ready line does not claim ustack created ustap7"
	fi
	ust_ping "pre: ping over a TAP device ustack did not create" -c 2 -i 0.2 -W 3 10.201.7.2
	ust_stop pre
	check "pre: ustap7, which ustack did not create, still exists after it exits" ip link show dev ustap7
fi
ip link del dev ustap7 2>/dev/null

# The pcap checker finds what it must: a bad IP, UDP and ICMP checksum and
# a truncated IP packet, each in a capture of its own.
if "$UST_PY" - "$UST_TMP" <<'PY' >"$UST_TMP/scapy.log" 2>&1
import sys
from scapy.all import Ether, IP, UDP, ICMP, wrpcap
d = sys.argv[1]
bad = {
    "ipsum": Ether() / IP(src="10.201.9.1", dst="10.201.9.2", chksum=0x1234) / ICMP(),
    "udpsum": Ether() / IP(src="10.201.9.1", dst="10.201.9.2") / UDP(sport=30000, dport=30001, chksum=0x1234) / (b"x" * 10),
    "icmpsum": Ether() / IP(src="10.201.9.1", dst="10.201.9.2") / ICMP(chksum=0x1234),
    "trunc": Ether() / IP(src="10.201.9.1", dst="10.201.9.2", len=100) / ICMP(),
}
for name, p in bad.items():
    wrpcap("%s/selftest-%s.pcap" % (d, name), [Ether() / IP(src="10.201.9.1", dst="10.201.9.2") / ICMP(), p])
wrpcap("%s/selftest-good.pcap" % d, [Ether() / IP(src="10.201.9.1", dst="10.201.9.2") / ICMP()])
PY
then
	saved_fail=$UST_FAIL saved_pass=$UST_PASS
	for name in ipsum udpsum icmpsum trunc; do
		UST_FAIL=0
		ust_pcap x "$UST_TMP/selftest-$name.pcap" >/dev/null
		flagged=$UST_FAIL
		UST_FAIL=$saved_fail UST_PASS=$saved_pass
		expect_eq "pcap checker flags a capture with a bad frame ($name)" "$flagged" 1
		saved_fail=$UST_FAIL saved_pass=$UST_PASS
	done
	UST_FAIL=0
	ust_pcap x "$UST_TMP/selftest-good.pcap" >/dev/null
	flagged=$UST_FAIL
	UST_FAIL=$saved_fail UST_PASS=$saved_pass
	expect_eq "pcap checker passes a good capture" "$flagged" 0
else
	not_ok "scapy could not write the pcap checker's test captures"
	diag "$UST_TMP/scapy.log"
fi
ust_finish
