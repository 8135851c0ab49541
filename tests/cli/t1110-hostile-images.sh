#!/bin/sh
# SPDX-License-Identifier: MIT
# Hostile and odd images and layouts given to ocipipe: image tarballs as a
# base in the stream (oci-pack; oci-config, which splices chunks), to
# oci-flatten and as oci-diff --lower; odd layers inside them; and
# existing layout directories that oci-pack -o DIR updates.  The rule
# (docs/reliability.md): bad input is exit 1 with one line naming what is
# wrong, never an image that looks fine and is not, never a file touched
# outside the output.  The images are made by tests/helpers/mkimage.py
# from scratch, and by podman, skopeo and umoci where they are installed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

mkimage() {
	"$PYTHON" "$TEST_HELPERS/mkimage.py" "$@"
}

# fails_with PROG PATTERN CMD...: CMD exits 1 with one line "PROG: ..."
# on stderr (in err) that matches PATTERN (grep -E)
fails_with() {
	_p=$1 _pat=$2
	shift 2
	test_expect_code 1 "$@" >out 2>err &&
	test_one_error_line "$_p" err &&
	grep -Eq -- "$_pat" err || {
		echo "wanted /$_pat/ in: $(cat err)" >&2
		return 1
	}
}

# consumers_fail CASE PATTERN: the image CASE.tar is refused with one line
# matching PATTERN as a base image by oci-pack and oci-config, by
# oci-flatten and by oci-diff --lower; no image is left behind.
consumers_fail() {
	_c=$1 _pat=$2
	{ cat "$_c.tar" && cat app.s; } >"$_c.s" &&
	fails_with oci-pack "$_pat" oci-pack <"$_c.s" && not_an_image out &&
	fails_with oci-config "$_pat" oci-config --env X=1 <"$_c.s" &&
	fails_with oci-flatten "$_pat" oci-flatten "$_c.tar" &&
	fails_with oci-diff "$_pat" oci-diff --lower "$_c.tar" <app.tar
}

# consumers_ok CASE: CASE.tar is a base for an app image that skopeo
# copies (every digest and size checked), flattens, and is a lower
consumers_ok() {
	_c=$1
	{ cat "$_c.tar" && cat app.s; } | oci-config --env X=1 | oci-pack >"$_c.out" &&
	if test_have_prereq SKOPEO; then
		rm -rf "$_c.copy" &&
		skopeo copy -q "oci-archive:$_c.out:latest" "dir:$_c.copy" >/dev/null
	fi &&
	oci-flatten "$_c.tar" >"$_c.flat" &&
	tar -tf "$_c.flat" >"$_c.names" &&
	oci-diff --lower "$_c.tar" <app.tar | oci-pack >"$_c.diff.out"
}

# image_fails CASE PATTERN, image_ok CASE: the same on the image CASE of
# mkimage.py
image_fails() {
	mkimage "$1" >"$1.tar" && consumers_fail "$@"
}

image_ok() {
	mkimage "$1" >"$1.tar" && consumers_ok "$1"
}

test_expect_success 'setup: an app rootfs, its layer, the good image' '
	mkdir -p app/opt && echo app >app/opt/app &&
	tar -C app -cf app.tar . &&
	oci-layer -q <app.tar >app.s &&
	mkimage good >good.tar
'

test_expect_success 'the good image is a base, flattens and is a lower' '
	consumers_ok good &&
	grep -qx etc/os-release good.names
'

# --- the members of an image tarball ---------------------------------------

test_expect_success 'a blob that is a symlink, a hardlink or a directory is refused' '
	for c in blob-symlink blob-hardlink blob-dir; do
		image_fails $c "unexpected member .blobs/sha256/[0-9a-f]{64}/?. in the OCI image archive" ||
		return 1
	done
'

test_expect_success 'blobs/sha256/../../x and /blobs/... are refused, nothing written' '
	image_fails blob-dotdot "unexpected member .blobs/sha256/\.\./\.\./evil." &&
	image_fails blob-abs "unexpected member ./blobs/sha256/0{64}." &&
	! test -e ../evil && ! test -e evil
'

test_expect_success 'a ustar prefix does not make x/index.json pass for index.json' '
	mkimage blob-prefix >blob-prefix.tar &&
	tar -tf blob-prefix.tar | grep -qx elsewhere/index.json &&
	consumers_fail blob-prefix "unexpected member .elsewhere/index.json."
