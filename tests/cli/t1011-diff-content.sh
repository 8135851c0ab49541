#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-diff compares file content by default (issue 15, finding 6).  GNU
# tar's default format keeps whole seconds, and Yocto and every
# reproducible build clamp all mtimes to SOURCE_DATE_EPOCH, so a file
# rewritten with its size kept has the metadata of the old one: the quick
# check (size and mtime) left it out of the diff, and the lower layer plus
# the diff was not the upper tree.  Now the lower's contents are hashed
# while its index is built, and an upper file whose metadata match is
# hashed too: held in memory up to --checksum-max bytes, in one temporary
# file beyond, and written when its hash differs.  --trust-mtime is the
# quick check, for trees whose mtimes are trusted.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

ASAN_OPTIONS=$ASAN_RSS_OPTIONS	# RSS measures oci-diff (tests/lib.sh)
export ASAN_OPTIONS

listing() {
	tar_listing --no-root --mtime-ns "$@"
}

# clamp DIR...: every mtime to one whole second, as a Yocto rootfs has
clamp() {
	find "$@" -exec touch -h -d @1700000000 {} +
}

# pair NAME [TAR OPTIONS]: NAME-lower.tar and NAME-upper.tar from the trees NAME-lower
# and NAME-upper, clamped, in GNU tar's default format (whole seconds),
# with the tar options given
pair() {
	_p=$1
	shift
	clamp "$_p-lower" "$_p-upper" &&
	mktar "$_p-lower" "$@" >"$_p-lower.tar" &&
	mktar "$_p-upper" "$@" >"$_p-upper.tar"
}

# layer_names STREAM: the entry names of the (last) layer of a diff stream
layer_names() {
	rm -rf "$1.split" &&
	stream_split "$1" "$1.split" >"$1.split.list" &&
	tar -tf "$1.split/blob-$(grep -c "^layer" "$1.split.list")"
}

# flat_is_upper NAME STREAM: NAME's lower layer plus the diff layer of
# STREAM flatten to NAME's upper tree
flat_is_upper() {
	{ oci-layer -q <"$1-lower.tar" && cat "$2"; } >"$2.both" &&
	oci-flatten "$2.both" >"$2.flat" &&
	listing "$1-upper.tar" >"$2.expect" &&
	listing "$2.flat" >"$2.actual" &&
	test_cmp "$2.expect" "$2.actual"
}

test_expect_success 'setup: a file changed in content, same size, same clamped mtime' '
	mkdir -p s-lower/etc &&
	echo one >s-lower/etc/conf &&
	echo keep >s-lower/etc/keep &&
	cp -a s-lower s-upper &&
	echo ONE >s-upper/etc/conf &&
	pair s &&
	tar -tvf s-lower.tar | grep "/etc/conf\$" >l.line &&
	tar -tvf s-upper.tar | grep "/etc/conf\$" >u.line &&
	test_cmp l.line u.line
'

test_expect_success 'by default the change is in the diff, and lower + diff = upper' '
	oci-diff -c none --lower s-lower.tar <s-upper.tar >s.stream &&
	layer_names s.stream >names &&
	printf "./\netc/\netc/conf\n" >expect &&
	test_cmp expect names &&
	flat_is_upper s s.stream
'

test_expect_success '--checksum (the default now) is accepted and changes nothing' '
	oci-diff -c none --checksum --lower s-lower.tar <s-upper.tar >c.stream &&
	cmp s.stream c.stream
'

test_expect_success '--trust-mtime: the quick check misses that change, as documented' '
	oci-diff -c none --trust-mtime --lower s-lower.tar <s-upper.tar >q.stream &&
	layer_names q.stream >names &&
	test_cmp /dev/null names &&
	{ oci-layer -q <s-lower.tar && cat q.stream; } >q.both &&
	oci-flatten q.both | tar -xOf - etc/conf >conf &&
	echo one >expect && test_cmp expect conf &&
	# what it does see: a changed mtime
	touch -d @1700000001 s-upper/etc/conf && mktar s-upper >s-upper2.tar &&
	oci-diff -c none --trust-mtime --lower s-lower.tar <s-upper2.tar >q2.stream &&
	layer_names q2.stream >names &&
	printf "./\netc/\netc/conf\n" >expect &&
	test_cmp expect names
'

# A file over --checksum-max goes to one temporary file in $TMPDIR (made
# without a name, or unlinked at once), read back when it changed: the
# layer bytes do not depend on where the file was held.
test_expect_success 'a file over --checksum-max: spooled, written when changed, dropped when not' '
	mkdir -p b-lower/big tmp &&
	{ head -c 299999 /dev/urandom && printf A; } >b-lower/big/changed &&
	head -c 300001 /dev/urandom >b-lower/big/same &&
	cp -a b-lower b-upper &&
	printf Z | dd of=b-upper/big/changed bs=1 seek=299999 conv=notrunc 2>/dev/null &&
	pair b &&
	TMPDIR=$PWD/tmp oci-diff -c none --checksum-max=65536 --lower b-lower.tar \
		<b-upper.tar >b.stream &&
	test -z "$(ls -A tmp)" &&
	layer_names b.stream >names &&
	printf "./\nbig/\nbig/changed\n" >expect &&
	test_cmp expect names &&
	flat_is_upper b b.stream &&
	oci-diff -c none --lower b-lower.tar <b-upper.tar >b-mem.stream &&
	cmp b.stream b-mem.stream &&
	oci-diff -c none --checksum-max=0 --lower b-lower.tar <b-upper.tar >b-0.stream &&
	cmp b.stream b-0.stream
