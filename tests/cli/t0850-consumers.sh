#!/bin/sh
# SPDX-License-Identifier: MIT
# Consumers of multi-layer, multi-platform and docker-archive images
# (issue 8, "How it is checked"):
#  - 2- and 3-layer images whose upper layers override files and delete
#    files and directories with OCI whiteouts, unpacked by umoci (root) and
#    compared with the merged tree computed independently
#    (tests/helpers/overlay.py); history and rootfs.diff_ids per layer;
#  - a two-platform index (amd64 + arm64): skopeo inspect --raw, and
#    skopeo copy --override-arch per platform;
#  - podman load (root, vfs) of the OCI tarball and of the --docker one;
#  - skopeo copy docker-archive: of the --docker tarball;
#  - push to and pull from a docker-registry on 127.0.0.1, single- and
#    multi-platform, with the digests compared.
# Consumers that cannot run here are listed in the README ("Consumers").
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

# listing of the merged tree: mtimes included (every layer has its own)
merged_listing() {
	tree_listing --mtime "$1"
}

# --- multi-layer images with whiteouts ------------------------------------

test_expect_success 'setup: three staged layers with whiteouts' '
	# layer 1: the base
	mkdir -p l1/etc/conf.d l1/bin l1/var/cache/x l1/opt/app/lib \
		l1/usr/share/doc l1/srv/dir-to-file/sub l1/home/user &&
	echo base >l1/etc/os-release &&
	echo keep >l1/etc/keep &&
	echo a1 >l1/etc/conf.d/a &&
	echo b1 >l1/etc/conf.d/b &&
	echo tool1 >l1/bin/tool && chmod 755 l1/bin/tool &&
	echo old >l1/bin/old &&
	echo su >l1/bin/su-like && chmod 4755 l1/bin/su-like &&
	echo cache >l1/var/cache/x/y &&
	echo libold >l1/opt/app/lib/libold.so &&
	echo data1 >l1/opt/app/data &&
	echo doc >l1/usr/share/doc/readme &&
	ln -s etc/os-release l1/link &&
	echo plain >l1/srv/file-to-dir &&
	echo deep >l1/srv/dir-to-file/sub/f &&
	echo secret >l1/home/user/notes && chmod 640 l1/home/user/notes &&
	# layer 2: overrides, an opaque directory, deleted file and directory,
	# a file replaced by a directory and a directory by a file
	mkdir -p l2/etc/conf.d l2/bin l2/var l2/opt/app l2/srv/file-to-dir l2/home/user &&
	echo layer2 >l2/etc/os-release &&
	: >l2/etc/conf.d/.wh..wh..opq &&
	echo c2 >l2/etc/conf.d/c &&
	: >l2/bin/.wh.old &&
	: >l2/var/.wh.cache &&
	echo data2 >l2/opt/app/data && chmod 600 l2/opt/app/data &&
	ln -s bin/tool l2/link2 &&
	echo inner >l2/srv/file-to-dir/inner &&
	echo now-a-file >l2/srv/dir-to-file &&
	echo more >l2/home/user/more && chmod 700 l2/home/user &&
	# layer 3: deletes a symlink, a directory and a file of layer 2,
	# recreates a deleted directory, makes opt/app opaque
	mkdir -p l3/etc/conf.d l3/var/cache l3/opt/app l3/usr/share l3/bin &&
	echo layer3 >l3/etc/os-release &&
	: >l3/.wh.link &&
	: >l3/etc/conf.d/.wh.c &&
	echo recreated >l3/var/cache/new &&
	: >l3/opt/app/.wh..wh..opq &&
	echo new >l3/opt/app/new &&
	: >l3/usr/share/.wh.doc &&
	echo tool3 >l3/bin/tool && chmod 755 l3/bin/tool &&
	if test_have_prereq ROOT; then
		chown -R 1000:100 l1/home/user l2/home/user
	fi &&
	# each layer its own mtime, so directory metadata of upper layers shows
	find l1 -exec touch -h -d @1600000000 {} + &&
	find l2 -exec touch -h -d @1600001000 {} + &&
	find l3 -exec touch -h -d @1600002000 {} + &&
	for l in l1 l2 l3; do
		tar --sort=name --numeric-owner -C $l -cf $l.tar . || return 1
	done &&
	# the whiteouts are in the upper tars as they were staged
	tar -tf l2.tar >l2.names &&
	grep -x "./etc/conf.d/.wh..wh..opq" l2.names &&
	grep -x "./var/.wh.cache" l2.names &&
	grep -x "./bin/.wh.old" l2.names &&
	tar -tf l3.tar >l3.names &&
	grep -x "./.wh.link" l3.names &&
	grep -x "./opt/app/.wh..wh..opq" l3.names &&
	# one stream per layer, for the expected digests
	for l in l1 l2 l3; do
		oci-layer --whiteouts --created-by "layer $l" <$l.tar >$l.s &&
		stream_split $l.s $l.split >/dev/null || return 1
	done
