#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Seeded generator of (lower, upper) rootfs pairs and the OCI changeset
# between them.  usage: changeset.py SEED OUTDIR [NPATHS] [--same-size]
# (Used by tests/cli/t1000-flatten.sh and t1010-diff.sh; the same seed
# gives the same trees.  --same-size adds one more kind of change: the
# content of a file replaced by other bytes of the same size, mtime kept,
# which only a content comparison sees.)
# Writes OUTDIR/lower.tar, OUTDIR/upper.tar (the expected merged tree) and
# OUTDIR/change.tar (whiteouts first in each directory, opaque whiteouts
# for directories that were removed and recreated, hardlink groups whole).
import copy, io, os, random, sys, tarfile

same_size = '--same-size' in sys.argv
args = [a for a in sys.argv[1:] if a != '--same-size']
seed, out = int(args[0]), args[1]
npaths = int(args[2]) if len(args) > 2 else 40
R = random.Random(seed)
inode = [0]

def new_ino():
    inode[0] += 1
    return inode[0]

def rname():
    return R.choice(['a', 'b', 'c', 'etc', 'bin', 'lib', 'usr', 'x y', 'long' * 30, 'caf\u00e9']) + str(R.randrange(100))

def meta(kind):
    return {'mode': R.choice([0o755, 0o644, 0o600, 0o4755, 0o1777, 0o2750]) if kind != 'l' else 0o777,
            'uid': R.choice([0, 1000, 65534]),
            'gid': R.choice([0, 100, 65534]),
            'mtime': R.randrange(0, 2000000000), 'xattrs': {}}

def data():
    return bytes(R.randrange(256) for _ in range(R.choice([0, 1, 100, 511, 512, 3000])))

def parent(p):
    return p.rsplit('/', 1)[0] if '/' in p else ''

def dirs(t):
    return [p for p, e in t.items() if e['type'] == 'd']

def add_random(t, kind=None):
    ds = [''] + dirs(t)
    for _ in range(10):
        d = R.choice(ds)
        p = (d + '/' if d else '') + rname()
        if p not in t:
            break
    else:
        return None
    kind = kind or R.choice('ffffddlh')
    if kind == 'h':
        files = [q for q, e in t.items() if e['type'] == 'f']
        if not files:
            kind = 'f'
        else:
            t[p] = t[R.choice(files)]   # same dict object = same inode
            return p
    e = meta(kind)
    e['type'] = kind
    e['ino'] = new_ino()
    if kind == 'f':
        e['data'] = data()
    if kind == 'l':
        e['target'] = R.choice(['../etc', '/usr/bin/x', 'target' * 40, 'dangling'])
    if R.random() < 0.2:
        e['xattrs'] = {'trusted.k%d' % R.randrange(3): data()[:20] or b'v'}
    t[p] = e
    return p

def subtree(t, p):
    return [q for q in t if q == p or q.startswith(p + '/')]

def remove(t, p):
    for q in subtree(t, p):
        del t[q]

lower = {}
while len(lower) < npaths:
    add_random(lower)

upper = copy.deepcopy(lower)   # deepcopy keeps shared dicts shared
opaque = set()
for _ in range(R.randrange(1, 12)):
    paths = sorted(upper)
    if not paths:
        add_random(upper)
        continue
    p = R.choice(paths)
    e = upper[p]
    op = R.choice(['add', 'add', 'remove', 'content', 'mode', 'owner', 'mtime', 'xattr',
                   'retype', 'recreate', 'link', 'unlink'] + (['samesize'] * 3 if same_size else []))
    if op == 'add':
        add_random(upper)
    elif op == 'remove':
        remove(upper, p)
    elif op == 'content' and e['type'] == 'f':
        e['data'] = data() + b'!'
    elif op == 'mode':
        e['mode'] ^= 0o010 if e['type'] != 'l' else 0
    elif op == 'owner':
        e['uid'] += 1
    elif op == 'mtime':
        e['mtime'] += 1
    elif op == 'xattr' and e['type'] != 'l':
        e['xattrs'] = dict(e['xattrs'])
        e['xattrs']['trusted.new'] = b'changed'
    elif op == 'retype':
        kind = R.choice([k for k in 'fdl' if k != e['type']])
        remove(upper, p)
        n = meta(kind)
        n.update(type=kind, ino=new_ino())
        if kind == 'f':
            n['data'] = data()
        if kind == 'l':
            n['target'] = 'elsewhere'
        upper[p] = n
    elif op == 'recreate' and e['type'] == 'd':
        remove(upper, p)
        n = meta('d')
        n.update(type='d', ino=new_ino())
        upper[p] = n
        opaque.add(p)
        for _ in range(R.randrange(0, 4)):
            q = p + '/' + rname()
            if q not in upper:
                m = meta('f')
                m.update(type='f', ino=new_ino(), data=data())
                upper[q] = m
    elif op == 'link' and e['type'] == 'f':
        q = (parent(p) + '/' if parent(p) else '') + 'ln' + str(R.randrange(1000))
        if q not in upper:
            upper[q] = e
    elif op == 'samesize' and e['type'] == 'f':
        # other bytes, same size, same mtime (the whole hardlink group)
        e['data'] = bytes((b + 1) % 256 for b in e['data']) if e['data'] else e['data']
    elif op == 'unlink' and e['type'] == 'f':
        # break a hardlink: p gets a new inode (new content), others keep theirs
        n = dict(e)
        n['ino'] = new_ino()
        n['data'] = e['data'] + b'#'
        upper[p] = n

