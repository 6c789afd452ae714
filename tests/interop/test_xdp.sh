#!/usr/bin/env bash
# ustack on an existing interface through AF_XDP (`serve --xdp`) and
# AF_PACKET (`serve --af-packet`): one end of a veth pair lives in a
# namespace of this test's own (afxdp-PID) where ustack takes it over; the
# other end is the kernel, in this script's private namespace. For each
# device: the kernel pings, curls a file checked by SHA-256 and echoes UDP;
# the kernel keeps its own traffic on the shared interface; tshark finds
# the capture clean; the interface is left as it was after SIGTERM and
# after SIGKILL (ip -d link, bpftool); then two queues, one stack each.
# A kernel without AF_XDP, BPF or veth fails the test, loudly.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

NS=afxdp-$$
PEER=afx1          # the kernel's end, here
DEV=afx0           # ustack's end, in $NS
HOST=10.218.0.1
ME=10.218.0.2
KADDR=10.218.0.3   # the kernel's own address on $DEV, beside ustack's
MB=8
[ "${UST_SAN:-0}" = 1 ] && MB=3

cleanup_ns() {
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	ust_cleanup
}
trap cleanup_ns EXIT

# ustack runs inside $NS: ust_start runs "$USTACK serve ...", so USTACK
# becomes a wrapper that enters the namespace (exec: the same pid).
REAL_USTACK=$USTACK
USTACK=$UST_TMP/ustack-in-ns
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$REAL_USTACK" >"$USTACK"
chmod +x "$USTACK"

mkdir -p "$UST_TMP/www"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$UST_TMP/www/f.bin"
SHA=$(sha256sum <"$UST_TMP/www/f.bin" | cut -d' ' -f1)
echo small >"$UST_TMP/www/s.txt"

# The kernel picks a flow's queue (veth tx queue, fanout hash) from a random
# per-socket hash, so 8 flows all land on one queue once in 128 runs.  After
# the 8 downloads, 24 more short connections make that 1 in 2^31: the check
# that both queues' stacks took segments then fails only if they did not.
more_flows() {
	local i n=0
	for i in $(seq 24); do
		[ "$(timeout 10 curl -s http://$ME/s.txt)" = small ] && n=$((n + 1))
	done
	expect_num "$1: 24 more short connections each got the small file" $n -eq 24
}

# The pair, with Q queues each way (1; 2 for the multi-queue part: a stack
# on queue 0 alone would not see the flows the kernel sends on queue 1).
setup_pair() {
	local q=$1
	ip link del $PEER 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
		ip link add $PEER numtxqueues $q numrxqueues $q type veth peer name $DEV numtxqueues $q numrxqueues $q \
			netns "$NS" &&
		ip addr add $HOST/24 dev $PEER && ip link set $PEER up &&
		ip -n "$NS" addr add $KADDR/24 dev $DEV && ip -n "$NS" link set $DEV up
}
if ! setup_pair 1; then
	not_ok "xdp: cannot create the veth pair and namespace $NS: this kernel lacks veth or namespaces"
	ust_finish
fi
ok "xdp: veth pair $PEER (kernel) / $DEV (in $NS, for ustack)"

# What the interface looks like without ustack: compared after each run.
dev_state() {
	ip -n "$NS" -d link show dev $DEV | sed -E 's/ (state|qlen) [A-Z0-9]+//g'
	ip netns exec "$NS" bpftool net show dev $DEV 2>&1
	ip -n "$NS" -o addr show dev $DEV | awk '{ print $2, $3, $4 }'
}
if ! command -v bpftool >/dev/null; then
	not_ok "xdp: bpftool is not installed (tools/install-deps.sh installs it)"
fi
BEFORE=$(dev_state)
if grep -q 'prog/xdp' <<<"$BEFORE"; then
	not_ok "xdp: $DEV has an XDP program before ustack ran"
fi

same_state() {
	local what=$1 now
	now=$(dev_state)
	if [ "$now" = "$BEFORE" ]; then
		ok "$what: $DEV is as it was (ip -d link, bpftool net, addresses)"
	else
		not_ok "$what: $DEV is not as it was"
		diff <(printf '%s\n' "$BEFORE") <(printf '%s\n' "$now") | diag /dev/stdin
	fi
}

in_ns() { ip netns exec "$NS" "$@"; }

