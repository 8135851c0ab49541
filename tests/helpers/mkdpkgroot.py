#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Debian-like rootfs with a dpkg database, for oci-layermap and
oci-layer --split.

usage: mkdpkgroot.py DIR [--bump PKG]

Adds to DIR (empty, or a tree of mkrootfs.py) some 40 packages: files
in usr/bin, usr/lib/PKG, usr/share/doc/PKG, etc; three big packages
(1.5, 2.5 and 5 MiB of incompressible data); merged /usr for lib and
sbin (lib -> usr/lib, sbin -> usr/sbin: lists name /lib/..., /sbin/...);
a multiarch list (libc6:amd64.list); a listed file that is not there; a
hardlink from one package's file into another package's directory; a
shared directory listed by many packages; var/lib/dpkg/info/*.list and
var/lib/dpkg/status.  The content is fixed by the package names, so two
runs give the same tree; --bump PKG changes the content of PKG's files
and its Version in the status file only.
"""
import os
import random
import sys

MTIME = 1700000000


def main():
    root = sys.argv[1].encode()
    bump = None
    if len(sys.argv) > 3 and sys.argv[2] == '--bump':
        bump = sys.argv[3]
    os.makedirs(root, exist_ok=True)

    def p(rel):
        return os.path.join(root, rel.encode())

    def mkdirs(rel):
        os.makedirs(p(rel), exist_ok=True)

    for d in ('usr/bin', 'usr/sbin', 'usr/lib', 'usr/share/doc', 'etc',
              'var/lib/dpkg/info'):
        mkdirs(d)
    for link, target in (('lib', 'usr/lib'), ('sbin', 'usr/sbin')):
        if not os.path.lexists(p(link)):
            os.symlink(target.encode(), p(link))

    pkgs = {}   # name -> list of listed paths (absolute)

    def add(pkg, rel, data=None, mode=0o644, listed=None):
        """a file of pkg at rel (real path), listed as `listed`"""
        seed = pkg + (':' + bump if bump == pkg else '')
        if data is None:
            rng = random.Random(seed + rel)
            data = ('%s %s %s\n' % (pkg, rel, seed)).encode() * (1 + rng.randrange(40))
        d = os.path.dirname(rel)
        mkdirs(d)
        with open(p(rel), 'wb') as f:
            f.write(data)
        os.chmod(p(rel), mode)
        lst = pkgs.setdefault(pkg, ['/.'])
        parts = (listed or '/' + rel).split('/')[1:]
        for i in range(1, len(parts)):
            dd = '/' + '/'.join(parts[:i])
            if dd not in lst:
                lst.append(dd)
        lst.append(listed or '/' + rel)

    def big(pkg, rel, size):
        seed = pkg + (':' + bump if bump == pkg else '')
        add(pkg, rel, random.Random(seed).randbytes(size))

    small = ['adduser', 'apt', 'base-files', 'bash', 'bsdutils', 'coreutils',
             'dash', 'debconf', 'debianutils', 'diffutils', 'dpkg', 'e2fsprogs',
             'findutils', 'gpgv', 'grep', 'gzip', 'hostname', 'init-system-helpers',
             'libacl1:amd64', 'libattr1:amd64', 'libbz2-1.0:amd64', 'libc-bin',
             'libcap2:amd64', 'libgcc-s1:amd64', 'liblz4-1:amd64', 'libpam0g:amd64',
             'libselinux1:amd64', 'login', 'mawk', 'mount', 'ncurses-base', 'passwd',
             'perl-base', 'sed', 'sysvinit-utils', 'tar', 'tzdata', 'util-linux', 'zlib1g:amd64']
    for name in small:
        base = name.split(':')[0]
        add(name, 'usr/bin/' + base, mode=0o755)
        add(name, 'usr/share/doc/%s/copyright' % base)
        add(name, 'usr/share/doc/%s/changelog.gz' % base)
        if base.startswith('lib'):
            add(name, 'usr/lib/x86_64-linux-gnu/%s.so.1' % base)
        if len(base) % 3 == 0:
            add(name, 'etc/%s.conf' % base)
        if len(base) % 4 == 0:
            add(name, 'usr/share/%s/data/a.txt' % base)
            add(name, 'usr/share/%s/data/b.txt' % base)
    # libc6: a multiarch list, merged /usr names, a file that is not there
    add('libc6:amd64', 'usr/lib/x86_64-linux-gnu/libc.so.6', listed='/lib/x86_64-linux-gnu/libc.so.6')
    add('libc6:amd64', 'usr/lib/x86_64-linux-gnu/libm.so.6', listed='/lib/x86_64-linux-gnu/libm.so.6')
    add('libc6:amd64', 'usr/sbin/ldconfig', mode=0o755, listed='/sbin/ldconfig')
    add('libc6:amd64', 'usr/share/doc/libc6/copyright')
    pkgs['libc6:amd64'].append('/usr/share/doc/libc6/not-installed')
    # big packages
    big('firmware-big', 'usr/lib/firmware/big.bin', 5 * 1024 * 1024)
    big('fonts-large', 'usr/share/fonts/large.ttf', 5 * 1024 * 1024 // 2)
    big('locales-all', 'usr/lib/locale/locale-archive', 3 * 1024 * 1024 // 2)
    # a hardlink group across packages: hl-a's file, linked from hl-b's directory
    add('hl-a', 'usr/lib/hl-a/data')
    add('hl-b', 'usr/lib/hl-b/readme')
    if os.path.exists(p('usr/lib/hl-b/data-link')):
        os.unlink(p('usr/lib/hl-b/data-link'))
    os.link(p('usr/lib/hl-a/data'), p('usr/lib/hl-b/data-link'))
    pkgs['hl-b'].append('/usr/lib/hl-b/data-link')

    status = []
    for name in sorted(pkgs):
        with open(p('var/lib/dpkg/info/%s.list' % name), 'w') as f:
            f.write(''.join(x + '\n' for x in pkgs[name]))
        status.append('Package: %s\nStatus: install ok installed\nVersion: %s\n\n'
                      % (name.split(':')[0], '2' if name == bump else '1'))
    with open(p('var/lib/dpkg/status'), 'w') as f:
        f.write(''.join(status))

    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for n in filenames + dirnames:
            os.utime(os.path.join(dirpath, n), ns=(MTIME * 10**9, MTIME * 10**9),
                     follow_symlinks=False)
    os.utime(root, ns=(MTIME * 10**9, MTIME * 10**9))


if __name__ == '__main__':
    main()
