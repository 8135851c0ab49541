#!/bin/sh
# SPDX-License-Identifier: MIT
# Bad input to oci-layer (and misuse of oci-pack) fails with exit 1 and
# one line on stderr, and what was written never passes as an image, even
# in a pipeline without pipefail.  Absolute paths and ".." never reach a
# layer.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

mkbad() {
	"$PYTHON" "$TEST_HELPERS/mkbad.py" "$@"
}

# layer_fails NAME: oci-layer <NAME.in fails with exit 1 and one line
# "oci-layer: ..." on stderr; oci-pack refuses what it wrote; a pipeline
# without pipefail ends with a failure and no image.
layer_fails() {
	test_expect_code 1 oci-layer <"$1.in" >"$1.out" 2>"$1.err" &&
	test_one_error_line oci-layer "$1.err" &&
	test_must_fail oci-pack <"$1.out" >"$1.img" 2>"$1.pack-err" &&
	test_one_error_line oci-pack "$1.pack-err" || return 1
	if oci-layer <"$1.in" 2>/dev/null | oci-pack >"$1.img2" 2>"$1.pipe-err"; then
		echo "pipeline without pipefail succeeded" >&2
		return 1
	fi
	not_an_image "$1.img2"
}

test_expect_success 'setup: a good tar' '
	mkbad good >good.tar &&
	tar -tf good.tar >list &&
	printf "a/one\na/two\n" >expect &&
	test_cmp expect list &&
	oci-layer <good.tar >good.stream
'

test_expect_success 'empty stdin' '
	: >empty.in &&
	layer_fails empty
'

test_expect_success 'random bytes' '
	"$PYTHON" -c "import random,sys; sys.stdout.buffer.write(random.Random(7).randbytes(10000))" >random.in &&
	layer_fails random
'

test_expect_success 'plain text' '
	printf "this is not a tar archive\n%.0s" 1 2 3 4 5 6 7 8 9 10 >text.in &&
	layer_fails text
'

test_expect_success 'tar truncated inside file data' '
	head -c 1000 good.tar >trunc-data.in &&
	layer_fails trunc-data
'

test_expect_success 'tar truncated inside a header' '
	head -c 1636 good.tar >trunc-header.in &&
	layer_fails trunc-header
'

test_expect_success 'tar truncated inside the second file' '
	head -c 2500 good.tar >trunc-data2.in &&
	layer_fails trunc-data2
'

test_expect_success 'bad header checksum (first entry)' '
	mkbad badsum-first >badsum-first.in &&
	layer_fails badsum-first
'

test_expect_success 'bad header checksum (mid-archive)' '
	mkbad badsum >badsum.in &&
	layer_fails badsum
'

test_expect_success 'gzip input truncated' '
	gzip -c <good.tar >good.tgz &&
	head -c 40 good.tgz >trunc-gz.in &&
	layer_fails trunc-gz
'

test_expect_success ZSTD 'zstd input truncated' '
	zstd -q -c <good.tar >good.tzst &&
	head -c 30 good.tzst >trunc-zst.in &&
	layer_fails trunc-zst
'

# Paths: refused (exit 1, one line) or sanitised (exit 0, a warning);
# either way no absolute name and no ".." component in the layer.
# no_escape NAME
no_escape() {
	mkbad "$1" >"$1.tar" &&
	if oci-layer --compress=none <"$1.tar" >"$1.stream" 2>"$1.err"; then
		test -s "$1.err" &&
		stream_split "$1.stream" "$1.d" >/dev/null &&
		tar_names "$1.d/blob-1" >"$1.names" &&
		tar -P -tvf "$1.d/blob-1" >"$1.tv" &&
		! grep "^. /" "$1.names" &&
		! grep -E "^. (.*/)?\.\.(/|\$)" "$1.names" &&
		! grep -E " link to (/|(.*/)?\.\.(/|\$))" "$1.tv"
	else
		test $? = 1 &&
		test_one_error_line oci-layer "$1.err" &&
		test_must_fail oci-pack <"$1.stream" >/dev/null 2>&1
	fi
}

for kind in abs dotdot middotdot dotdot-pax hardlink-abs hardlink-out; do
	test_expect_success "no escape: $kind" "no_escape $kind"
done