# Opaque marks only directories that still are recreated directories.
opaque = {p for p in opaque if p in upper and upper[p]['type'] == 'd' and
          all(q in upper for q in [parent(p)] if q)}

def key(p):
    return p.split('/')

def write_tar(path, items):
    """items: list of (name, entry or None for a whiteout marker)."""
    with tarfile.open(path, 'w', format=tarfile.PAX_FORMAT) as tf:
        first = {}
        for name, e in items:
            ti = tarfile.TarInfo(name)
            if e is None:
                ti.type = tarfile.REGTYPE
                ti.mtime = 0
                ti.mode = 0o644
                tf.addfile(ti, io.BytesIO(b''))
                continue
            ti.mode = e['mode']
            ti.uid, ti.gid = e['uid'], e['gid']
            ti.uname = ti.gname = ''
            ti.mtime = e['mtime']
            ti.pax_headers = {'SCHILY.xattr.' + k: v.decode('latin-1')
                              for k, v in e['xattrs'].items()}
            fobj = None
            if e['type'] == 'd':
                ti.type = tarfile.DIRTYPE
            elif e['type'] == 'l':
                ti.type = tarfile.SYMTYPE
                ti.linkname = e['target']
            elif id(e) in first:
                ti.type = tarfile.LNKTYPE
                ti.linkname = first[id(e)]
            else:
                first[id(e)] = name
                ti.size = len(e['data'])
                fobj = io.BytesIO(e['data'])
            tf.addfile(ti, fobj)

def full(t):
    return [(p, t[p]) for p in sorted(t, key=key)]

def same(a, b):
    ka = {k: v for k, v in a.items() if k not in ('ino',)}
    kb = {k: v for k, v in b.items() if k not in ('ino',)}
    return ka == kb

def groups(t):
    g = {}
    for p, e in t.items():
        if e['type'] == 'f':
            g.setdefault(id(e), []).append(p)
    return g

lg = {p: tuple(sorted(v)) for v in groups(lower).values() for p in v}
ug = {p: tuple(sorted(v)) for v in groups(upper).values() for p in v}

def under_opaque(p):
    q = parent(p)
    while q:
        if q in opaque:
            return True
        q = parent(q)
    return False

changed = set()
for p, e in upper.items():
    if p not in lower or under_opaque(p) or p in opaque:
        changed.add(p)
    elif lower[p]['type'] != e['type'] or not same(lower[p], e):
        changed.add(p)
    elif e['type'] == 'f' and lg.get(p) != ug.get(p):
        changed.add(p)
# a hardlink group goes whole
for v in groups(upper).values():
    if any(p in changed for p in v):
        changed.update(v)

items = []
for p in sorted(lower, key=key):
    if p in upper:
        continue
    q = parent(p)
    # only the topmost removed path, and not inside a directory that is
    # gone, retyped or recreated (opaque)
    if q and (q not in upper or upper[q]['type'] != 'd' or q in opaque or
              lower.get(q, {}).get('type') != 'd'):
        continue
    b = p.rsplit('/', 1)[-1]
    items.append(((q + '/' if q else '') + '.wh.' + b, None))
for p in opaque:
    items.append((p + '/.wh..wh..opq', None))
for p in changed:
    items.append((p, upper[p]))

def ckey(item):
    name, e = item
    parts = name.split('/')
    if e is None:   # whiteouts first among their siblings
        parts[-1] = '\x00' + parts[-1]
    return parts

items.sort(key=ckey)
os.makedirs(out, exist_ok=True)
write_tar(os.path.join(out, 'lower.tar'), full(lower))
write_tar(os.path.join(out, 'upper.tar'), full(upper))
write_tar(os.path.join(out, 'change.tar'), items)
print('%d lower, %d upper, %d in the changeset, %d opaque' % (len(lower), len(upper), len(items), len(opaque)))
