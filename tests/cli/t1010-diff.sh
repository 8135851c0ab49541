#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-diff (issue 10): a layer with what changed between a lower rootfs tar
# and an upper rootfs tar stream.  Property test: for many seeded (lower,
# upper) pairs (tests/helpers/changeset.py: files added, removed, changed
# in content, mode, owner, mtime, xattrs, type changes, directories removed
# and recreated, hardlinks added and broken), the lower layer plus the
# diff layer flattens to exactly the upper tree, and umoci unpack (as root)
# of that image gives the upper tree too.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

SEEDS=${DIFF_SEEDS:-60}
UMOCI_SEEDS=${DIFF_UMOCI_SEEDS:-12}
GEN=$TEST_HELPERS/changeset.py

listing() {
	tar_listing --no-root --mtime-ns "$@"
}

# image_of DIR SEED [OPTIONS]: the image stream of DIR's lower layer and
# the diff layer of DIR/upper.tar on it (compressions chosen by the seed).
image_of() {
	_d=$1 _s=$2
	shift 2
	case $((_s % 3)) in
	0) c1=gzip c2=zstd ;;
	1) c1=zstd c2=none ;;
	2) c1=none c2=gzip ;;
	esac
	oci-layer -q -c $c1 <"$_d/lower.tar" &&
	oci-diff -q -c $c2 --lower "$_d/lower.tar" "$@" <"$_d/upper.tar"
}

test_expect_success 'help, version, usage errors' '
	oci-diff --help >help &&
	grep -q -- "--lower" help &&
	grep -q -- "--checksum" help &&
	grep -q -- "--trust-mtime" help &&
	grep -q -- "--no-lower-image" help &&
	grep -q "image tarball" help &&
	oci-diff --version >version &&
	grep -q "oci-diff" version &&
	test_expect_code 2 oci-diff </dev/null >out 2>err &&
	grep -q "lower" err &&
	test_expect_code 2 oci-diff --bogus </dev/null 2>err &&
	test_expect_code 2 oci-diff --lower x extra </dev/null 2>err &&
	test_expect_code 2 oci-diff --lower x --checksum-max=-1 </dev/null 2>err
'