# serve_one T OPTIONS...: the services, then SIGTERM; checks and capture.
serve_one() {
	local T=$1
	shift
	rm -f "$UST_TMP/$T.pcap"
	ust_start $T "$@" --ip $ME/24 --http 80:"$UST_TMP/www" --udp-echo 7 --tcp-echo 7 --pcap "$UST_TMP/$T.pcap" ||
		return 1
	note "$T: $(grep ready "$UST_OUT")"
	ust_ping "$T" -c 3 -i 0.2 -W 2 $ME
	local got
	got=$(timeout 60 curl -s http://$ME/f.bin | sha256sum | cut -d' ' -f1)
	expect_eq "$T: a ${MB} MB file over HTTP has the right SHA-256" "$got" "$SHA"
	check "$T: UDP echo, 20 datagrams of 1000 bytes" ust_py echo $ME 7 1000 20
	check "$T: TCP echo" bash -c "echo hello-$T | timeout 10 nc -N $ME 7 | grep -qx hello-$T"
	# Everything not for ustack still reaches the kernel on the same interface.
	ust_ping "$T: the kernel's own address on $DEV still answers while ustack runs" -c 2 -i 0.2 -W 2 $KADDR
	ust_stop $T
	stat_is "$T: ustack answered the pings" Icmp OutEchoReps -ge 3
	ust_pcap "$T" "$UST_TMP/$T.pcap"
	same_state "$T: after SIGTERM"
}

# kill_one T OPTIONS...: SIGKILL while busy; the interface must still be
# as it was, and ustack must start on it again.
kill_one() {
	local T=$1
	shift
	ust_start $T "$@" --ip $ME/24 --http 80:"$UST_TMP/www" || return 1
	timeout 20 curl -s -o /dev/null http://$ME/f.bin &
	local cpid=$!
	sleep 0.3
	kill -KILL "$UST_PID"
	wait "$UST_PID" 2>/dev/null
	UST_PID=
	wait $cpid 2>/dev/null
	sleep 0.3   # the kernel releases the program when the last descriptor goes
	same_state "$T: after SIGKILL"
	if ust_start $T-again "$@" --ip $ME/24; then
		ust_ping "$T: ustack starts again on the interface" -c 2 -i 0.2 -W 2 $ME
		ust_stop $T-again
	fi
}

# --- AF_XDP ------------------------------------------------------------------
# A veth peer leaves TCP and UDP checksums for the "hardware" to finish
# (CHECKSUM_PARTIAL), and XDP sees the frame before anyone does: a NIC
# delivers finished checksums, so the kernel's end computes them itself.
ethtool -K $PEER tx off >/dev/null 2>&1 || not_ok "xdp: ethtool cannot turn off $PEER's checksum offload"

if serve_one xdp --xdp $DEV; then
	if grep -qE 'AF_XDP queue 0, (zero-copy|copy mode)' "$UST_OUT"; then
		ok "xdp: ustack reports its AF_XDP mode: $(grep -oE '(zero-copy|copy mode)[^,]*, [a-z]+ XDP' "$UST_OUT")"
	else
		not_ok "xdp: the ready line does not say which AF_XDP mode runs"
	fi
	stat_is "xdp: frames came in over AF_XDP" Link InFrames -gt 100
fi
# While it ran, the program was there (a second run, checked from outside).
if ust_start xdp-prog --xdp $DEV --ip $ME/24; then
	id=$(in_ns bpftool net show dev $DEV 2>&1 | sed -nE 's/.*(driver|generic) id ([0-9]+).*/\2/p' | head -n 1)
	if [ -n "$id" ] && in_ns bpftool prog show id "$id" 2>&1 | grep -q 'name ustack_xdp'; then
		ok "xdp: bpftool shows ustack's XDP program (id $id) on $DEV while it runs"
	else
		not_ok "xdp: no ustack_xdp program on $DEV while ustack runs"
		in_ns bpftool net show dev $DEV 2>&1 | diag /dev/stdin
	fi
	# A second ustack on the same queue is refused, and says why (the control
	# socket of the first refuses it before the device is touched).
	out=$(timeout 10 "$USTACK" serve --xdp $DEV --ip 10.218.0.9/24 2>&1)
	rc=$?
	if [ $rc != 0 ] && grep -qiE 'busy|taken|another XDP|in use by a running ustack' <<<"$out"; then
		ok "xdp: a second ustack on the interface is refused (exit $rc)"
	else
		not_ok "xdp: a second ustack on the interface: exit $rc"
		printf '%s\n' "$out" | diag /dev/stdin
	fi
	ust_stop xdp-prog
fi
same_state "xdp: after the second run"
# Zero-copy asked for on a driver without it: a clean refusal, no leftovers.
out=$(timeout 10 "$USTACK" serve --xdp $DEV --xdp-mode zerocopy --ip $ME/24 2>&1)
rc=$?
if [ $rc != 0 ] && grep -q 'AF_XDP' <<<"$out"; then
	ok "xdp: --xdp-mode zerocopy on veth fails with a reason (exit $rc)"
else
	not_ok "xdp: --xdp-mode zerocopy on veth: exit $rc"
	printf '%s\n' "$out" | diag /dev/stdin
fi
same_state "xdp: after the refused zero-copy run"
serve_one xdp-skb --xdp $DEV --xdp-mode skb && check "xdp-skb: generic XDP reported" grep -q 'generic XDP' "$UST_TMP/xdp-skb.out"
kill_one xdp-kill --xdp $DEV

# Two queues, two stacks: flows spread by the veth's queue choice.
setup_pair 2 || not_ok "xdp-mq: cannot make a veth pair with 2 queues"
ethtool -K $PEER tx off >/dev/null 2>&1
BEFORE=$(dev_state)
if ust_start xdp-mq --xdp $DEV --queues 2 --ip $ME/24 --http 80:"$UST_TMP/www" --udp-echo 7; then
	pids=()
	for i in $(seq 8); do
		timeout 60 curl -s -o "$UST_TMP/mq$i.bin" --local-port $((40000 + i * 7)) http://$ME/f.bin &
		pids+=($!)
	done
	wait "${pids[@]}"
	good=0
	for i in $(seq 8); do
		[ "$(sha256sum <"$UST_TMP/mq$i.bin" 2>/dev/null | cut -d' ' -f1)" = "$SHA" ] && good=$((good + 1))
		rm -f "$UST_TMP/mq$i.bin"
	done
	expect_num "xdp-mq: 8 concurrent downloads over 2 AF_XDP queues arrive with the right SHA-256" $good -eq 8
	more_flows xdp-mq
	ust_ping "xdp-mq" -c 3 -i 0.2 -W 2 $ME
	ust_stop xdp-mq
	q0=$(awk '/^queue 0:/ { q = 1 } /^queue 1:/ { q = 0 } q && $1 == "InSegs" { print $2; exit }' "$UST_OUT")
	q1=$(awk '/^queue 1:/ { q = 1 } /^all queues:/ { q = 0 } q && $1 == "InSegs" { print $2; exit }' "$UST_OUT")
	expect_num "xdp-mq: queue 0's stack took TCP segments" "${q0:-0}" -gt 0
	expect_num "xdp-mq: queue 1's stack took TCP segments" "${q1:-0}" -gt 0
fi
same_state "xdp-mq: after SIGTERM"

# --- AF_PACKET ----------------------------------------------------------------
# With the peer's checksum offload on: the ring says which checksums are
# unfinished (TP_STATUS_CSUMNOTREADY).
setup_pair 1 || not_ok "afp: cannot make the veth pair again"
BEFORE=$(dev_state)
serve_one afp --af-packet $DEV && check "afp: ustack reports TPACKET_V2, its default rings and qdisc bypass" \
	grep -q 'AF_PACKET TPACKET_V2, rx 2048 frames, tx 512 frames, qdisc bypass' "$UST_TMP/afp.out"
kill_one afp-kill --af-packet $DEV
setup_pair 2 || not_ok "afp-mq: cannot make a veth pair with 2 queues"
BEFORE=$(dev_state)
if ust_start afp-mq --af-packet $DEV --queues 2 --ip $ME/24 --http 80:"$UST_TMP/www"; then
	pids=()
	for i in $(seq 8); do
		timeout 60 curl -s -o "$UST_TMP/mq$i.bin" http://$ME/f.bin &
		pids+=($!)
	done
	wait "${pids[@]}"
	good=0
	for i in $(seq 8); do
		[ "$(sha256sum <"$UST_TMP/mq$i.bin" 2>/dev/null | cut -d' ' -f1)" = "$SHA" ] && good=$((good + 1))
		rm -f "$UST_TMP/mq$i.bin"
	done
	expect_num "afp-mq: 8 concurrent downloads over a fanout group of 2 arrive with the right SHA-256" $good -eq 8
	more_flows afp-mq
	ust_stop afp-mq
	q0=$(awk '/^queue 0:/ { q = 1 } /^queue 1:/ { q = 0 } q && $1 == "InSegs" { print $2; exit }' "$UST_OUT")
	q1=$(awk '/^queue 1:/ { q = 1 } /^all queues:/ { q = 0 } q && $1 == "InSegs" { print $2; exit }' "$UST_OUT")
	expect_num "afp-mq: queue 0's stack took TCP segments" "${q0:-0}" -gt 0
	expect_num "afp-mq: queue 1's stack took TCP segments" "${q1:-0}" -gt 0
fi
same_state "afp-mq: after SIGTERM"

ust_finish
