#!/usr/bin/env bash
# The library as others use it (issue 15), checked on the normal build tree
# (tests/run.sh runs this after building it):
#   - only us_ symbols leave libustack.a and libustack.so; the .so has its
#     soname;
#   - apps/ builds from the public headers alone (no -Isrc);
#   - `make install` into a temporary prefix (and with DESTDIR) puts the
#     libraries, headers, ustack.pc and the program in place, and
#     pkg-config reports the version the headers and us_version() give;
#   - examples/ builds through `pkg-config --cflags --libs ustack`, linked
#     against the shared library and statically, and runs: the user-written
#     device (no root), the UDP echo and the TCP server on TAP devices in
#     this script's private network namespace.
. "$(dirname "$0")/interop/lib.sh"
ust_enter_netns "$@"
cd "$UST_ROOT" || exit 1
B=${UST_BUILD:-build}

# ---- symbols --------------------------------------------------------------
for lib in "$B/libustack.a" "$B/libustack.so"; do
	if [ ! -e "$lib" ]; then
		not_ok "$lib exists (run make first)"
		continue
	fi
	if [ "${lib##*.}" = so ]; then
		syms=$(nm -D --defined-only "$lib" | awk '{ print $3 }')
	else
		syms=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }')
	fi
	others=$(printf '%s\n' "$syms" | grep -v '^us_' | grep -v '^$')
	n=$(printf '%s\n' "$syms" | grep -c '^us_')
	if [ -z "$others" ] && [ "$n" -gt 50 ]; then
		ok "$lib exports only us_ symbols ($n)"
	else
		not_ok "$lib exports symbols without the us_ prefix (us_: $n)"
		printf '%s\n' "$others" | head -n 20 | diag /dev/stdin
	fi
done
expect_eq "libustack.so's soname" "$(readelf -d "$B/libustack.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" \
	libustack.so.0

# ---- apps/ from the public headers only ------------------------------------
bad=
for f in apps/*.c; do
	cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -fsyntax-only "$f" >"$UST_TMP/app.err" 2>&1 ||
		bad="$bad $f"
done
if [ -z "$bad" ]; then
	ok "apps/*.c build with -Iinclude alone (no internal headers)"
else
	not_ok "apps that need internal headers:$bad"
	diag "$UST_TMP/app.err"
fi

# ---- install ------------------------------------------------------------------
PFX=$UST_TMP/prefix
check "make install PREFIX=$PFX" make -s install PREFIX="$PFX"
for f in lib/libustack.a lib/libustack.so lib/libustack.so.0 lib/pkgconfig/ustack.pc include/ustack/ustack.h \
	include/ustack/link.h include/ustack/host.h include/ustack/stats.h bin/ustack; do
	[ -e "$PFX/$f" ] || not_ok "installed: $f missing"
done
ok "installed files present under the prefix"
check "make install DESTDIR=... PREFIX=/usr" make -s install DESTDIR="$UST_TMP/dest" PREFIX=/usr
expect_eq "DESTDIR install: ustack.pc names the prefix, not DESTDIR" \
	"$(sed -n 's/^prefix=//p' "$UST_TMP/dest/usr/lib/pkgconfig/ustack.pc")" /usr
export PKG_CONFIG_PATH=$PFX/lib/pkgconfig
hdr_ver=$(sed -n 's/^#define USTACK_VERSION "\(.*\)"/\1/p' include/ustack/ustack.h)
expect_eq "pkg-config --modversion ustack is the headers' USTACK_VERSION" "$(pkg-config --modversion ustack)" "$hdr_ver"

# ---- examples through pkg-config ----------------------------------------------
EX=$UST_TMP/examples
for mode in shared static; do
	rm -rf "$EX" && cp -r examples "$EX"
	if [ $mode = shared ]; then
		check "examples build against libustack.so through pkg-config" \
			make -s -C "$EX" LDFLAGS="-Wl,-rpath,$PFX/lib"
		expect_eq "custom_device links libustack.so.0 from the prefix" \
			"$(ldd "$EX/custom_device" | awk '$1 == "libustack.so.0" { print $3 }')" "$PFX/lib/libustack.so.0"
	else
		check "examples build statically (pkg-config --static)" make -s -C "$EX" STATIC=1
	fi
	out=$(timeout 60 "$EX/custom_device" 2>&1)
	if [ "$(printf '%s\n' "$out" | tail -n 1)" = ok ]; then
		ok "custom_device ($mode): $(printf '%s\n' "$out" | head -n 1)"
	else
		not_ok "custom_device ($mode)"
		printf '%s\n' "$out" | diag /dev/stdin
	fi
done

# The TAP examples, built against the shared library (the last build was
# static: build the shared one again).
rm -rf "$EX" && cp -r examples "$EX" && make -s -C "$EX" LDFLAGS="-Wl,-rpath,$PFX/lib" >/dev/null 2>&1
"$EX/udp_echo" usex0 10.215.0.2/24 10.215.0.1/24 20 >"$UST_TMP/udp_echo.out" 2>&1 &
UST_PID=$!
for ((i = 0; i < 50; i++)); do grep -q 'UDP echo' "$UST_TMP/udp_echo.out" && break; sleep 0.1; done
check "udp_echo example: 3 datagrams of 1000 bytes echoed" ust_py echo 10.215.0.2 7 1000 3
kill -TERM $UST_PID 2>/dev/null
wait $UST_PID
UST_PID=
"$EX/tcp_server" usex1 10.216.0.2/24 10.216.0.1/24 20 >"$UST_TMP/tcp_server.out" 2>&1 &
UST_PID=$!
for ((i = 0; i < 50; i++)); do grep -q 'TCP server' "$UST_TMP/tcp_server.out" && break; sleep 0.1; done
got=$(timeout 10 "$UST_PY" - <<'PY' 2>&1
import socket
s = socket.create_connection(("10.216.0.2", 8000), timeout=5)
f = s.makefile("rb")
hello = f.readline()
s.sendall(b"abc def\n")
print(hello.decode().strip(), "/", f.readline().decode().strip())
s.close()
PY
)
expect_eq "tcp_server example: greeting, then the line upper-cased" "$got" "hello from ustack / ABC DEF"
kill -TERM $UST_PID 2>/dev/null
wait $UST_PID
UST_PID=
ust_finish
