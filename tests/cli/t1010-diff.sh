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
	etc/conf
	opt/.wh..wh..opq
	usr/bin/alias/
	usr/bin/tool
	var/cache/new
	var/cache/.wh..wh..opq
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
	test $(wc -l <l.list) = 3 &&
	grep -q "^d.* etc/\$" l.list &&
	grep -q "^-.* etc/keep\$" l.list &&
	grep -q "^h.* etc/keep.link link to etc/keep\$" l.list &&
	{ oci-layer <base.tar && cat l.stream; } >l2.stream &&
	oci-flatten l2.stream >lflat.tar &&
	listing linked.tar >expect && listing lflat.tar >actual &&
	test_cmp expect actual
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

test_expect_success 'bad input: truncated upper, garbage lower, missing lower, image stream' '
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
	test_expect_code 1 oci-diff --lower d.stream <app.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep -q "image stream" err &&
	oci-diff --lower base.tar <half.tar 2>/dev/null | test_must_fail oci-pack >out 2>err
'

test_expect_success '--checksum: a same-size, same-mtime change is seen; --checksum-max' '
	cp -a base same &&
	echo ONE >same/etc/conf &&
	touch -r base/etc/conf same/etc/conf &&
	mktar same >same.tar &&
	oci-diff -c none --lower base.tar <same.tar >q.stream &&
	tar -xOf q.stream ocipipe/chunk.000000 | tar -tf - >q.names &&
	test_cmp /dev/null q.names &&
	oci-diff -c none --checksum --lower base.tar <same.tar >c.stream &&
	tar -xOf c.stream ocipipe/chunk.000000 | tar -tf - >c.names &&
	echo etc/conf >expect &&
	test_cmp expect c.names &&
	test_expect_code 1 oci-diff --checksum --checksum-max=2 --lower base.tar <same.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep -q "checksum-max" err
'

test_expect_success "property: $SEEDS generated pairs, --checksum: flatten(lower + diff) = upper" '
	s=1 && fails=0 &&
	while test $s -le $SEEDS; do
		rm -rf p && "$PYTHON" "$GEN" $s p 40 --same-size >/dev/null &&
		image_of p $s --checksum >p/image.stream &&
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

# quick_check LOWER UPPER ACTUAL: each line of ACTUAL (listings) is the
# upper's, or, for a file whose upper line differs from the lower's only
# in the content hash (same size, same mtime), the lower's content: what the quick
# check without --checksum promises
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

test_expect_success "property: $SEEDS generated pairs, quick check: same-size same-mtime changes kept from the lower" '
	s=1 && fails=0 &&
	while test $s -le $SEEDS; do
		rm -rf p && "$PYTHON" "$GEN" $s p 40 --same-size >/dev/null &&
		image_of p $s >p/image.stream &&
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
