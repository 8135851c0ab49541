#!/bin/sh
# SPDX-License-Identifier: MIT
# The block cache (issue 19, docs/cache.md): with --cache=DIR (or
# OCI_LAYER_CACHE_DIR) the layer is byte for byte the one a build without the
# cache writes, cold and warm, with 1 and 8 threads, and on the golden
# input the golden digest; a changed file costs only the blocks around it;
# a corrupted, truncated, foreign or forged entry is recompressed, never
# used; two builders share one DIR at once; a kill -9 during a build leaves
# nothing a later build trusts; --cache-max trims the least recently used.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

GOLDEN=$top_srcdir/tests/fixtures/golden
unset OCI_LAYER_CACHE_DIR OCI_LAYER_CACHE_MAX

# mkinput DIR SEED: a rootfs of many small text files, a few big ones and
# some incompressible data, about 14 MB: several dozen blocks
mkinput() {
	"$PYTHON" - "$1" "$2" <<-\EOF
	import os, random, sys
	root, seed = sys.argv[1], int(sys.argv[2])
	r = random.Random(seed)
	words = [b"alpha", b"beta", b"gamma", b"delta", b"usr", b"lib", b"share", b"bin"]
	def text(n):
	    return b" ".join(r.choice(words) for _ in range(n // 5))[:n]
	for d in range(12):
	    p = os.path.join(root, "pkg%02d" % d)
	    os.makedirs(p, exist_ok=True)
	    for f in range(40):
	        with open(os.path.join(p, "f%03d" % f), "wb") as fh:
	            fh.write(text(r.randint(100, 40000)))
	    if d % 4 == 0:
	        with open(os.path.join(p, "big"), "wb") as fh:
	            fh.write(text(3 * 1024 * 1024 + d))
	with open(os.path.join(root, "random.bin"), "wb") as fh:
	    fh.write(r.randbytes(700000))
	EOF
}

# layer IN OUT [oci-layer options]: the image stream of IN (epoch fixed),
# stderr in OUT.err
layer() {
	_i=$1 _o=$2
	shift 2
	SOURCE_DATE_EPOCH=1704067200 oci-layer --summary "$@" <"$_i" >"$_o" 2>"$_o.err"
}

# reused ERRFILE: "H N R" of --summary's cache words (reused, blocks, rejected)
reused() {
	sed -n 's/.*cache: \([0-9]*\) of \([0-9]*\) blocks reused, \([0-9]*\) rejected.*/\1 \2 \3/p' "$1"
}

# entries DIR: the cache's entry files, sorted
entries() {
	find "$1/ocipipe-blocks-1" -type f ! -name ".tmp.*" | LC_ALL=C sort
}

test_expect_success 'setup: input of many blocks, the build without a cache' '
	mkdir r && mkinput r 1 &&
	mktar r --format=pax >in.tar &&
	test $(size_of in.tar) -gt 12000000 &&
	layer in.tar cold.stream --threads=1 &&
	stream_split cold.stream cold >/dev/null &&
	gzip -t cold/blob-1 &&
	test $(gzip -dc cold/blob-1 | wc -c) -gt 12000000
'

test_expect_success 'cold cache: the same bytes as no cache; every block stored' '
	layer in.tar c1.stream --threads=1 --cache=cache &&
	cmp cold.stream c1.stream &&
	set -- $(reused c1.stream.err) &&
	test "$1" = 0 && test "$2" -gt 20 && test "$3" = 0 &&
	test $(entries cache | wc -l) = "$2"
'

test_expect_success 'warm cache, 1 and 8 threads: the same bytes, every block reused' '
	layer in.tar w1.stream --threads=1 --cache=cache &&
	layer in.tar w8.stream --threads=8 --cache=cache &&
	cmp cold.stream w1.stream &&
	cmp cold.stream w8.stream &&
	set -- $(reused w8.stream.err) &&
	test "$1" = "$2" && test "$3" = 0
'

test_expect_success 'a fresh cache filled with 8 threads: the same bytes' '
	layer in.tar c8.stream --threads=8 --cache=cache8 &&
	cmp cold.stream c8.stream &&
	entries cache | sed "s|^cache/||" >a &&
	entries cache8 | sed "s|^cache8/||" >b &&
	test_cmp a b
'

test_expect_success 'the warm layer holds the rootfs exactly' '
	stream_split w8.stream w8 >/dev/null &&
	gzip -dc w8/blob-1 >w8.tar &&
	tar_listing --mtime --names in.tar >in.list &&
	tar_listing --mtime --names w8.tar >w8.list &&
	test_cmp in.list w8.list
'

test_expect_success 'golden input through a warm cache: the golden layer digest' '
	"$PYTHON" "$GOLDEN/mkinput.py" >golden.tar &&
	layer golden.tar g0.stream --threads=1 --print-descriptor=g0.json &&
	layer golden.tar g1.stream --threads=1 --cache=gcache &&
	layer golden.tar g2.stream --threads=8 --cache=gcache --print-descriptor=g2.json &&
	cmp g0.stream g1.stream && cmp g0.stream g2.stream &&
	set -- $(reused g2.stream.err) && test "$1" = "$2" && test "$3" = 0 &&
	want=$(sed -n "s/^libdeflate //p" "$GOLDEN/versions.txt") &&
	have=$(oci-layer --version | sed -n "s/.*libdeflate \([^ ,]*\).*/\1/p") &&
	if test "$want" = "$have"; then
		test "$(json_get g2.json "j[\"digest\"]")" = \
			"$(sed -n "s/^short.layer.digest //p" "$GOLDEN/gzip.txt")"
	else
		test_diag "libdeflate $have, golden made with $want: compared with the cold build only"
	fi
'

# rebuilt TREE MAX: TREE.tar built without and with the warm cache gives the
# same bytes, no entry rejected, and at most MAX blocks compressed
rebuilt() {
	mktar "$1" --format=pax >"$1.tar" &&
	layer "$1.tar" "$1-0.stream" --threads=1 &&
	layer "$1.tar" "$1-1.stream" --threads=2 --cache=cache &&
	cmp "$1-0.stream" "$1-1.stream" &&
	set -- "$1" "$2" $(reused "$1-1.stream.err") &&
	test_diag "$1: $3 of $4 blocks reused" &&
	test "$5" = 0 && test $(($4 - $3)) -le "$2" && test $(($4 - $3)) -ge 1
}

test_expect_success 'one package rewritten: only the blocks around it are compressed' '
	cp -a r r2 &&
	for f in r2/pkg05/f0*; do echo changed >>"$f"; done &&
	rebuilt r2 4 && cp r2.tar in2.tar
'

test_expect_success 'a file inserted: only the blocks around it are compressed' '
	cp -a r r3 &&
	"$PYTHON" -c "import random; open(\"r3/pkg03/inserted\", \"wb\").write(random.Random(7).randbytes(50000))" &&
	rebuilt r3 3 && cp r3.tar in3.tar
'

# entry_of N: the N-th entry of cc, a cache holding the blocks of in.tar
# alone (sorted)
entry_of() {
	entries cc | sed -n "${1}p"
}

test_expect_success 'setup: a cache of in.tar alone' '
	cp -a cache8 cc &&
	test $(entries cc | wc -l) -gt 20
'

test_expect_success 'a corrupted entry (one byte flipped) is recompressed, never used' '
	e=$(entry_of 3) && test -f "$e" &&
	"$PYTHON" -c "
import sys
p = sys.argv[1]
b = bytearray(open(p, \"rb\").read())
b[len(b) // 2] ^= 0x55
open(p, \"wb\").write(b)" "$e" &&
	layer in.tar k1.stream --threads=2 --cache=cc &&
	cmp cold.stream k1.stream &&
	set -- $(reused k1.stream.err) && test "$3" = 1 &&
	layer in.tar k2.stream --threads=2 --cache=cc &&
	cmp cold.stream k2.stream &&
	set -- $(reused k2.stream.err) && test "$3" = 0 && test "$1" = "$2"
'

test_expect_success 'a truncated entry and an empty one are recompressed, never used' '
	e=$(entry_of 5) && f=$(entry_of 9) &&
	size=$(size_of "$e") &&
	truncate -s $((size - 100)) "$e" &&
	: >"$f" &&
	layer in.tar t1.stream --threads=1 --cache=cc &&
	cmp cold.stream t1.stream &&
	set -- $(reused t1.stream.err) && test "$3" = 2
'

test_expect_success 'a foreign entry (another block'"'"'s, under this name) is never used' '
	a=$(entry_of 2) && b=$(entry_of 7) &&
	cp "$a" "$b" &&
	layer in.tar f1.stream --threads=2 --cache=cc &&
	cmp cold.stream f1.stream &&
	set -- $(reused f1.stream.err) && test "$3" = 1
'

# The header (docs/cache.md): magic 8, key 16, payload length 8 (LE),
# XXH3-128 of the payload 16.  The forgery must pass every check but the
# inflate one, so the script first checks that it computes the stored
# checksum of a real entry.
test_expect_success 'a forged entry (right key and checksum, another member) is never used' '
	a=$(entry_of 4) && b=$(entry_of 8) &&
	"$PYTHON" -c "
import sys, xxhash
a = open(sys.argv[1], \"rb\").read()
b = open(sys.argv[2], \"rb\").read()
assert a[:8] == b\"OCISBC2\\n\" and int.from_bytes(a[24:32], \"little\") == len(a) - 48
assert xxhash.xxh3_128(a[48:]).digest() == a[32:48]
payload = a[48:]
forged = b[:24] + len(payload).to_bytes(8, \"little\") + xxhash.xxh3_128(payload).digest() + payload
open(sys.argv[2], \"wb\").write(forged)" "$a" "$b" &&
	layer in.tar x1.stream --threads=2 --cache=cc &&
	cmp cold.stream x1.stream &&
	set -- $(reused x1.stream.err) && test "$3" = 1
'

test_expect_success 'a symlink in place of an entry is not followed' '
	a=$(entry_of 6) && b=$(entry_of 10) &&
	rm -f "$b" && ln -s "$PWD/$a" "$b" &&
	layer in.tar s1.stream --threads=1 --cache=cc &&
	cmp cold.stream s1.stream &&
	set -- $(reused s1.stream.err) && test "$1" -lt "$2" &&
	layer in.tar s2.stream --threads=1 --cache=cc &&
	set -- $(reused s2.stream.err) && test "$1" = "$2" && test ! -h "$b"
'

test_expect_success 'two builders on one cache at once: both right' '
	layer in.tar p1.stream --threads=2 --cache=shared &
	p1=$!
	layer in.tar p2.stream --threads=2 --cache=shared &
	p2=$!
	wait $p1 && wait $p2 &&
	cmp cold.stream p1.stream && cmp cold.stream p2.stream &&
	layer in.tar p3.stream --threads=2 --cache=shared &&
	cmp cold.stream p3.stream &&
	set -- $(reused p3.stream.err) && test "$1" = "$2" && test "$3" = 0 &&
	test -z "$(find shared -name ".tmp.*")"
'

test_expect_success 'kill -9 during a build that writes the cache, then a correct build' '
	for i in 1 2 3 4; do cp -a r "rk$i"; echo "$i" >>"rk$i/pkg01/f001"; done &&
	mkdir rk && mv rk1 rk2 rk3 rk4 rk/ &&
	mktar rk --format=pax >ink.tar &&
	oci-layer --threads=1 --cache=kcache <ink.tar >kill.stream 2>kill.err &
	pid=$! &&
	n=0 &&
	while test $n -lt 600 && test "$(find kcache -type f 2>/dev/null | wc -l)" -lt 5; do
		sleep 0.1; n=$((n + 1))
	done &&
	kill -9 $pid; wait $pid
	test_diag "killed after $(find kcache -type f | wc -l) cache files" &&
	layer ink.tar k0.stream --threads=1 &&
	layer ink.tar k9.stream --threads=2 --cache=kcache &&
	cmp k0.stream k9.stream &&
	set -- $(reused k9.stream.err) && test "$3" = 0 && test "$1" -ge 1
'

test_expect_success 'a killed writer'"'"'s temporary file is never read, and trimmed when stale' '
	e=$(entry_of 1) && d=$(dirname "$e") &&
	cp "$e" "$d/.tmp.AbCdEf" &&
	touch -d "3 hours ago" "$d/.tmp.AbCdEf" &&
	cp "$e" "$d/.tmp.fresh1" &&
	layer in.tar q1.stream --threads=1 --cache=cc &&
	cmp cold.stream q1.stream &&
	layer in3.tar q2.stream --threads=1 --cache=cc --cache-max=0 &&
	test ! -e "$d/.tmp.AbCdEf" &&
	test -e "$d/.tmp.fresh1" && rm "$d/.tmp.fresh1"
'

test_expect_success 'entries of format 1 (sha256 names) are removed, other files left' '
	e=$(entry_of 2) && d=$(dirname "$e") &&
	old=$d/$(printf "%064d" 0 | tr 0 a) &&
	cp "$e" "$old" && cp "$e" "$d/$(printf "%063d" 0 | tr 0 b)" && cp "$e" "$d/notes" &&
	layer in.tar v1.stream --threads=2 --cache=cc &&
	cmp cold.stream v1.stream &&
	set -- $(reused v1.stream.err) && test "$1" = "$2" &&
	test ! -e "$old" && test -e "$d/notes" &&
	test -e "$d/$(printf "%063d" 0 | tr 0 b)" &&
	rm "$d/notes" "$d/$(printf "%063d" 0 | tr 0 b)"
'

test_expect_success '--cache-max: the least recently used entries go first' '
	rm -rf lru && layer in.tar l1.stream --threads=2 --cache=lru &&
	entries lru >all && n=$(wc -l <all) &&
	head -n $((n / 2)) all >old && tail -n +$((n / 2 + 1)) all >recent &&
	while read -r f; do touch -d "2 days ago" "$f"; done <old &&
	recent=$(xargs du -cb <recent | tail -n 1 | cut -f1) &&
	layer golden.tar l0.stream --threads=1 --cache=gonly &&
	added=$(entries gonly | xargs du -cb | tail -n 1 | cut -f1) &&
	max=$((recent + added + 1000)) &&
	layer golden.tar l2.stream --threads=1 --cache=lru --cache-max=$max &&
	entries lru >after &&
	! grep -F -f old after &&
	while read -r f; do test -f "$f" || exit 1; done <recent &&
	total=$(entries lru | xargs du -cb | tail -n 1 | cut -f1) &&
	test "$total" -le $max
'

test_expect_success '--cache-max=1M keeps the directory small; the layer is still right' '
	rm -rf small && layer in.tar m1.stream --threads=2 --cache=small --cache-max=1M &&
	cmp cold.stream m1.stream &&
	total=$(entries small | xargs -r du -cb | tail -n 1 | cut -f1) &&
	test "${total:-0}" -le 1048576
'

test_expect_success 'OCI_LAYER_CACHE_DIR is the default, --no-cache wins over it' '
	rm -rf envc &&
	(export OCI_LAYER_CACHE_DIR=envc && layer in.tar e1.stream --threads=1) &&
	cmp cold.stream e1.stream && test $(entries envc | wc -l) -gt 20 &&
	(export OCI_LAYER_CACHE_DIR=envc && layer in.tar e2.stream --threads=1) &&
	set -- $(reused e2.stream.err) && test "$1" = "$2" &&
	(export OCI_LAYER_CACHE_DIR=envc && layer in.tar e3.stream --threads=1 --no-cache) &&
	cmp cold.stream e3.stream && ! grep "cache:" e3.stream.err &&
	(export OCI_LAYER_CACHE_DIR=envc OCI_LAYER_CACHE_MAX=1M &&
	 layer in.tar e4.stream --threads=1) &&
	total=$(entries envc | xargs -r du -cb | tail -n 1 | cut -f1) &&
	test "${total:-0}" -le 1048576
'

test_expect_success 'bad --cache-max and OCI_LAYER_CACHE_MAX are usage errors' '
	test_expect_code 2 oci-layer --cache=x --cache-max=lots <in.tar >out 2>err &&
	test_one_error_line oci-layer err &&
	test_expect_code 2 env OCI_LAYER_CACHE_DIR=x OCI_LAYER_CACHE_MAX=-1 oci-layer <in.tar >out 2>err &&
	grep OCI_LAYER_CACHE_MAX err
'

test_expect_success 'zstd: --cache warns and is not used; the bytes are the same' '
	layer in.tar z0.stream --zstd --threads=2 &&
	layer in.tar z1.stream --zstd --threads=2 --cache=zc &&
	cmp z0.stream z1.stream &&
	grep "gzip layers only" z1.stream.err &&
	test -z "$(find zc -type f 2>/dev/null)"
'

test_expect_success 'oci-diff --cache: cold and warm equal the build without it' '
	mktar r --format=pax >lower.tar &&
	SOURCE_DATE_EPOCH=1704067200 oci-diff --lower=lower.tar --summary <in2.tar >d0.stream 2>d0.err &&
	SOURCE_DATE_EPOCH=1704067200 oci-diff --lower=lower.tar --cache=dc <in2.tar >d1.stream &&
	SOURCE_DATE_EPOCH=1704067200 oci-diff --lower=lower.tar --cache=dc --summary <in2.tar >d2.stream 2>d2.err &&
	cmp d0.stream d1.stream && cmp d0.stream d2.stream &&
	set -- $(reused d2.err) && test "$1" = "$2" && test "$2" -ge 1
'

test_done
