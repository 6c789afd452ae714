#!/usr/bin/env bash
# `ustack demo` (which makes a namespace of its own, here nested in ours)
# runs every step, exits 0, and its pcap is clean.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

T=demo
timeout 120 "$USTACK" demo --pcap "$UST_TMP/demo.pcap" >"$UST_TMP/demo.out" 2>"$UST_TMP/demo.err"
rc=$?
if [ $rc = 0 ]; then
	ok "$T: ustack demo exits 0"
else
	not_ok "$T: ustack demo exits $rc"
	diag "$UST_TMP/demo.out" "$UST_TMP/demo.err"
fi
check "$T: the demo reports every step passed" grep -q 'all steps passed' "$UST_TMP/demo.out"
check "$T: the kernel's 8000-byte pings were answered" grep -q '2 packets transmitted, 2 received, 0% packet loss' "$UST_TMP/demo.out"
check "$T: the 60000-byte datagram came back intact" grep -q '60000-byte datagram.*echoed intact' "$UST_TMP/demo.out"
check "$T: the closed port was refused" grep -qi 'connection refused' "$UST_TMP/demo.out"
if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$UST_TMP/demo.err"; then
	not_ok "$T: sanitizer report on stderr"
	diag "$UST_TMP/demo.err"
else
	ok "$T: no sanitizer report"
fi
check "$T: the demo's device did not leak into this namespace" bash -c '! ip link show dev usdemo0 2>/dev/null'
ust_pcap $T "$UST_TMP/demo.pcap"
ust_finish
