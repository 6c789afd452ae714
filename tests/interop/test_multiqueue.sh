#!/usr/bin/env bash
# `ustack serve --queues N` on a multi-queue TAP: one stack per queue, each
# on its own thread, sharing nothing. The kernel spreads flows across the
# queues by flow hash; every flow must still be served whole by the stack
# that owns it: 16 concurrent curl downloads checked by SHA-256, nc into
# the discard port, ping and UDP echo, then each queue's counters.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

DEV=usmq0
HOST=10.215.2.1
ME=10.215.2.2
T=mq
MB=20
[ "${UST_SAN:-0}" = 1 ] && MB=5

mkdir -p "$UST_TMP/www"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$UST_TMP/www/f.bin"
SHA=$(sha256sum <"$UST_TMP/www/f.bin" | cut -d' ' -f1)

# bad values
for q in 0 9 x -1; do
	out=$(timeout 10 "$USTACK" serve --tap $DEV --ip $ME/24 --queues $q 2>&1)
	rc=$?
	if [ $rc = 2 ] && grep -q -- '--queues' <<<"$out"; then
		ok "$T: --queues $q is refused (exit 2)"
	else
		not_ok "$T: --queues $q: exit $rc, wanted 2 with a message"
		printf '%s\n' "$out" | diag
	fi
done

if ust_start $T --tap $DEV --ip $ME/24 --host-ip $HOST/24 --http 80:"$UST_TMP/www" --discard 9 --udp-echo 7 --queues 2; then
	check "$T: ustack reports 2 queues" grep -q '2 queues' "$UST_OUT"
	check "$T: ping through a multi-queue device" ping -c 3 -i 0.2 -W 2 $ME
	pids=()
	for i in $(seq 16); do
		timeout 90 curl -s -o "$UST_TMP/got$i.bin" http://$ME/f.bin &
		pids+=($!)
	done
	wait "${pids[@]}"
	good=0
	for i in $(seq 16); do
		[ "$(sha256sum <"$UST_TMP/got$i.bin" 2>/dev/null | cut -d' ' -f1)" = "$SHA" ] && good=$((good + 1))
		rm -f "$UST_TMP/got$i.bin"
	done
	expect_num "$T: 16 concurrent ${MB} MB downloads arrive with the right SHA-256" $good -eq 16
	pids=()
	for i in $(seq 4); do
		timeout 60 nc -N $ME 9 <"$UST_TMP/www/f.bin" &
		pids+=($!)
	done
	okn=0
	for p in "${pids[@]}"; do wait "$p" && okn=$((okn + 1)); done
	expect_num "$T: 4 concurrent uploads into the discard port end cleanly" $okn -eq 4
	check "$T: UDP echo" ust_py echo $ME 7 1000 5
	ust_stop $T
	ust_gone $T $DEV
	# Each queue's stack took part: flows hashed to both (P(all 20 TCP
	# flows on one queue) = 2^-19).
	for q in 0 1; do
		n=$(awk -v q="queue $q:" '$0 == q { on = 1; next } /^queue |^all queues/ { on = 0 }
			on && $1 == "PassiveOpens" { print $2 }' "$UST_OUT")
		expect_num "$T: queue $q accepted connections" "${n:-0}" -gt 0
	done
	stat_is $T Tcp PassiveOpens -ge 20
	stat_is $T Tcp InErrs -eq 0
fi
ust_finish