test_expect_success 'absolute paths from GNU tar -P: refused, or sanitised with --strip-absolute' '
	mkdir -p abs/etc &&
	echo x >abs/etc/file &&
	tar -P --format=pax -cf abs-P.tar "$PWD/abs/etc/file" &&
	tar -tf abs-P.tar | grep "^/" &&
	test_expect_code 1 oci-layer <abs-P.tar >abs-P.stream 2>abs-P.err &&
	test_one_error_line oci-layer abs-P.err &&
	oci-layer --strip-absolute --compress=none <abs-P.tar >strip.stream 2>strip.err &&
	stream_split strip.stream strip >/dev/null &&
	tar -tf strip/blob-1 >strip.names &&
	! grep "^/" strip.names &&
	grep "abs/etc/file\$" strip.names
'

test_expect_success 'symlinks with absolute and .. targets are kept' '
	mkdir -p links &&
	ln -s /etc/passwd links/abs &&
	ln -s ../../etc/passwd links/up &&
	tar --format=pax -C links -cf links.tar . &&
	oci-layer --compress=none <links.tar >links.stream &&
	stream_split links.stream links.d >/dev/null &&
	tar_listing links.tar >expect &&
	tar_listing links.d/blob-1 >actual &&
	test_cmp expect actual
'

# An OCI image tarball is a tar too; as a rootfs it would put an image
# inside a layer.  Only the end of the tar tells (nothing but layout
# members), so the error comes after the layer bytes: the stream fails.
test_expect_success 'an OCI image tarball (plain or gzip) is not a rootfs' '
	oci-layer <good.tar | oci-pack >image-tarball.in &&
	layer_fails image-tarball &&
	grep "OCI image tarball, not a rootfs tar" image-tarball.err &&
	gzip -c image-tarball.in >image-tarball-gz.in &&
	layer_fails image-tarball-gz &&
	oci-layer <good.tar | oci-pack -o layout-dir &&
	tar -C layout-dir -cf layout-dir.in . &&
	layer_fails layout-dir &&
	# a rootfs of only an index.json (a site) is a rootfs: a layout
	# needs oci-layout too
	mkdir site && echo "{}" >site/index.json &&
	tar -C site -cf site.tar . &&
	oci-layer <site.tar >site.stream &&
	oci-pack <site.stream >site.img
'

# docker save's archive (manifest.json, <id>/layer.tar or <id>.tar, <id>.json)
# as skopeo writes it; a rootfs that merely has a manifest.json stays one
test_expect_success SKOPEO 'a docker-archive image is not a rootfs' '
	skopeo copy -q oci-archive:image-tarball.in docker-archive:docker-archive.in:x/y:1 &&
	tar -tf docker-archive.in >da.names &&
	grep -x manifest.json da.names &&
	layer_fails docker-archive &&
	grep "docker-archive image (docker save), not a rootfs tar" docker-archive.err &&
	mkdir app && echo "{}" >app/manifest.json && mkdir app/lib &&
	tar -C app -cf app.tar . &&
	oci-layer <app.tar >app.stream
'

test_expect_success 'oci-pack: non-tar input is an error' '
	echo "hello, world" >hello &&
	test_expect_code 1 oci-pack <hello >img 2>err &&
	test_one_error_line oci-pack err &&
	not_an_image img
'

test_expect_success 'oci-pack: empty input is an error' '
	test_expect_code 1 oci-pack </dev/null >img 2>err &&
	test_one_error_line oci-pack err &&
	not_an_image img
'

test_expect_success 'oci-pack: a raw rootfs tar is an error that names oci-layer' '
	test_expect_code 1 oci-pack <good.tar >img 2>err &&
	test_one_error_line oci-pack err &&
	grep "oci-layer" err &&
	not_an_image img
'

test_expect_success 'oci-pack: a stream cut inside a chunk is an error' '
	head -c 700 good.stream >cut.stream &&
	test_expect_code 1 oci-pack <cut.stream >img 2>err &&
	test_one_error_line oci-pack err &&
	not_an_image img
'

test_expect_success 'oci-pack: a stream cut before its end marker is an error' '
	size=$(size_of good.stream) &&
	head -c $((size - 1024)) good.stream >noend.stream &&
	tar -tf noend.stream | grep -x ocipipe/layer.json &&
	test_expect_code 1 oci-pack <noend.stream >img 2>err &&
	test_one_error_line oci-pack err &&
	not_an_image img
'

test_expect_success 'oci-pack -o DIR: failed input leaves no layout' '
	test_expect_code 1 oci-pack -o layout <good.tar 2>err &&
	test_one_error_line oci-pack err &&
	! test -e layout/index.json
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 oci-pack --no-such-option <good.stream >img 2>err &&
	grep "^oci-pack: " err &&
	test_expect_code 2 oci-layer extra-argument <good.tar >out 2>err &&
	grep "^oci-layer: " err
'

test_done
