#!/usr/bin/env python3
"""Writes a small pcap: 300 SYNs from 198.51.100.7 to 192.0.2.10:443, 5 ms
apart (200/s), for the Windows replay test (tests/windows/replay_test.sh)."""
import struct
import sys


def checksum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


out = [struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
for i in range(300):
    tcp = struct.pack('!HHIIBBHHH', 40000 + i, 443, 1000 + i, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, i, 0, 64, 6, 0,
                     bytes([198, 51, 100, 7]), bytes([192, 0, 2, 10]))
    ip = ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:]
    frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b'\x08\x00' + ip + tcp
    t = 1_000_000 + i * 5000  # microseconds
    out.append(struct.pack('<IIII', t // 1_000_000, t % 1_000_000, len(frame), len(frame)) + frame)
with open(sys.argv[1], 'wb') as f:
    f.write(b''.join(out))
