#!/usr/bin/env bash
# The fuzz harness's snapshot (fuzz/stack_harness.h, fuzz/fz_alloc.h) must
# be invisible: every seed of the whole-stack targets, run once with the
# stacks put back from the snapshot and once with them built afresh
# (FZ_NO_SNAPSHOT=1), must leave the same counters and clock behind
# (FZ_TRACE=1 prints a digest of both before the close and after the
# drain), in the default configuration and with every option on.
#
#   tests/fuzz_snapshot.sh [BUILD_DIR]     (default build-fuzz; make fuzz-build first)
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-build-fuzz}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
for t in stack tcp_conn frag; do
	bin=$build/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "FAIL  $bin not built"
		failed=1
		continue
	fi
	mapfile -t seeds < <(find "fuzz/corpus/$t" -type f | sort)
	if [ ${#seeds[@]} -lt 10 ]; then
		echo "FAIL  $t: only ${#seeds[@]} seeds in fuzz/corpus/$t"
		failed=1
		continue
	fi
	for cfg in "" gateway,offload,tun,smallpool; do
		# -detect_leaks=0: libFuzzer runs an input again when mallocs and
		# frees differ (the snapshot's own image), which would double lines.
		FZ_CONFIG=$cfg FZ_TRACE=1 "$bin" -detect_leaks=0 "${seeds[@]}" 2>&1 | grep '^fz_trace' >"$tmp/snap"
		FZ_CONFIG=$cfg FZ_TRACE=1 FZ_NO_SNAPSHOT=1 "$bin" -detect_leaks=0 "${seeds[@]}" 2>&1 | grep '^fz_trace' >"$tmp/fresh"
		n=$(wc -l <"$tmp/snap")
		if [ "$n" = ${#seeds[@]} ] && cmp -s "$tmp/snap" "$tmp/fresh"; then
			echo "PASS  $t${cfg:+@$cfg}: $n seeds, the same digests from the snapshot as built afresh"
		else
			echo "FAIL  $t${cfg:+@$cfg}: $n of ${#seeds[@]} seeds traced; snapshot against fresh:"
			diff "$tmp/snap" "$tmp/fresh" | head -n 10 | sed 's/^/      /'
			failed=1
		fi
	done
done
exit $failed
