#!/usr/bin/env python3
"""Split an IPv6 capture into seed corpora for the v6 fuzz targets.

    fuzz/split_pcap6.py CAPTURE.pcap OUT_DIR        write the seeds
    fuzz/split_pcap6.py CAPTURE.pcap --c N [N...]   print frames N (1-based,
                                                    as tshark numbers them)
                                                    as C arrays

Writes OUT_DIR/<target>/<sha1 prefix> files, one input each, in the format
each target reads:

  ipv6, ip6ext  IPv6 packets (after the Ethernet header)
  icmp6         16 bytes of source and 16 of destination address (the
                pseudo-header), then the ICMPv6 message
  nd6           the same, for NDP messages (types 133-137)
  wire          whole Ethernet frames (fuzz_wire walks v6 too)

fuzz/capture_v6.sh makes such a capture.
Only the standard library; the pcap reader is split_pcap.py's.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from split_pcap import Out, read_pcap  # noqa: E402

EXT = (0, 43, 60)  # walked by their length byte
FRAG = 44


def icmp_message(ip):
    """The ICMPv6 message of an IPv6 packet, or None (not ICMPv6, a
    fragment, or a malformed chain)."""
    if len(ip) < 40 or ip[0] >> 4 != 6:
        return None
    end = 40 + (ip[4] << 8 | ip[5])
    if end > len(ip):
        return None
    nh, off = ip[6], 40
    for _ in range(8):
        if nh in EXT:
            if off + 2 > end:
                return None
            nh, off = ip[off], off + (ip[off + 1] + 1) * 8
        elif nh == FRAG:
            if off + 8 > end or (ip[off + 2] << 8 | ip[off + 3]) & 0xFFF9:
                return None  # a real fragment: the message is not whole
            nh, off = ip[off], off + 8
        else:
            break
    if nh != 58 or off > end:
        return None
    return ip[off:end]


def c_array(name, data):
    lines = ['static const uint8_t %s[] = {' % name]
    for i in range(0, len(data), 12):
        lines.append('\t' + ' '.join('0x%02x,' % b for b in data[i:i + 12]))
    lines.append('};')
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description='Split an IPv6 capture into fuzz seed corpora.')
    ap.add_argument('pcap')
    ap.add_argument('out_dir', nargs='?')
    ap.add_argument('--c', type=int, nargs='+', metavar='N', help='print frames N as C arrays')
    a = ap.parse_args()
    frames = read_pcap(a.pcap)
    if a.c:
        for n in a.c:
            print(c_array('frame%d' % n, frames[n - 1][1]))
        return
    if not a.out_dir:
        ap.error('OUT_DIR or --c')
    out = Out(a.out_dir)
    for _, f in frames:
        if f[12:14] != b'\x86\xdd' or len(f) < 54:
            continue
        ip = f[14:]
        out.put('wire', f)
        out.put('ipv6', ip)
        out.put('ip6ext', ip)
        m = icmp_message(ip)
        if m is None or len(m) < 4:
            continue
        seed = ip[8:40] + m
        out.put('icmp6', seed)
        if 133 <= m[0] <= 137:
            out.put('nd6', seed)
    for t in sorted(out.n):
        print('%-8s %d new seeds' % (t, out.n[t]))


if __name__ == '__main__':
    main()
