#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Create a small deterministic rootfs tree for the end-to-end tests.

usage: mkrootfs.py [--portable] [--no-random] DIR

The tree holds directories, files with various modes (setuid, setgid,
sticky, 0000), symlinks (absolute, relative, dangling, a target over 100
bytes), hardlinks across directories, a fifo, char and block devices,
files owned by root and by other users, xattrs (user.* and
security.capability), names over 100 and 255 bytes, a non-UTF-8 name,
names with spaces, an empty file and a 3 MiB pseudo-random file.

Run it as root, or under fakeroot (the ownership, devices and security.*
xattrs are then faked, so the tar must be made in the same fakeroot
session).  Parts the machine cannot do (devices or xattrs as a plain user,
xattrs on a filesystem without them) are left out and named in
DIR/../<basename>.skipped, one word per line (devices, user-xattr,
security-xattr), so tests can tell.

--portable leaves out what the old tar formats cannot hold (ustar, v7):
names over 100 bytes, link targets over 100 bytes, devices and fifos
(v7), xattrs, and large uids.
--no-random leaves out the 3 MiB file (for quick tests).

Every entry gets the same mtime (1700000000), so archives of the tree are
deterministic with GNU tar --sort=name.
"""
import os
import random
import stat
import struct
import sys

MTIME = 1700000000


def main():
    args = sys.argv[1:]
    portable = '--portable' in args
    no_random = '--no-random' in args
    args = [a for a in args if not a.startswith('--')]
    if len(args) != 1:
        sys.stderr.write('usage: mkrootfs.py [--portable] [--no-random] DIR\n')
        return 2
    root = os.fsencode(args[0])
    os.makedirs(root, exist_ok=False)
    skipped = []
    rng = random.Random(20240501)
    paths = []          # every path created, for chown/utime

    def p(rel):
        return os.path.join(root, rel)

    def mkdir(rel, mode=0o755, owner=(0, 0)):
        os.mkdir(p(rel))
        os.chmod(p(rel), mode)
        paths.append((rel, owner))

    def mkfile(rel, data, mode=0o644, owner=(0, 0)):
        with open(p(rel), 'wb') as f:
            f.write(data)
        os.chmod(p(rel), mode)
        paths.append((rel, owner))

    def symlink(target, rel, owner=(0, 0)):
        os.symlink(target, p(rel))
        paths.append((rel, owner))

    # directories
    for d in (b'bin', b'etc', b'usr', b'usr/bin', b'usr/lib', b'usr/share',
              b'usr/share/doc', b'var', b'var/lib', b'home', b'dev',
              b'empty-dir'):
        mkdir(d)
    mkdir(b'tmp', 0o1777)
    mkdir(b'var/tmp', 0o1777)
    mkdir(b'root', 0o700)
    mkdir(b'home/user', 0o750, (1000, 1000))
    mkdir(b'dir with spaces')
    mkdir(b'setgid-dir', 0o2775, (0, 50))

    # regular files
    mkfile(b'etc/hostname', b'ocipipe-test\n')
    mkfile(b'etc/passwd',
           b'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n')
    mkfile(b'etc/shadow', b'root:*:19000:0:99999:7:::\n', 0o000)
    mkfile(b'bin/tool', b'#!/bin/sh\necho tool "$@"\n', 0o755)
    mkfile(b'usr/bin/su-like', b'\x7fELF-not-really\n' * 8, 0o4755)
    mkfile(b'usr/bin/sg-like', b'setgid\n', 0o2755, (0, 50))
    mkfile(b'usr/bin/all-bits', b'suid+sgid+sticky\n', 0o7755)
    mkfile(b'usr/lib/libdemo.so.1', bytes(rng.getrandbits(8) for _ in range(4096)), 0o644)
    mkfile(b'etc/empty', b'')
    mkfile(b'home/user/notes.txt', b'owned by user\n', 0o640, (1000, 1000))
    mkfile(b'home/user/nobody', b'owned by nobody\n', 0o600, (65534, 65534))
    mkfile(b'dir with spaces/file with spaces.txt', b'spaces\n')
    mkfile(b'usr/share/doc/utf8-\xc3\xa9t\xc3\xa9.txt', b'utf-8 name\n')
    mkfile(b'usr/share/doc/latin1-\xe9t\xe9.txt', b'latin-1 name (not UTF-8)\n')
    if not portable:
        long_leaf = b'long-name-' + b'x' * 110 + b'.txt'          # 124 bytes
        mkfile(b'usr/share/doc/' + long_leaf, b'long name\n')
        deep = b'usr/share/doc'
        for i in range(3):
            deep = deep + b'/' + (b'deep%d-' % i) + b'd' * 90
            mkdir(deep)
        mkfile(deep + b'/' + b'f' * 60, b'path over 255 bytes\n')    # > 300 bytes
        if not no_random:
            mkfile(b'usr/lib/random.bin', rng.randbytes(3 * 1024 * 1024))

    # symlinks
    symlink(b'/bin/tool', b'bin/sh')                       # absolute
    symlink(b'../../bin/tool', b'usr/bin/tool')             # relative
    symlink(b'does/not/exist', b'dangling')                 # dangling
    symlink(b'../etc', b'usr/etc')                          # to a directory
    if not portable:
        symlink(b'/usr/share/doc/' + b'y' * 120 + b'/target', b'usr/lib/long-target')

    # hardlinks (across directories; GNU tar and bsdtar keep them as links)
    os.link(p(b'bin/tool'), p(b'usr/lib/tool-hardlink'))
    os.link(p(b'bin/tool'), p(b'usr/bin/tool-hardlink2'))
    os.link(p(b'etc/empty'), p(b'var/lib/empty-hardlink'))

    # fifo and devices
    if not portable:
        os.mkfifo(p(b'dev/fifo'))
        os.chmod(p(b'dev/fifo'), 0o644)
        paths.append((b'dev/fifo', (0, 0)))
        try:
            os.mknod(p(b'dev/null'), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            os.mknod(p(b'dev/loop0'), 0o660 | stat.S_IFBLK, os.makedev(7, 0))
            os.mknod(p(b'dev/big-minor'), 0o600 | stat.S_IFCHR, os.makedev(240, 70000))
            os.chmod(p(b'dev/null'), 0o666)
            os.chmod(p(b'dev/loop0'), 0o660)
            os.chmod(p(b'dev/big-minor'), 0o600)
            paths.append((b'dev/null', (0, 0)))
            paths.append((b'dev/loop0', (0, 6)))
            paths.append((b'dev/big-minor', (0, 0)))
        except OSError:
            skipped.append('devices')

    # ownership (root or faked root)
    for rel, (uid, gid) in paths:
        try:
            os.lchown(p(rel), uid, gid)
        except OSError:
            if 'owners' not in skipped:
                skipped.append('owners')
    # chown clears setuid/setgid bits: set the modes again
    for rel, mode in ((b'usr/bin/su-like', 0o4755), (b'usr/bin/sg-like', 0o2755),
                      (b'usr/bin/all-bits', 0o7755), (b'setgid-dir', 0o2775)):
        os.chmod(p(rel), mode)

    # xattrs
    if not portable:
        try:
            os.setxattr(p(b'etc/hostname'), b'user.comment', b'set by mkrootfs')
            os.setxattr(p(b'usr/lib/libdemo.so.1'), b'user.binary', bytes(range(256)))
            os.setxattr(p(b'etc'), b'user.dir-attr', b'on a directory')
        except OSError:
            skipped.append('user-xattr')
        mkfile(b'usr/bin/ping-like', b'needs cap_net_raw\n', 0o755)
        try:
            # cap_net_raw=ep: VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
            cap = struct.pack('<IIIII', 0x02000000 | 1, 1 << 13, 0, 0, 0)
            os.setxattr(p(b'usr/bin/ping-like'), b'security.capability', cap)
        except OSError:
            skipped.append('security-xattr')

    # the same mtime everywhere (children first so directories keep theirs)
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for n in filenames + dirnames:
            os.utime(os.path.join(dirpath, n), ns=(MTIME * 10**9, MTIME * 10**9),
                     follow_symlinks=False)
    os.chmod(root, 0o755)
    os.utime(root, ns=(MTIME * 10**9, MTIME * 10**9))

    with open(root.rstrip(b'/') + b'.skipped', 'w') as f:
        for s in skipped:
            f.write(s + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
