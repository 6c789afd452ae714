#!/usr/bin/env bash
# `ustack serve --iperf3` against Debian's iperf3 client, and the --source
# and --discard services the benchmark suite uses: the kernel at 10.214.9.1,
# ustack on TAP usbench9 at 10.214.9.2. iperf3 tests one way and reversed
# (-R, several in a row: a reverse test ends only when the server closes its
# streams), with parallel streams (-P 3); a UDP test is refused and leaves the
# server usable; a second client during a test is turned away.
. "$(dirname "$0")/lib.sh"
ust_enter_netns "$@"

ME=10.214.9.2
T=iperf3

# iperf3_ok JSON-FILE MIN-BYTES: the client's JSON has no error and
# both sides report at least MIN-BYTES.
iperf3_ok() {
	"$UST_PY" - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
if "error" in j:
    sys.exit("iperf3 error: " + j["error"])
sent, rcvd = j["end"]["sum_sent"]["bytes"], j["end"]["sum_received"]["bytes"]
want = int(sys.argv[2])
print(f"sent {sent} received {rcvd} streams {len(j['end']['streams'])}")
if sent < want or rcvd < want or rcvd > sent:
    sys.exit(f"wanted both >= {want} and received <= sent")
EOF
}

if ust_start $T --tap usbench9 --ip $ME/24 --host-ip 10.214.9.1/24 --iperf3 5201 --source 19 --discard 9; then
	timeout 20 iperf3 -c $ME -t 1 -J >"$UST_TMP/fwd.json" 2>&1
	check "$T: iperf3 -c (client sends) exits 0" test $? = 0
	check "$T: iperf3 -c: both sides count over 10 MB, the receiver no more than the sender" \
		iperf3_ok "$UST_TMP/fwd.json" 10000000
	for i in 1 2 3 4 5; do
		timeout 20 iperf3 -c $ME -t 1 -R -J >"$UST_TMP/rev$i.json" 2>&1
		check "$T: iperf3 -c -R (server sends), run $i of 5, exits 0 within 20 s" test $? = 0
		check "$T: iperf3 -c -R run $i: both sides count over 10 MB" iperf3_ok "$UST_TMP/rev$i.json" 10000000
	done
	timeout 20 iperf3 -c $ME -t 1 -P 3 -J >"$UST_TMP/par.json" 2>&1
	check "$T: iperf3 -c -P 3 exits 0" test $? = 0
	check "$T: iperf3 -c -P 3: over 10 MB" iperf3_ok "$UST_TMP/par.json" 10000000
	expect_num "$T: iperf3 -P 3 reports 3 streams" \
		"$("$UST_PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["end"]["streams"]))' "$UST_TMP/par.json" 2>/dev/null)" -eq 3
	timeout 20 iperf3 -c $ME -t 1 -P 2 -R -J >"$UST_TMP/parrev.json" 2>&1
	check "$T: iperf3 -c -P 2 -R exits 0 with over 10 MB" iperf3_ok "$UST_TMP/parrev.json" 10000000
	timeout 20 iperf3 -c $ME -t 1 -u >"$UST_TMP/udp.out" 2>&1
	rc=$?
	check "$T: a UDP test is refused (iperf3 exits non-zero, not by timeout)" test $rc != 0 -a $rc != 124
	# A test in progress turns a second client away.
	timeout 20 iperf3 -c $ME -t 3 -J >"$UST_TMP/long.json" 2>&1 &
	long=$!
	sleep 1
	timeout 10 iperf3 -c $ME -t 1 >"$UST_TMP/second.out" 2>&1
	rc=$?
	check "$T: a second client during a test is turned away (exit non-zero, not by timeout)" test $rc != 0 -a $rc != 124
	wait $long
	check "$T: the first client's test completes" iperf3_ok "$UST_TMP/long.json" 10000000
	timeout 20 iperf3 -c $ME -t 1 -J >"$UST_TMP/after.json" 2>&1
	check "$T: the server still serves afterwards" iperf3_ok "$UST_TMP/after.json" 10000000
	# The benchmark services.
	got=$(timeout 10 nc $ME 19 </dev/null | head -c 20000000 | tr -d s | wc -c)
	n=$(timeout 10 nc $ME 19 </dev/null | head -c 20000000 | wc -c)
	expect_num "$T: --source sends 20 MB of 's' (bytes read)" "$n" -eq 20000000
	expect_num "$T: --source: every byte is 's' (others)" "$got" -eq 0
	head -c 50000000 /dev/zero | timeout 20 nc -N $ME 9 >/dev/null
	check "$T: --discard takes 50 MB and closes after the client's FIN" test $? = 0
	ust_stop $T
	ust_gone $T usbench9
	stat_is $T Tcp InErrs -eq 0
	stat_is $T Tcp PassiveOpens -ge 20
fi
ust_finish
