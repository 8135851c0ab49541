#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Canonical listings of a tar archive or of a directory tree.

usage: listing.py tar  [OPTIONS] FILE|-     (plain, gzip, bzip2, xz or zstd)
       listing.py tree [OPTIONS] DIR

One line per entry, tab-separated:

  type mode uid gid size sha256 linktarget device hardlink-group [mtime] xattrs name

  type      f file, d directory, l symlink, c char device, b block device,
            p fifo, s socket, h hardlink whose target was not seen (tar only)
  mode      permission bits incl. setuid/setgid/sticky, 4 octal digits
  size      bytes of content (0 but for regular files)
  sha256    of the content of regular files, else -
  linktarget symlink target, else -
  device    major,minor for devices, else -
  hardlink-group  the smallest name of the set of names that are hardlinks
            of one another (a tar hardlink entry and its target; files
            sharing an inode in a tree), else -
  mtime     with --mtime only: seconds since the epoch (integer part);
            with --mtime-ns: exact, as SECONDS.NANOSECONDS where SECONDS is
            rounded down (-1.75 is -2.250000000); a pax mtime record is
            read as the decimal number it is, digits past 9 dropped
  xattrs    name=hexvalue,... sorted by name, or -  (none with --no-xattrs)
  name      normalised: no leading "./" or trailing "/", the root is "."

A hardlink entry of a tar is listed with the type, mode, owner and content
of its target, so a tar and an unpacked tree of it give the same lines.
Names and targets are bytes: anything outside printable ASCII, and the
backslash, is written as \\xNN.  Lines are sorted by name unless --order.

Options:
  --order          keep archive (or walk) order instead of sorting
  --mtime          add the mtime column
  --mtime-ns       add the mtime column, exact (see above)
  --names          add user and group names after gid (tar only)
  --no-xattrs      leave xattrs out (xattrs column is then always -)
  --ignore-xattr P ignore xattrs whose name starts with P (repeatable)
  --no-root        leave out the root entry "."
  --concat         read concatenated archives (tar -i), tar only
  --exclude NAME   leave out NAME and everything under it (repeatable)
