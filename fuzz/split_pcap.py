#!/usr/bin/env python3
"""Split a capture into seed corpora for the fuzz targets (fuzz/fuzz_*.c).

    fuzz/split_pcap.py CAPTURE.pcap OUT_DIR [--after NS] [--rewrite]

Writes OUT_DIR/<target>/<sha1 prefix> files, one input each, in the format
each target reads:

  eth, wire     whole frames
  arp           ARP packets (after the Ethernet header)
  ipv4          IPv4 packets
  icmp4         ICMP messages
  udp, tcp      8 bytes of pseudo-header addresses, then the segment
  csum          offset, running sum, split point, then bytes of a packet
  stack         frames to b (10.0.0.2) as [delay][length][frame] records,
                single and in runs of consecutive frames
  tcp_conn      TCP segments to b as fuzz_tcp_conn.c records (absolute
                sequence and acknowledgment numbers), single and in runs
  frag          IPv4 fragments to b as fuzz_frag.c records

Frames before time NS (the harness's setup, as fuzz/gen_seeds prints it)
go only to the per-parser corpora. --rewrite maps a kernel capture onto the
harness: the host that talks to ustack becomes a (10.0.0.1,
02:00:00:00:00:01) and ustack becomes b (10.0.0.2, 02:00:00:00:00:02), with
the IP and transport checksums recomputed.

Only the standard library: the pcap format is read by hand.
"""
import argparse
import hashlib
import os
import struct
import sys

A_IP, B_IP = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
A_MAC, B_MAC = bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 0, 2])
RUN = 6  # frames per multi-frame seed


def read_pcap(path):
    data = open(path, 'rb').read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise SystemExit('%s: not a pcap file' % path)
    ns = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
    linktype = struct.unpack(e + 'I', data[20:24])[0]
    if linktype != 1:
        raise SystemExit('%s: link type %d, need Ethernet (1)' % (path, linktype))
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
        off += 16
        out.append((sec * 10**9 + (frac if ns else frac * 1000), data[off:off + incl]))
        off += incl
    return out


def csum(b):
    if len(b) & 1:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def fix_l4(ip):
    """Recompute the IP header checksum and, for whole TCP/UDP segments,
    the transport checksum."""
    hl = (ip[0] & 15) * 4
    ip[10:12] = b'\0\0'
    ip[10:12] = struct.pack('!H', csum(bytes(ip[:hl])))
    frag = struct.unpack('!H', ip[6:8])[0] & 0x3FFF
    proto, l4 = ip[9], ip[hl:]
    if frag or proto not in (6, 17):
        return
    at = 16 if proto == 6 else 6
    if len(l4) < at + 2 or (proto == 17 and l4[6:8] == b'\0\0'):
        return
    l4[at:at + 2] = b'\0\0'
    ph = bytes(ip[12:20]) + struct.pack('!BBH', 0, proto, len(l4))
    c = csum(ph + bytes(l4))
    if proto == 17 and c == 0:
        c = 0xFFFF
    l4[at:at + 2] = struct.pack('!H', c)
    ip[hl:] = l4


def rewrite(frame, ustack_mac, ustack_ip):
    """The kernel side becomes a, ustack becomes b."""
    f = bytearray(frame)
    to_b = f[0:6] == ustack_mac or f[0:6] == b'\xff' * 6
    f[0:6] = B_MAC if f[0:6] == ustack_mac else (A_MAC if f[0:6] != b'\xff' * 6 else f[0:6])
    f[6:12] = B_MAC if f[6:12] == ustack_mac else A_MAC
    et = struct.unpack('!H', f[12:14])[0]
    if et == 0x0806 and len(f) >= 42:
        f[22:28] = B_MAC if f[22:28] == ustack_mac else A_MAC
        f[28:32] = B_IP if f[28:32] == ustack_ip else A_IP
        if f[32:38] != b'\0' * 6:
            f[32:38] = B_MAC if f[32:38] == ustack_mac else A_MAC
        f[38:42] = B_IP if f[38:42] == ustack_ip else A_IP
    elif et == 0x0800 and len(f) >= 34:
        ip = f[14:]
        ip[12:16] = B_IP if ip[12:16] == ustack_ip else A_IP
        ip[16:20] = B_IP if ip[16:20] == ustack_ip else A_IP
        fix_l4(ip)
        f[14:] = ip
    return bytes(f), to_b


class Out:
    def __init__(self, root):
        self.root, self.n = root, {}

    def put(self, target, data):
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        name = hashlib.sha1(data).hexdigest()[:16]
        p = os.path.join(d, name)
        if not os.path.exists(p):
            open(p, 'wb').write(data)
            self.n[target] = self.n.get(target, 0) + 1


