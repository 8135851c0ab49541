#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-layer: a rootfs tar in, an image stream holding one layer out; the
# layer holds the rootfs (compared entry by entry) and its descriptor
# tells the truth (digest, size, diffID, media type).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

test_expect_success 'setup: rootfs and its pax tar' '
	make_rootfs r &&
	mktar r --format=pax --xattrs --xattrs-include="*" >in.tar &&
	tar_listing --mtime --names in.tar >in.list &&
	test $(wc -l <in.list) -gt 40
'

test_expect_success '--help and --version exit 0 on stdout' '
	oci-layer --help >help.out 2>help.err &&
	grep -i "usage" help.out &&
	grep -e "--zstd" help.out &&
	test ! -s help.err &&
	oci-layer --version >version.out &&
	grep "oci-layer" version.out
'

test_expect_success 'unknown option and bad values are usage errors (exit 2)' '
	test_expect_code 2 oci-layer --no-such-option <in.tar >out 2>err &&
	grep "^oci-layer: " err &&
	test_expect_code 2 oci-layer --compress=bogus <in.tar >out 2>err &&
	grep "^oci-layer: " err &&
	test_expect_code 2 oci-layer --level abc <in.tar >out 2>err &&
	test_expect_code 2 oci-layer --threads -3 <in.tar >out 2>err
'

test_expect_success 'default: gzip layer in a well-formed image stream' '
	oci-layer <in.tar >gz.stream 2>gz.err &&
	tar -tf gz.stream >names &&
	! grep -v "^ocipipe/" names &&
	grep -x "ocipipe/chunk.000000" names &&
	test "$(tail -n 1 names)" = ocipipe/layer.json &&
	test $(grep -c "^ocipipe/layer.json$" names) = 1 &&
	stream_split gz.stream gz >items &&
	echo "layer 1" >expect &&
	cut -d" " -f1,2 items >actual &&
	test_cmp expect actual
'

test_expect_success 'no warning for a clean rootfs (non-UTF-8 name included)' '
	test_cmp /dev/null gz.err
'

test_expect_success 'gzip layer: descriptor matches the blob' '
	gzip -t gz/blob-1 &&
	test "$(json_get gz/layer-1.json "j[\"mediaType\"]")" = \
		application/vnd.oci.image.layer.v1.tar+gzip &&
	test "$(json_get gz/layer-1.json "j[\"digest\"]")" = "sha256:$(sha256_of gz/blob-1)" &&
	test "$(json_get gz/layer-1.json "j[\"size\"]")" = "$(size_of gz/blob-1)" &&
	gzip -dc gz/blob-1 >gz.tar &&
	test "$(json_get gz/layer-1.json "j[\"diffID\"]")" = "sha256:$(sha256_of gz.tar)" &&
	test "$(json_get gz/layer-1.json "j[\"uncompressedSize\"]")" = "$(size_of gz.tar)"
'

test_expect_success 'gzip layer holds the rootfs exactly (listing incl. mtime, names, xattrs)' '
	tar_listing --mtime --names gz.tar >layer.list &&
	test_cmp in.list layer.list
'

test_expect_success 'layer keeps the input order' '
	tar_listing --order in.tar | awk -F"\t" "{print \$NF}" >in.order &&
	tar_listing --order gz.tar | awk -F"\t" "{print \$NF}" >layer.order &&
	test_cmp in.order layer.order
'

test_expect_success 'layer entry names: no leading ./, directories end with /' '
	tar_names gz.tar >raw &&
	test "$(head -n 1 raw)" = "5 ./" &&
	! grep "^. \./." raw &&
	! grep "^. /" raw &&
	! grep -E "^. (.*/)?\.\.(/|\$)" raw &&
	grep "^5 " raw >dirs &&
	test $(wc -l <dirs) -gt 10 &&
	! grep -v "/\$" dirs &&
	! grep -v "^5 " raw | grep "/\$"
'

test_expect_success 'layer is pax: POSIX ustar magic, no GNU long-name entries' '
	tar_headers gz.tar >headers &&
	! grep -v " ustar\\\\x0000 " headers &&
	! grep "^[LKS] " headers &&
	grep "^x " headers
'

test_expect_success GZIP 'layer reads cleanly with GNU tar and bsdtar' '
	tar -tf gz.tar >/dev/null &&
	if test_have_prereq BSDTAR; then bsdtar -tf gz.tar >/dev/null; fi
'

test_expect_success ZSTD '--zstd: zstd layer, descriptor matches, same content' '
	oci-layer --zstd <in.tar >zst.stream &&
	stream_split zst.stream zst >/dev/null &&
	zstd -tq zst/blob-1 &&
	test "$(json_get zst/layer-1.json "j[\"mediaType\"]")" = \
		application/vnd.oci.image.layer.v1.tar+zstd &&
	test "$(json_get zst/layer-1.json "j[\"digest\"]")" = "sha256:$(sha256_of zst/blob-1)" &&
	test "$(json_get zst/layer-1.json "j[\"size\"]")" = "$(size_of zst/blob-1)" &&
	zstd -dcq zst/blob-1 >zst.tar &&
	test "$(json_get zst/layer-1.json "j[\"diffID\"]")" = "sha256:$(sha256_of zst.tar)" &&
	tar_listing --mtime --names zst.tar >zst.list &&
	test_cmp in.list zst.list
'

test_expect_success ZSTD '--compress=zstd is --zstd; the uncompressed layer is the same as with gzip' '
	oci-layer --compress=zstd <in.tar >zst2.stream &&
	cmp zst.stream zst2.stream &&
	test "$(json_get zst/layer-1.json "j[\"diffID\"]")" = \
		"$(json_get gz/layer-1.json "j[\"diffID\"]")" &&
	cmp gz.tar zst.tar