'

test_expect_success 'a member size of 2^64-1 (size + padding wraps to 0) is refused, as tar does' '
	mkimage size-wrap >size-wrap.tar &&
	test_must_fail tar -tf size-wrap.tar >/dev/null 2>&1 &&
	consumers_fail size-wrap "tar member .blobs/. at byte 1024: its size field says 18446744073709551615 bytes, more than a tar member can hold"
'

test_expect_success 'a blob twice, the second copy with other bytes, is refused' '
	image_fails blob-twice "blob data has digest sha256:[0-9a-f]{64} but its descriptor says"
'

test_expect_success 'index.json twice: the last one counts, as for tar -x' '
	image_ok index-twice &&
	grep -qx other index-twice.names && ! grep -q os-release index-twice.names
'

test_expect_success 'index.json before the blobs is fine' '
	image_ok index-first
'

test_expect_success 'oci-layout of another major version is refused' '
	image_fails layout-version "imageLayoutVersion .9\.0\.0. is not supported"
'

# --- descriptors against the blobs they name ---------------------------------

test_expect_success 'a layer whose manifest size disagrees with its blob is refused' '
	image_fails layer-size "layer 1 \(sha256:[0-9a-f]{64}\): its descriptor says [0-9]+ bytes but the blob has [0-9]+"
'

test_expect_success 'a manifest or config whose size disagrees is refused' '
	image_fails manifest-size "manifest sha256:[0-9a-f]{64} has [0-9]+ bytes but its descriptor says" &&
	image_fails config-size "config sha256:[0-9a-f]{64} has [0-9]+ bytes but its descriptor says"
'

test_expect_success 'a missing layer, manifest, index is named' '
	image_fails layer-missing "layer sha256:[0-9a-f]{64} is missing from the archive" &&
	image_fails manifest-missing "manifest sha256:[0-9a-f]{64} is missing from the archive" &&
	image_fails index-missing "index sha256:[0-9a-f]{64} is missing from the archive"
'

test_expect_success 'an incomplete image (no index.json, no oci-layout, cut short) is refused' '
	image_fails no-index-json "is incomplete: it has no index.json" &&
	image_fails no-marker "is incomplete: it has no oci-layout" &&
	image_fails cut "is incomplete: (.ocipipe/chunk.000000. follows it|it ends) without an end-of-archive marker"
'

test_expect_success 'a config that is not JSON, or nested 10000 deep, is refused' '
	image_fails config-not-json "config sha256:[0-9a-f]{64} is not a JSON document" &&
	image_fails config-deep "base image config: .*nested deeper than 64 levels"
'

test_expect_success 'a manifest with no layers is an empty base' '
	image_ok no-layers &&
	! test -s no-layers.names &&
	oci-flatten no-layers.out | tar -t >app-names &&
	grep -qx opt/app app-names
'

