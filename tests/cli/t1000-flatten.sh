#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-flatten (issue 10): the layers of an image merged into one rootfs tar,
# whiteouts applied, the last layer wins.  Property test: for many seeded
# (lower, upper) pairs, a generated changeset layer (whiteouts, opaque
# whiteouts, type changes, hardlinks broken and added) on top of the lower
# layer flattens to exactly the upper tree (canonical listing, exact
# mtimes), and umoci unpack (as root) of the same two-layer image gives the
# same tree as oci-flatten.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

# Seeds of the property tests (FLATTEN_SEEDS=N for more).
SEEDS=${FLATTEN_SEEDS:-40}
UMOCI_SEEDS=${FLATTEN_UMOCI_SEEDS:-12}

# The generator of (lower, upper, changeset) triples; tests/cli/t1010-diff.sh
# extracts it from here (between the BEGIN and END lines).
cat >gen.py <<\GEN
# BEGIN gen.py
#!/usr/bin/env python3
# Seeded generator of (lower, upper) rootfs pairs and the OCI changeset
# between them.  usage: gen.py SEED OUTDIR [NPATHS]
# Writes OUTDIR/lower.tar, OUTDIR/upper.tar (the expected merged tree) and
# OUTDIR/change.tar (whiteouts first in each directory, opaque whiteouts
# for directories that were removed and recreated, hardlink groups whole).
import copy, io, os, random, sys, tarfile

seed, out = int(sys.argv[1]), sys.argv[2]
npaths = int(sys.argv[3]) if len(sys.argv) > 3 else 40
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
                   'retype', 'recreate', 'link', 'unlink'])
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
# END gen.py
GEN

# layers_of DIR SEED [NOZSTD]: the image stream of DIR's lower and changeset
# layers, each layer with a compression chosen by the seed (gzip, zstd,
# none; no zstd with a third argument: umoci 0.4 does not read it).
layers_of() {
	case $(($2 % 3)) in
	0) c1=gzip c2=zstd ;;
	1) c1=zstd c2=none ;;
	2) c1=none c2=gzip ;;
	esac
	if test -n "${3:-}"; then
		c1=${c1%zstd} c1=${c1:-gzip} c2=${c2%zstd} c2=${c2:-gzip}
	fi
	oci-layer -q -c $c1 <"$1/lower.tar" && oci-layer -q -c $c2 <"$1/change.tar"
}

listing() {
	tar_listing --no-root --mtime-ns "$@"
}

test_expect_success 'help, version, usage errors' '
	oci-flatten --help >help &&
	grep -q -- "--ref" help &&
	oci-flatten --version >version &&
	grep -q "oci-flatten" version &&
	test_expect_code 2 oci-flatten --bogus </dev/null 2>err &&
	test_expect_code 2 oci-flatten a b 2>err
'

test_expect_success 'setup: a base, an app layer with whiteouts, a link broken' '
	mkdir -p base/etc base/var/cache base/opt/old base/usr/bin app/opt app/etc &&
	echo one >base/etc/conf &&
	ln base/etc/conf base/etc/conf.link &&
	echo c >base/var/cache/c1 &&
	echo c >base/var/cache/c2 &&
	echo gone >base/opt/old/f &&
	echo tool >base/usr/bin/tool &&
	ln -s tool base/usr/bin/alias &&
	echo two >app/etc/conf &&
	: >app/etc/.wh.missing &&
	mkdir -p app/var/cache app/opt/old &&
	: >app/var/cache/.wh..wh..opq &&
	echo fresh >app/var/cache/new &&
	: >app/opt/old/.wh.f &&
	: >app/usr-placeholder &&
	mkdir -p app/usr/bin &&
	: >app/usr/bin/.wh.alias &&
	echo alias >app/usr/bin/alias.d &&
	rm app/usr-placeholder &&
	mktar base >base.tar &&
	mktar app >app.tar &&
	{ oci-layer <base.tar && oci-layer --zstd <app.tar; } >two.stream &&
	oci-pack <two.stream >two.tar
'

test_expect_success 'whiteouts applied, last layer wins, hardlink kept as it was' '
	oci-flatten two.tar >flat.tar &&
	tar -tf flat.tar | sort >names &&
	cat >expect <<-\E &&
	./
	etc/
	etc/conf
	etc/conf.link
	opt/
	opt/old/
	usr/
	usr/bin/
	usr/bin/alias.d
	usr/bin/tool
	var/
	var/cache/
	var/cache/new
	E
	test_cmp expect names &&
	test "$(tar -xOf flat.tar etc/conf)" = two &&
	test "$(tar -xOf flat.tar etc/conf.link)" = one &&
	! grep -q "\.wh\." names
'

test_expect_success 'an image tarball and the image stream give the same bytes' '
	oci-flatten two.stream >flat2.tar &&
	cmp flat.tar flat2.tar &&
	oci-flatten <two.tar >flat3.tar &&
	cmp flat.tar flat3.tar &&
	oci-flatten -i two.tar >flat4.tar &&
	cmp flat.tar flat4.tar
'

test_expect_success 'the output reads cleanly with GNU tar and is a valid layer input' '
	tar -tvf flat.tar >/dev/null &&
	oci-layer <flat.tar | oci-pack >again.tar &&
	oci-flatten again.tar >flat5.tar &&
	cmp flat.tar flat5.tar
