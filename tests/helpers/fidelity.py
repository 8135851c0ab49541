#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fidelity corpus for oci-layer (issue 4): a staged tree for the real tar
programs, and hand-made archives for what no tar program writes.

usage: fidelity.py stage [--profile full|ustar|v7] DIR
         Create DIR with every case a file system can hold (see stage()).
         Run as root, or under fakeroot or pseudo; parts the machine cannot
         make are named in DIR.skipped (one word a line).  --profile ustar
         leaves out what ustar cannot hold (names that cannot be split,
         long link targets, large ids, sub-second and pre-1970 times,
         xattrs), v7 also devices, fifos and names over 99 bytes.
       fidelity.py craft KIND
         Write the hand-made archive KIND on stdout:
           pax     pax records: ids up to 2^32-2, long user/group names,
                   times before 1970 and after 2100 with fractions, huge
                   device numbers, long names and targets, invalid UTF-8
                   (with and without hdrcharset), hardlinks to symlinks,
                   devices and fifos in any order, xattrs (security.selinux
                   with its NUL, security.ima, trusted.*,
                   64 on one file, on symlinks, devices, fifos and hardlinks), whiteouts,
                   mode 0000, odd names (./, //, /./)
           gnu     GNU headers: ././@LongLink names and targets, base-256
                   ids, times (negative too) and device numbers
           sparse  sparse files: old GNU ('S', with extension blocks), pax
                   0.0, 0.1 and 1.0
           linkdata  a pax hardlink that carries its data (pax -o linkdata)
       fidelity.py sparse-stream SIZE
         A pax archive on stdout holding one sparse file (format 1.0) of
         SIZE bytes that is mostly holes, then a small file; made as it is
         written, nothing stored.
       fidelity.py sparse-expect SIZE
         "SIZE SHA256" of the sparse file's content (holes as zeros),
         computed by streaming.
       fidelity.py entry-hash NAME < TAR
         "SIZE SHA256" of the regular file NAME of the uncompressed tar on
         stdin, then the total number of bytes read, in one streaming pass.

Every archive and tree is deterministic.
"""
import hashlib
import os
import socket
import stat
import struct
import sys

MTIME = 1700000000
BLOCK = 512

# ------------------------------------------------------------------ staging

# security.capability: cap_net_raw+ep (VFS_CAP_REVISION_2, effective)
CAP_NET_RAW = struct.pack('<IIIII', 0x02000000 | 1, 1 << 13, 0, 0, 0)
SELINUX = b'system_u:object_r:bin_t:s0\x00'
IMA = bytes([0x03, 0x02, 0x04]) + bytes(range(0, 250, 7)) + b'\x00\xff'


def stage(root, profile):
    full = profile == 'full'
    v7 = profile == 'v7'
    os.makedirs(root)
    skipped = []
    meta = []           # (rel, uid, gid, mode) applied after creation
    times = {}          # rel -> mtime in ns

    def p(rel):
        return os.path.join(root, rel)

    def mkdir(rel, mode=0o755, uid=0, gid=0):
        os.mkdir(p(rel))
        meta.append((rel, uid, gid, mode))

    def mkfile(rel, data=b'', mode=0o644, uid=0, gid=0):
        with open(p(rel), 'wb') as f:
            f.write(data)
        meta.append((rel, uid, gid, mode))

    def xattr(rel, name, value, what):
        try:
            os.setxattr(p(rel), name, value, follow_symlinks=False)
        except OSError:
            if what not in skipped:
                skipped.append(what)

    for d in (b'bin', b'etc', b'dev', b'usr', b'usr/bin', b'usr/lib', b'links',
              b'links/a', b'links/z', b'names', b'times', b'xattrs', b'wh',
              b'wh/opaque', b'empty-dir'):
        mkdir(d)
    mkdir(b'tmp', 0o1777)
    mkdir(b'locked-dir', 0o000)
    mkdir(b'setgid-dir', 0o2775, 0, 50)

    # modes and owners
    mkfile(b'bin/plain', b'#!/bin/sh\necho plain\n', 0o755)
    mkfile(b'usr/bin/setuid', b'setuid\n' * 100, 0o4755)
    mkfile(b'usr/bin/setgid', b'setgid\n', 0o2711, 0, 50)
    mkfile(b'usr/bin/all-bits', b'all\n', 0o7777)
    mkfile(b'usr/bin/sticky-file', b'sticky\n', 0o1644)
    mkfile(b'etc/mode-0000', b'nobody reads me\n', 0o000)
    mkfile(b'etc/empty', b'')
    mkfile(b'etc/block-512', b'b' * 512)
    mkfile(b'etc/block-513', b'c' * 513)
    mkfile(b'etc/user-1000', b'user\n', 0o640, 1000, 1000)
    mkfile(b'etc/nobody', b'nobody\n', 0o600, 65534, 65534)
    if not v7:
        mkfile(b'etc/uid-2097151', b'octal max\n', 0o644, 2097151, 2097151)
    if full:
        mkfile(b'etc/uid-2097152', b'above octal\n', 0o644, 2097152, 2097153)
        mkfile(b'etc/uid-max', b'2^32-2\n', 0o644, 4294967294, 4294967294)

    # names
    mkfile(b'names/utf8-\xc3\xa9t\xc3\xa9-\xe2\x82\xac', b'utf-8\n')
    mkfile(b'names/latin1-\xe9t\xe9', b'latin-1\n')
    mkfile(b'names/with space and\ttab', b'spaces\n')
    mkfile(b'names/-leading-dash', b'dash\n')
    if not v7:
        mkfile(b'names/new\nline', b'newline\n')
        mkfile(b'names/ctrl-\x01\x1b\x7f', b'control\n')
        mkfile(b'names/back\\slash', b'backslash\n')
    # ustar: a name over 100 bytes that can be split at a '/'
    if not v7:
        mkdir(b'names/' + b'p' * 90)
        mkfile(b'names/' + b'p' * 90 + b'/' + b'q' * 80, b'splittable\n')
    if full:
        mkfile(b'names/long-' + b'l' * 140 + b'-\xe9', b'long latin-1 name\n')
        mkfile(b'names/long-' + b'u' * 120 + b'-\xc3\xa9', b'long utf-8 name\n')
        deep = b'names'
        for i in range(12):
            deep += b'/deep%02d-' % i + b'd' * 20
            mkdir(deep)
        mkfile(deep + b'/leaf', b'deep\n')        # about 350 bytes

    # symlinks
    os.symlink(b'/bin/plain', p(b'bin/abs-link'))
    os.symlink(b'../bin/plain', p(b'usr/rel-link'))
    os.symlink(b'does/not/exist', p(b'dangling'))
    os.symlink(b'latin1-\xe9', p(b'names/latin1-target'))
    meta += [(b'bin/abs-link', 0, 0, None), (b'usr/rel-link', 0, 0, None),
             (b'dangling', 0, 0, None), (b'names/latin1-target', 1000, 1000, None)]
    if full:
        os.symlink(b'/usr/share/' + b't' * 150 + b'/target', p(b'usr/long-target'))
        meta.append((b'usr/long-target', 0, 0, None))

    # hardlinks: across directories, in both sort orders
    mkfile(b'links/z/target', b'hardlinked data\n', 0o4750, 0, 5)
    os.link(p(b'links/z/target'), p(b'links/a/before-target'))  # sorts first
    os.link(p(b'links/z/target'), p(b'usr/lib/across'))
    mkfile(b'links/a/first', b'second set\n')
    os.link(p(b'links/a/first'), p(b'links/z/after-first'))
    os.link(p(b'etc/empty'), p(b'links/empty-link'))

    # fifo, devices and hardlinks to them and to a symlink
    if not v7:
        os.mkfifo(p(b'dev/fifo'))
        meta.append((b'dev/fifo', 0, 0, 0o620))
        os.link(p(b'dev/fifo'), p(b'links/a/fifo-link'), follow_symlinks=False)
        try:
            for rel, kind, mj, mn, mode in (
                    (b'dev/null', stat.S_IFCHR, 1, 3, 0o666),
                    (b'dev/loop0', stat.S_IFBLK, 7, 0, 0o660),
                    (b'dev/huge-char', stat.S_IFCHR, 4095, 1048575, 0o600),
                    (b'dev/huge-block', stat.S_IFBLK, 4094, 1048574, 0o640),
                    (b'wh/char-whiteout', stat.S_IFCHR, 0, 0, 0o000)):
                os.mknod(p(rel), mode | kind, os.makedev(mj, mn))
                meta.append((rel, 0, 6 if kind == stat.S_IFBLK else 0, mode))
            os.link(p(b'dev/null'), p(b'links/a/null-link'))
            os.link(p(b'dev/huge-block'), p(b'links/z/block-link'))
        except OSError:
            skipped.append('devices')
        os.symlink(b'../../bin/plain', p(b'links/z/symlink'))
        meta.append((b'links/z/symlink', 0, 0, None))
        os.link(p(b'links/z/symlink'), p(b'links/a/link-to-symlink'), follow_symlinks=False)

    # whiteouts pass through as they are
    mkfile(b'wh/.wh.removed', b'', 0o000)
    mkfile(b'wh/opaque/.wh..wh..opq', b'', 0o000)
    mkfile(b'wh/opaque/kept', b'kept\n')

    # a socket: no tar format holds one, tar drops it with a warning
    if full:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(p(b'dev/socket'))
        except OSError:
            skipped.append('socket')
        s.close()

    # a sparse file (holes for tar --sparse)
    if full:
        with open(p(b'usr/lib/sparse.img'), 'wb') as f:
            for off in (0, 1 << 20, 3 << 20):
                f.seek(off)
                f.write(bytes(range(256)) * 16)
            f.truncate(5 << 20)
        meta.append((b'usr/lib/sparse.img', 0, 0, 0o644))

    # owners and modes (chown clears setuid/setgid, so modes come last)
    for rel, uid, gid, mode in meta:
        try:
            os.lchown(p(rel), uid, gid)
        except OSError:
            if 'owners' not in skipped:
                skipped.append('owners')
    for rel, uid, gid, mode in meta:
        if mode is not None:
            os.chmod(p(rel), mode)

    # xattrs (not in ustar or v7)
    if full:
        xattr(b'etc/user-1000', b'user.comment', b'a user xattr', 'user-xattr')
        xattr(b'etc/block-513', b'user.binary', bytes(range(256)), 'user-xattr')
        xattr(b'etc/block-513', b'user.newline', b'a\nb=c\x00d', 'user-xattr')
        xattr(b'etc/block-513', b'user.empty', b'', 'user-xattr')
        xattr(b'xattrs', b'user.on-dir', b'directory', 'user-xattr')
        mkfile(b'xattrs/ping', b'cap_net_raw\n', 0o755)
        mkfile(b'xattrs/labelled', b'selinux, ima\n', 0o755)
        mkfile(b'xattrs/many', b'many xattrs\n')
        os.chmod(p(b'xattrs/ping'), 0o755)
        xattr(b'xattrs/ping', b'security.capability', CAP_NET_RAW, 'security-xattr')
        xattr(b'xattrs/labelled', b'security.selinux', SELINUX, 'security-xattr')
        xattr(b'xattrs/labelled', b'security.ima', IMA, 'security-xattr')
        xattr(b'xattrs/labelled', b'trusted.overlay.origin', b'\x00\xfb\x21', 'trusted-xattr')
        for i in range(60):
            xattr(b'xattrs/many', b'user.attr%03d' % i, b'value %d ' % i * (i % 5 + 1),
                  'user-xattr')
        xattr(b'usr/bin/setuid', b'security.selinux', b'system_u:object_r:su_exec_t:s0\x00',
              'security-xattr')
        xattr(b'bin/abs-link', b'trusted.on-symlink', b'symlink xattr', 'trusted-xattr')
        xattr(b'bin/abs-link', b'security.selinux', b'system_u:object_r:bin_t:s0\x00',
              'security-xattr')
        if 'devices' not in skipped:
            xattr(b'dev/null', b'trusted.on-device', b'device xattr', 'trusted-xattr')
            xattr(b'dev/null', b'security.selinux', b'system_u:object_r:null_device_t:s0\x00',
                  'security-xattr')
        xattr(b'dev/fifo', b'trusted.on-fifo', b'fifo xattr', 'trusted-xattr')

    # times, last (children first, so directories keep theirs)
    times[b'times/ns'] = MTIME * 10**9 + 123456789
    times[b'times/2038'] = 2**31 * 10**9 + 500000000
    times[b'times/2100'] = 4102444800 * 10**9 + 1
    times[b'times/2300'] = 10413792000 * 10**9 + 999999999
    times[b'times/1969-fraction'] = -1750000000
    times[b'times/1901'] = -2177452800 * 10**9 + 250000000
    times[b'times/epoch'] = 0
    if not full:
        # ustar/v7: whole seconds, 1970 to 2242
        times = {k: v - v % 10**9 for k, v in times.items()
                 if 0 <= v < 8589934592 * 10**9}
    for rel in times:
        mkfile(rel, b'time ' + rel + b'\n')
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for n in filenames + dirnames:
            full_p = os.path.join(dirpath, n)
            rel = os.path.relpath(full_p, root)
            t = times.get(rel, MTIME * 10**9)
            os.utime(full_p, ns=(t, t), follow_symlinks=False)
    os.chmod(root, 0o755)
    os.utime(root, ns=(MTIME * 10**9, MTIME * 10**9))
    with open(root.rstrip(b'/') + b'.skipped', 'w') as f:
        for s in skipped:
            f.write(s + '\n')


# ------------------------------------------------------------ tar writing

def num(value, width):
    """A numeric header field: octal when it fits, else GNU base-256."""
    if 0 <= value < 8 ** (width - 1):
        return b'%0*o\x00' % (width - 1, value)
    if value < 0:
        value += 256 ** width
        b = value.to_bytes(width, 'big')
        return b'\xff' + b[1:]
    return b'\x80' + value.to_bytes(width - 1, 'big')


def header(name, typ=b'0', size=0, mode=0o644, uid=0, gid=0, mtime=MTIME,
           link=b'', uname=b'root', gname=b'root', major=0, minor=0, gnu=False,
           extra=None):
    h = bytearray(BLOCK)

    def put(off, width, data):
        h[off:off + width] = data[:width].ljust(width, b'\x00')
    put(0, 100, name)
    put(100, 8, num(mode, 8))
    put(108, 8, num(uid, 8))
    put(116, 8, num(gid, 8))
    put(124, 12, num(size, 12))
    put(136, 12, num(mtime, 12))
    h[156:157] = typ
    put(157, 100, link)
    put(257, 8, b'ustar  \x00' if gnu else b'ustar\x0000')
    put(265, 32, uname)
    put(297, 32, gname)
    put(329, 8, num(major, 8))
    put(337, 8, num(minor, 8))
    if extra:
        for off, data in extra:
            h[off:off + len(data)] = data
    h[148:156] = b'        '
    h[148:156] = b'%06o\x00 ' % sum(h)
    return bytes(h)


def pad(n):
    return b'\x00' * (-n % BLOCK)


def record(key, value):
    if isinstance(value, int):
        value = b'%d' % value
    elif isinstance(value, str):
        value = value.encode()
    body = b' ' + key + b'=' + value + b'\n'
    n = len(body) + 1
    while len(b'%d' % n) + len(body) != n:
        n = len(b'%d' % n) + len(body)
    return b'%d' % n + body


def pax(records, name=b'PaxHeaders/x', typ=b'x'):
    data = b''.join(record(k, v) for k, v in records)
    return header(name, typ, len(data)) + data + pad(len(data))


class Ar:
    def __init__(self, out):
        self.out = out

    def entry(self, name, data=b'', records=(), **kw):
        if records:
            self.out.write(pax(records))
        kw.setdefault('size', len(data))
        self.out.write(header(name, **kw))
        self.out.write(data + pad(len(data)))

    def gnu_long(self, typ, value):
        v = value + b'\x00'
        self.out.write(header(b'././@LongLink', typ, len(v), gnu=True) + v + pad(len(v)))

    def end(self):
        self.out.write(b'\x00' * 2 * BLOCK)


def craft_pax(o):
    a = Ar(o)
    a.entry(b'./', typ=b'5', mode=0o755)
    a.entry(b'ids/', typ=b'5', mode=0o755)
    a.entry(b'ids/uid-max', b'2^32-2\n', [(b'uid', 4294967294), (b'gid', 4294967294),
                                          (b'uname', b'u' * 40), (b'gname', b'g' * 64)])
    a.entry(b'ids/uid-2097152', b'just above octal\n', [(b'uid', 2097152), (b'gid', 3000000)],
            uname=b'', gname=b'')
    a.entry(b'ids/names-31', b'31-byte names in the header\n', uname=b'n' * 31,
            gname=b'm' * 31)
    a.entry(b'ids/latin1-owner', b'x\n', [(b'hdrcharset', b'BINARY'), (b'uname', b'j\xf6rg')],
            uid=1234, gid=1234, gname=b'caf\xe9')
    # times
    a.entry(b'times/', typ=b'5', mode=0o755)
    for name, t in ((b'ns', b'1700000000.123456789'), (b'one-digit', b'1700000000.5'),
                    (b'2038', b'2147483648.000000001'), (b'2100', b'4102444800.25'),
                    (b'2300', b'10413792000.999999999'), (b'far', b'99999999999'),
                    (b'1969', b'-1.75'), (b'1901', b'-2177452799.75'),
                    (b'negative-whole', b'-86400'), (b'epoch', b'0'),
                    (b'zero-fraction', b'1700000000.000000000')):
        a.entry(b'times/' + name, b'mtime ' + t + b'\n', [(b'mtime', t)], mtime=0)
    # devices, fifos
    a.entry(b'dev/', typ=b'5', mode=0o755)
    a.entry(b'dev/huge', typ=b'3', mode=0o600, major=4095, minor=1048575)
    a.entry(b'dev/octal-max', typ=b'4', mode=0o600, major=2097151, minor=2097151)
    a.entry(b'dev/base256', typ=b'3', mode=0o600, major=2**31 - 1, minor=2**31 - 1)
    a.entry(b'dev/fifo', typ=b'6', mode=0o644,
            records=[(b'SCHILY.xattr.trusted.on-fifo', b'f')])
    a.entry(b'dev/null', typ=b'3', mode=0o666, major=1, minor=3,
            records=[(b'SCHILY.xattr.security.selinux', SELINUX),
                     (b'SCHILY.xattr.trusted.dev', b'\x00\x01')])
    # hardlinks: to a symlink, device, fifo; the link name sorts first or last
    a.entry(b'links/', typ=b'5', mode=0o755)
    a.entry(b'links/sym', typ=b'2', link=b'../dev/null', mode=0o777,
            records=[(b'SCHILY.xattr.trusted.on-symlink', b'yes')])
    a.entry(b'links/a-to-sym', typ=b'1', link=b'links/sym', mode=0o777)
    a.entry(b'links/z-to-null', typ=b'1', link=b'dev/null', mode=0o666)
    a.entry(b'links/0-to-fifo', typ=b'1', link=b'./dev/fifo', mode=0o644)
    a.entry(b'links/zz-data', b'data\n', mode=0o4755, uid=7, gid=8)
    a.entry(b'links/aa-to-data', typ=b'1', link=b'links/zz-data', mode=0o4755, uid=7, gid=8)
    a.entry(b'links/chain', typ=b'1', link=b'links/aa-to-data', mode=0o4755, uid=7, gid=8)
    long_dir = b'links/' + b'L' * 120
    a.entry(long_dir + b'/', typ=b'5', mode=0o755, records=[(b'path', long_dir + b'/')])
    a.entry(b'x', b'long', records=[(b'path', long_dir + b'/file')])
    a.entry(b'y', typ=b'1', records=[(b'path', long_dir + b'/hardlink'),
                                      (b'linkpath', long_dir + b'/file')])
    # names
    a.entry(b'names/', typ=b'5', mode=0o755)
    a.entry(b'names/' + b'n' * 99 + b'/', typ=b'5', mode=0o755)    # 100 bytes in ustar
    a.entry(b'x', typ=b'5', mode=0o755,
            records=[(b'path', b'names/' + b'n' * 99 + b'/' + b'o' * 150 + b'/')])
    a.entry(b'x', b'over 400 bytes\n',
            [(b'path', b'names/' + b'n' * 99 + b'/' + b'o' * 150 + b'/' + b'p' * 255)])
    a.entry(b'x', b'pax latin-1, no hdrcharset\n',
            [(b'path', b'names/pax-latin1-' + b'\xe9' * 100)])
    a.entry(b'x', b'pax latin-1, hdrcharset\n',
            [(b'hdrcharset', b'BINARY'), (b'path', b'names/pax-binary-' + b'\xe9\xff' * 60)])
    a.entry(b'names/raw-\xe9\xff\xfe', b'raw bytes in the ustar name\n')
    a.entry(b'names/nl\nand\x01ctl\x7f', b'control bytes\n')
    a.entry(b'names/utf8-\xe6\x97\xa5\xe6\x9c\xac', b'utf-8\n')
    a.entry(b'names/symlink-long', typ=b'2', link=b'x', mode=0o777,
            records=[(b'linkpath', b'/target/' + b'T' * 200 + b'\xe9')])
    a.entry(b'names/symlink-bytes', typ=b'2', link=b'\xe9\xff/../t', mode=0o777)
    a.entry(b'names//double//slash', b'//\n')
    a.entry(b'./names/./dot-component',
            b'/./\n')
    a.entry(b'names/dir-no-slash', typ=b'5', mode=0o700)
    # xattrs
    a.entry(b'xattrs/', typ=b'5', mode=0o755,
            records=[(b'SCHILY.xattr.user.dir', b'dir')])
    a.entry(b'xattrs/labelled', b'label\n',
            [(b'SCHILY.xattr.security.selinux', SELINUX),
             (b'SCHILY.xattr.security.ima', IMA),
             (b'SCHILY.xattr.security.capability', CAP_NET_RAW),
             (b'SCHILY.xattr.trusted.overlay.opaque', b'y'),
             (b'SCHILY.xattr.user.nul-newline', b'\x00\n=\x00'),
             (b'SCHILY.xattr.user.empty', b'')], mode=0o755)
    a.entry(b'xattrs/many', b'many\n',
            [(b'SCHILY.xattr.user.x%03d' % i, b'v' * (i % 8)) for i in range(64)])
    a.entry(b'xattrs/hardlink', typ=b'1', link=b'xattrs/labelled', mode=0o755,
            records=[(b'SCHILY.xattr.security.selinux', SELINUX),
                     (b'SCHILY.xattr.security.ima', IMA),
                     (b'SCHILY.xattr.security.capability', CAP_NET_RAW),
                     (b'SCHILY.xattr.trusted.overlay.opaque', b'y'),
                     (b'SCHILY.xattr.user.nul-newline', b'\x00\n=\x00'),
                     (b'SCHILY.xattr.user.empty', b'')])
    # whiteouts and modes
    a.entry(b'wh/', typ=b'5', mode=0o755)
    a.entry(b'wh/.wh.gone', b'', mode=0o000)
    a.entry(b'wh/opq/', typ=b'5', mode=0o755)
    a.entry(b'wh/opq/.wh..wh..opq', b'', mode=0o000)
    a.entry(b'modes/', typ=b'5', mode=0o000)
    a.entry(b'modes/0000', b'0000\n', mode=0o000)
    a.entry(b'modes/7777', b'7777\n', mode=0o7777)
    a.entry(b'modes/st_mode-bits', b'type bits in the mode field\n', mode=0o100755)
    a.end()


def craft_gnu(o):
    a = Ar(o)
    a.entry(b'./', typ=b'5', mode=0o755, gnu=True, uname=b'', gname=b'')
    long_name = b'gnu/' + b'N' * 150 + b'\xe9/file'
    a.entry(b'gnu/', typ=b'5', mode=0o755, gnu=True)
    a.gnu_long(b'L', long_name[:-4])
    a.entry(long_name[:100], typ=b'5', mode=0o750, gnu=True)
    a.gnu_long(b'L', long_name)
    a.entry(long_name[:100], b'long gnu name\n', gnu=True)
    a.gnu_long(b'L', b'gnu/hardlink-' + b'H' * 120)
    a.gnu_long(b'K', long_name)
    a.entry(b'gnu/hardlink', typ=b'1', link=long_name[:100], gnu=True)
    a.gnu_long(b'K', b'/very/long/target/' + b'K' * 150)
    a.entry(b'gnu/symlink', typ=b'2', link=b'x', mode=0o777, gnu=True)
    a.entry(b'gnu/uid-base256', b'base-256 ids\n', uid=2**32 - 2, gid=2**31, gnu=True)
    a.entry(b'gnu/mtime-negative', b'base-256 mtime\n', mtime=-1000000000, gnu=True)
    a.entry(b'gnu/mtime-huge', b'base-256 mtime\n', mtime=2**40, gnu=True)
    a.entry(b'gnu/dev-base256', typ=b'3', major=2**21, minor=2**30, gnu=True)
    a.entry(b'gnu/block', typ=b'4', major=8, minor=1, gnu=True)
    a.entry(b'gnu/fifo', typ=b'6', gnu=True)
    a.end()


def sparse_content(size, segments):
    """Content of a sparse file (segments: (offset, data))."""
    buf = bytearray(size)
    for off, data in segments:
        buf[off:off + len(data)] = data
    return bytes(buf)


def segs(seed, n, size):
    out = []
    step = size // (n + 1)
    for i in range(n):
        data = hashlib.sha256(b'%d-%d' % (seed, i)).digest() * (1 + i % 3) * 20
        out.append((step * (i + 1) - (i * 4096 % step), data))
    return out


def craft_sparse(o):
    a = Ar(o)
    a.entry(b'sparse/', typ=b'5', mode=0o755)
    # old GNU 'S' with 8 segments: 4 in the header, 4 in one extension block
    size = 1 << 20
    sg = segs(1, 8, size) + [(size, b'')]
    data = b''.join(d for _, d in sg)
    ext = bytearray()
    for i, (off, d) in enumerate(sg[:4]):
        ext += num(off, 12) + num(len(d), 12)
    extra = [(386, bytes(ext)), (482, b'\x01'), (483, num(size, 12))]
    o.write(header(b'sparse/old-gnu', b'S', len(data), gnu=True, extra=extra))
    blk = bytearray(BLOCK)
    for i, (off, d) in enumerate(sg[4:]):
        blk[i * 24:(i + 1) * 24] = num(off, 12) + num(len(d), 12)
    o.write(bytes(blk))
    o.write(data + pad(len(data)))
    # pax 0.0: offset/numbytes pairs
    sg = segs(2, 3, size)
    data = b''.join(d for _, d in sg)
    recs = [(b'GNU.sparse.size', size), (b'GNU.sparse.numblocks', len(sg))]
    for off, d in sg:
        recs += [(b'GNU.sparse.offset', off), (b'GNU.sparse.numbytes', len(d))]
    a.entry(b'sparse/pax-0.0', data, recs)
    # pax 0.1: the map in one record, the real name in GNU.sparse.name
    sg = segs(3, 5, size) + [(size - 100, b'tail' * 25)]
    data = b''.join(d for _, d in sg)
    mp = ','.join('%d,%d' % (off, len(d)) for off, d in sg)
    a.entry(b'sparse/GNUSparseFile.0/x', data,
            [(b'GNU.sparse.size', size), (b'GNU.sparse.numblocks', len(sg)),
             (b'GNU.sparse.map', mp), (b'GNU.sparse.name', b'sparse/pax-0.1')])
    # pax 1.0: the map at the start of the data
    sg = segs(4, 4, size * 3)
    body = b''.join(d for _, d in sg)
    mp = ('%d\n' % len(sg) + ''.join('%d\n%d\n' % (off, len(d)) for off, d in sg)).encode()
    mp += pad(len(mp))
    a.entry(b'sparse/GNUSparseFile.0/y', mp + body,
            [(b'GNU.sparse.major', 1), (b'GNU.sparse.minor', 0),
             (b'GNU.sparse.name', b'sparse/pax-1.0'), (b'GNU.sparse.realsize', size * 3)],
            mode=0o600)
    # all holes: no data at all
    a.entry(b'sparse/GNUSparseFile.0/z', b'',
            [(b'GNU.sparse.size', 4096), (b'GNU.sparse.numblocks', 1),
             (b'GNU.sparse.map', b'4096,0'), (b'GNU.sparse.name', b'sparse/all-holes')])
    a.entry(b'sparse/after', b'after the sparse files\n')
    a.end()


def craft_linkdata(o):
    a = Ar(o)
    a.entry(b'target', b'shared content\n', mode=0o755)
    # pax -o linkdata: the link entry carries (the same) data
    d = b'shared content\n'
    a.entry(b'link-with-data', d, [(b'mtime', b'1700000000.5')], typ=b'1', link=b'target',
            mode=0o755)
    a.entry(b'after', b'the entry after the link\n')
    a.end()


# ------------------------------------------------------------ big sparse

def big_segments(size):
    """Data segments of the big sparse file: a few KiB at spread offsets."""
    out = []
    for i, off in enumerate((0, 1 << 30, (8 << 30) + 12345, size - 5000)):
        if off + 4096 <= size:
            out.append((off, hashlib.sha256(b'big-%d' % i).digest() * 128))
    return out


def sparse_stream(size, o):
    sg = big_segments(size)
    body = sum(len(d) for _, d in sg)
    mp = ('%d\n' % len(sg) + ''.join('%d\n%d\n' % (off, len(d)) for off, d in sg)).encode()
    mp += pad(len(mp))
    o.write(pax([(b'GNU.sparse.major', 1), (b'GNU.sparse.minor', 0),
                 (b'GNU.sparse.name', b'big/sparse.img'), (b'GNU.sparse.realsize', size)]))
    o.write(header(b'big/GNUSparseFile.0/sparse.img', b'0', len(mp) + body))
    o.write(mp)
    for _, d in sg:
        o.write(d)
    o.write(pad(len(mp) + body))
    a = Ar(o)
    a.entry(b'big/after', b'after the big file\n')
    a.end()


def sparse_expect(size):
    h = hashlib.sha256()
    zeros = bytes(1 << 22)
    pos = 0
    for off, d in big_segments(size) + [(size, b'')]:
        while pos < off:
            n = min(len(zeros), off - pos)
            h.update(zeros[:n])
            pos += n
        h.update(d)
        pos += len(d)
    print(size, h.hexdigest())


def entry_hash(name):
    """A small streaming tar reader (ustar + pax path/size records), so
    that the content is hashed in one pass at hashlib's speed."""
    f = sys.stdin.buffer
    name = name.encode()
    total = 0
    found = None
    over = {}
    buf = bytearray(1 << 22)
    mv = memoryview(buf)

    def read_exact(n):
        nonlocal total
        b = f.read(n)
        if len(b) != n:
            raise SystemExit('fidelity.py: truncated tar')
        total += n
        return b
    while True:
        h = f.read(BLOCK)
        total += len(h)
        if len(h) < BLOCK:
            break
        if h == bytes(BLOCK):
            continue
        typ = h[156:157]
        raw = h[124:136]
        size = (int.from_bytes(raw[1:], 'big') if raw[0] & 0x80
                else int(raw.split(b'\0')[0].strip() or b'0', 8))
        path = h[0:100].split(b'\0')[0]
        if h[257:263] == b'ustar\x00' and h[345]:
            path = h[345:500].split(b'\0')[0] + b'/' + path
        if typ in (b'x', b'g'):
            data = read_exact(size + (-size % BLOCK))[:size]
            while data:
                n = int(data.split(b' ', 1)[0])
                k, v = data[:n].split(b' ', 1)[1][:-1].split(b'=', 1)
                if typ == b'x':
                    over[k] = v
                data = data[n:]
            continue
        path = over.get(b'path', path)
        size = int(over.get(b'size', size))
        over = {}
        if typ not in (b'0', b'\0', b'7'):
            size = 0
        if path.rstrip(b'/') == name and found is None:
            hs = hashlib.sha256()
            left = size
            while left:
                n = f.readinto(mv[:min(len(buf), left)])
                if not n:
                    raise SystemExit('fidelity.py: truncated tar')
                hs.update(mv[:n])
                left -= n
            total += size
            found = '%d %s' % (size, hs.hexdigest())
            read_exact(-size % BLOCK)
        else:
            left = size + (-size % BLOCK)
            while left:
                n = f.readinto(mv[:min(len(buf), left)])
                if not n:
                    raise SystemExit('fidelity.py: truncated tar')
                left -= n
            total += size + (-size % BLOCK)
    if found is None:
        sys.stderr.write('fidelity.py: no regular file %s in the tar\n' % name.decode())
        return 1
    print(found)
    print(total)
    return 0


def main():
    args = sys.argv[1:]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    cmd = args.pop(0)
    if cmd == 'stage':
        profile = 'full'
        if args and args[0] == '--profile':
            profile = args[1]
            args = args[2:]
        if profile not in ('full', 'ustar', 'v7') or len(args) != 1:
            sys.stderr.write(__doc__)
            return 2
        stage(os.fsencode(args[0]), profile)
    elif cmd == 'craft' and len(args) == 1:
        o = sys.stdout.buffer
        fn = {'pax': craft_pax, 'gnu': craft_gnu, 'sparse': craft_sparse,
              'linkdata': craft_linkdata}.get(args[0])
        if fn is None:
            sys.stderr.write('fidelity.py: unknown archive kind %s\n' % args[0])
            return 2
        fn(o)
        o.flush()
    elif cmd == 'sparse-stream' and len(args) == 1:
        sparse_stream(int(args[0]), sys.stdout.buffer)
        sys.stdout.buffer.flush()
    elif cmd == 'entry-hash' and len(args) == 1:
        return entry_hash(args[0])
    elif cmd == 'sparse-expect' and len(args) == 1:
        sparse_expect(int(args[0]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)
