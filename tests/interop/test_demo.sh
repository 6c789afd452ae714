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
O=$UST_TMP/demo.out
expect_num "$T: the kernel's pings were answered, 3 small and 2 of 8000 bytes, each family" \
	"$(grep -cE '^(3 packets transmitted, 3|2 packets transmitted, 2) received, 0% packet loss' "$O")" -eq 4
check "$T: IPv6 pings went to ustack's IPv6 address" grep -q '^8008 bytes from fd77::2' "$O"
expect_num "$T: the 60000-byte datagram came back intact, each family" \
	"$(grep -c '60000-byte datagram.*echoed intact' "$O")" -eq 2
expect_num "$T: the closed port was refused, each family" "$(grep -ci 'reports connection refused' "$O")" -eq 2
expect_num "$T: curl's downloads have the file's SHA-256, each family" \
	"$(grep -c '^SHA-256 [0-9a-f]\{64\}: the same as the file' "$O")" -eq 2
check "$T: the IPv6 download came from ustack's IPv6 address" grep -q '^4194304 bytes in .* from fd77::2$' "$O"
D=$(sed -n 's/.* serves \(\/tmp\/ustack-demo\.[A-Za-z0-9]*\) over HTTP.*/\1/p' "$O")
if [ -n "$D" ] && [ ! -e "$D" ]; then ok "$T: the demo's directory $D is gone"; else not_ok "$T: the demo's directory '$D' is left"; fi
if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$UST_TMP/demo.err"; then
	not_ok "$T: sanitizer report on stderr"
	diag "$UST_TMP/demo.err"
else
	ok "$T: no sanitizer report"
fi
check "$T: the demo's device did not leak into this namespace" bash -c '! ip link show dev usdemo0 2>/dev/null'
ust_pcap $T "$UST_TMP/demo.pcap"
ust_finish
