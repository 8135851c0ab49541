#!/bin/sh
# SPDX-License-Identifier: MIT
# Fidelity (issue 4): a sparse file of 9 GiB apparent size (pax sparse
# 1.0, mostly holes, data past the 8 GiB ustar size limit too) streams
# through oci-layer without 9 GiB of disk or memory: the input is made as
# it is read (tests/helpers/fidelity.py sparse-stream) and the layer is
# zstd -1, so only a few hundred KiB are stored.  The layer entry must have
# the file's size and the sha256 of its expanded content, and the
# descriptor's uncompressedSize must be what the layer holds.  About a
# minute on two cores (most of it hashing 9 GiB twice in Python).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

test_have_prereq ZSTD || skip_all "zstd is needed to read the layer back"

FID="$PYTHON $TEST_HELPERS/fidelity.py"
SIZE=$((9 * 1024 * 1024 * 1024))

test_expect_success 'a 9 GiB sparse file streams into a zstd layer' '
	$FID sparse-stream $SIZE | oci-layer --zstd --level 1 >big.stream &&
	test $(size_of big.stream) -lt 10000000 &&
	stream_split big.stream big >/dev/null &&
	zstd -tq big/blob-1
'

test_expect_success 'the layer entry has the size and content of the sparse file' '
	$FID sparse-expect $SIZE >expect &&
	test "$(cut -d" " -f1 expect)" = $SIZE &&
	zstd -dcq big/blob-1 | $FID entry-hash big/sparse.img >got &&
	head -n 1 got >actual &&
	test_cmp expect actual &&
	test "$(sed -n 2p got)" = "$(json_get big/layer-1.json "j[\"uncompressedSize\"]")"
'

test_expect_success 'the entry after the big file is intact' '
	zstd -dcq big/blob-1 | tar -tvf - >list &&
	grep " $SIZE .* big/sparse.img\$" list &&
	test "$(tail -n 1 list | sed "s/.* //")" = big/after
'

test_done