'

test_expect_success 'a 2-layer and a 3-layer image from concatenated oci-layer streams' '
	{ oci-layer --whiteouts --created-by "layer l1" <l1.tar
	  oci-layer --whiteouts --created-by "layer l2" <l2.tar; } |
		oci-config --entrypoint /bin/tool --env A=1 --env B=two |
		oci-manifest | oci-pack --tag two >two.tar &&
	{ oci-layer --whiteouts --created-by "layer l1" <l1.tar
	  oci-layer --whiteouts --created-by "layer l2" <l2.tar
	  oci-layer --whiteouts --created-by "layer l3" <l3.tar; } |
		oci-config --entrypoint /bin/tool --env A=1 --env B=two |
		oci-manifest | oci-pack --tag three >three.tar &&
	mkdir two three &&
	tar -C two -xf two.tar &&
	tar -C three -xf three.tar &&
	verify_blobs two >/dev/null &&
	verify_blobs three >/dev/null
'

# check_layers LAYOUT TAG LAYER...: the manifest lists the layers of the
# per-layer streams in order, the config has their diffIDs (recomputed from
# the blobs) and one history entry per layer, in order
check_layers() {
	"$PYTHON" - "$@" <<-\PY
	import gzip, hashlib, json, sys
	lay, tag, layers = sys.argv[1], sys.argv[2], sys.argv[3:]
	def blob(d):
	    return open("%s/blobs/sha256/%s" % (lay, d.split(":")[1]), "rb").read()
	idx = json.load(open(lay + "/index.json"))
	e = [m for m in idx["manifests"]
	     if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
	assert len(e) == 1, idx
	m = json.loads(blob(e[0]["digest"]))
	c = json.loads(blob(m["config"]["digest"]))
	want = [json.load(open("%s.split/layer-1.json" % l)) for l in layers]
	assert [x["digest"] for x in m["layers"]] == [w["digest"] for w in want], (m, want)
	assert [x["size"] for x in m["layers"]] == [w["size"] for w in want], (m, want)
	for x, l in zip(m["layers"], layers):
	    assert blob(x["digest"]) == open("%s.split/blob-1" % l, "rb").read(), l
	diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(blob(x["digest"]))).hexdigest()
	            for x in m["layers"]]
	assert c["rootfs"]["diff_ids"] == diff_ids, (c["rootfs"], diff_ids)
	assert diff_ids == [w["diffID"] for w in want], (diff_ids, want)
	h = c["history"]
	assert len(h) == len(layers), h
	assert not [x for x in h if x.get("empty_layer")], h
	assert [x.get("created_by") for x in h] == ["layer " + l for l in layers], h
	assert c["config"]["Entrypoint"] == ["/bin/tool"], c["config"]
	PY
}

test_expect_success 'config: one history entry per layer, diff_ids match the layers' '
	check_layers two two l1 l2 &&
	check_layers three three l1 l2 l3
'

test_expect_success 'the expected merged trees, computed without any image tool' '
	"$PYTHON" "$TEST_HELPERS/overlay.py" exp2 l1 l2 &&
	"$PYTHON" "$TEST_HELPERS/overlay.py" exp3 l1 l2 l3 &&
	merged_listing exp2 >exp2.list &&
	merged_listing exp3 >exp3.list &&
	# spot checks of the whiteout rules on the expected trees themselves
	test "$(cat exp2/etc/os-release)" = layer2 &&
	test "$(cat exp3/etc/os-release)" = layer3 &&
	test ! -e exp2/etc/conf.d/a && test -f exp2/etc/conf.d/c &&
	test ! -e exp3/etc/conf.d/c &&
	test ! -e exp2/bin/old && test ! -e exp2/var/cache &&
	test -f exp3/var/cache/new && test ! -e exp3/var/cache/x &&
	test -L exp2/link && test ! -e exp3/link && test ! -h exp3/link &&
	test -d exp2/srv/file-to-dir && test -f exp2/srv/dir-to-file &&
	test -f exp2/opt/app/lib/libold.so && test ! -e exp3/opt/app/lib &&
	test ! -e exp3/opt/app/data && test -d exp3/usr/share && test ! -e exp3/usr/share/doc &&
	! grep "\.wh\." exp2.list exp3.list
'

