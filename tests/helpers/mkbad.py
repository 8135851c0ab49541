#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a crafted tar on stdout, for the error tests.

usage: mkbad.py KIND

  abs            a file "/etc/passwd" (after a good entry)
  dotdot         a file "../../etc/passwd"
  middotdot      a file "a/../../b"
  dotdot-pax     a pax path record "x/../../../etc/passwd" (ustar name is safe)
  hardlink-abs   a hardlink "a/link" -> "/etc/shadow"
  hardlink-out   a hardlink "a/link" -> "../outside"
  good           two small files a/one and a/two (1000 bytes each), ustar
  badsum         "good" with the second header's checksum broken
  badsum-first   "good" with the first header's checksum broken
"""
import io
import sys
import tarfile


def entry(tf, name, data=b'hello\n', **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = 1700000000
    for k, v in kw.items():
        setattr(ti, k, v)
    tf.addfile(ti, io.BytesIO(data) if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else None)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    kind = sys.argv[1]
    buf = io.BytesIO()
    fmt = tarfile.PAX_FORMAT
    if kind in ('good', 'badsum', 'badsum-first'):
        fmt = tarfile.USTAR_FORMAT
    tf = tarfile.open(fileobj=buf, mode='w', format=fmt)
    d = tarfile.TarInfo('a/')
    d.type = tarfile.DIRTYPE
    d.mode = 0o755
    d.mtime = 1700000000
    if kind == 'abs':
        tf.addfile(d)
        entry(tf, '/etc/passwd')
    elif kind == 'dotdot':
        tf.addfile(d)
        entry(tf, '../../etc/passwd')
    elif kind == 'middotdot':
        tf.addfile(d)
        entry(tf, 'a/../../b')
    elif kind == 'dotdot-pax':
        tf.addfile(d)
        ti = tarfile.TarInfo('x/passwd')
        ti.size = 6
        ti.pax_headers = {'path': 'x/../../../etc/passwd'}
        tf.addfile(ti, io.BytesIO(b'hello\n'))
    elif kind in ('hardlink-abs', 'hardlink-out'):
        tf.addfile(d)
        entry(tf, 'a/file')
        ti = tarfile.TarInfo('a/link')
        ti.type = tarfile.LNKTYPE
        ti.linkname = '/etc/shadow' if kind == 'hardlink-abs' else '../outside'
        ti.mtime = 1700000000
        tf.addfile(ti)
    elif kind in ('good', 'badsum', 'badsum-first'):
        entry(tf, 'a/one', b'1' * 1000)
        entry(tf, 'a/two', b'2' * 1000)
    else:
        sys.stderr.write('mkbad.py: unknown kind %s\n' % kind)
        return 2
    tf.close()
    data = bytearray(buf.getvalue())
    if kind == 'badsum':
        data[1536 + 2] ^= 0x01          # second header: name byte changed
    elif kind == 'badsum-first':
        data[2] ^= 0x01
    sys.stdout.buffer.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main())
