#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a large deterministic rootfs-like tar stream on stdout.

usage: bigtar.py SIZE_MIB

About SIZE_MIB MiB of file data: 2000 small files (a few KiB each) in
nested directories, then 16 MiB files of text-like data (compressible
about 3:1 with gzip, never the same 1 MiB twice in a row), in pax format.
Nothing is stored on disk; the data is made as it is written.
"""
import random
import sys
import tarfile

MIB = 1 << 20


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    total = int(sys.argv[1]) * MIB
    rng = random.Random(1234)
    words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 10)))
             for _ in range(4096)]
    text = ' '.join(rng.choice(words) for _ in range(MIB // 4)).encode()
    block = (text * 2)[:MIB]
    out = sys.stdout.buffer
    written = 0

    def header(name, size, typ=tarfile.REGTYPE, mode=0o644):
        ti = tarfile.TarInfo(name)
        ti.size = size
        ti.type = typ
        ti.mode = mode
        ti.mtime = 1700000000
        out.write(ti.tobuf(format=tarfile.PAX_FORMAT))

    def pad(size):
        if size % 512:
            out.write(b'\0' * (512 - size % 512))

    header('./', 0, tarfile.DIRTYPE, 0o755)
    for d in range(20):
        header('small/d%02d/' % d, 0, tarfile.DIRTYPE, 0o755)
        for f in range(100):
            n = 512 + rng.randrange(4096)
            off = rng.randrange(MIB - n)
            header('small/d%02d/f%03d.txt' % (d, f), n)
            out.write(block[off:off + n])
            pad(n)
            written += n
    header('big/', 0, tarfile.DIRTYPE, 0o755)
    i = 0
    while written < total:
        size = min(16 * MIB, total - written)
        header('big/file%04d.dat' % i, size)
        left = size
        while left > 0:
            r = rng.randrange(MIB)
            chunk = (block[r:] + block[:r])[:min(MIB, left)]
            out.write(chunk)
            left -= len(chunk)
        pad(size)
        written += size
        i += 1
    out.write(b'\0' * 1024)
    out.flush()
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)
