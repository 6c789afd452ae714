#!/usr/bin/env bash
# The whole test suite: `make test` runs it (after `make deps`).
#
#  1. builds the normal tree (build/) and the sanitizer tree (build-san/,
#     ASan + UBSan);
#  2. runs every unit and simulation test program (cmocka) of both trees,
#     then a short pass of every fuzz target (make fuzz-build, fuzz/run.sh),
#     then the MemorySanitizer pass (tests/msan.sh), static analysis
#     (tests/static_analysis.sh), the no-mutable-globals check
#     (tests/check_globals.sh) and the check that TAP/TUN, mem, fault and
#     pcap use the public device interface only (tests/check_link_headers.sh);
#  3. checks the library as installed (tests/check_library.sh), runs
#     upstream packetdrill's TCP scripts against the plug-in of each tree,
#     over IPv4, over IPv6 and from AF_INET6 sockets to IPv4 peers
#     (tests/packetdrill/run.sh, with the ratchets expected-pass.txt and
#     expected-pass-ipv6.txt);
#  4. runs every interop script (tests/interop/test_*.sh: real TAP/TUN
#     devices in private network namespaces) against both build/ustack and
#     build-san/ustack.
#
# Each program or script passes or fails by its exit status. Logs go to
# build/test-logs/. The last line is "N passed, M failed"; the exit status is
# non-zero if anything failed. Without root the interop scripts cannot run:
# they are counted as failed, never skipped as passed.
set -u
cd "$(dirname "$0")/.." || exit 1

START=$(date +%s)
LOGS=build/test-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

PASSED=()
FAILED=()
log_name() { printf '%s' "$1" | tr '/ ' '__'; }