"""
import base64
import decimal
import hashlib
import os
import stat
import subprocess
import sys
import tarfile
import threading
import urllib.parse


def esc(b):
    if isinstance(b, str):
        b = b.encode('utf-8', 'surrogateescape')
    out = []
    for c in b:
        if 0x21 <= c < 0x7f and c != 0x5c:
            out.append(chr(c))
        elif c == 0x20:
            out.append(' ')
        else:
            out.append('\\x%02x' % c)
    return ''.join(out)


def norm(name):
    """Normalise an entry name given as bytes: no leading "./", no trailing
    "/", empty and "." components dropped ("a//./b" is "a/b")."""
    while name.startswith(b'./'):
        name = name[2:]
    while name.endswith(b'/') and len(name) > 1:
        name = name[:-1]
    if b'//' in name or b'/./' in name or name.endswith(b'/.'):
        lead = b'/' if name.startswith(b'/') else b''
        name = lead + b'/'.join(c for c in name.split(b'/') if c not in (b'', b'.'))
    if name in (b'', b'.'):
        return b'.'
    return name


class Opts:
    def __init__(self, argv):
        self.order = False
        self.mtime = False
        self.mtime_ns = False
        self.names = False
        self.xattrs = True
        self.ignore_xattr = []
        self.root = True
        self.concat = False
        self.exclude = []
        self.path = None
        it = iter(argv)
        for a in it:
            if a == '--order':
                self.order = True
            elif a == '--mtime':
                self.mtime = True
            elif a == '--mtime-ns':
                self.mtime = self.mtime_ns = True
            elif a == '--names':
                self.names = True
            elif a == '--no-xattrs':
                self.xattrs = False
            elif a == '--ignore-xattr':
                self.ignore_xattr.append(os.fsencode(next(it)))
            elif a == '--no-root':
                self.root = False
            elif a == '--concat':
                self.concat = True
            elif a == '--exclude':
                self.exclude.append(norm(os.fsencode(next(it))))
            elif a.startswith('--') and a != '--':
                raise SystemExit('listing.py: unknown option %s' % a)
            elif self.path is None:
                self.path = a
            else:
                raise SystemExit('listing.py: too many arguments')
        if self.path is None:
            raise SystemExit('listing.py: missing FILE or DIR')

    def excluded(self, name):
        if name == b'.' and not self.root:
            return True
        for e in self.exclude:
            if name == e or name.startswith(e + b'/'):
                return True
        return False

    def keep_xattr(self, k):
        return self.xattrs and not any(k.startswith(p) for p in self.ignore_xattr)


class Rec:
    __slots__ = ('type', 'mode', 'uid', 'gid', 'uname', 'gname', 'size', 'sha',
                 'target', 'dev', 'group', 'mtime', 'mtime_ns', 'xattrs', 'name')

    def line(self, o):
        cols = [self.type, '%04o' % self.mode, str(self.uid), str(self.gid)]
        if o.names:
            cols += [esc(self.uname or b'-'), esc(self.gname or b'-')]
        cols += [str(self.size), self.sha or '-',
                 esc(self.target) if self.target is not None else '-',
                 self.dev or '-',
                 esc(self.group) if self.group is not None else '-']
        if o.mtime_ns:
            cols.append('%d.%09d' % divmod(self.mtime_ns, 10**9))
        elif o.mtime:
            cols.append(str(int(self.mtime // 1)))
        xs = sorted((k, v) for k, v in self.xattrs.items() if o.keep_xattr(k))
        cols.append(','.join('%s=%s' % (esc(k), v.hex()) for k, v in xs) or '-')
        cols.append(esc(self.name))
        return '\t'.join(cols)


def group_names(recs, links):
    """links: list of (name, target) pairs; sets rec.group for each set."""
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x
    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    sets = {}
    for n in set(parent) | set(parent.values()):
        sets.setdefault(find(n), []).append(n)
    for members in sets.values():
        g = min(members)
        for m in members:
            if m in recs:
                recs[m].group = g


def open_input(path):
    """Return a binary stream that tarfile can read ('r|*' handles gzip,
    bzip2 and xz); zstd is piped through `zstd -dc`."""
    f = sys.stdin.buffer if path == '-' else open(path, 'rb')
    head = f.peek(4)[:4]
    if head != b'\x28\xb5\x2f\xfd':
        return f, None
    p = subprocess.Popen(['zstd', '-dcq'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def feed():
        try:
            while True:
                b = f.read1(1 << 16)
                if not b:
                    break
                p.stdin.write(b)
        except BrokenPipeError:
            pass
        finally:
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    return p.stdout, p


def pax_mtime_ns(m):
    """Exact mtime in nanoseconds: the pax record as a decimal number
    (tarfile's float loses digits), else the header's whole seconds."""
    v = m.pax_headers.get('mtime')
    if v is None:
        return int(m.mtime) * 10**9
    with decimal.localcontext() as c:
        c.prec = 60
        d = decimal.Decimal(v.strip())
        whole = int(d)                  # toward zero, as the digits read
        frac = (abs(d) - abs(whole)) * 10**9
        ns = int(frac)                  # digits past 9 dropped
    return whole * 10**9 + (-ns if d < 0 else ns)


def list_tar(o):
    stream, proc = open_input(o.path)
    recs = {}
    order = []
    links = []
    tf = tarfile.open(fileobj=stream, mode='r|*', encoding='utf-8',
                      errors='surrogateescape', ignore_zeros=o.concat)
    for m in tf:
        name = norm(m.name.encode('utf-8', 'surrogateescape'))
        r = Rec()
        r.name = name
        r.mode = m.mode & 0o7777
        r.uid, r.gid = m.uid, m.gid
        r.uname = m.uname.encode('utf-8', 'surrogateescape') if m.uname else None
        r.gname = m.gname.encode('utf-8', 'surrogateescape') if m.gname else None
        r.size, r.sha, r.target, r.dev, r.group = 0, None, None, None, None
        r.mtime = m.mtime
        r.mtime_ns = pax_mtime_ns(m)
        r.xattrs = {}
        for k, v in m.pax_headers.items():
            if k.startswith('SCHILY.xattr.'):
                r.xattrs[k[len('SCHILY.xattr.'):].encode('utf-8', 'surrogateescape')] = \
                    v.encode('utf-8', 'surrogateescape')
            elif k.startswith('LIBARCHIVE.xattr.'):
                kn = urllib.parse.unquote_to_bytes(k[len('LIBARCHIVE.xattr.'):])
                r.xattrs[kn] = base64.b64decode(v + '=' * (-len(v) % 4))
        if m.isreg():
            r.type = 'f'
            h = hashlib.sha256()
            f = tf.extractfile(m)
            n = 0
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
            r.size, r.sha = n, h.hexdigest()
        elif m.isdir():
            r.type = 'd'
        elif m.issym():
            r.type = 'l'
            r.target = m.linkname.encode('utf-8', 'surrogateescape')
        elif m.islnk():
            target = norm(m.linkname.encode('utf-8', 'surrogateescape'))
            t = recs.get(target)
            if t is None:
                r.type = 'h'
                r.target = target
            else:
                for a in ('type', 'mode', 'uid', 'gid', 'uname', 'gname', 'size',
                          'sha', 'target', 'dev', 'mtime', 'mtime_ns', 'xattrs'):
                    setattr(r, a, getattr(t, a))
                links.append((name, target))
        elif m.ischr() or m.isblk():
            r.type = 'c' if m.ischr() else 'b'
            r.dev = '%d,%d' % (m.devmajor, m.devminor)
        elif m.isfifo():
            r.type = 'p'
        else:
            r.type = '?' + m.type.decode('latin-1')
        if name not in recs:
            order.append(name)
        recs[name] = r
    tf.close()
    if proc is not None:
        proc.stdout.close()
        if proc.wait() != 0:
            raise SystemExit('listing.py: zstd -d failed')
    group_names(recs, links)
    return recs, order


def list_tree(o):
    root = os.fsencode(o.path)
    recs = {}
    order = []
    inodes = {}

    def add(rel, path):
        st = os.lstat(path)
        r = Rec()
        r.name = rel
        r.mode = stat.S_IMODE(st.st_mode)
        r.uid, r.gid = st.st_uid, st.st_gid
        r.uname = r.gname = None
        r.size, r.sha, r.target, r.dev, r.group = 0, None, None, None, None
        r.mtime = st.st_mtime_ns / 1e9
        r.mtime_ns = st.st_mtime_ns
        r.xattrs = {}
        if o.xattrs:
            try:
                for k in os.listxattr(path, follow_symlinks=False):
                    r.xattrs[os.fsencode(k)] = os.getxattr(path, k, follow_symlinks=False)
            except OSError:
                pass
        m = st.st_mode
        if stat.S_ISREG(m):
            r.type = 'f'
            h = hashlib.sha256()
            with open(path, 'rb') as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
            r.size, r.sha = st.st_size, h.hexdigest()
        elif stat.S_ISDIR(m):
            r.type = 'd'
        elif stat.S_ISLNK(m):
            r.type = 'l'
            r.target = os.readlink(path)
        elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
            r.type = 'c' if stat.S_ISCHR(m) else 'b'
            r.dev = '%d,%d' % (os.major(st.st_rdev), os.minor(st.st_rdev))
        elif stat.S_ISFIFO(m):
            r.type = 'p'
        elif stat.S_ISSOCK(m):
            r.type = 's'
        else:
            r.type = '?'
        if not stat.S_ISDIR(m) and st.st_nlink > 1:
            inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
        recs[rel] = r
        order.append(rel)

    add(b'.', root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            full = os.path.join(dirpath, n)
            add(os.path.relpath(full, root), full)
    links = []
    for names in inodes.values():
        for n in names[1:]:
            links.append((n, names[0]))
    group_names(recs, links)
    return recs, order


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ('tar', 'tree'):
        sys.stderr.write(__doc__)
        return 2
    o = Opts(sys.argv[2:])
    try:
        recs, order = (list_tar if sys.argv[1] == 'tar' else list_tree)(o)
    except (tarfile.TarError, EOFError, OSError) as e:
        sys.stderr.write('listing.py: %s: %s\n' % (o.path, e))
        return 1
    names = order if o.order else sorted(recs)
    out = sys.stdout
    for n in names:
        if not o.excluded(n):
            out.write(recs[n].line(o) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