test_expect_success SKOPEO 'a base of 1000 layers gives an image of 1001' '
	image_ok many-layers &&
	test $(grep -c "^f[0-9]" many-layers.names) = 1000 &&
	skopeo inspect oci-archive:many-layers.out:latest >many.json &&
	test "$(json_get many.json "len(j[\"Layers\"])")" = 1001
'

test_expect_success 'a layer whose diff_id is not the config one: oci-flatten, oci-diff, oci-pack refuse it' '
	mkimage diff-id-wrong >diff-id-wrong.tar &&
	fails_with oci-flatten "diff_id" oci-flatten diff-id-wrong.tar &&
	fails_with oci-diff "diff_id" oci-diff --lower diff-id-wrong.tar <app.tar &&
	{ cat diff-id-wrong.tar && cat app.s; } >diff-id-wrong.s &&
	fails_with oci-pack "layer 1 \(sha256:[0-9a-f]{64}\): its uncompressed content is sha256:[0-9a-f]{64}, not the diffID" \
		oci-pack <diff-id-wrong.s &&
	not_an_image out &&
	oci-config --env X=1 <diff-id-wrong.s | oci-manifest >diff-id-wrong.cfg &&
	fails_with oci-pack "not the diffID" oci-pack <diff-id-wrong.cfg
'

# --- layer media types -------------------------------------------------------

test_expect_success 'a layer whose data is not what its media type says is refused' '
	image_fails gzip-is-zstd "layer 1 \(sha256:[0-9a-f]{64}\): its data is zstd but its media type is application/vnd.oci.image.layer.v1.tar\+gzip" &&
	image_fails zstd-is-gzip "its data is gzip but its media type is application/vnd.oci.image.layer.v1.tar\+zstd" &&
	image_fails plain-is-gzip "its data is gzip but its media type is application/vnd.oci.image.layer.v1.tar$"
'

test_expect_success 'a stream layer.json whose media type lies is refused by every stage' '
	oci-layer -q --zstd <app.tar >z.s &&
	stream_split z.s zparts >/dev/null &&
	sed "s/tar+zstd/tar+gzip/" zparts/layer-1.json >lie.json &&
	"$PYTHON" - <<-\PY &&
	import tarfile, io
	out = open("lie.s", "wb")
	for name, path in (("ocipipe/chunk.000000", "zparts/blob-1"),
	                   ("ocipipe/layer.json", "lie.json")):
	    data = open(path, "rb").read()
	    ti = tarfile.TarInfo(name)
	    ti.size = len(data)
	    out.write(ti.tobuf(tarfile.USTAR_FORMAT) + data + b"\0" * (-len(data) % 512))
	out.write(b"\0" * 1024)
	PY
	fails_with oci-pack "its data is zstd but its media type is .*tar\+gzip" oci-pack <lie.s &&
	not_an_image out &&
	fails_with oci-config "its data is zstd but its media type" oci-config <lie.s &&
	fails_with oci-manifest "its data is zstd but its media type" oci-manifest <lie.s
'

test_expect_success 'a zstd base is fine' '
	image_ok zstd
'

test_expect_success 'a foreign or unknown layer media type is refused, named' '
	image_fails foreign-layer "has media type .application/vnd.docker.image.rootfs.foreign.diff.tar.gzip., which ocipipe cannot build on" &&
	image_fails unknown-layer-type "media type .application/vnd.example.layer.v1.squashfs."
'

test_expect_success 'a non-distributable layer whose blob is in the archive is fine' '
	image_ok nondistributable
'

test_expect_success 'Docker media types: the layers become OCI gzip layers' '
	image_ok docker-types &&
	mkdir dt && tar -C dt -xf docker-types.out &&
	m=$(json_get dt/index.json "j[\"manifests\"][0][\"digest\"]") &&
	json_get $(blob_path dt $m) "[l[\"mediaType\"] for l in j[\"layers\"]]" >types &&
	echo "[\"application/vnd.oci.image.layer.v1.tar+gzip\", \"application/vnd.oci.image.layer.v1.tar+gzip\"]" >expect &&
	test_cmp expect types
'

test_expect_success SKOPEO 'an image on a Docker base converts (skopeo to docker-archive)' '
	skopeo copy -q oci-archive:docker-types.out:latest docker-archive:dt-docker.tar:x:y
'

# --- indexes ---------------------------------------------------------------------

test_expect_success 'nested indexes are followed (index.json -> index -> index -> manifest)' '
	image_ok nested2 &&
	image_ok nested3 &&
	grep -qx etc/os-release nested3.names
'

test_expect_success 'indexes nested deeper than 8 are refused' '
	image_fails nested9 "image indexes nested more than 8 deep"
'

# --- odd layers inside an image (oci-flatten, oci-diff --lower) ---------------

# flatten_fails CASE PATTERN: oci-flatten and oci-diff --lower refuse the
# image CASE with one line matching PATTERN (a base in the stream passes:
# that path never reads a layer's entries, see docs/reliability.md)
flatten_fails() {
	mkimage "$1" >"$1.tar" &&
	fails_with oci-flatten "$2" oci-flatten "$1.tar" &&
	fails_with oci-diff "$2" oci-diff --lower "$1.tar" <app.tar
}

test_expect_success 'a symlink made by a layer is not a way out: a/passwd below a -> /etc' '
	flatten_fails symlink-escape "layer 3, entry .a/passwd.: it is below .a., which the layers make a symlink" &&
	flatten_fails symlink-escape-same "layer 2, entry .a/passwd.: it is below .a." &&
	test "$(oci-flatten good.tar | tar -xO etc/os-release)" = base
'

test_expect_success 'an entry below a regular file of a lower layer is refused' '
	flatten_fails file-parent "entry .bin/tool/x.: it is below .bin/tool."
'

test_expect_success 'a hardlink to a directory is refused' '
	flatten_fails link-to-dir "hardlink .etc/link. to .bin., which is a directory"
'

test_expect_success 'a hardlink to a lower file is fine; to a whiteout-deleted one refused' '
	image_ok link-to-lower &&
	oci-flatten link-to-lower.tar >l.tar && mkdir l && tar -C l -xf l.tar &&
	test "$(stat -c %i l/etc/link)" = "$(stat -c %i l/etc/os-release)" &&
	flatten_fails link-to-whiteout "hardlink .etc/link. to .etc/os-release., which is not in the tree"
'

test_expect_success 'whiteouts of ., .. and of nothing are refused' '
	flatten_fails wh-dot "entry .etc/\.wh\.\.. is a whiteout of nothing, .\.. or .\.\.." &&
	flatten_fails wh-dotdot "entry .etc/\.wh\.\.\.. is a whiteout of nothing" &&
	flatten_fails wh-empty "entry .etc/\.wh\.. is a whiteout of nothing"
'

test_expect_success 'an entry below a whiteout or an opaque marker is refused' '
	flatten_fails opq-dir "entry .etc/\.wh\.\.wh\.\.opq/x. is below a whiteout" &&
	flatten_fails wh-dir "entry .etc/\.wh\.os-release/x. is below a whiteout"
'

test_expect_success 'a root that is a symlink is refused' '
	flatten_fails root-symlink "entry .\./. is the root, and not a directory"
'

test_expect_success 'an opaque whiteout of the root removes every lower entry' '
	image_ok wh-root-opq &&
	echo new >expect && test_cmp expect wh-root-opq.names
'

test_expect_success '.. in a layer is refused, an absolute name made relative' '
	flatten_fails dotdot-entry "entry .\.\./\.\./evil.: name .\.\./\.\./evil. has a .\.\.. component" &&
	image_ok abs-entry &&
	grep -qx etc/abs abs-entry.names
'

test_expect_success 'a gzip layer with garbage after its data is refused' '
	flatten_fails gzip-garbage "gzip input: garbage after the compressed data" &&
	{ cat gzip-garbage.tar && cat app.s; } >gzip-garbage.s &&
	fails_with oci-pack "layer 1 \(sha256:[0-9a-f]{64}\): garbage after its gzip data" \
		oci-pack <gzip-garbage.s
'

test_expect_success ROOT,UMOCI 'umoci unpack agrees where both accept (hardlink, root opaque)' '
	for c in link-to-lower wh-root-opq; do
		rm -rf u b && mkdir u && tar -C u -xf $c.tar &&
		umoci unpack --image u:latest b >/dev/null &&
		tree_listing --no-root b/rootfs >umoci.list &&
		mkdir -p f.$c && tar -C f.$c -xf $c.flat &&
		tree_listing --no-root f.$c >ocipipe.list &&
		test_cmp umoci.list ocipipe.list || return 1
	done
'

# --- docker-archives ---------------------------------------------------------------

test_expect_success 'a docker-archive is refused, with the way to convert it' '
	image_fails docker-archive "docker-archive .*skopeo copy docker-archive:"
'

# podman and skopeo from Debian; podman runs as root with the vfs driver
if test_have_prereq ROOT && command -v podman >/dev/null 2>&1 &&
	test_have_prereq SKOPEO; then
	test_set_prereq PODMAN_VFS
fi

test_expect_success PODMAN_VFS 'images saved by podman and copied by skopeo' '
	ps=$(mktemp -d /tmp/t1110.XXXXXX) &&
	P="podman --storage-driver vfs --root $ps/root --runroot $ps/run" &&
	mkdir -p rf/etc && echo hi >rf/etc/hello && tar -C rf -cf rf.tar . &&
	$P import -q rf.tar localhost/t1110:1 >/dev/null &&
	$P save -q --format oci-archive -o podman-oci.tar localhost/t1110:1 &&
	$P save -q --format docker-archive -o podman-docker.tar localhost/t1110:1 &&
	{ $P rmi -a -f >/dev/null 2>&1; rm -rf "$ps"; } &&
	skopeo copy -q oci-archive:podman-oci.tar oci-archive:skopeo-oci.tar:t &&
	skopeo copy -q --dest-compress-format zstd oci-archive:podman-oci.tar \
		oci-archive:skopeo-zstd.tar:t &&
	skopeo copy -q oci-archive:podman-oci.tar docker-archive:skopeo-docker.tar:t:1 &&
	for c in podman-oci skopeo-oci skopeo-zstd; do
		consumers_ok $c && grep -qx etc/hello $c.names || return 1
	done &&
	for c in podman-docker skopeo-docker; do
		consumers_fail $c "docker-archive" || return 1
	done
'

test_expect_success ROOT,UMOCI 'a layout repacked by umoci' '
	umoci init --layout um && umoci new --image um:latest &&
	umoci unpack --image um:latest ub >/dev/null &&
	mkdir -p ub/rootfs/etc && echo um >ub/rootfs/etc/um &&
	umoci repack --image um:latest ub &&
	tar -C um -cf umoci.tar . &&
	consumers_ok umoci && grep -qx etc/um umoci.names
'

# --- oci-pack -o DIR on an existing, hostile layout -----------------------------

# snapshot DIR: every path, type, link target and content digest under DIR
snapshot() {
	(cd "$1" && find . -printf '%y %p %l\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# layout_fails DIR PATTERN: oci-pack -o DIR refuses with one line matching
# PATTERN and leaves DIR as it was
layout_fails() {
	snapshot "$1" >before &&
	fails_with oci-pack "$2" oci-pack -o "$1" --tag new <app.s &&
	snapshot "$1" >after &&
	test_cmp before after
}

test_expect_success 'setup: a layout; the digest of its layer (the config has a time)' '
	oci-pack -o base-layout --tag old <app.s &&
	stream_split app.s app-parts >/dev/null &&
	json_get app-parts/layer-1.json "j[\"digest\"][7:]" >layer-hex &&
	test -f base-layout/blobs/sha256/$(cat layer-hex)
'

test_expect_success 'an existing blob with the right name and other bytes is replaced' '
	cp -a base-layout l1 &&
	blob=$(cat layer-hex) &&
	echo damaged >l1/blobs/sha256/$blob &&
	oci-pack -o l1 --tag new <app.s &&
	test "$(sha256_of l1/blobs/sha256/$blob)" = $blob &&
	verify_blobs l1 >/dev/null &&
	if test_have_prereq SKOPEO; then
		skopeo copy -q oci:l1:new dir:l1-new.d >/dev/null &&
		skopeo copy -q oci:l1:old dir:l1-old.d >/dev/null
	fi
'

test_expect_success 'a failed run does not remove a blob it replaced' '
	cp -a base-layout l2 &&
	blob=$(cat layer-hex) &&
	echo damaged >l2/blobs/sha256/$blob &&
	{ cat app.s | head -c $(($(size_of app.s) - 1024)); } >cut.s &&
	test_expect_code 1 oci-pack -o l2 --tag new <cut.s 2>err &&
	test -f l2/blobs/sha256/$blob
'

test_expect_success 'oci-layout of another version, or without one, is refused' '
	cp -a base-layout l3 &&
	echo "{\"imageLayoutVersion\":\"2.0.0\"}" >l3/oci-layout &&
	layout_fails l3 "imageLayoutVersion .2\.0\.0. is not supported" &&
	echo "{}" >l3/oci-layout &&
	layout_fails l3 "oci-layout. is not an OCI layout marker" &&
	echo "{\"imageLayoutVersion\":\"1.1.0\"}" >l3/oci-layout &&
	oci-pack -o l3 --tag new <app.s
'

test_expect_success 'a FIFO as index.json or oci-layout is refused, not waited on' '
	cp -a base-layout l4 && rm l4/index.json && mkfifo l4/index.json &&
	timeout 60 sh -c "oci-pack -o l4 --tag new <app.s" 2>err; test $? = 1 &&
	test_one_error_line oci-pack err && grep -q "index.json. is not a regular file" err &&
	mkdir l5 && mkfifo l5/oci-layout &&
	timeout 60 sh -c "oci-pack -o l5 <app.s" 2>err; test $? = 1 &&
	grep -q "oci-layout. is not a regular file" err
'

test_expect_success 'index.json as a symlink out of the layout is refused, the target untouched' '
	cp -a base-layout l6 && mv l6/index.json outside.json &&
	cp outside.json outside.orig && ln -s "$PWD/outside.json" l6/index.json &&
	layout_fails l6 "index.json. is a symlink" &&
	cmp outside.json outside.orig
'

test_expect_success 'blobs or blobs/sha256 as a symlink out of the layout is refused' '
	mkdir -p l7/blobs outside-blobs && cp base-layout/oci-layout l7/ &&
	ln -s "$PWD/outside-blobs" l7/blobs/sha256 &&
	layout_fails l7 "blobs/sha256. \(must be a real directory\)" &&
	rm -r l7/blobs && ln -s "$PWD/outside-blobs" l7/blobs &&
	layout_fails l7 "blobs. \(must be a real directory\)" &&
	test -z "$(ls outside-blobs)"
'

test_expect_success 'index.json over 64 MiB, malformed, or a directory is refused' '
	cp -a base-layout l8 && truncate -s 65M l8/index.json &&
	layout_fails l8 "index.json.: data larger than 67108864 bytes" &&
	echo "{\"schemaVersion\":2,\"manifests\":[" >l8/index.json &&
	layout_fails l8 "index.json" &&
	rm l8/index.json && mkdir l8/index.json &&
	layout_fails l8 "index.json. is not a regular file"
'

test_expect_success 'a blob name that is a directory is refused' '
	cp -a base-layout l9 &&
	blob=$(cat layer-hex) &&
	rm l9/blobs/sha256/$blob && mkdir l9/blobs/sha256/$blob &&
	layout_fails l9 "blobs/sha256/$blob. exists and is a directory"
'

test_expect_success 'a tag with path tricks is a usage error' '
	for t in ../../etc/passwd /abs a/../b "a b" ""; do
		test_expect_code 2 oci-pack -o l10 --tag "$t" <app.s 2>err &&
		grep -q "invalid tag" err || return 1
	done &&
	! test -e l10
'

test_expect_success 'what other tools put into index.json survives an update' '
	cp -a base-layout l11 &&
	"$PYTHON" - <<-\PY &&
	import json
	d = json.load(open("l11/index.json"))
	e = d["manifests"][0]
	e["platform"]["os.version"] = "10.0.17763.1234"
	e["platform"]["os.features"] = ["win32k"]
	e["urls"] = ["https://example.com/blob"]
	e["artifactType"] = "application/vnd.example.sbom"
	e["data"] = "e30="
	e["annotations"]["org.example.k"] = "v"
	e["x-number"] = 1.5e10
	d["annotations"] = {"org.example.top": "1"}
	d["subject"] = {"mediaType": "x", "digest": e["digest"], "size": 1}
	json.dump(d, open("l11/index.json", "w"))
	PY
	json_get l11/index.json "[j[\"manifests\"], j[\"annotations\"], j[\"subject\"]]" >before &&
	oci-pack -o l11 --tag new <app.s &&
	json_get l11/index.json "[j[\"manifests\"][:1], j[\"annotations\"], j[\"subject\"]]" >after &&
	test_cmp before after &&
	test "$(json_get l11/index.json "len(j[\"manifests\"])")" = 2
'

# oci-pack as pid 1 of a new pid namespace: the pid of a container
if test_have_prereq ROOT && unshare --pid --fork true 2>/dev/null; then
	test_set_prereq PIDNS
fi

test_expect_success PIDNS 'a temporary index.json left by a killed run of the same pid' '
	cp -a base-layout l12 &&
	: >l12/.index.json.tmp-1 && : >l12/.index.json.tmp-1-0 &&
	unshare --pid --fork oci-pack -o l12 --tag new <app.s &&
	test "$(json_get l12/index.json "len(j[\"manifests\"])")" = 2
'

# a read-only bind mount (root can write a directory of mode 0555)
bound=
if test_have_prereq ROOT && mkdir -p ro && cp -a base-layout ro/layout &&
	mount --bind ro/layout ro/layout 2>/dev/null; then
	bound=yes
	mount -o remount,bind,ro ro/layout 2>/dev/null && test_set_prereq ROMOUNT
fi

test_expect_success ROMOUNT 'a read-only layout: one line, nothing written' '
	layout_fails ro/layout "Read-only file system"
'
test -n "$bound" && umount ro/layout

test_done