test_expect_success 'setup: a base and an app tree' '
	mkdir -p base/etc base/var/cache base/opt/old base/usr/bin &&
	echo one >base/etc/conf &&
	echo keep >base/etc/keep &&
	echo c >base/var/cache/c1 &&
	echo c >base/var/cache/c2 &&
	echo gone >base/opt/old/f &&
	echo tool >base/usr/bin/tool &&
	ln -s tool base/usr/bin/alias &&
	cp -a base app &&
	echo two >app/etc/conf &&
	touch -d @1000000000 app/etc/conf &&
	rm -r app/var/cache/* app/opt/old &&
	echo fresh >app/var/cache/new &&
	rm app/usr/bin/alias && mkdir app/usr/bin/alias &&
	chmod 700 app/usr/bin/tool &&
	# directories whose entries changed keep their old mtimes, so which
	# of them count as changed does not depend on the clock ticking
	for d in . etc opt var var/cache usr usr/bin; do touch -r base/$d app/$d || exit 1; done &&
	mktar base >base.tar &&
	mktar app >app.tar
'

test_expect_success 'only what changed, whiteouts where paths went' '
	oci-diff -c none --lower base.tar <app.tar >d.stream &&
	tar -xOf d.stream ocipipe/chunk.000000 >d.tar &&
	tar -tf d.tar >names &&
	cat >expect <<-\E &&
	./
	etc/
	etc/conf
	opt/
	opt/.wh..wh..opq
	usr/
	usr/bin/
	usr/bin/alias/
	usr/bin/tool
	var/
	var/cache/
	var/cache/.wh..wh..opq
	var/cache/new
	E
	test_cmp expect names &&
	test "$(tar -xOf d.tar etc/conf)" = two
'

test_expect_success 'lower layer + diff layer flatten to the upper tree' '
	{ oci-layer <base.tar && oci-diff --lower base.tar <app.tar; } >two.stream &&
	oci-flatten two.stream >flat.tar &&
	listing app.tar >expect &&
	listing flat.tar >actual &&
	test_cmp expect actual &&
	oci-pack <two.stream >two.tar &&
	oci-flatten two.tar >flat2.tar &&
	cmp flat.tar flat2.tar
'

test_expect_success 'identical trees: the diff layer is empty (only the end marker)' '
	oci-diff -c none --lower base.tar <base.tar >same.stream &&
	tar -xOf same.stream ocipipe/chunk.000000 >same.tar &&
	test $(wc -c <same.tar) = 1024 &&
	head -c 1024 /dev/zero | cmp - same.tar &&
	gzip -c base.tar >base.tar.gz &&
	oci-diff -c none --lower base.tar.gz <base.tar >same2.stream &&
	cmp same.stream same2.stream
'

test_expect_success 'a named pipe as the lower' '
	mkfifo lower.fifo &&
	{ cat base.tar >lower.fifo & } &&
	oci-diff -c none --lower lower.fifo <app.tar >fifo.stream &&
	wait &&
	cmp d.stream fifo.stream
'

test_expect_success 'a new hardlink to an unchanged file: the file comes along' '
	cp -a base linked &&
	ln linked/etc/keep linked/etc/keep.link &&
	# the directory changed: say so in whole seconds too (GNU tar keeps
	# seconds only, and ln may fall in the second cp -a preserved)
	touch -d @1000000000 linked/etc &&
	mktar linked >linked.tar &&
	oci-diff -c none --lower base.tar <linked.tar >l.stream &&
	tar -xOf l.stream ocipipe/chunk.000000 >l.tar &&
	tar -tvf l.tar >l.list &&
	test $(wc -l <l.list) = 4 &&
	grep -q "^d.* \./\$" l.list &&
	grep -q "^d.* etc/\$" l.list &&
	grep -q "^-.* etc/keep\$" l.list &&
	grep -q "^h.* etc/keep.link link to etc/keep\$" l.list &&
	{ oci-layer <base.tar && cat l.stream; } >l2.stream &&
	oci-flatten l2.stream >lflat.tar &&
	listing linked.tar >expect && listing lflat.tar >actual &&
	test_cmp expect actual
'

# ln -P links the symlink itself, and GNU tar stores it as a hardlink (a
# linked fifo it stores as a second fifo).  oci-layer keeps such hardlinks,
# so oci-diff must: with the symlink written, or brought along unchanged.
test_expect_success 'hardlinks to a symlink, new or to an unchanged one' '
	mkdir -p sl/etc && echo x >sl/etc/f && ln -s f sl/etc/s && mkfifo sl/etc/p &&
	ln -s changed-later sl/etc/s2 &&
	touch -d @1000000000 sl/etc/f sl/etc sl &&
	touch -h -d @1000000000 sl/etc/s sl/etc/s2 &&
	mktar sl >sl-lower.tar &&
	cp -a sl su &&
	ln -P su/etc/s su/etc/s.link && ln su/etc/p su/etc/p.link &&
	rm su/etc/s2 && ln -s now su/etc/s2 && ln -P su/etc/s2 su/etc/s2.link &&
	touch -d @1000000001 su/etc &&
	mktar su >sl-upper.tar &&
	tar -tvf sl-upper.tar | grep "^h.* ./etc/s.link link to ./etc/s\$" &&
	oci-diff -c none --lower sl-lower.tar <sl-upper.tar >sl.stream &&
	tar -xOf sl.stream ocipipe/chunk.000000 | tar -tvf - >sl.list &&
	grep "^l.* etc/s -> f\$" sl.list &&
	grep "^h.* etc/s.link link to etc/s\$" sl.list &&
	grep "^p.* etc/p.link\$" sl.list &&
	grep "^h.* etc/s2.link link to etc/s2\$" sl.list &&
	{ oci-layer -q <sl-lower.tar && cat sl.stream; } >sl2.stream &&
	oci-flatten sl2.stream >sl-flat.tar &&
	listing sl-upper.tar >expect && listing sl-flat.tar >actual &&
	test_cmp expect actual &&
	if test_have_prereq ROOT,UMOCI; then
		oci-pack -o sl-layout <sl2.stream &&
		umoci unpack --image sl-layout:latest sl-bundle >/dev/null &&
		tree_listing --no-root --mtime sl-bundle/rootfs >sl-tree &&
		tar_listing --no-root --mtime sl-upper.tar >sl-expect &&
		test_cmp sl-expect sl-tree
	fi
'

test_expect_success 'that case with a pipe as the lower: one clear line' '
	{ cat base.tar >lower.fifo & } &&
	test_expect_code 1 oci-diff --lower lower.fifo <linked.tar >out 2>err;
	rc=$?; wait; test $rc = 0 &&
	test_one_error_line oci-diff err &&
	grep -q "not a pipe" err
'

test_expect_success 'rebuilt image: the unchanged base layer keeps its digest' '
	echo three >app/etc/conf &&
	mktar app >app2.tar &&
	export SOURCE_DATE_EPOCH=1700000000 &&
	{ oci-layer <base.tar && oci-diff --lower base.tar <app.tar; } | oci-pack >v1.tar &&
	{ oci-layer <base.tar && oci-diff --lower base.tar <app2.tar; } | oci-pack >v2.tar &&
	mkdir v1 v2 && tar -C v1 -xf v1.tar && tar -C v2 -xf v2.tar &&
	m1=$(blob_path v1 "$(json_get v1/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	m2=$(blob_path v2 "$(json_get v2/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	json_get "$m1" "j[\"layers\"][0][\"digest\"]" >l1 &&
	json_get "$m2" "j[\"layers\"][0][\"digest\"]" >l2 &&
	test_cmp l1 l2 &&
	json_get "$m1" "j[\"layers\"][1][\"digest\"]" >d1 &&
	json_get "$m2" "j[\"layers\"][1][\"digest\"]" >d2 &&
	! test_cmp d1 d2 2>/dev/null
'

test_expect_success 'bad input: truncated upper, garbage lower, missing lower' '
	size=$(wc -c <app.tar) &&
	head -c $((size / 2)) app.tar >half.tar &&
	test_expect_code 1 oci-diff --lower base.tar <half.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	head -c 5000 /dev/urandom >garbage &&
	test_expect_code 1 oci-diff --lower garbage <app.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	test_expect_code 1 oci-diff --lower nope.tar <app.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	: >empty &&
	test_expect_code 1 oci-diff --lower base.tar <empty >out 2>err &&
	test_one_error_line oci-diff err &&
	oci-diff --lower base.tar <half.tar 2>/dev/null | test_must_fail oci-pack >out 2>err
'

# An image as the lower (an image stream file or an OCI image tarball): the
# lower tree is its merged rootfs (oci-flatten), and the output starts with
# that image, so the diff layer goes on top of it and the base layers keep
# their digests.
test_expect_success 'setup: a two-layer base image, as a stream and as a tarball' '
	{ oci-layer <base.tar && oci-diff --lower base.tar <app.tar; } |
		oci-config --env BASE=1 --entrypoint /bin/sh | oci-manifest >img.stream &&
	oci-pack --tag base <img.stream >img.tar &&
	oci-flatten img.tar >img-flat.tar &&
	listing app.tar >expect && listing img-flat.tar >actual &&
	test_cmp expect actual
'

test_expect_success 'an image lower: its layers and config, then only what changed' '
	for lower in img.stream img.tar; do
		rm -rf on &&
		oci-diff -c none --lower $lower <app2.tar >on.stream &&
		stream_split on.stream on >on.list &&
		printf "layer 1 1\nlayer 2 1\nconfig 1\nlayer 3 1\n" >expect &&
		test_cmp expect on.list &&
		tar -tf on/blob-3 >names && printf "./\netc/\netc/conf\n" >expect &&
		test_cmp expect names &&
		stream_split img.stream im >/dev/null &&
		cmp on/blob-1 im/blob-1 && cmp on/blob-2 im/blob-2 &&
		cmp on/config-1.json im/config-1.json &&
		oci-flatten on.stream >on-flat.tar &&
		listing app2.tar >expect && listing on-flat.tar >actual &&
		test_cmp expect actual || return 1
	done
'

test_expect_success 'the diff against an image is the diff against its flattened tar' '
	oci-diff -c none --no-lower-image --lower img.tar <app2.tar >only.stream &&
	oci-diff -c none --lower img-flat.tar <app2.tar >flat-lower.stream &&
	cmp only.stream flat-lower.stream &&
	stream_split only.stream only >only.list &&
	echo "layer 1 1" >expect && test_cmp expect only.list
'

test_expect_success 'full pipeline: the base layers keep their digests, the config builds on the base' '
	export SOURCE_DATE_EPOCH=1700000000 &&
	oci-diff --lower img.tar <app2.tar | oci-config --env APP=1 | oci-manifest |
		oci-pack --tag app >app-img.tar &&
	mkdir ai bi && tar -C ai -xf app-img.tar && tar -C bi -xf img.tar &&
	ma=$(blob_path ai "$(json_get ai/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	mb=$(blob_path bi "$(json_get bi/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	test "$(json_get "$ma" "len(j[\"layers\"])")" = 3 &&
	json_get "$ma" "[l[\"digest\"] for l in j[\"layers\"][:2]]" >la &&
	json_get "$mb" "[l[\"digest\"] for l in j[\"layers\"]]" >lb &&
	test_cmp lb la &&
	ca=$(blob_path ai "$(json_get "$ma" "j[\"config\"][\"digest\"]")") &&
	json_get "$ca" "j[\"config\"][\"Env\"]" >env &&
	grep -q "BASE=1" env && grep -q "APP=1" env &&
	test "$(json_get "$ca" "j[\"config\"][\"Entrypoint\"]")" = "[\"/bin/sh\"]" &&
	test "$(json_get "$ca" "len(j[\"rootfs\"][\"diff_ids\"])")" = 3 &&
	oci-flatten app-img.tar >app-flat.tar &&
	listing app2.tar >expect && listing app-flat.tar >actual &&
	test_cmp expect actual
'

test_expect_success SKOPEO 'skopeo reads the image built on an image lower' '
	skopeo inspect oci-archive:app-img.tar:app >sk.json &&
	test "$(json_get sk.json "len(j[\"Layers\"])")" = 3 &&
	skopeo copy -q oci-archive:app-img.tar:app oci-archive:sk.tar:app &&
	oci-flatten sk.tar >sk-flat.tar &&
	cmp app-flat.tar sk-flat.tar
'

test_expect_success ROOT,UMOCI 'umoci unpack of the image built on an image lower gives the upper tree' '
	mkdir ul && tar -C ul -xf app-img.tar &&
	umoci unpack --image ul:app ubundle >/dev/null &&
	tree_listing --no-root --mtime ubundle/rootfs >actual &&
	tar_listing --no-root --mtime app2.tar >expect &&
	test_cmp expect actual
'

test_expect_success 'an image lower and a new hardlink to an unchanged file: flattened again' '
	oci-layer <base.tar | oci-pack >base-img.tar &&
	oci-diff -c none --summary --no-lower-image --lower base-img.tar <linked.tar \
		>li.stream 2>summary &&
	grep -q "lower read twice" summary &&
	cmp l.stream li.stream &&
	oci-diff --lower img.stream <linked.tar >li2.stream 2>summary &&
	oci-flatten li2.stream >li-flat.tar &&
	listing linked.tar >expect && listing li-flat.tar >actual &&
	test_cmp expect actual
'

test_expect_success 'a lower with several images: the platform chooses, one line lists them' '
	oci-layer <base.tar | oci-config --arch amd64 | oci-manifest >amd.stream &&
	oci-layer <app.tar | oci-config --arch arm64 | oci-manifest >arm.stream &&
	cat amd.stream arm.stream | oci-pack --tag t >multi.tar &&
	test_expect_code 1 oci-diff --lower multi.tar <app.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep -q "linux/amd64" err && grep -q "linux/arm64" err &&
	oci-diff -c none --arch aarch64 --lower multi.tar <app.tar >arm-on.stream &&
	stream_split arm-on.stream arm-on >/dev/null &&
	stream_split arm.stream arm >/dev/null &&
	cmp arm/blob-1 arm-on/blob-1 &&
	test $(wc -c <arm-on/blob-2) = 1024 &&
	cat amd.stream arm.stream >multi.stream &&
	test_expect_code 1 oci-diff --lower multi.stream <app.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	oci-diff -c none --arch x86_64 --no-lower-image --lower multi.stream <app.tar >amd-on.stream &&
	oci-diff -c none --lower base.tar <app.tar >expect.stream &&
	cmp expect.stream amd-on.stream &&
	test_expect_code 2 oci-diff --arch arm64 --lower base.tar <app.tar >out 2>err &&
	test_one_error_line oci-diff err
'

# Images are recognised uncompressed; a compressed image tarball is read
# as a tar and refused at its end, never diffed as a rootfs of blobs.
test_expect_success 'a gzip-compressed image tarball as the lower: one line, exit 1' '
	gzip -c img.tar >img.tar.gz &&
	test_expect_code 1 oci-diff --lower img.tar.gz <app2.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep "OCI image tarball, not a rootfs tar" err &&
	test_must_fail oci-pack <out >/dev/null 2>&1
'

test_expect_success 'a damaged image lower: one line, exit 1, no image downstream' '
	size=$(wc -c <img.stream) &&
	head -c $((size - 700)) img.stream >img-cut.stream &&
	test_expect_code 1 oci-diff --lower img-cut.stream <app2.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	size=$(wc -c <img.tar) &&
	head -c $((size / 2)) img.tar >img-cut.tar &&
	test_expect_code 1 oci-diff --lower img-cut.tar <app2.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	# a layer whose digest holds but whose tar is cut: pass 1 passes, the
	# flattening fails on its thread, and its reason is the message
	"$PYTHON" - <<-\PY &&
	import hashlib, io, json, tarfile
	blob = open("base.tar", "rb").read()
	blob = blob[:len(blob) // 2 + 100]
	d = "sha256:" + hashlib.sha256(blob).hexdigest()
	desc = json.dumps({"mediaType": "application/vnd.oci.image.layer.v1.tar",
	                   "digest": d, "size": len(blob), "diffID": d,
	                   "uncompressedSize": len(blob)}).encode()
	with tarfile.open("layer-cut.stream", "w", format=tarfile.USTAR_FORMAT) as t:
	    for name, b in (("ocipipe/chunk.000000", blob), ("ocipipe/layer.json", desc)):
	        i = tarfile.TarInfo(name)
	        i.size = len(b)
	        i.mode = 0o644
	        t.addfile(i, io.BytesIO(b))
	PY
	test_expect_code 1 oci-diff --lower layer-cut.stream <app2.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep -q "layer 1" err &&
	test_must_fail oci-pack <out >out.tar 2>err &&
	mkfifo img.fifo &&
	{ cat img.tar >img.fifo & } &&
	test_expect_code 1 oci-diff --lower img.fifo <app2.tar >out 2>err;
	rc=$?; wait; test $rc = 0 &&
	test_one_error_line oci-diff err &&
	grep -q "not a pipe" err
'

# Content is compared by default (t1011-diff-content.sh has the cases);
# --trust-mtime is rsync's quick check, --checksum the old name of the
# default, and the last of the two counts.
test_expect_success 'a same-size, same-mtime change is seen; not with --trust-mtime' '
	cp -a base same &&
	echo ONE >same/etc/conf &&
	touch -r base/etc/conf same/etc/conf &&
	mktar same >same.tar &&
	oci-diff -c none --lower base.tar <same.tar >c.stream &&
	tar -xOf c.stream ocipipe/chunk.000000 | tar -tf - >c.names &&
	printf "./\netc/\netc/conf\n" >expect &&
	test_cmp expect c.names &&
	oci-diff -c none --trust-mtime --checksum --checksum-max=2 --lower base.tar \
		<same.tar >c2.stream &&
	cmp c.stream c2.stream &&
	oci-diff -c none --checksum --trust-mtime --lower base.tar <same.tar >q.stream &&
	tar -xOf q.stream ocipipe/chunk.000000 | tar -tf - >q.names &&
	test_cmp /dev/null q.names
'

# Whiteouts are put before their siblings by holding back at most 8 MiB of
# the layer (src/lib/diff.c); a directory whose new content is larger gets
# its whiteouts where it ends, which the image spec allows too, and then
# one per name: an opaque whiteout after the directory's new entries would
# remove them in an applier that goes entry by entry.
test_expect_success 'whiteouts before siblings, and after a directory too large to hold' '
	mkdir -p wb-lower/small wb-lower/big &&
	echo a >wb-lower/small/gone && echo b >wb-lower/big/gone &&
	cp -a wb-lower wb-upper &&
	rm wb-upper/small/gone wb-upper/big/gone &&
	echo new >wb-upper/small/new &&
	head -c 9000000 /dev/urandom >wb-upper/big/huge &&
	touch -d @1000000000 wb-upper/small wb-upper/big &&
	mktar wb-lower >wb-lower.tar && mktar wb-upper >wb-upper.tar &&
	oci-diff -c none --lower wb-lower.tar <wb-upper.tar >wb.stream &&
	tar -xOf wb.stream ocipipe/chunk.000000 >/dev/null &&
	stream_split wb.stream wb >/dev/null &&
	tar -tf wb/blob-1 >wb.names &&
	cat >expect <<-\E &&
	./
	big/
	big/huge
	big/.wh.gone
	small/
	small/.wh..wh..opq
	small/new
	E
	test_cmp expect wb.names &&
	{ oci-layer <wb-lower.tar && cat wb.stream; } >wb2.stream &&
	oci-flatten wb2.stream >wb-flat.tar &&
	listing wb-upper.tar >expect &&
	listing wb-flat.tar >actual &&
	test_cmp expect actual
'

# The upper tar obeys oci-layer's rules (src/lib/treecheck.c): what no
# unpacker could apply is refused with the entry named once, and a
# hardlink to itself is left out (umoci then unpacks the image).
test_expect_success 'upper: entries no unpacker could apply are refused, a self-link dropped' '
	cat >craft.py <<-\PY &&
	import sys; sys.path.insert(0, sys.argv[2]); import fidelity as f
	a = f.Ar(sys.stdout.buffer)
	k = sys.argv[1]
	a.entry(b"keep", b"k")
	if k == "self": a.entry(b"f", b"x"); a.entry(b"f", typ=b"1", link=b"f")
	if k == "below": a.entry(b"d", b"file"); a.entry(b"d/x", b"x")
	if k == "hldir": a.entry(b"d/", typ=b"5"); a.entry(b"h", typ=b"1", link=b"d")
	if k == "replaced":
	    a.entry(b"d/", typ=b"5"); a.entry(b"d/in", b"i"); a.entry(b"d", b"now a file")
	    a.entry(b"d/", typ=b"5"); a.entry(b"h", typ=b"1", link=b"d/in")
	a.end()
	PY
	for k in lower self below hldir replaced; do
		"$PYTHON" craft.py $k "$TEST_HELPERS" >tc-$k.tar || return 1
	done &&
	test_expect_code 1 oci-diff --lower tc-lower.tar <tc-below.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep "upper: entry .d/x.: would be written through the non-directory .d." err &&
	test_expect_code 1 oci-diff --lower tc-lower.tar <tc-hldir.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep "upper: entry .h.: hardlink target .d. is a directory\$" err &&
	test_expect_code 1 oci-diff --lower tc-lower.tar <tc-replaced.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep "upper: entry .h.: hardlink target .d/in. is in the directory .d., which a later entry replaced" err &&
	oci-diff -c none --lower tc-lower.tar <tc-self.tar >self.stream &&
	tar -xOf self.stream ocipipe/chunk.000000 | tar -tf - >self.names &&
	printf "f\n" >expect && test_cmp expect self.names &&
	if test_have_prereq ROOT,UMOCI; then
		{ oci-layer -q <tc-lower.tar && cat self.stream; } | oci-pack -o self-layout &&
		umoci unpack --image self-layout:latest self-bundle >/dev/null &&
		test "$(cat self-bundle/rootfs/f)" = x
	fi
'

# whiteouts_first <NAMES: in a layer's entry names (tar -t order), each
# whiteout comes before the other entries of its directory (the image
# spec's advice, and what appliers that go entry by entry need)
whiteouts_first() {
	"$PYTHON" -c '
import sys
seen, bad = set(), 0
for n in sys.stdin.read().splitlines():
    d, _, b = n.rstrip("/").rpartition("/")
    if not b.startswith(".wh."):
        seen.add(d)
    elif d in seen:
        print("whiteout %s/%s after a sibling" % (d, b))
        bad = 1
sys.exit(bad)
'
}

# parents_first UPPER.TAR <NAMES: every entry of a layer comes after the
# entries of its parent directories that the upper tar has (the parents of
# what changed are written too, as containerd and docker write diffs)
parents_first() {
	"$PYTHON" -c '
import sys, tarfile
def norm(n):
    n = n[2:] if n.startswith("./") else n
    return n.rstrip("/") if n not in (".", "./") else ""
dirs = {norm(m.name) for m in tarfile.open(sys.argv[1]) if m.isdir()}
seen, bad = set(), 0
for n in map(norm, sys.stdin.read().splitlines()):
    parts = n.split("/")
    for a in [""] + ["/".join(parts[:i]) for i in range(1, len(parts))]:
        if n and a in dirs and a not in seen:
            print("%s before its parent %r" % (n, a or "./"))
            bad = 1
    seen.add(n)
sys.exit(bad)
' "$1"
}

test_expect_success "property: $SEEDS generated pairs, content compared: flatten(lower + diff) = upper" '
	s=1 && fails=0 &&
	while test $s -le $SEEDS; do
		rm -rf p && "$PYTHON" "$GEN" $s p 40 --same-size >/dev/null &&
		# every other seed holds compared files in the temporary file
		if test $((s % 2)) = 0; then
			image_of p $s --checksum-max=100 >p/image.stream
		else
			image_of p $s >p/image.stream
		fi &&
		oci-flatten p/image.stream >p/flat.tar &&
		listing p/upper.tar >p/expect &&
		listing p/flat.tar >p/actual &&
		if ! cmp -s p/expect p/actual; then
			echo "seed $s differs:" && diff -u p/expect p/actual | head -20
			fails=$((fails + 1))
		fi &&
		stream_split p/image.stream p/split >/dev/null &&
		tar -tf p/split/blob-2 >p/names &&
		if ! whiteouts_first <p/names; then
			echo "seed $s: a whiteout after a sibling" && fails=$((fails + 1))
		fi &&
		if ! parents_first p/upper.tar <p/names; then
			echo "seed $s: an entry without its parents" && fails=$((fails + 1))
		fi &&
		s=$((s + 1)) || return 1
	done &&
	test $fails = 0
'

# quick_check LOWER UPPER ACTUAL: each line of ACTUAL (listings) is the
# upper's, or, for a file whose upper line differs from the lower's only
# in the content hash (same size, same mtime), the lower's content: what the quick
# check (--trust-mtime) promises
quick_check() {
	"$PYTHON" - "$1" "$2" "$3" <<-\PY
	import sys
	def load(p):
	    return {l.rstrip("\n").split("\t")[-1]: l for l in open(p)}
	low, up, act = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
	bad = 0
	for n in sorted(set(up) | set(act)):
	    u, a, o = up.get(n), act.get(n), low.get(n)
	    if a == u:
	        continue
	    if a is not None and u is not None:
	        f, g = u.split("\t"), a.split("\t")
	        # the content of the lower file of that name (or of its
	        # hardlink group's first name)
	        was = [low[m].split("\t")[:6] for m in (n, f[8]) if m in low]
	        if f[0] == "f" and g[:5] == f[:5] and g[6:] == f[6:] and g[:6] in was:
	            continue
	    print("expected %r, got %r" % (u, a))
	    bad += 1
	sys.exit(1 if bad else 0)
	PY
}

test_expect_success "property: $SEEDS generated pairs, --trust-mtime: same-size same-mtime changes kept from the lower" '
	s=1 && fails=0 &&
	while test $s -le $SEEDS; do
		rm -rf p && "$PYTHON" "$GEN" $s p 40 --same-size >/dev/null &&
		image_of p $s --trust-mtime >p/image.stream &&
		oci-flatten p/image.stream >p/flat.tar &&
		listing p/lower.tar >p/lower.list &&
		listing p/upper.tar >p/upper.list &&
		listing p/flat.tar >p/actual &&
		if ! quick_check p/lower.list p/upper.list p/actual >p/report; then
			echo "seed $s differs:" && head -20 p/report
			fails=$((fails + 1))
		fi &&
		s=$((s + 1)) || return 1
	done &&
	test $fails = 0
'

test_expect_success ROOT,UMOCI "umoci unpack of lower + diff gives the upper tree ($UMOCI_SEEDS seeds)" '
	s=1 && fails=0 &&
	while test $s -le $UMOCI_SEEDS; do
		rm -rf u && "$PYTHON" "$GEN" $s u >/dev/null &&
		{ oci-layer -q <u/lower.tar && oci-diff -q --lower u/lower.tar <u/upper.tar; } >u/image.stream &&
		oci-pack -o u/layout <u/image.stream &&
		umoci unpack --image u/layout:latest u/bundle >/dev/null &&
		tree_listing --no-root --mtime u/bundle/rootfs >u/actual &&
		tar_listing --no-root --mtime u/upper.tar >u/expect &&
		if ! cmp -s u/expect u/actual; then
			echo "seed $s differs:" && diff -u u/expect u/actual | head -20
			fails=$((fails + 1))
		fi &&
		s=$((s + 1)) || return 1
	done &&
	test $fails = 0
'

test_done
