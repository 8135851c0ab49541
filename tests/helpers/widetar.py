#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a tar whose files are spread over many directories, interleaved.

usage: widetar.py DIRS KIB_PER_DIR

DIRS directories d00, d01, ... each get files of 40 to 400 KiB (sizes
drawn per file) until it holds about KIB_PER_DIR KiB, written round-robin:
the first file of every directory, then the second of every one, and so
on.  A split map with a layer per directory then keeps every layer open
and busy at once: the worst case of oci-layer --split's memory.  Data:
3/4 random bytes, 1/4 text (gzip makes about 4/5 of it), deterministic.
"""
import random
import sys
import tarfile

KIB = 1024


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    dirs, per_dir = int(sys.argv[1]), int(sys.argv[2]) * KIB
    rng = random.Random(20)
    words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 9)))
             for _ in range(2048)]
    text = ' '.join(rng.choice(words) for _ in range(100 * KIB)).encode()
    out = sys.stdout.buffer

    def entry(name, size, typ):
        ti = tarfile.TarInfo(name)
        ti.size = size
        ti.type = typ
        ti.mode = 0o755 if typ == tarfile.DIRTYPE else 0o644
        ti.mtime = 1700000000
        out.write(ti.tobuf(format=tarfile.PAX_FORMAT))

    entry('./', 0, tarfile.DIRTYPE)
    plans = []
    for d in range(dirs):
        entry('./d%02d/' % d, 0, tarfile.DIRTYPE)
        sizes, left = [], per_dir
        while left > 0:
            n = min(left, rng.randint(40, 400) * KIB)
            sizes.append(n)
            left -= n
        plans.append(sizes)
    for i in range(max(len(p) for p in plans)):
        for d, sizes in enumerate(plans):
            if i >= len(sizes):
                continue
            n = sizes[i]
            entry('./d%02d/f%03d' % (d, i), n, tarfile.REGTYPE)
            half = n * 3 // 4
            start = rng.randrange(len(text) - (n - half))
            out.write(rng.randbytes(half) + text[start:start + n - half])
            out.write(b'\0' * (-n % 512))
    out.write(b'\0' * 1024)
    return 0


if __name__ == '__main__':
    sys.exit(main())
