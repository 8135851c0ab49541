#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-layer --compress=zstd:chunked (issue 21, docs/lazy-pull.md): a test
# decoder built here from Debian's klauspost zstd and vbatts tar-split
# (offline, GOPATH mode) reads the footer, the TOC and the tar-split,
# checks every file's frames and chunks against the TOC, the TOC against
# the tar-split's headers, and rebuilds the tar with tar-split's asm
# package: its sha256 is the diff_id.  The same bytes for any thread count;
# plain clients (oci-pack's check, skopeo copy, oci-flatten, oci-diff
# --lower) read it as the zstd layer it is and give the input tree;
# podman with partial pulls pulls it from a docker-registry.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

SOURCE_DATE_EPOCH=1700000000
export SOURCE_DATE_EPOCH
GOSRC=/usr/share/gocode/src/github.com
A=io.github.containers.zstd-chunked

test_expect_success 'setup: a rootfs with big, small, empty and linked files' '
	make_rootfs r &&
	mkdir -p r/big nonutf8 &&
	"$PYTHON" -c "import os, sys
for d, dirs, files in os.walk(b\"r\"):
    for f in files:
        try:
            f.decode()
        except UnicodeDecodeError:
            os.rename(os.path.join(d, f), os.path.join(b\"nonutf8\", f))" &&
	"$PYTHON" -c "import random, sys
rnd = random.Random(21)
open(sys.argv[1], \"wb\").write(bytes(rnd.getrandbits(8) for _ in range(3 * 1024 * 1024 + 123)))
open(sys.argv[2], \"wb\").write(b\"x\" * (2 * 1024 * 1024 + 5))
# runs of zeros below, at and above upstream'"'"'s 1024, at the ends too
z = lambda n: bytes(n)
r = lambda n: bytes(rnd.getrandbits(8) for _ in range(n))
open(sys.argv[3], \"wb\").write(z(1500) + r(70000) + z(1023) + r(9) + z(1024) + r(300000)
                                 + z(200000) + r(5) + z(1025) + r(90000) + z(3000))
open(sys.argv[4], \"wb\").write(z(4096))" r/big/random r/big/same r/big/holes r/big/zeros &&
	: >r/big/empty &&
	ln r/big/random r/big/random.link &&
	mktar r --format=pax --xattrs --xattrs-include="*" >in.tar &&
	tar_listing --mtime in.tar >in.list
'

test_expect_success 'oci-layer --compress=zstd:chunked: same bytes for 1, 2 and 8 threads' '
	oci-layer --compress=zstd:chunked -T 1 <in.tar >t1.stream &&
	oci-layer --compress=zstd:chunked -T 2 <in.tar >t2.stream &&
	oci-layer --compress=zstd:chunked -T 8 <in.tar >t8.stream &&
	cmp t1.stream t2.stream &&
	cmp t1.stream t8.stream &&
	stream_split t1.stream e >/dev/null &&
	test "$(json_get e/layer-1.json "j[\"mediaType\"]")" = \
		application/vnd.oci.image.layer.v1.tar+zstd &&
	json_get e/layer-1.json "j[\"annotations\"][\"$A.manifest-checksum\"]" >mcheck &&
	grep -qx "sha256:[0-9a-f]\{64\}" mcheck &&
	json_get e/layer-1.json "j[\"annotations\"][\"$A.manifest-position\"]" |
		grep -qx "[0-9]*:[0-9]*:[0-9]*:1" &&
	json_get e/layer-1.json "j[\"annotations\"][\"$A.tarsplit-position\"]" |
		grep -qx "[0-9]*:[0-9]*:[0-9]*" &&
	test "$(json_get e/layer-1.json "j[\"annotations\"][\"io.containers.zstd-chunked.manifest-checksum\"]")" = \
		"$(cat mcheck)"
'

test_expect_success 'the layer: zstd frames a plain zstd reads, the footer last' '
	zstd -dc e/blob-1 >layer.tar &&
	test "$(json_get e/layer-1.json "j[\"diffID\"]")" = "sha256:$(sha256_of layer.tar)" &&
	test "$(json_get e/layer-1.json "j[\"uncompressedSize\"]")" = "$(size_of layer.tar)" &&
	tar_listing --mtime layer.tar >layer.list &&
	test_cmp in.list layer.list &&
	"$PYTHON" - e/blob-1 <<-\PY
	import struct, sys
	blob = open(sys.argv[1], "rb").read()
	# the last frame: skippable, 64 bytes, ending in the magic
	assert blob[-72:-64] == b"\x50\x2a\x4d\x18" + struct.pack("<I", 64), blob[-72:-64]
	assert blob[-8:] == b"GNUlInUx"
	v = struct.unpack("<7Q", blob[-64:-8])
	assert v[3] == 1 and v[4] == v[0] + v[1] + 8 and v[4] + v[5] + 72 == len(blob), v
	PY
'

if command -v go >/dev/null 2>&1 && test -d "$GOSRC/klauspost/compress/zstd" &&
   test -d "$GOSRC/vbatts/tar-split/tar/asm"; then
	test_expect_success 'setup: the zstd:chunked decoder (Go, offline, GOPATH mode)' '
		GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off \
			GOCACHE="$TEST_DIR/gocache" \
			go build -o zchunked-verify "$TEST_HELPERS/zchunked-verify.go"
	'
	test -x zchunked-verify && test_set_prereq VERIFIER
else
	test_skip 'the zstd:chunked decoder' \
		"needs go, golang-github-klauspost-compress-dev and golang-github-vbatts-tar-split-dev"
fi

test_expect_success VERIFIER 'the decoder: footer, TOC, tar-split, every frame; the rebuilt tar is the diff_id' '
	./zchunked-verify e/blob-1 e/layer-1.json >verified 2>verify.log &&
	cat verify.log &&
	grep -q "files, [0-9]* chunks verified" verify.log &&
	tail -n 1 verified >diffid &&
	echo "diffid $(json_get e/layer-1.json "j[\"diffID\"]")" >diffid.expect &&
	test_cmp diffid.expect diffid &&
	sed "\$d" verified >files &&
	"$PYTHON" -c "import sys
for l in open(sys.argv[1]):
    f = l.rstrip(\"\\n\").split(\"\\t\")
    if f[0] == \"f\":
        print(f[5], f[-1])" in.list | LC_ALL=C sort -k2 >files.expect &&
	LC_ALL=C sort -k2 files >files.sorted &&
	test_cmp files.expect files.sorted &&
	zstd -dc e/blob-1 >/dev/null &&
	"$PYTHON" - e/blob-1 >toc.json <<-\PY &&
	import struct, subprocess, sys
	blob = open(sys.argv[1], "rb").read()
	v = struct.unpack("<7Q", blob[-64:-8])
	sys.stdout.write(subprocess.run(["zstd", "-dc"], input=blob[v[0]:v[0] + v[1]],
	                                check=True, capture_output=True).stdout.decode())
	PY
	test "$(grep -o "\"type\":\"chunk\",\"name\":\"big/random\"" toc.json | wc -l)" -gt 10
'

if test_have_prereq VERIFIER && test -d "$GOSRC/containers/storage/pkg/chunked/compressor"; then
	test_expect_success 'setup: containers/storage'"'"'s own compressor (Go, offline)' '
		GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off \
			GOCACHE="$TEST_DIR/gocache" \
			go build -o zchunked-upstream "$TEST_HELPERS/zchunked-upstream.go"
	'
	test -x zchunked-upstream && test_set_prereq UPSTREAM
else
	test_skip 'chunks against upstream'"'"'s' "needs golang-github-containers-storage-dev"
fi

test_expect_success UPSTREAM 'the chunks and digests are those containers/storage'"'"'s compressor makes' '
	./zchunked-upstream <layer.tar >up.blob 2>up.meta &&
	"$PYTHON" - e/blob-1 up.blob up.meta <<-\PY
	import json, struct, subprocess, sys
	def toc(blob, off, n):
	    b = open(blob, "rb").read()
	    return json.loads(subprocess.run(["zstd", "-dc"], input=b[off:off + n],
	                                     capture_output=True, check=True).stdout)
	def chunks(t):
	    d, cur = {}, None
	    for e in t["entries"]:
	        if e["type"] == "reg":
	            cur = e["name"]
	            d[cur] = [e.get("digest")]
	        if e["type"] in ("reg", "chunk"):
	            d[cur].append((e.get("chunkOffset", 0), e.get("chunkSize"),
	                           e.get("chunkDigest"), e.get("chunkType", "")))
	    return d
	v = struct.unpack("<7Q", open(sys.argv[1], "rb").read()[-64:-8])
	ours = chunks(toc(sys.argv[1], v[0], v[1]))
	meta = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[3]))
	pos = [int(x) for x in meta["io.containers.zstd-chunked.manifest-position"].split(":")]
	up = chunks(toc(sys.argv[2], pos[0], pos[1]))
	assert sorted(up) == sorted(ours), "not the same files"
	assert len(up) > 10 and len([n for n in up if len(up[n]) > 2]) >= 1, up
	zeros = [c for n in ours for c in ours[n][1:] if c[3] == "zeros"]
	assert len(zeros) >= 4, "runs of zeros as chunks of their own: %r" % zeros
	bad = [n for n in up if up[n] != ours[n]]
	assert not bad, "chunked otherwise than upstream: %r" % bad[:5]
	print("# %d files, chunks as upstream, %d runs of zeros" % (len(up), len(zeros)))
	PY
'

test_expect_success VERIFIER 'the decoder refuses a layer whose TOC does not match its annotation' '
	sed "s/$(cat mcheck)/sha256:$(printf %064d 0)/" e/layer-1.json >bad.json &&
	test_must_fail ./zchunked-verify e/blob-1 bad.json >/dev/null 2>err &&
	grep -q "manifest" err
'

test_expect_success VERIFIER 'an empty layer (an empty tar) is a valid zstd:chunked layer too' '
	head -c 1024 /dev/zero >empty.tar &&
	oci-layer --compress=zstd:chunked <empty.tar >empty.stream &&
	stream_split empty.stream em >/dev/null &&
	./zchunked-verify em/blob-1 em/layer-1.json >em.verified 2>/dev/null &&
	echo "diffid $(json_get em/layer-1.json "j[\"diffID\"]")" >em.expect &&
	test_cmp em.expect em.verified
'

test_expect_success 'oci-config | oci-manifest | oci-pack keeps the annotations; the check passes' '
	oci-config --entrypoint /bin/sh <t1.stream | oci-manifest >img.stream &&
	oci-pack --tag 1 <img.stream >img.tar &&
	mkdir x && tar -C x -xf img.tar &&
	m=$(blob_path x "$(json_get x/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	test "$(json_get "$m" "j[\"layers\"][0][\"annotations\"][\"$A.manifest-checksum\"]")" = \
		"$(cat mcheck)" &&
	oci-pack -o dir <t1.stream
'

test_expect_success SKOPEO 'skopeo copy verifies and keeps the layer and its annotations' '
	skopeo copy -q oci-archive:img.tar:1 oci:copy:1 &&
	skopeo inspect --raw oci:copy:1 >raw.json &&
	test "$(json_get raw.json "j[\"layers\"][0][\"annotations\"][\"$A.manifest-checksum\"]")" = \
		"$(cat mcheck)" &&
	cmp e/blob-1 "$(blob_path copy "$(json_get e/layer-1.json "j[\"digest\"]")")"
'

test_skip 'umoci unpack of the image' "umoci cannot read zstd layers (as for every zstd layer)"

test_expect_success 'oci-flatten gives the input tree' '
	oci-flatten img.tar >flat.tar &&
	tar_listing --mtime flat.tar >flat.list &&
	test_cmp in.list flat.list
'

test_expect_success 'oci-diff --lower reads the zstd:chunked image as the zstd layer it is' '
	cp -a r r2 &&
	echo changed >r2/etc/hostname &&
	mktar r2 --format=pax --xattrs --xattrs-include="*" >in2.tar &&
	oci-diff --lower img.tar <in2.tar >diff.stream &&
	stream_split diff.stream d >dsplit &&
	test "$(grep -c "^layer" dsplit)" = 2 &&
	cmp e/blob-1 d/blob-1 &&
	gzip -dc d/blob-2 | tar -tf - | LC_ALL=C sort >dnames &&
	printf "%s\n" etc/ etc/hostname ./ | LC_ALL=C sort >dnames.expect &&
	test_cmp dnames.expect dnames
'

test_expect_success 'a name the JSON TOC cannot hold is refused, named' '
	mkdir -p nu &&
	cp nonutf8/* nu/ &&
	mktar nu >nu.tar &&
	test_must_fail oci-layer --compress=zstd:chunked <nu.tar >nu.stream 2>err &&
	test_one_error_line oci-layer err &&
	grep -q "not UTF-8" err
'

test_expect_success 'a path named twice is refused (containers/storage refuses the layer)' '
	"$PYTHON" - dup.tar <<-\PY &&
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
	    for name, data in (("etc", None), ("etc/f", b"1"), ("etc/f", b"22")):
	        ti = tarfile.TarInfo(name)
	        if data is None:
	            ti.type = tarfile.DIRTYPE
	            t.addfile(ti)
	        else:
	            ti.size = len(data)
	            t.addfile(ti, io.BytesIO(data))
	PY
	test_must_fail oci-layer --compress=zstd:chunked <dup.tar >dup.stream 2>err &&
	test_one_error_line oci-layer err &&
	grep -q "entry .etc/f.: a zstd:chunked layer names a path once" err &&
	oci-layer --compress=zstd <dup.tar >/dev/null
'

test_expect_success 'an mtime past the year 9999 (which Go cannot write) is refused, named' '
	"$PYTHON" - far.tar <<-\PY &&
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
	    ti = tarfile.TarInfo("far")
	    ti.size = 1
	    ti.mtime = 300000000000
	    t.addfile(ti, io.BytesIO(b"x"))
	PY
	test_must_fail oci-layer --compress=zstd:chunked <far.tar >far.stream 2>err &&
	test_one_error_line oci-layer err &&
	grep -q "entry .far.: a zstd:chunked TOC holds mtimes of the years 0 to 9999 only" err &&
	oci-layer --compress=zstd <far.tar >/dev/null
'

test_expect_success 'oci-diff and oci-layer --split refuse --compress=zstd:chunked' '
	test_expect_code 2 oci-diff --lower img.tar --compress=zstd:chunked <in.tar >/dev/null 2>err &&
	grep -q "zstd:chunked" err &&
	printf "app\t/big\n" >split.map &&
	test_expect_code 2 oci-layer --split=split.map --compress=zstd:chunked <in.tar >split.out 2>err &&
	test_one_error_line oci-layer err &&
	grep -q "split with --compress=zstd:chunked" err &&
	test ! -s split.out
'

# --- podman: a partial pull from a docker-registry -----------------------------
# Debian 12's podman 4.3.1 (containers/storage 1.43) pulls a layer in parts
# when pull_options enable it, with the overlay driver (vfs has no staging
# for a differ), and finds a layer by the old annotation keys.  pz ARGS:
# podman over a storage.conf of the scratch directory.
pz() {
	CONTAINERS_STORAGE_CONF="$TEST_DIR/storage.conf" podman --tmpdir "$TEST_DIR/pz/tmp" "$@"
}
if test_have_prereq PODMAN,ROOT,REGISTRY; then
	podman_setup
	mkdir -p "$TEST_DIR/pz/tmp"
	cat >"$TEST_DIR/storage.conf" <<-EOF
	[storage]
	driver = "overlay"
	graphroot = "$TEST_DIR/pz/root"
	runroot = "$PODMAN_RUNROOT"
	[storage.options]
	pull_options = {enable_partial_images = "true"}
	EOF
	if pz info --format "{{.Store.GraphDriverName}}" 2>"$TEST_DIR/pz.err" | grep -qx overlay; then
		start_registry zreg && test_set_prereq PARTIAL
	else
		test_skip 'podman partial pulls' \
			"podman's overlay driver does not work here: $(tail -n 1 "$TEST_DIR/pz.err")"
	fi
else
	test_skip 'podman partial pulls' "needs podman, root (overlay mounts) and docker-registry"
fi

# the tree of an image as podman stored it, listed: regular files with
# their mtime, the rest without (a partial pull of 1.43 sets the mtime of
# regular files only, and makes no devices or fifos: docs/lazy-pull.md)
pz_tree() {
	mnt=$(pz image mount "$1") &&
	tree_listing --mtime-ns "$mnt" >"$2.all" &&
	pz image unmount "$1" >/dev/null &&
	grep "^f" "$2.all" >"$2" &&
	cut -f1-9,11- "$2.all" | grep -v "^f" >>"$2"
}

# ranges LOG BLOB: bytes the registry sent of BLOB in 206 (range) answers
ranges() {
	grep "GET /v2/.*/blobs/$2 HTTP/1.1\" 206 " "$1" | awk '{ s += $10 } END { print s + 0 }'
}

test_expect_success PARTIAL 'podman pulls the layer in parts (range requests) and has the input tree' '
	oci-push --tls-verify=false $REG/z/img:1 <img.stream &&
	pz pull -q --tls-verify=false docker://$REG/z/img:1 >pull.out 2>&1 &&
	blob=$(json_get e/layer-1.json "j[\"digest\"]") &&
	test "$(ranges zreg.out "$blob")" -gt 0 &&
	! grep -q "GET /v2/z/img/blobs/$blob HTTP/1.1\" 200 " zreg.out &&
	pz_tree $REG/z/img:1 ptree &&
	tar_listing --mtime-ns in.tar >itree.all &&
	grep "^f" itree.all >itree &&
	cut -f1-9,11- itree.all | grep -v "^[fcbp]" >>itree &&
	test_cmp itree ptree
'

test_expect_success PARTIAL 'an image with one file changed: podman fetches little more than that file' '
	cp -a r r3 &&
	echo changed >r3/etc/hostname &&
	mktar r3 --format=pax --xattrs --xattrs-include="*" |
		oci-layer --compress=zstd:chunked | oci-config --entrypoint /bin/sh |
		oci-manifest >img3.stream &&
	oci-push --tls-verify=false $REG/z/img:3 <img3.stream &&
	stream_split img3.stream e3 >/dev/null &&
	blob3=$(json_get e3/layer-1.json "j[\"digest\"]") &&
	pz pull -q --tls-verify=false docker://$REG/z/img:3 >pull3.out 2>&1 &&
	got=$(ranges zreg.out "$blob3") &&
	size=$(json_get e3/layer-1.json "j[\"size\"]") &&
	echo "# fetched $got of $size bytes" &&
	test "$got" -gt 0 && test "$got" -lt $((size / 4))
'

test_done
