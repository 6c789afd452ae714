#!/usr/bin/env bash
# Runs libFuzzer targets one after another and reports each.
#
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]     (make fuzz calls it)
#
# TARGET is a name from fuzz/fuzz_<name>.c (default: every one), or for the
# whole-stack targets (stack, tcp_conn, frag) NAME@CONFIG: the same binary
# with FZ_CONFIG=CONFIG (fuzz/stack_harness.h: gateway, offload, tun,
# smallpool, or several joined by commas), its own working corpus and
# artifacts, the seeds of NAME. Each target
# starts from its seeds (fuzz/corpus/<name>/, not written to) and its
# working corpus (BUILD_DIR/corpus/<name>/, kept between runs), runs SECONDS
# under `nice`, and prints one line: seconds, executions, coverage (cov:
# edges, ft: features, from libFuzzer's last status line), corpus size and
# findings (crash/leak/timeout/oom files in BUILD_DIR/artifacts/). Logs go
# to BUILD_DIR/logs/<name>.log. The exit status is non-zero if any target
# found something or did not run.
#
# FUZZ_WORK=DIR puts the working corpora in DIR/<name>/ and the logs in
# DIR/logs/ instead. Extra
# libFuzzer flags: FUZZ_FLAGS.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
	for f in fuzz/fuzz_*.c; do
		n=${f#fuzz/fuzz_}
		targets+=("${n%.c}")
	done
fi

# Largest input per target: a frame for the parsers, a sequence of frames
# for the stack targets.
max_len() {
	case $1 in
	stack | tcp_conn) echo 8192 ;;
	frag) echo 16384 ;;
	*) echo 2048 ;;
	esac
}

logs=$build/logs
[ -n "${FUZZ_WORK:-}" ] && logs=$FUZZ_WORK/logs
mkdir -p "$logs" "$build/artifacts"
failed=0
printf '%-20s %6s %10s %7s %7s %7s %7s %9s  %s\n' target seconds execs execs/s cov ft corpus corp_kb findings
for t in "${targets[@]}"; do
	base=${t%%@*}
	cfg=
	[[ $t == *@* ]] && cfg=${t#*@}
	bin=$build/fuzz_$base
	log=$logs/$t.log
	seeds=fuzz/corpus/$base
	work=${FUZZ_WORK:-$build/corpus}/$t
	mkdir -p "$work"
	if [ ! -x "$bin" ]; then
		printf '%-20s not built (%s)\n' "$t" "$bin"
		failed=1
		continue
	fi
	before=$(ls "$build/artifacts" | grep -c "^$t-" || true)
	dirs=("$work")
	[ -d "$seeds" ] && dirs+=("$seeds")
	t0=$(date +%s)
	# A run that hangs outside libFuzzer's own timeout is cut off too.
	FZ_CONFIG=$cfg ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		timeout -k 10 $((secs + 120)) nice -n 10 "$bin" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$base")" \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" ${FUZZ_FLAGS:-} \
		"${dirs[@]}" >"$log" 2>&1
	rc=$?
	dt=$(($(date +%s) - t0))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -a -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(find "$work" -type f | wc -l)
	kb=$(du -sk "$work" | cut -f1)
	after=$(ls "$build/artifacts" | grep -c "^$t-" || true)
	found=$((after - before))
	what=none
	if [ "$rc" != 0 ] || [ "$found" != 0 ]; then
		failed=1
		what="exit $rc, $found new artifact(s), log: $log"
		grep -a -m 3 -E 'ERROR:|runtime error|invariant failed|ALARM|out-of-memory' "$log" | sed 's/^/    /' >&2
	fi
	rate=?
	[ -n "$execs" ] && [ "$dt" -gt 0 ] && rate=$((execs / dt))
	printf '%-20s %6s %10s %7s %7s %7s %7s %9s  %s\n' "$t" "$dt" "${execs:-?}" "$rate" "${cov:-?}" "${ft:-?}" "$corp" "$kb" "$what"
done
exit $failed