# run NAME TIMEOUT-SECONDS CMD...: runs CMD, output to $LOGS/<NAME>.log.
run() {
	local name=$1 limit=$2 log t0 rc
	shift 2
	log=$LOGS/$(log_name "$name").log
	t0=$(date +%s)
	# (in a subshell that waits, its stderr dropped: no "Aborted" notices)
	(timeout -k 10 "$limit" "$@" >"$log" 2>&1; exit $?) 2>/dev/null
	rc=$?
	local dt=$(($(date +%s) - t0))
	if [ $rc = 0 ]; then
		PASSED+=("$name")
		printf 'PASS  %-52s %4ds\n' "$name" "$dt"
	else
		FAILED+=("$name")
		[ $rc = 124 ] && echo "timed out after ${limit}s" >>"$log"
		printf 'FAIL  %-52s %4ds  exit %d, log: %s\n' "$name" "$dt" "$rc" "$log"
	fi
	# What failed: TAP's "not ok" lines with their "#     " details,
	# cmocka's failure lines, the first sanitizer report; known bugs (TODO).
	awk '/^not ok/ { show = 1; print; next }
	     /^#     / { if (show) print; next }
	     { show = 0 }
	     /^\[  (FAILED|ERROR) |^\[   LINE   \]|^timed out after/ { print }' "$log" |
		head -n 40 | sed 's/^/      /'
	if [ $rc != 0 ]; then
		if grep -qE 'ERROR: [A-Za-z]+Sanitizer|WARNING: MemorySanitizer|runtime error:' "$log"; then
			grep -m 1 -A 14 -E 'ERROR: [A-Za-z]+Sanitizer|WARNING: MemorySanitizer|runtime error:' "$log" | sed 's/^/      | /'
		elif ! grep -qE '^not ok|^\[  (FAILED|ERROR) ' "$log"; then
			tail -n 15 "$log" | sed 's/^/      | /'
		fi
	fi
	return $rc
}

banner() { printf '\n== %s\n' "$*"; }

# run_bg NAME TIMEOUT CMD...: run, at nice 19 in the background: CPU-bound
# checks that need no timing (the analyzers, MSan) use the CPU the interop
# tests leave idle while they wait on the network, which they get back at
# once when a test needs it. Its PASS/FAIL lines come out, and count, at
# bg_wait.
BG_PIDS=()
run_bg() {
	local name=$1
	(
		PASSED=() FAILED=()
		run "$@" >"$LOGS/bg-$(log_name "$name").out" 2>&1
		echo $? >"$LOGS/bg-$(log_name "$name").rc"
	) </dev/null &
	BG_PIDS+=("$!")
	BG_NAMES+=("$name")
	echo "(started in the background at nice 19: $name)"
}
BG_NAMES=()
bg_wait() {
	local i name rc
	[ ${#BG_PIDS[@]} = 0 ] && return 0
	banner "background checks"
	for i in "${!BG_PIDS[@]}"; do
		wait "${BG_PIDS[$i]}"
		name=${BG_NAMES[$i]}
		cat "$LOGS/bg-$(log_name "$name").out" 2>/dev/null
		rc=$(cat "$LOGS/bg-$(log_name "$name").rc" 2>/dev/null)
		if [ "$rc" = 0 ]; then
			PASSED+=("$name")
		else
			FAILED+=("$name")
			[ -n "$rc" ] || echo "FAIL  $name: no result (the background job died)"
		fi
	done
	BG_PIDS=() BG_NAMES=()
}

# 1. Builds. A tree that does not build fails the run; its tests still run
#    (and fail) only if the binaries exist.
BUILD_OK=1
for tree in build build-san; do
	san=0
	[ $tree = build-san ] && san=1
	banner "make -j2 SAN=$san ($tree/)"
	if ! make -j2 SAN=$san >"$LOGS/make-$tree.log" 2>&1; then
		BUILD_OK=0
		FAILED+=("make SAN=$san")
		echo "FAIL  make -j2 SAN=$san, log: $LOGS/make-$tree.log"
		grep -E 'error|Error' "$LOGS/make-$tree.log" | head -n 20 | sed 's/^/      /'
	else
		echo "built $tree/"
	fi
done

# 2. Unit and simulation tests: one program per tests/{unit,sim}/test_*.c.
for tree in build build-san; do
	banner "unit and simulation tests ($tree/)"
	for src in tests/unit/test_*.c tests/sim/test_*.c; do
		[ -e "$src" ] || continue
		bin=$tree/${src%.c}
		if [ -x "$bin" ]; then
			run "$bin" 300 "$bin"
		else
			FAILED+=("$bin")
			echo "FAIL  $bin: not built"
		fi
	done
done

# 2b. Fuzz targets (fuzz/fuzz_*.c): built with clang into build-fuzz/, each
#     run a few seconds from its seeds; a crash, leak, timeout or broken
#     invariant fails it.
FUZZ_CI_TIME=${FUZZ_CI_TIME:-3}
banner "fuzz targets, ${FUZZ_CI_TIME} s each (build-fuzz/)"
if make -j2 fuzz-build >"$LOGS/make-fuzz.log" 2>&1; then
	rm -rf build-fuzz/ci-corpus
	for src in fuzz/fuzz_*.c; do
		t=${src#fuzz/fuzz_}
		t=${t%.c}
		FUZZ_WORK=build-fuzz/ci-corpus run "fuzz/$t" 120 fuzz/run.sh build-fuzz "$FUZZ_CI_TIME" "$t"
	done
	# The whole-stack targets in each stack configuration (issue 11):
	# a default gateway, offloads, TUN, a small pool, and all at once (the
	# plain runs above are the no-route case).
	for t in stack tcp_conn; do
		for cfg in gateway offload tun smallpool gateway,offload,tun,smallpool; do
			FUZZ_WORK=build-fuzz/ci-corpus run "fuzz/$t@$cfg" 120 fuzz/run.sh build-fuzz "$FUZZ_CI_TIME" "$t@$cfg"
		done
	done
	# ...and the snapshot behind them changes nothing a seed does.
	run tests/fuzz_snapshot.sh 120 tests/fuzz_snapshot.sh build-fuzz
else
	BUILD_OK=0
	FAILED+=("make fuzz-build")
	echo "FAIL  make fuzz-build, log: $LOGS/make-fuzz.log"
	grep -E 'error' "$LOGS/make-fuzz.log" | head -n 20 | sed 's/^/      /'
fi

# 2c. The library as others link it: only us_ symbols exported, apps/ on the
#     public headers alone, make install, examples/ built through pkg-config
#     and run (tests/check_library.sh; its TAP examples need root).
banner "library: symbols, install, examples (build/)"
run "tests/check_library.sh" 180 bash tests/check_library.sh

# 2d. Issue 11's checks: MemorySanitizer builds of the tests and fuzz
#     targets (build-msan/, build-msan-fuzz/), gcc -fanalyzer and clang's
#     analyzer over src/, apps/ and preload/, no writable data in
#     build/libustack.a.
#     MSan and the analyzers (about 4 minutes of CPU on two cores) run in
#     the background from here, at nice 19, and report at the end.
banner "MemorySanitizer, static analysis, mutable globals, link headers"
run_bg tests/msan.sh 1500 nice -n 19 tests/msan.sh
run_bg tests/static_analysis.sh 1500 nice -n 19 tests/static_analysis.sh
run tests/check_globals.sh 60 tests/check_globals.sh
run tests/check_link_headers.sh 30 bash tests/check_link_headers.sh

# 3. Upstream packetdrill (tests/packetdrill/README.md): packetdrill built
#    from its tarball in $PACKETDRILL_DIR (default ../shared/tools/packetdrill,
#    beside the checkout), every IPv4 script of gtests/net/tcp against the
#    plug-in of each tree, each script in a network namespace of its own,
#    then the same scripts over IPv6 (--ipv6, upstream's ipv6 flags), and
#    for build/ the IPv4 scripts from AF_INET6 sockets (--mapped, IPv4-mapped
#    addresses). Fails if a script listed in tests/packetdrill/expected-pass.txt
#    (for IPv6 expected-pass-ipv6.txt; --mapped takes the IPv4 list) does not
#    pass (the ratchets), or if the tarball is missing. About 35 s a pass on
#    two cores, plus packetdrill's build (~20 s, once).
export PACKETDRILL_DIR=${PACKETDRILL_DIR:-../shared/tools/packetdrill}
banner "upstream packetdrill (tarball from PACKETDRILL_DIR=$PACKETDRILL_DIR)"
if ! ls "$PACKETDRILL_DIR"/packetdrill-*.tar.gz >/dev/null 2>&1; then
	echo "tests/run.sh: FAILED: no packetdrill-*.tar.gz in PACKETDRILL_DIR=$PACKETDRILL_DIR"
	echo "tests/run.sh: FAILED: set PACKETDRILL_DIR to the directory that holds it"
	FAILED+=("packetdrill (no tarball in $PACKETDRILL_DIR)")
elif [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: FAILED: packetdrill needs root (network namespaces)"
	FAILED+=("packetdrill (needs root)")
else
	for tree in build build-san; do
		san=
		[ $tree = build-san ] && san=--san
		run "packetdrill [$tree/]" 900 tests/packetdrill/run.sh $san -j 4 \
			--check tests/packetdrill/expected-pass.txt --logs "$PWD/$LOGS/packetdrill-$tree"
		run "packetdrill ipv6 [$tree/]" 900 tests/packetdrill/run.sh $san --ipv6 -j 4 \
			--check tests/packetdrill/expected-pass-ipv6.txt --logs "$PWD/$LOGS/packetdrill-ipv6-$tree"
	done
	run "packetdrill ipv4-mapped [build/]" 900 tests/packetdrill/run.sh --mapped -j 4 \
		--check tests/packetdrill/expected-pass.txt --logs "$PWD/$LOGS/packetdrill-mapped-build"
fi

# 4. Interop tests, against each binary.
INTEROP=(tests/interop/test_*.sh)
if [ "$(id -u)" != 0 ]; then
	echo
	echo "tests/run.sh: FAILED: the interop tests need root (network namespaces, TAP/TUN)"
	echo "tests/run.sh: FAILED: counting ${#INTEROP[@]} interop scripts x 2 binaries as failed; run as root"
	echo
	for tree in build build-san; do
		for t in "${INTEROP[@]}"; do
			FAILED+=("$t [$tree/ustack] (needs root)")
		done
	done
else
	# UST_SAN=1 tells a script it runs the (slower) sanitizer binary, should
	# it want to scale down bulk transfers.
	for tree in build build-san; do
		banner "interop tests against $tree/ustack"
		san=0
		[ $tree = build-san ] && san=1
		for t in "${INTEROP[@]}"; do
			USTACK=$tree/ustack UST_SAN=$san UST_LOGDIR=$PWD/$LOGS/interop-$tree \
				run "$t [$tree/ustack]" 300 bash "$t"
		done
	done
fi

bg_wait

# Summary.
ELAPSED=$(($(date +%s) - START))
banner "summary (${ELAPSED}s; logs in $LOGS/)"
TODOS=$(grep -h '# TODO' "$LOGS"/*.log 2>/dev/null | sort -u)
if [ -n "$TODOS" ]; then
	echo "known bugs, marked TODO (not counted as failures):"
	printf '%s\n' "$TODOS" | sed 's/^/  /'
fi
if [ ${#FAILED[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${FAILED[@]}"
fi
[ $BUILD_OK = 1 ] || echo "tests/run.sh: FAILED: a build failed (see $LOGS/make-*.log)"
echo "${#PASSED[@]} passed, ${#FAILED[@]} failed"
[ ${#FAILED[@]} = 0 ]