# umoci_merged NAME LAYOUT TAG EXPECTED-LIST
umoci_merged() {
	umoci unpack --image "$2:$3" "$1.bundle" >"$1.umoci.log" 2>&1 || {
		cat "$1.umoci.log" >&2
		return 1
	}
	merged_listing "$1.bundle/rootfs" >"$1.list" &&
	test_cmp "$4" "$1.list"
}

test_expect_success UMOCI,ROOT 'umoci unpack of the 2-layer image gives the merged tree' '
	umoci_merged u2 two two exp2.list
'

test_expect_success UMOCI,ROOT 'umoci unpack of the 3-layer image gives the merged tree' '
	umoci_merged u3 three three exp3.list
'

# --- multi-platform -----------------------------------------------------------

test_expect_success 'setup: a two-platform image (amd64 + arm64) from two rootfs streams' '
	mkdir -p ra/etc rb/etc rb/usr/bin &&
	echo amd64 >ra/etc/arch && echo x86 >ra/etc/only-amd &&
	echo arm64 >rb/etc/arch && echo aarch64 >rb/usr/bin/tool &&
	tar -C ra -cf ra.tar . &&
	tar -C rb -cf rb.tar . &&
	oci-layer <ra.tar | oci-config --arch amd64 --env P=amd | oci-manifest >amd.s &&
	oci-layer <rb.tar | oci-config --arch arm64 --env P=arm | oci-manifest >arm.s &&
	stream_split amd.s amd.split >/dev/null &&
	stream_split arm.s arm.split >/dev/null &&
	cat amd.s arm.s | oci-pack --tag multi >multi.tar &&
	mkdir multi && tar -C multi -xf multi.tar &&
	verify_blobs multi >/dev/null
'

test_expect_success SKOPEO 'skopeo inspect --raw: an image index with both platforms' '
	skopeo inspect --raw oci-archive:multi.tar:multi >multi.raw &&
	d=$(json_get multi/index.json "j[\"manifests\"][0][\"digest\"]") &&
	test "$d" = "sha256:$(sha256_of multi.raw)" &&
	echo "sha256:$(sha256_of amd.split/manifest-1.json)" >amd.mdigest &&
	echo "sha256:$(sha256_of arm.split/manifest-1.json)" >arm.mdigest &&
	"$PYTHON" - <<-\PY
	import json
	r = json.load(open("multi.raw"))
	assert r["mediaType"] == "application/vnd.oci.image.index.v1+json", r
	got = sorted((m["platform"]["os"], m["platform"]["architecture"], m["digest"],
	              m["mediaType"]) for m in r["manifests"])
	want = sorted([("linux", "amd64", open("amd.mdigest").read().strip(),
	                "application/vnd.oci.image.manifest.v1+json"),
	               ("linux", "arm64", open("arm.mdigest").read().strip(),
	                "application/vnd.oci.image.manifest.v1+json")])
	assert got == want, (got, want)
	PY
'

# copy_arch ARCH SPLITDIR: skopeo copy --override-arch gets that manifest
copy_arch() {
	skopeo copy -q --override-arch "$1" oci-archive:multi.tar:multi "dir:$1.dir" &&
	test "sha256:$(sha256_of "$1.dir/manifest.json")" = "$(cat "$2.mdigest")" &&
	cmp "$2.split/manifest-1.json" "$1.dir/manifest.json" &&
	c=$(json_get "$1.dir/manifest.json" "j[\"config\"][\"digest\"].split(\":\")[1]") &&
	cmp "$2.split/config-1.json" "$1.dir/$c" &&
	test "$(json_get "$1.dir/$c" "j[\"architecture\"]")" = "$1" &&
	json_get "$1.dir/manifest.json" "[l[\"digest\"] for l in j[\"layers\"]]" >"$1.layers" &&
	echo "[\"$(json_get "$2.split/layer-1.json" "j[\"digest\"]")\"]" >"$1.expect" &&
	test_cmp "$1.expect" "$1.layers" &&
	cmp "$2.split/blob-1" "$1.dir/$(json_get "$2.split/layer-1.json" "j[\"digest\"].split(\":\")[1]")"
}

test_expect_success SKOPEO 'skopeo copy --override-arch arm64 gets the arm64 image' '
	copy_arch arm64 arm
'

test_expect_success SKOPEO 'skopeo copy --override-arch amd64 gets the amd64 image' '
	copy_arch amd64 amd
'