'

test_expect_success 'no temporary file can be made: one line, exit 1; none needed: fine' '
	test_expect_code 1 env TMPDIR=$PWD/nonexistent oci-diff --checksum-max=65536 \
		--lower b-lower.tar <b-upper.tar >out 2>err &&
	test_one_error_line oci-diff err &&
	grep -q "temporary file" err &&
	test_must_fail oci-pack <out >/dev/null 2>&1 &&
	TMPDIR=$PWD/nonexistent oci-diff -c none --lower b-lower.tar <b-upper.tar >b-n.stream &&
	cmp b-mem.stream b-n.stream
'

# The lower's hardlink group: the data is the first name's, the other
# names link to it.  The content changed through a name keeps the group.
test_expect_success 'a hardlinked file changed in content: the group is right' '
	mkdir -p h-lower/etc &&
	echo data >h-lower/etc/hl &&
	ln h-lower/etc/hl h-lower/etc/hl.link &&
	echo other >h-lower/etc/solo &&
	cp -a h-lower h-upper &&
	echo DATA >h-upper/etc/hl &&
	ln h-upper/etc/hl h-upper/etc/hl.new &&
	pair h &&
	test "$(stat -c %h h-upper/etc/hl)" = 3 &&
	oci-diff -c none --lower h-lower.tar <h-upper.tar >h.stream &&
	layer_names h.stream >names &&
	printf "./\netc/\netc/hl\netc/hl.link\netc/hl.new\n" >expect &&
	test_cmp expect names &&
	flat_is_upper h h.stream &&
	oci-diff -c none --checksum-max=0 --lower h-lower.tar <h-upper.tar >h-0.stream &&
	cmp h.stream h-0.stream
'

test_expect_success 'a hardlinked file whose content did not change: nothing written' '
	rm -rf h2-lower h2-upper &&
	cp -a h-lower h2-lower && cp -a h-lower h2-upper &&
	pair h2 &&
	oci-diff -c none --lower h2-lower.tar <h2-upper.tar >h2.stream &&
	layer_names h2.stream >names &&
	test_cmp /dev/null names
'

# GNU tar --sparse: the holes come from the reader as offsets; they are
# hashed as zeros, and held as holes of the temporary file.
test_expect_success 'a sparse file changed in content: in the diff, holes intact' '
	mkdir -p sp-lower/s &&
	truncate -s 3M sp-lower/s/sparse &&
	printf AAAA | dd of=sp-lower/s/sparse bs=1 seek=1000000 conv=notrunc 2>/dev/null &&
	truncate -s 2M sp-lower/s/same &&
	printf CCCC | dd of=sp-lower/s/same bs=1 seek=5000 conv=notrunc 2>/dev/null &&
	cp -a sp-lower sp-upper &&
	printf BBBB | dd of=sp-upper/s/sparse bs=1 seek=1000000 conv=notrunc 2>/dev/null &&
	pair sp --sparse &&
	test $(wc -c <sp-upper.tar) -lt 100000 &&
	oci-diff -c none --checksum-max=65536 --lower sp-lower.tar <sp-upper.tar >sp.stream &&
	layer_names sp.stream >names &&
	printf "./\ns/\ns/sparse\n" >expect &&
	test_cmp expect names &&
	flat_is_upper sp sp.stream &&
	oci-diff -c none --lower sp-lower.tar <sp-upper.tar >sp-mem.stream &&
	cmp sp.stream sp-mem.stream
'

# A file far over the in-memory limit: memory stays bounded by the limit,
# not by the file.  Generated as streams (nothing staged on disk): 160 MiB
# of zeros, the last byte differs.
gen_big() {
	"$PYTHON" - "$@" <<-\PY
	import sys, tarfile
	size, last = int(sys.argv[1]), sys.argv[2].encode()
	out = sys.stdout.buffer
	def hdr(name, typ, size=0):
	    ti = tarfile.TarInfo(name)
	    ti.type, ti.size, ti.mode, ti.mtime = typ, size, 0o644, 1700000000
	    return ti.tobuf(tarfile.GNU_FORMAT)
	out.write(hdr("./", tarfile.DIRTYPE))
	out.write(hdr("./big", tarfile.REGTYPE, size))
	zero = bytes(1 << 20)
	left = size - 1
	while left:
	    k = min(left, len(zero))
	    out.write(zero[:k])
	    left -= k
	out.write(last)
	out.write(bytes((512 - size % 512) % 512))
	out.write(bytes(10240))
	PY
}

test_expect_success 'a 160 MiB file changed in its last byte: in the diff, memory bounded' '
	size=$((160 * 1024 * 1024)) &&
	gen_big $size A >big-lower.tar &&
	gen_big $size B | /usr/bin/time -v -o big.time \
		oci-diff --zstd -l 1 --lower big-lower.tar >big.stream &&
	rss=$(sed -n "s/^[[:space:]]*Maximum resident set size (kbytes): //p" big.time) &&
	test_diag "oci-diff, a 160 MiB file compared: peak RSS $rss KiB" &&
	layer_names big.stream >names &&
	printf "./\nbig\n" >expect &&
	test_cmp expect names &&
	test "$(tar -xOf big.stream.split/blob-1 big | tail -c 1)" = B &&
	test "$rss" -lt 102400
'

test_done
