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

# The generator of (lower, upper, changeset) triples, shared with t1010.
GEN=$TEST_HELPERS/changeset.py

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
	oci-layer -q -c $c1 <"$1/lower.tar" && oci-layer -q -c $c2 --whiteouts <"$1/change.tar"
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
	{ oci-layer <base.tar && oci-layer --zstd --whiteouts <app.tar; } >two.stream &&
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
	{ oci-layer <base.tar &&
	  ! printf "not a tar at all, long enough to be read....." | oci-layer 2>/dev/null; } >failed.stream &&
	test_expect_code 1 oci-flatten failed.stream >out 2>err &&
	test_one_error_line oci-flatten err &&
	grep -q "upstream stage failed" err
'

test_expect_success 'a multi-platform tarball: the image is chosen by --arch' '
	oci-layer --whiteouts <app.tar | oci-config --arch arm64 | oci-manifest >app.stream &&
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
		rm -rf p && "$PYTHON" "$GEN" $s p >/dev/null &&
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
		rm -rf u && "$PYTHON" "$GEN" $s u >/dev/null &&
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
