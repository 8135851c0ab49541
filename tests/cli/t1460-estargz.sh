#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-layer --compress=estargz (issue 21, docs/lazy-pull.md): the layer is
# read by stargz-snapshotter's own estargz package (a verifier built here
# from Debian's Go sources, offline): footer, TOC against the
# toc.digest annotation, every chunk against its chunkDigest, every file
# as a lazy pull serves it.  The same bytes for any thread count; the
# diff_id is the whole tar; plain clients (oci-pack's check, skopeo copy,
# umoci unpack, oci-flatten) read it as the gzip layer it is and give the
# input tree, plus the TOC file every eStargz layer carries.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

SOURCE_DATE_EPOCH=1700000000
export SOURCE_DATE_EPOCH
STARGZ_SRC=/usr/share/gocode/src/github.com/containerd/stargz-snapshotter/estargz

# the TOC entry's line of a listing
toc_line() {
	grep "	stargz.index.json$" "$1"
}

test_expect_success 'setup: a rootfs with big, chunk-sized, empty and linked files' '
	make_rootfs r &&
	mkdir -p r/big nonutf8 &&
	"$PYTHON" -c "import os, sys
for d, dirs, files in os.walk(b\"r\"):
    for f in files:
        try:
            f.decode()
        except UnicodeDecodeError:
            os.rename(os.path.join(d, f), os.path.join(b\"nonutf8\", f))" &&
	test "$(ls nonutf8 | wc -l)" = 1 &&
	"$PYTHON" -c "import random, sys
rnd = random.Random(21)
open(sys.argv[1], \"wb\").write(bytes(rnd.getrandbits(8) for _ in range(9 * 1024 * 1024 + 123)))
open(sys.argv[2], \"wb\").write(b\"x\" * (4 * 1024 * 1024))" r/big/random r/big/exact &&
	: >r/big/empty &&
	ln r/big/random r/big/random.link &&
	mktar r --format=pax --xattrs --xattrs-include="*" >in.tar &&
	tar_listing --mtime in.tar >in.list
'

test_expect_success 'oci-layer --compress=estargz: same bytes for 1, 2 and 8 threads' '
	oci-layer --compress=estargz -T 1 <in.tar >t1.stream &&
	oci-layer --compress=estargz -T 2 <in.tar >t2.stream &&
	oci-layer --compress=estargz -T 8 <in.tar >t8.stream &&
	cmp t1.stream t2.stream &&
	cmp t1.stream t8.stream &&
	stream_split t1.stream e >/dev/null &&
	test "$(json_get e/layer-1.json "j[\"mediaType\"]")" = \
		application/vnd.oci.image.layer.v1.tar+gzip &&
	json_get e/layer-1.json "j[\"annotations\"][\"containerd.io/snapshot/stargz/toc.digest\"]" >toc.digest &&
	grep -qx "sha256:[0-9a-f]\{64\}" toc.digest &&
	test "$(json_get e/layer-1.json "j[\"annotations\"][\"io.containers.estargz.uncompressed-size\"]")" = \
		"$(json_get e/layer-1.json "j[\"uncompressedSize\"]")"
'

test_expect_success 'the layer: gzip members, the TOC last, the 51-byte footer' '
	gzip -dc e/blob-1 >layer.tar &&
	test "$(json_get e/layer-1.json "j[\"diffID\"]")" = "sha256:$(sha256_of layer.tar)" &&
	test "$(json_get e/layer-1.json "j[\"uncompressedSize\"]")" = "$(size_of layer.tar)" &&
	tar -tf layer.tar | tail -n 1 >last &&
	echo stargz.index.json >last.expect &&
	test_cmp last.expect last &&
	tar -xOf layer.tar stargz.index.json >toc.json &&
	test "$(cat toc.digest)" = "sha256:$(sha256_of toc.json)" &&
	"$PYTHON" - e/blob-1 <<-\PY
	import json, struct, sys, zlib
	blob = open(sys.argv[1], "rb").read()
	foot = blob[-51:]
	# gzip header with FEXTRA: "SG", 22 bytes: %016x offset + "STARGZ"
	assert foot[:4] == b"\x1f\x8b\x08\x04", foot[:4]
	xlen = struct.unpack("<H", foot[10:12])[0]
	assert xlen == 26 and foot[12:14] == b"SG" and foot[16:38].endswith(b"STARGZ")
	off = int(foot[16:32], 16)
	d = zlib.decompressobj(31)
	assert d.decompress(foot) == b"" and d.eof and not d.unused_data
	# the TOC member alone holds the TOC entry and the end of the archive
	d = zlib.decompressobj(31)
	tail = d.decompress(blob[off:])
	assert d.unused_data == foot, "TOC is not one member followed by the footer"
	assert tail[:17] == b"stargz.index.json" and tail.endswith(b"\0" * 1024)
	toc = json.loads(tail[512:512 + int(tail[124:135], 8)])
	# every chunk offset starts a member whose data begins with the chunk
	for e in toc["entries"]:
	    if e.get("offset"):
	        d = zlib.decompressobj(31)
	        d.decompress(blob[e["offset"]:e["offset"] + 64])
	PY
'

if command -v go >/dev/null 2>&1 && test -d "$STARGZ_SRC"; then
	test_expect_success 'setup: the estargz verifier (Go, offline, GOPATH mode)' '
		GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off \
			GOCACHE="$TEST_DIR/gocache" \
			go build -o estargz-verify "$TEST_HELPERS/estargz-verify.go"
	'
	test -x estargz-verify && test_set_prereq VERIFIER
else
	test_skip 'the estargz verifier' \
		"needs go and golang-github-containerd-stargz-snapshotter-dev ($STARGZ_SRC)"
fi

test_expect_success VERIFIER 'stargz-snapshotter reads it: TOC digest, every chunk, every file' '
	./estargz-verify e/blob-1 "$(cat toc.digest)" >verified 2>verify.log &&
	cat verify.log &&
	grep -q "files, [0-9]* chunks verified" verify.log &&
	tail -n 1 verified >diffid &&
	echo "diffid $(json_get e/layer-1.json "j[\"diffID\"]")" >diffid.expect &&
	test_cmp diffid.expect diffid &&
	sed "\$d" verified >files &&
	"$PYTHON" -c "import sys
for l in open(sys.argv[1]):
    f = l.rstrip(\"\\n\").split(\"\\t\")
    if f[0] == \"f\" and f[-1] != \"stargz.index.json\":
        print(f[5], f[-1])" in.list | LC_ALL=C sort -k2 >files.expect &&
	LC_ALL=C sort -k2 files >files.sorted &&
	test_cmp files.expect files.sorted &&
	grep -q " big/random$" files &&
	test "$(grep -o "\"type\":\"chunk\"" toc.json | wc -l)" = 2
'

test_expect_success VERIFIER 'an empty layer (an empty tar) is a valid eStargz layer too' '
	head -c 1024 /dev/zero >empty.tar &&
	oci-layer --compress=estargz <empty.tar >empty.stream &&
	stream_split empty.stream em >/dev/null &&
	./estargz-verify em/blob-1 \
		"$(json_get em/layer-1.json "j[\"annotations\"][\"containerd.io/snapshot/stargz/toc.digest\"]")" \
		>em.verified 2>/dev/null &&
	echo "diffid $(json_get em/layer-1.json "j[\"diffID\"]")" >em.expect &&
	test_cmp em.expect em.verified
'

test_expect_success VERIFIER 'a wrong TOC digest is refused by the verifier' '
	test_must_fail ./estargz-verify e/blob-1 sha256:0000000000000000000000000000000000000000000000000000000000000000 \
		>/dev/null 2>err &&
	grep -q "TOC" err
'

test_expect_success 'the layer tar is the input tree plus the TOC file' '
	tar_listing --mtime layer.tar >layer.list &&
	grep -v "	stargz.index.json$" layer.list >layer.rest &&
	test_cmp in.list layer.rest &&
	test "$(toc_line layer.list | cut -f1,2,3,4)" = "f	0644	0	0"
'

test_expect_success 'oci-config | oci-manifest | oci-pack keeps the annotations; the check passes' '
	oci-config --entrypoint /bin/sh <t1.stream | oci-manifest | oci-pack --tag 1 >img.tar &&
	mkdir x && tar -C x -xf img.tar &&
	m=$(blob_path x "$(json_get x/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	test "$(json_get "$m" "j[\"layers\"][0][\"annotations\"][\"containerd.io/snapshot/stargz/toc.digest\"]")" = \
		"$(cat toc.digest)" &&
	oci-pack -o dir <t1.stream
'

test_expect_success SKOPEO 'skopeo copy verifies and keeps the layer and its annotations' '
	skopeo copy -q oci-archive:img.tar:1 oci:copy:1 &&
	skopeo inspect --raw oci:copy:1 >raw.json &&
	test "$(json_get raw.json "j[\"layers\"][0][\"annotations\"][\"containerd.io/snapshot/stargz/toc.digest\"]")" = \
		"$(cat toc.digest)" &&
	cmp e/blob-1 "$(blob_path copy "$(json_get e/layer-1.json "j[\"digest\"]")")"
'

test_expect_success UMOCI,ROOT 'umoci unpack gives the input tree (and the TOC file)' '
	umoci unpack --image x:1 bundle >umoci.log 2>&1 &&
	tree_listing --mtime bundle/rootfs >tree.list &&
	test_cmp layer.list tree.list
'

test_expect_success 'oci-flatten gives the input tree (and the TOC file)' '
	oci-flatten img.tar >flat.tar &&
	tar_listing --mtime flat.tar >flat.list &&
	test_cmp layer.list flat.list
'

test_expect_success 'oci-diff --lower reads the eStargz image as the gzip layers it is' '
	cp -a r r2 &&
	echo changed >r2/etc/hostname &&
	mktar r2 --format=pax --xattrs --xattrs-include="*" >in2.tar &&
	oci-diff --lower img.tar <in2.tar >diff.stream &&
	stream_split diff.stream d >dsplit &&
	test "$(grep -c "^layer" dsplit)" = 2 &&
	cmp e/blob-1 d/blob-1 &&
	gzip -dc d/blob-2 | tar -tf - | LC_ALL=C sort >dnames &&
	printf "%s\n" .wh.stargz.index.json etc/ etc/hostname ./ | LC_ALL=C sort >dnames.expect &&
	test_cmp dnames.expect dnames
'

test_expect_success 'an image built on the eStargz image keeps its layer lazy' '
	mkdir -p app &&
	echo app >app/app.txt &&
	{ cat img.tar; mktar app | oci-layer; } | oci-config | oci-manifest | oci-pack >on.tar &&
	mkdir on && tar -C on -xf on.tar &&
	m=$(blob_path on "$(json_get on/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	test "$(json_get "$m" "j[\"layers\"][0][\"annotations\"][\"containerd.io/snapshot/stargz/toc.digest\"]")" = \
		"$(cat toc.digest)" &&
	test "$(json_get "$m" "j[\"layers\"][1].get(\"annotations\")")" = null
'

test_expect_success 'a name the JSON TOC cannot hold is refused, named' '
	mkdir -p nu &&
	cp nonutf8/* nu/ &&
	mktar nu >nu.tar &&
	test_must_fail oci-layer --compress=estargz <nu.tar >nu.stream 2>err &&
	test_one_error_line oci-layer err &&
	grep -q "not UTF-8" err &&
	grep -q "^oci-layer: entry .*latin1" err &&
	oci-layer <nu.tar >/dev/null
'

test_expect_success 'oci-diff refuses --compress=estargz' '
	test_expect_code 2 oci-diff --lower img.tar --compress=estargz <in.tar >/dev/null 2>err &&
	grep -q "estargz" err
'

test_expect_success 'oci-layer --split refuses --compress=estargz (one usage line)' '
	printf "app\t/big\n" >split.map &&
	test_expect_code 2 oci-layer --split=split.map --compress=estargz <in.tar >split.out 2>err &&
	test_one_error_line oci-layer err &&
	grep -q "split with --compress=estargz" err &&
	test ! -s split.out
'

test_expect_success 'the block cache: cold and warm estargz layers are the bytes without it' '
	oci-layer --compress=estargz -T 1 --cache=bc <in.tar >c1.stream 2>c1.err &&
	! grep -q "not used" c1.err &&
	test -n "$(find bc -type f | head -n 1)" &&
	oci-layer --compress=estargz -T 8 --cache=bc --summary <in.tar >c8.stream 2>c8.err &&
	oci-layer --compress=estargz -T 1 --cache=bc <in.tar >c1w.stream &&
	cmp t1.stream c1.stream &&
	cmp t1.stream c8.stream &&
	cmp t1.stream c1w.stream &&
	grep -q "cache: [1-9][0-9]* of [1-9][0-9]* blocks reused, 0 rejected" c8.err
'

test_done
