#!/usr/bin/env bash
# Installs the Debian 12 packages that ustack's build, tests and benchmarks
# need (`make deps`). Does nothing when they are all installed; runs
# `apt-get update` only when something is missing. Needs root to install.
set -euo pipefail

# iputils-arping, not arping: the two conflict, and the tests use the
# iputils one's options and output. libclang-rt-14-dev: clang's sanitizer
# and libFuzzer runtimes (MemorySanitizer, the fuzz targets), only
# recommended by clang. radvd: the router in tests/interop/test_slaac.sh,
# run there inside the test's namespace (the package's own service starts
# only with an /etc/radvd.conf, which nothing here writes).
PKGS=(
	build-essential clang libclang-rt-14-dev libcmocka-dev valgrind
	tshark python3-scapy
	iputils-ping iputils-arping socat netcat-openbsd iproute2 nftables
	iperf3 curl wrk hping3 libsodium-dev nginx-light
	microsocks dante-server dnsmasq-base passt slirp4netns
	liblwip-dev python3-matplotlib ethtool linux-perf
	libssl-dev wireguard-go wireguard-tools
	bison flex bpftool
	python3-prometheus-client radvd
)

missing=()
for p in "${PKGS[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "tools/install-deps.sh: missing Debian packages: ${missing[*]}" >&2
	echo "tools/install-deps.sh: run as root (make deps), or: apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "tools/install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark pulls in wireshark-common, which asks whether non-root users may
# capture: answer no, without a prompt.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
