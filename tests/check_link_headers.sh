#!/usr/bin/env bash
# The ready-made devices that sit on the public device interface (issue
# 15): src/link/{tuntap,mem,fault,pcap}.c include the public headers
# (include/ustack/) and libc/Linux headers only, never the stack's private
# link or packet interface (link/link.h, core/pkt.h). The few internal
# helpers that are not part of the device interface are allowed by name:
# fault.c's seeded generator (core/rand.h), pcap.c's checksum routine
# (wire/csum.h) and byte helpers (core/bytes.h).
#
#   tests/check_link_headers.sh
#
# tests/run.sh runs it. It first checks itself on device.c, which must
# include link/link.h (it is the adapter), so a broken pattern cannot pass.
set -u
cd "$(dirname "$0")/.." || exit 1

# The quoted includes of a file, one a line.
includes() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"; }

fail=0
if ! includes src/link/device.c | grep -qx 'link/link.h'; then
	echo "check_link_headers: FAILED: the check does not see device.c's #include \"link/link.h\"" >&2
	exit 1
fi
for f in tuntap mem fault pcap; do
	src=src/link/$f.c
	if [ ! -e "$src" ]; then
		echo "check_link_headers: FAILED: $src is missing" >&2
		fail=1
		continue
	fi
	case $f in
	fault) allow='core/rand.h' ;;
	pcap) allow='wire/csum.h core/bytes.h' ;;
	*) allow= ;;
	esac
	while read -r h; do
		[ -n "$h" ] || continue
		case $h in
		ustack/*.h) continue ;;
		esac
		ok=0
		for a in $allow; do
			[ "$h" = "$a" ] && ok=1
		done
		if [ $ok = 0 ]; then
			echo "check_link_headers: FAILED: $src includes \"$h\": it may use only the public device interface (include/ustack/)" >&2
			fail=1
		fi
	done < <(includes "$src")
	if grep -nE '#[[:space:]]*include[[:space:]]*[<"](link/link\.h|core/pkt\.h)[>"]' "$src" >&2; then
		echo "check_link_headers: FAILED: $src includes the private link or packet header" >&2
		fail=1
	fi
done
[ $fail = 0 ] && echo "check_link_headers: tuntap.c, mem.c, fault.c, pcap.c use the public device interface only"
exit $fail