test_expect_success 'two images of one platform: refused unless --allow-same-platform' '
	oci-layer <rb.tar | oci-config --arch amd64 | oci-manifest >amd2.s &&
	cat amd.s amd2.s | test_expect_code 1 oci-pack --tag same >same.tar 2>err &&
	test_one_error_line oci-pack err &&
	grep "linux/amd64" err && grep -e "--allow-same-platform" err &&
	test ! -s same.tar &&
	cat amd.s amd2.s | oci-pack --allow-same-platform --tag same >same.tar &&
	mkdir same && tar -C same -xf same.tar &&
	i=$(blob_path same "$(json_get same/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	test "$(json_get "$i" "[m[\"platform\"][\"architecture\"] for m in j[\"manifests\"]]")" = "[\"amd64\", \"amd64\"]"
'

# --- podman load, skopeo docker-archive: --------------------------------------

test_expect_success 'setup: the 3-layer image as a --docker tarball' '
	{ oci-layer --whiteouts --created-by "layer l1" <l1.tar
	  oci-layer --whiteouts --created-by "layer l2" <l2.tar
	  oci-layer --whiteouts --created-by "layer l3" <l3.tar; } |
		oci-config --entrypoint /bin/tool --env A=1 --env B=two |
		oci-manifest | oci-pack --docker --name ocipipe/three --tag 1.0 >three-docker.tar &&
	mkdir three-docker && tar -C three-docker -xf three-docker.tar &&
	check_layers three-docker 1.0 l1 l2 l3 &&
	json_get three-docker/manifest.json "j[0][\"RepoTags\"]" >tags &&
	echo "[\"ocipipe/three:1.0\"]" >expect &&
	test_cmp expect tags
'

if test_have_prereq PODMAN && test_have_prereq ROOT; then
	podman_setup
fi

# podman_check NAME LAYOUT TAG REF: podman image inspect REF shows the
# config (by its digest), entrypoint, env and the layers' diffIDs
podman_check() {
	podman_ image inspect "$4" >"$1.inspect" &&
	"$PYTHON" - "$1.inspect" "$2" "$3" <<-\PY
	import json, sys
	i = json.load(open(sys.argv[1]))
	assert len(i) == 1, i
	i = i[0]
	lay, tag = sys.argv[2], sys.argv[3]
	def blob(d):
	    return open("%s/blobs/sha256/%s" % (lay, d.split(":")[1]), "rb").read()
	idx = json.load(open(lay + "/index.json"))
	e = [m for m in idx["manifests"]
	     if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
	m = json.loads(blob(e[0]["digest"]))
	c = json.loads(blob(m["config"]["digest"]))
	assert i["Id"] == m["config"]["digest"].split(":")[1], (i["Id"], m["config"])
	assert i["Config"]["Entrypoint"] == ["/bin/tool"], i["Config"]
	assert i["Config"]["Env"] == ["A=1", "B=two"], i["Config"]
	assert len(i["RootFS"]["Layers"]) == 3, i["RootFS"]
	assert i["RootFS"]["Layers"] == c["rootfs"]["diff_ids"], (i["RootFS"], c["rootfs"])
	assert i["Architecture"] == c["architecture"] and i["Os"] == "linux", i
	PY
}

test_expect_success PODMAN,ROOT 'podman load of the OCI tarball (one tag), podman image inspect' '
	mkdir -p podman/tmp &&
	podman_ load -i three.tar >load.out 2>&1 &&
	sed -n "s/^Loaded image: //p" load.out >loaded &&
	test $(wc -l <loaded) = 1 &&
	podman_check pl-oci three three "$(cat loaded)"
'

test_expect_success PODMAN,ROOT 'podman load of the --docker tarball, podman image inspect' '
	mkdir -p podman/tmp &&
	podman_ load -i three-docker.tar >dload.out 2>&1 &&
	sed -n "s/^Loaded image: //p" dload.out >dloaded &&
	test $(wc -l <dloaded) = 1 &&
	podman_check pl-docker three-docker 1.0 "$(cat dloaded)"
'

test_expect_success PODMAN,ROOT 'podman pull docker-archive: of the --docker tarball (its RepoTags)' '
	mkdir -p podman/tmp &&
	podman_ pull -q docker-archive:three-docker.tar >dpull.out 2>&1 &&
	podman_check pp-docker three-docker 1.0 localhost/ocipipe/three:1.0
'

# The name docker load gives the image (RepoTags of manifest.json) is the
# one podman load should give it too.
test_expect_success PODMAN,ROOT 'podman load of the --docker tarball names it by its RepoTags' '
	echo localhost/ocipipe/three:1.0 >expect &&
	test_cmp expect dloaded
'

test_expect_success SKOPEO 'skopeo copy docker-archive: of the --docker tarball' '
	skopeo copy -q docker-archive:three-docker.tar dir:da &&
	"$PYTHON" - <<-\PY
	import gzip, hashlib, json
	lay = "three-docker"
	def blob(d):
	    return open("%s/blobs/sha256/%s" % (lay, d.split(":")[1]), "rb").read()
	dm = json.load(open(lay + "/manifest.json"))[0]
	om = json.loads(blob(json.load(open(lay + "/index.json"))["manifests"][0]["digest"]))
	m = json.load(open("da/manifest.json"))
	# the config is the same blob, byte for byte
	assert m["config"]["digest"] == om["config"]["digest"], (m["config"], om["config"])
	assert open("da/" + m["config"]["digest"][7:], "rb").read() == blob(om["config"]["digest"])
	# docker-archive layers come out uncompressed: each is our layer, unzipped
	assert len(m["layers"]) == len(om["layers"]) == 3, m
	for got, ours in zip(m["layers"], om["layers"]):
	    data = open("da/" + got["digest"][7:], "rb").read()
	    assert hashlib.sha256(data).hexdigest() == got["digest"][7:], got
	    assert data == gzip.decompress(blob(ours["digest"])), (got, ours)
	c = json.loads(blob(om["config"]["digest"]))
	assert [l["digest"] for l in m["layers"]] == c["rootfs"]["diff_ids"], (m, c)
	PY
'

# --- a docker-registry on 127.0.0.1 -------------------------------------------

if test_have_prereq REGISTRY && test_have_prereq SKOPEO; then
	start_registry registry && test_set_prereq REG_UP
fi

test_expect_success REGISTRY,SKOPEO 'setup: a docker-registry on 127.0.0.1 (random port)' '
	test_have_prereq REG_UP &&
	"$PYTHON" -c "import urllib.request; urllib.request.urlopen(\"http://$REG/v2/\", timeout=5)"
'

# same_blobs A B: every blob of layout A is in layout B, byte for byte
same_blobs() {
	for b in "$1"/blobs/sha256/*; do
		cmp "$b" "$2/blobs/sha256/${b##*/}" || return 1
	done
}

test_expect_success REGISTRY,SKOPEO 'registry: push the 3-layer image, pull it back, digests equal' '
	skopeo copy -q --preserve-digests --dest-tls-verify=false \
		oci-archive:three.tar:three docker://$REG/ocipipe/single:1 &&
	skopeo inspect --raw --tls-verify=false docker://$REG/ocipipe/single:1 >single.raw &&
	d=$(json_get three/index.json "j[\"manifests\"][0][\"digest\"]") &&
	test "$d" = "sha256:$(sha256_of single.raw)" &&
	cmp "$(blob_path three "$d")" single.raw &&
	skopeo copy -q --all --preserve-digests --src-tls-verify=false \
		docker://$REG/ocipipe/single:1 oci:back-single:1 &&
	test "$(json_get back-single/index.json "[m[\"digest\"] for m in j[\"manifests\"]]")" = "[\"$d\"]" &&
	same_blobs three back-single &&
	same_blobs back-single three &&
	check_layers back-single 1 l1 l2 l3
'

test_expect_success REGISTRY,SKOPEO 'registry: push the two-platform index (--all), pull it back, digests equal' '
	skopeo copy -q --all --preserve-digests --dest-tls-verify=false \
		oci-archive:multi.tar:multi docker://$REG/ocipipe/multi:1 &&
	skopeo inspect --raw --tls-verify=false docker://$REG/ocipipe/multi:1 >reg-multi.raw &&
	d=$(json_get multi/index.json "j[\"manifests\"][0][\"digest\"]") &&
	test "$d" = "sha256:$(sha256_of reg-multi.raw)" &&
	cmp multi.raw reg-multi.raw &&
	for a in amd arm; do
		skopeo inspect --raw --tls-verify=false \
			docker://$REG/ocipipe/multi@$(cat $a.mdigest) >reg-$a.raw &&
		cmp $a.split/manifest-1.json reg-$a.raw || return 1
	done &&
	skopeo copy -q --all --preserve-digests --src-tls-verify=false \
		docker://$REG/ocipipe/multi:1 oci:back-multi:1 &&
	test "$(json_get back-multi/index.json "[m[\"digest\"] for m in j[\"manifests\"]]")" = "[\"$d\"]" &&
	same_blobs multi back-multi &&
	same_blobs back-multi multi &&
	skopeo copy -q --override-arch arm64 oci:back-multi:1 dir:back-arm64.dir &&
	cmp arm.split/manifest-1.json back-arm64.dir/manifest.json &&
	cmp arm.split/blob-1 back-arm64.dir/$(json_get arm.split/layer-1.json "j[\"digest\"].split(\":\")[1]")
'

test_done
