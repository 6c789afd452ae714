#!/usr/bin/python3
"""IPv6 seeds for the stack fuzz target (fuzz/fuzz_stack.c's input format:
records of [delay][length, 2 bytes big-endian][frame]), from a
(02:00:00:00:00:01, fd00::1 / fe80::1) to b (02:00:00:00:00:02, fd00::2),
the addresses fuzz/stack_harness.h gives them. Written to
fuzz/corpus/stack/v6-*; run with Debian's python3 (scapy):

    /usr/bin/python3 fuzz/gen_stack_v6_seeds.py
"""
import os
import struct
from scapy.all import (Ether, IPv6, ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6NDOptSrcLLAddr,
                       ICMPv6NDOptPrefixInfo, ICMPv6NDOptMTU, IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, UDP, TCP, Raw, fragment6)

A_MAC, B_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
A, B, A_LL = "fd00::1", "fd00::2", "fe80::1"
e = Ether(src=A_MAC, dst=B_MAC, type=0x86DD)


def rec(frames, delay=0):
    out = b""
    for f in frames:
        b = bytes(f)
        out += struct.pack(">BH", delay, len(b)) + b
    return out


seeds = {
    "echo": [e / IPv6(src=A, dst=B) / ICMPv6EchoRequest(id=7, seq=1, data=b"x" * 56)],
    "ns": [Ether(src=A_MAC, dst="33:33:ff:00:00:02") / IPv6(src=A, dst="ff02::1:ff00:2", hlim=255) /
           ICMPv6ND_NS(tgt=B) / ICMPv6NDOptSrcLLAddr(lladdr=A_MAC)],
    "ra": [Ether(src=A_MAC, dst="33:33:00:00:00:01") / IPv6(src=A_LL, dst="ff02::1", hlim=255) /
           ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=A_MAC) / ICMPv6NDOptMTU(mtu=1400) /
           ICMPv6NDOptPrefixInfo(prefix="fd00:1::", prefixlen=64, L=1, A=1, validlifetime=3600,
                                 preferredlifetime=1800)],
    "syn": [e / IPv6(src=A, dst=B) / TCP(sport=41000, dport=8080, flags="S", seq=1000,
                                         options=[("MSS", 1440), ("SAckOK", b""), ("WScale", 7)]),
            e / IPv6(src=A, dst=B) / TCP(sport=41001, dport=80, flags="S", seq=5)],
    "udp": [e / IPv6(src=A, dst=B) / UDP(sport=5353, dport=53) / Raw(b"q" * 32),
            e / IPv6(src=A, dst=B) / UDP(sport=5353, dport=9999) / Raw(b"closed")],
    "exthdr": [e / IPv6(src=A, dst=B) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / UDP(sport=1, dport=53) /
               Raw(b"o" * 16)],
    "frag": [e / f for f in fragment6(IPv6(src=A, dst=B) / IPv6ExtHdrFragment(id=77) / UDP(sport=2, dport=53) /
                                      Raw(b"F" * 3000), 1280)],
}
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "stack")
for name, frames in seeds.items():
    with open(os.path.join(d, "v6-" + name), "wb") as f:
        f.write(rec(frames))
print("wrote", len(seeds), "seeds to", d)