'

test_expect_success '--compress=none: plain tar layer, digest = diffID' '
	oci-layer --compress=none <in.tar >none.stream &&
	stream_split none.stream none >/dev/null &&
	test "$(json_get none/layer-1.json "j[\"mediaType\"]")" = \
		application/vnd.oci.image.layer.v1.tar &&
	test "$(json_get none/layer-1.json "j[\"digest\"]")" = "sha256:$(sha256_of none/blob-1)" &&
	test "$(json_get none/layer-1.json "j[\"diffID\"]")" = "sha256:$(sha256_of none/blob-1)" &&
	test "$(json_get none/layer-1.json "j[\"size\"]")" = "$(size_of none/blob-1)" &&
	cmp none/blob-1 gz.tar
'

test_expect_success '--gzip, --compress=gzip and the default agree' '
	oci-layer --gzip <in.tar >gz2.stream &&
	oci-layer --compress=gzip <in.tar >gz3.stream &&
	cmp gz.stream gz2.stream &&
	cmp gz.stream gz3.stream
'

test_expect_success 'a blob over one chunk is split into numbered chunks' '
	stream_split none.stream none2 >items &&
	test "$(cut -d" " -f3 items)" -ge 2
'

test_expect_success '--level changes the gzip blob, not the layer' '
	oci-layer --level 1 <in.tar >l1.stream &&
	oci-layer --level 9 <in.tar >l9.stream &&
	stream_split l1.stream l1 >/dev/null &&
	stream_split l9.stream l9 >/dev/null &&
	! cmp -s l1/blob-1 l9/blob-1 &&
	test "$(json_get l1/layer-1.json "j[\"diffID\"]")" = \
		"$(json_get l9/layer-1.json "j[\"diffID\"]")" &&
	gzip -dc l9/blob-1 | cmp - gz.tar &&
	gzip -dc l1/blob-1 | cmp - gz.tar
'

test_expect_success 'the output does not depend on the thread count' '
	oci-layer --threads 1 <in.tar >t1.stream &&
	oci-layer --threads 2 <in.tar >t2.stream &&
	oci-layer --threads 4 <in.tar >t4.stream &&
	cmp t1.stream t2.stream &&
	cmp t1.stream t4.stream &&
	cmp t1.stream gz.stream
'

test_expect_success ZSTD 'zstd output does not depend on the thread count' '
	oci-layer --zstd --threads 1 <in.tar >z1.stream &&
	oci-layer --zstd --threads 3 <in.tar >z3.stream &&
	cmp z1.stream z3.stream
'

test_expect_success 'two runs give the same stream' '
	oci-layer <in.tar >again.stream &&
	cmp gz.stream again.stream
'

test_expect_success 'the same layer whether or not names have a leading ./' '
	(cd r && ls -A) | LC_ALL=C sort >top &&
	sed "s|^|./|" top >dot.files &&
	in_rootfs_session r tar --sort=name --numeric-owner --format=pax \
		--xattrs --xattrs-include="*" -C r -cf dot.tar \
		--verbatim-files-from -T dot.files &&
	in_rootfs_session r tar --sort=name --numeric-owner --format=pax \
		--xattrs --xattrs-include="*" -C r -cf nodot.tar \
		--verbatim-files-from -T top &&
	tar -tf dot.tar | head -n 1 | grep "^\./" &&
	tar -tf nodot.tar | head -n 1 | grep -v "^\./" &&
	oci-layer --compress=none <dot.tar >dot.stream &&
	oci-layer --compress=none <nodot.tar >nodot.stream &&
	cmp dot.stream nodot.stream &&
	stream_split dot.stream dot >/dev/null &&
	tar_listing --no-root --mtime --names in.tar >in-noroot.list &&
	tar_listing --mtime --names dot/blob-1 >dot.list &&
	test_cmp in-noroot.list dot.list
'

test_expect_success 'an empty archive gives an empty layer' '
	tar -cf empty.tar -T /dev/null &&
	test $(size_of empty.tar) -gt 0 &&
	oci-layer --compress=none <empty.tar >empty.stream &&
	stream_split empty.stream empty >/dev/null &&
	tar -tf empty/blob-1 >list &&
	test ! -s list &&
	test "$(json_get empty/layer-1.json "j[\"diffID\"]")" = "sha256:$(sha256_of empty/blob-1)"
'

test_expect_success '-q prints nothing on stderr, not even a warning' '
	oci-layer -q <in.tar >q.stream 2>err &&
	test ! -s err &&
	cmp q.stream gz.stream &&
	# file flags cannot be stored: a warning without -q, none with it
	$PYTHON -c "
import io, sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode=\"w|\", format=tarfile.PAX_FORMAT)
ti = tarfile.TarInfo(\"f\"); ti.size = 3
ti.pax_headers = {\"SCHILY.fflags\": \"nodump\"}
t.addfile(ti, io.BytesIO(b\"hi\\n\")); t.close()" >fflags.tar &&
	oci-layer <fflags.tar >loud.stream 2>loud.err &&
	grep "warning: entry .f.: its file flags" loud.err &&
	oci-layer -q <fflags.tar >quiet.stream 2>quiet.err &&
	test ! -s quiet.err &&
	cmp loud.stream quiet.stream
'

test_expect_success 'stdout to a file and through a pipe give the same bytes' '
	oci-layer <in.tar | cat >piped.stream &&
	cmp piped.stream gz.stream
'

test_expect_success 'input through a pipe (not seekable) gives the same stream' '
	cat in.tar | oci-layer >frompipe.stream &&
	cmp frompipe.stream gz.stream
'

test_done
