#!/usr/bin/env bash
# MemorySanitizer pass (issue 11): reads of memory nobody wrote, e.g. an
# output parameter a callee did not fill in. tests/run.sh runs it.
#
#   tests/msan.sh [FUZZ_SECONDS]        (default 2 per fuzz target)
#
#  1. `make SAN=msan` builds the library and every unit and simulation test
#     program (conformance runner included) into build-msan/ with clang's
#     -fsanitize=memory, origins tracked, and -fsanitize-memory-param-retval
#     (an uninitialized value passed to or returned from a function is a
#     report at the call); each program runs, and any report fails it.
#  2. The fuzz targets are built the same way into build-msan-fuzz/
#     (libFuzzer; fuzz/fuzz.mk with MemorySanitizer in place of ASan and
#     UBSan) and run FUZZ_SECONDS each from their seeds (fuzz/run.sh): every
#     seed is replayed, then new inputs are tried.
# Programs and targets run two at a time.
#
# cmocka is Debian's and not instrumented. That is sound here: the tests
# only pass values to it (assert_*, print_*), and param-retval checks each
# such value at the call; what it returns (a run's status) is taken as
# written, which is what MemorySanitizer does for any uninstrumented call.
# libc calls are covered by MemorySanitizer's own interceptors (preload/
# takes them, not libc's, in this build: preload/real.c).
# Logs: build-msan/logs/. Exit status non-zero on any failure or report.
set -u
cd "$(dirname "$0")/.." || exit 1
FUZZ_SECONDS=${1:-2}
LOGS=build-msan/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
export MSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=0
t_start=$(date +%s)

report() {   # LOG: the first MemorySanitizer report in it, else its end
	if grep -q 'MemorySanitizer' "$1"; then
		grep -m 1 -A 30 'WARNING: MemorySanitizer' "$1" | sed 's/^/      | /'
	else
		tail -n 15 "$1" | sed 's/^/      | /'
	fi
}

# 1. Unit, simulation and conformance tests; but for those whose code
#    under test calls into a library that is not instrumented and writes
#    memory for it (every byte it writes would look unwritten). Each is
#    named here with why, and printed as not run: it runs in the other
#    builds.
declare -A EXCLUDE=(
	[tests/unit/test_tunnel_proto]="its AEAD is OpenSSL's and libsodium's (Debian's, not instrumented)"
)
bins=()
for src in tests/unit/test_*.c tests/sim/test_*.c; do
	[ -e "$src" ] || continue
	if [ -n "${EXCLUDE[${src%.c}]:-}" ]; then
		printf 'NOT RUN  msan %s: %s\n' "${src%.c}" "${EXCLUDE[${src%.c}]}"
		continue
	fi
	bins+=("build-msan/${src%.c}")
done
t0=$(date +%s)
if ! make -j2 SAN=msan build-msan/libustack.a "${bins[@]}" >"$LOGS/make.log" 2>&1; then
	echo "FAIL  make SAN=msan (log: $LOGS/make.log)"
	grep -E 'error' "$LOGS/make.log" | head -n 20 | sed 's/^/      /'
	exit 1
fi
echo "built build-msan/ in $(($(date +%s) - t0))s"
# Two at a time (the machine's two cores); reported in order.
run_test() {   # BIN LOG: runs BIN, its exit status and seconds into LOG.rc
	local t0=$(date +%s)
	timeout -k 10 600 "$1" >"$2" 2>&1
	echo "$? $(($(date +%s) - t0))" >"$2.rc"
}
export -f run_test
logof() { printf '%s/%s.log' "$LOGS" "$(printf '%s' "${1#build-msan/}" | tr '/' '_')"; }
for bin in "${bins[@]}"; do printf '%s %s\n' "$bin" "$(logof "$bin")"; done |
	xargs -P 2 -L 1 bash -c 'run_test "$0" "$1"'
for bin in "${bins[@]}"; do
	name=${bin#build-msan/}
	log=$(logof "$bin")
	read -r rc dt <"$log.rc" || { rc=255; dt=0; }
	if [ "$rc" = 0 ] && ! grep -q 'MemorySanitizer' "$log"; then
		printf 'PASS  msan %-40s %4ds\n' "$name" "$dt"
	else
		printf 'FAIL  msan %-40s %4ds  exit %s, log: %s\n' "$name" "$dt" "$rc" "$log"
		report "$log"
		failed=1
	fi
done

# 2. Fuzz targets.
MSAN_FUZZ_SAN="-fsanitize=memory -fsanitize-memory-track-origins=2 -fsanitize-memory-param-retval -fno-omit-frame-pointer"
t0=$(date +%s)
if ! make -j2 fuzz-build FUZZ_BUILD=build-msan-fuzz FUZZ_SAN="$MSAN_FUZZ_SAN" >"$LOGS/make-fuzz.log" 2>&1; then
	echo "FAIL  make fuzz-build with MemorySanitizer (log: $LOGS/make-fuzz.log)"
	grep -E 'error' "$LOGS/make-fuzz.log" | head -n 20 | sed 's/^/      /'
	exit 1
fi
echo "built build-msan-fuzz/ in $(($(date +%s) - t0))s"
rm -rf build-msan-fuzz/ci-corpus
targets=()
for src in fuzz/fuzz_*.c; do
	t=${src#fuzz/fuzz_}
	targets+=("${t%.c}")
done
# The whole stack once more with every configuration on (fuzz/stack_harness.h).
targets+=("stack@gateway,offload,tun,smallpool")
run_fuzz() {   # TARGET SECONDS: fuzz/run.sh on it, status into its log's .rc
	local t0=$(date +%s) log=build-msan/logs/fuzz_$1.log
	FUZZ_WORK=build-msan-fuzz/ci-corpus timeout -k 10 120 fuzz/run.sh build-msan-fuzz "$2" "$1" >"$log" 2>&1
	echo "$? $(($(date +%s) - t0))" >"$log.rc"
}
export -f run_fuzz
printf '%s\n' "${targets[@]}" | xargs -P 2 -I{} bash -c 'run_fuzz "$0" "$1"' {} "$FUZZ_SECONDS"
for t in "${targets[@]}"; do
	log=$LOGS/fuzz_$t.log
	flog=build-msan-fuzz/ci-corpus/logs/$t.log
	read -r rc dt <"$log.rc" || { rc=255; dt=0; }
	if [ "$rc" = 0 ] && ! grep -qs 'MemorySanitizer' "$flog"; then
		printf 'PASS  msan fuzz/%-35s %4ds  %s\n' "$t" "$dt" "$(tail -n 1 "$log")"
	else
		printf 'FAIL  msan fuzz/%-35s %4ds  exit %s, log: %s\n' "$t" "$dt" "$rc" "$flog"
		sed 's/^/      /' "$log"
		[ -f "$flog" ] && report "$flog"
		failed=1
	fi
done

echo "tests/msan.sh: $([ $failed = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t_start))s"
exit $failed