'

test_expect_success BSDTAR 'the output reads cleanly with bsdtar' '
	bsdtar -tvf flat.tar >/dev/null
'

test_expect_success 'a single layer flattens to itself (fidelity rootfs)' '
	make_rootfs --portable fid &&
	mktar fid >fid.tar &&
	oci-layer <fid.tar >fid.stream &&
	oci-flatten fid.stream >fid-flat.tar &&
	listing fid.tar >expect &&
	listing fid-flat.tar >actual &&
	test_cmp expect actual
'

test_expect_success 'a pipe is refused with one clear line' '
	cat two.tar | test_expect_code 1 oci-flatten >out 2>err &&
	test_one_error_line oci-flatten err &&
	grep -q "must be a file" err &&
	test ! -s out
'

test_expect_success 'damaged input: truncated, garbage, a failed stage' '
	size=$(wc -c <two.tar) &&
	head -c $((size / 2)) two.tar >half.tar &&
	test_expect_code 1 oci-flatten half.tar >out 2>err &&
	test_one_error_line oci-flatten err &&
	head -c 5000 /dev/urandom >garbage &&
	test_expect_code 1 oci-flatten garbage >out 2>err &&
	test_one_error_line oci-flatten err &&
	: >empty &&
	test_expect_code 1 oci-flatten empty >out 2>err &&
	test_one_error_line oci-flatten err &&
	{ oci-layer <base.tar; printf "not a tar at all, long enough to be read....." | oci-layer 2>/dev/null; } >failed.stream;
	test_expect_code 1 oci-flatten failed.stream >out 2>err &&
	test_one_error_line oci-flatten err &&
	grep -q "upstream stage failed" err
'

test_expect_success 'a multi-platform tarball: the image is chosen by --arch' '
	oci-layer <app.tar | oci-config --arch arm64 | oci-manifest >app.stream &&
	oci-config --arch amd64 <two.stream | oci-manifest >two-m.stream &&
	cat two-m.stream app.stream | oci-pack --tag t >multi.tar &&
	test_expect_code 1 oci-flatten multi.tar >out 2>err &&
	test_one_error_line oci-flatten err &&
	oci-flatten --arch amd64 multi.tar >m1.tar &&
	cmp flat.tar m1.tar &&
	oci-flatten --arch aarch64 multi.tar >m2.tar &&
	listing app.tar | grep -v "[.]wh[.]" >expect && listing m2.tar >actual &&
	test_cmp expect actual
'

test_expect_success 'a stream with several images: chosen by platform' '
	cat two-m.stream app.stream >multi.stream &&
	test_expect_code 1 oci-flatten multi.stream >out 2>err &&
	test_one_error_line oci-flatten err &&
	grep -q "several images" err &&
	oci-flatten --arch amd64 multi.stream >s1.tar &&
	cmp flat.tar s1.tar &&
	test_expect_code 1 oci-flatten --arch riscv64 multi.stream >out 2>err
'

test_expect_success 'tags: --ref picks the image of a tarball' '
	oci-pack --tag one --tag other <two.stream >t1.tar &&
	oci-flatten --ref other t1.tar >r1.tar &&
	cmp flat.tar r1.tar &&
	test_expect_code 1 oci-flatten --ref nope t1.tar >out 2>err &&
	test_one_error_line oci-flatten err
'

test_expect_success SKOPEO 'an image tarball copied by skopeo flattens the same' '
	skopeo copy -q oci-archive:two.tar:latest oci-archive:sk.tar:latest &&
	oci-flatten sk.tar >sk-flat.tar &&
	cmp flat.tar sk-flat.tar
'

test_expect_success "property: $SEEDS generated changesets flatten to the upper tree" '
	s=1 && fails=0 &&
	while test $s -le $SEEDS; do
		rm -rf p && "$PYTHON" gen.py $s p >/dev/null &&
		layers_of p $s >p/image.stream &&
		oci-flatten p/image.stream >p/flat.tar &&
		listing p/upper.tar >p/expect &&
		listing p/flat.tar >p/actual &&
		if ! cmp -s p/expect p/actual; then
			echo "seed $s differs:" && diff -u p/expect p/actual | head -20
			fails=$((fails + 1))
		fi &&
		s=$((s + 1)) || return 1
	done &&
	test $fails = 0
'

test_expect_success ROOT,UMOCI "umoci unpack and oci-flatten give the same tree ($UMOCI_SEEDS seeds)" '
	s=1 && fails=0 &&
	while test $s -le $UMOCI_SEEDS; do
		rm -rf u && "$PYTHON" gen.py $s u >/dev/null &&
		layers_of u $s nozstd >u/image.stream &&
		oci-pack -o u/layout <u/image.stream &&
		umoci unpack --image u/layout:latest u/bundle >/dev/null &&
		oci-flatten u/image.stream >u/flat.tar &&
		tree_listing --no-root --mtime u/bundle/rootfs >u/expect &&
		tar_listing --no-root --mtime u/flat.tar >u/actual &&
		if ! cmp -s u/expect u/actual; then
			echo "seed $s differs:" && diff -u u/expect u/actual | head -20
			fails=$((fails + 1))
		fi &&
		s=$((s + 1)) || return 1
	done &&
	test $fails = 0
'

test_done
