#!/usr/bin/env bash
# No mutable globals in the library (DESIGN.md; issue 11 item 4): every
# object in build/libustack.a, global or static (function-local statics
# too), must be read-only.
#
#   tests/check_globals.sh [LIBRARY]        (default build/libustack.a)
#
# The test is on the section each symbol lives in (nm -f sysv), not on nm's
# one-letter class alone: a const object holding pointers (the link vtables,
# tcp_cubic, state_names) is placed in .data.rel.ro under PIE, which nm
# prints as d or D although it is read-only once relocated (RELRO). So:
#   fails  .data*, .bss*, .tdata/.tbss (thread-local) and COMMON (nm's B, b,
#          C, and D/d outside .data.rel.ro)
#   passes .rodata*, .data.rel.ro* and code.
# It first checks itself on a probe object with one symbol of each kind
# compiled by the same compiler, so a change in nm's output or in how the
# compiler places data cannot make it pass silently. Exit status non-zero
# on any finding.
set -u
cd "$(dirname "$0")/.." || exit 1
lib=${1:-build/libustack.a}
CC=${CC:-cc}

# FILE:NAME CLASS SECTION of every writable object symbol in the given
# files (FILE: the object, or archive:member).
mutable_syms() {
	nm -A -f sysv --defined-only "$@" 2>/dev/null | awk -F'|' 'NF >= 7 {
		name = $1; cls = $3; sec = $7
		gsub(/ +$/, "", name); gsub(/ /, "", cls); gsub(/ /, "", sec)
		if (sec ~ /^\.data\.rel\.ro/) next
		if (sec ~ /^\.(data|bss|tdata|tbss)/ || sec == "*COM*" || cls ~ /^[BbCc]$/)
			print name, cls, sec
	}'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/probe.c" <<'EOF'
int bad_bss;
int bad_data = 1;
static int bad_static;
static int bad_static_data = 2;
_Thread_local int bad_tls;
int bad_fn(void)
{
	static int bad_counter;
	return ++bad_counter + bad_static++ + bad_static_data++;
}
const int ok_rodata = 3;
static const char *const ok_relro[] = {"x", "y"};
struct ok_ops { int (*fn)(void); };
const struct ok_ops ok_global_ops = {bad_fn};
static const struct ok_ops ok_local_ops = {bad_fn};
const void *ok_use(int i) { return i ? (const void *)&ok_local_ops : (const void *)ok_relro[i]; }
EOF
echo 'int bad_common;' >"$tmp/common.c"
if ! $CC -std=c11 -O2 -c "$tmp/probe.c" -o "$tmp/probe.o" || ! $CC -fcommon -c "$tmp/common.c" -o "$tmp/common.o"; then
	echo "check_globals: FAILED: cannot compile the probe with $CC"
	exit 1
fi
# (the last part of the name: a function's static is "bad_counter.0")
got=$(mutable_syms "$tmp/probe.o" "$tmp/common.o" | awk '{ n = split($1, a, ":"); sub(/\..*/, "", a[n]); print a[n] }' |
	sort | tr '\n' ' ')
want="bad_bss bad_common bad_counter bad_data bad_static bad_static_data bad_tls "
if [ "$got" != "$want" ]; then
	echo "check_globals: FAILED: the check does not work here"
	echo "  probe: flagged   '$got'"
	echo "         expected  '$want'"
	exit 1
fi
echo "check_globals: probe ok (flags .data, .bss, TLS and COMMON; passes .rodata and .data.rel.ro)"

if [ ! -f "$lib" ]; then
	echo "check_globals: FAILED: $lib not built"
	exit 1
fi
found=$(mutable_syms "$lib")
n_obj=$(nm -f sysv --defined-only "$lib" | awk -F'|' '$4 ~ /OBJECT|TLS/' | wc -l)
if [ -n "$found" ]; then
	echo "check_globals: FAILED: writable globals in $lib (make them const, or move them into struct us_stack):"
	printf '%s\n' "$found" | sed 's/^/  /'
	exit 1
fi
echo "check_globals: $lib: $n_obj objects, none writable"
