#!/usr/bin/env bash
# Seeds from a real capture: `ustack serve --pcap` on a TAP device in a
# private network namespace, talked to by the kernel (ping, fragmented
# ping, curl, TCP and UDP echo, a closed port, arping); the capture is then
# mapped onto the fuzz harness's addresses (fuzz/split_pcap.py --rewrite)
# and added to fuzz/corpus/. Needs root; touches nothing outside its
# namespace.
#
#   bash fuzz/capture_kernel.sh [OUT_DIR]     (default fuzz/corpus)
. "$(dirname "$0")/../tests/interop/lib.sh"
ust_enter_netns "$@"
OUT=${1:-$UST_ROOT/fuzz/corpus}
DEV=ustfz0
HOST=10.201.77.1
ME=10.201.77.2
T=fuzzcap
PCAP=$UST_TMP/kernel.pcap
if ust_start $T --tap $DEV --ip $ME/24 --host-ip $HOST/24 --http 80 --tcp-echo 7 --udp-echo 7 --pcap "$PCAP"; then
	check "ping" timeout 10 ping -c 2 -i 0.2 -W 2 $ME
	check "fragmented ping" timeout 10 ping -c 2 -i 0.2 -s 3000 -W 2 $ME
	check "curl" timeout 10 curl -sf -o /dev/null http://$ME/
	check "tcp echo" bash -c "echo hello | timeout 5 nc -q 1 $ME 7 | grep -q hello"
	check "udp echo" bash -c "echo hello | timeout 5 socat -T 2 - UDP:$ME:7 | grep -q hello"
	timeout 5 nc -z $ME 81
	echo x | timeout 3 socat -T 1 - UDP:$ME:9999 >/dev/null 2>&1
	timeout 5 arping -c 2 -w 3 -I $DEV $ME >/dev/null 2>&1
	ust_stop $T
	check "split the capture" python3 "$UST_ROOT/fuzz/split_pcap.py" --rewrite "$PCAP" "$OUT"
fi
ust_finish