def delay_byte(ns):
    ms = ns // 10**6
    return ms if ms < 128 else min(255, 127 + ms // 500)


def tcp_record(ip, cport, c81):
    hl = (ip[0] & 15) * 4
    t = ip[hl:]
    if len(t) < 20:
        return None
    sport, dport, seq, ack = struct.unpack('!HHII', t[:12])
    doff = (t[12] >> 4) * 4
    opts = t[20:doff][:40]
    payload = t[doff:][:1400]
    if dport == 80 and sport == cport:
        tgt = 0
    elif dport == 80:
        tgt = 2
    elif dport == 81 and sport == c81:
        tgt = 3
    else:
        return None
    win, urg = struct.unpack('!H', t[14:16])[0], struct.unpack('!H', t[18:20])[0]
    return (bytes([tgt | 4 | 8, t[13]]) + struct.pack('!IIHHB', seq, ack, win, urg, len(opts)) + opts +
            struct.pack('!H', len(payload)) + payload)


def frag_record(ip, delay_ns):
    hl = (ip[0] & 15) * 4
    ident, fl = struct.unpack('!HH', ip[4:8])
    k = ident - 0x7000 if 0x7000 <= ident <= 0x7003 else 2
    proto = {17: 0, 1: 1, 6: 2}.get(ip[9], 3)
    payload = ip[hl:][:1480]
    ctl = k | proto << 2 | (0x10 if fl & 0x2000 else 0) | (0x20 if fl & 0x4000 else 0)
    d = b''
    if delay_ns >= 200 * 10**6:
        ctl |= 0x40
        d = bytes([min(255, delay_ns // (200 * 10**6))])
    return bytes([ctl]) + d + struct.pack('!HH', fl & 0x1FFF, len(payload)) + payload


def main():
    ap = argparse.ArgumentParser(description='Split a capture into fuzz seed corpora.')
    ap.add_argument('pcap')
    ap.add_argument('out_dir')
    ap.add_argument('--after', type=int, default=0, help='virtual ns the harness setup ended')
    ap.add_argument('--rewrite', action='store_true', help='map a kernel capture onto a and b')
    a = ap.parse_args()
    after, do_rewrite = a.after, a.rewrite
    frames = read_pcap(a.pcap)
    out = Out(a.out_dir)
    ustack_mac = ustack_ip = None
    if do_rewrite:
        # ustack: the destination of the first IPv4 frame (the kernel
        # speaks first in every capture this is used for).
        for _, f in frames:
            if f[12:14] == b'\x08\x00':
                ustack_mac, ustack_ip = f[0:6], f[30:34]
                break
    # The harness's own connection: the first SYN to port 80 and to 81.
    cport = c81 = None
    seq_frames = []
    for ts, f in frames:
        to_b = f[0:6] in (B_MAC, b'\xff' * 6)
        if do_rewrite:
            f, to_b = rewrite(f, ustack_mac, ustack_ip)
        et = f[12:14]
        out.put('eth', f)
        out.put('wire', f)
        if et == b'\x08\x06':
            out.put('arp', f[14:])
        if et != b'\x08\x00' or len(f) < 34:
            if ts >= after and to_b:
                seq_frames.append((ts, f))
            continue
        ip = f[14:]
        hl = (ip[0] & 15) * 4
        tot = struct.unpack('!H', ip[2:4])[0]
        ip = ip[:tot]
        out.put('ipv4', ip)
        l4 = ip[hl:]
        frag = struct.unpack('!H', ip[6:8])[0] & 0x3FFF
        if ip[9] == 6 and len(l4) >= 20 and l4[13] == 2 and not do_rewrite:
            dport = struct.unpack('!H', l4[2:4])[0]
            if dport == 80 and cport is None:
                cport = struct.unpack('!H', l4[0:2])[0]
            if dport == 81 and c81 is None:
                c81 = struct.unpack('!H', l4[0:2])[0]
        if not frag:
            if ip[9] == 1:
                out.put('icmp4', l4)
            elif ip[9] == 17:
                out.put('udp', ip[12:20] + l4)
            elif ip[9] == 6:
                out.put('tcp', ip[12:20] + l4)
        out.put('csum', bytes([len(ip) & 7]) + ip[12:16] + bytes([len(l4) // 4 & 255]) + ip)
        if ts >= after and to_b:
            seq_frames.append((ts, f))

    # Sequences: every frame alone, and runs of RUN consecutive frames.
    prev = None
    recs = []
    for ts, f in seq_frames:
        d = delay_byte(ts - prev) if prev is not None else 0
        prev = ts
        recs.append((ts, f, bytes([d]) + struct.pack('!H', len(f)) + f))
    for i, (_, _, r) in enumerate(recs):
        out.put('stack', b'\0' + r[1:])
        if i % (RUN // 2) == 0:
            out.put('stack', b''.join(x[2] for x in recs[i:i + RUN]))
    tcp_recs, frag_recs = [], []
    prev = None
    for ts, f in seq_frames:
        if f[12:14] != b'\x08\x00':
            continue
        ip = f[14:]
        ip = ip[:struct.unpack('!H', ip[2:4])[0]]
        frag = struct.unpack('!H', ip[6:8])[0] & 0x3FFF
        if frag:
            frag_recs.append(frag_record(ip, ts - prev if prev else 0))
        elif ip[9] == 6 and not do_rewrite:
            r = tcp_record(ip, cport, c81)
            if r:
                tcp_recs.append(r)
        prev = ts
    for name, recs_ in (('tcp_conn', tcp_recs), ('frag', frag_recs)):
        for i, r in enumerate(recs_):
            out.put(name, r)
            if i % (RUN // 2) == 0:
                out.put(name, b''.join(recs_[i:i + RUN]))
        if len(recs_) > 1:
            out.put(name, b''.join(recs_))
    for t in sorted(out.n):
        print('%-10s %d new' % (t, out.n[t]))


if __name__ == '__main__':
    main()
