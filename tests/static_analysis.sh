#!/usr/bin/env bash
# Static analysis of src/, apps/ and preload/ (issue 11): two analyzers,
# zero findings.
# tests/run.sh runs it; a new finding fails the run.
#
#   tests/static_analysis.sh [FILE.c...]  (default: src/, apps/, preload/)
#
#  - gcc -fanalyzer (gcc 12): leaks, NULL dereferences, use of
#    uninitialized values, double frees, along each path of a function and
#    into its callees in the same file;
#  - clang's static analyzer (clang --analyze: the engine scan-build runs,
#    with its default checkers: core, unix, deadcode, security, nullability),
#    whose path model differs and which found other bugs here.
# Each file is analyzed on its own, two at a time. A finding is printed with
# its path (the events that lead to it). A false positive is not hidden
# here: it is fixed in the code, or suppressed there with a comment saying
# why it is false (grep "false positive" in src/ apps/).
set -u
cd "$(dirname "$0")/.." || exit 1
if [ $# -gt 0 ]; then
	files=("$@")
else
	# The longest first, so that two jobs end together.
	mapfile -t files < <(ls -S src/*.c src/*/*.c apps/*.c preload/*.c)
fi
FLAGS=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-missing-field-initializers -Iinclude -Isrc)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export out

analyze() {   # TOOL FILE: the tool's diagnostics for FILE into $out/TOOL/
	local tool=$1 f=$2 o
	o=$out/$tool/$(printf '%s' "$f" | tr '/' '_').txt
	case $tool in
	gcc) gcc "${FLAGS[@]}" -O0 -fanalyzer -fdiagnostics-plain-output -c "$f" -o /dev/null >"$o" 2>&1 ;;
	clang) clang "${FLAGS[@]}" --analyze -Xanalyzer -analyzer-output=text -o /dev/null "$f" >"$o" 2>&1 ;;
	esac
	# (a compiler that fails is a finding too: it analyzed nothing)
	[ $? = 0 ] || echo "$f: error: $tool exited non-zero" >>"$o"
}
export -f analyze
export FLAGS_STR="${FLAGS[*]}"

total=0
for tool in gcc clang; do
	command -v "$tool" >/dev/null || { echo "static_analysis: FAILED: $tool not installed"; exit 1; }
	mkdir -p "$out/$tool"
	t0=$(date +%s)
	printf '%s\n' "${files[@]}" |
		xargs -P 2 -I{} bash -c 'FLAGS=($FLAGS_STR); analyze "$1" "$2"' _ "$tool" {}
	n=$(cat "$out/$tool"/*.txt | grep -cE '(warning|error): ' || true)
	total=$((total + n))
	echo "static_analysis: $tool: ${#files[@]} files, $n findings, $(($(date +%s) - t0))s"
	if [ "$n" != 0 ]; then
		cat "$out/$tool"/*.txt | sed 's/^/  /'
	fi
done
[ $total = 0 ] && echo "static_analysis: no findings" || echo "static_analysis: FAILED: $total findings"
[ $total = 0 ]
