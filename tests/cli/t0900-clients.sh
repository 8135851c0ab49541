#!/bin/sh
# SPDX-License-Identifier: MIT
# Real clients read what the pipeline writes: skopeo (inspect; copy, which
# verifies every digest), umoci unpack (as root; the unpacked rootfs is
# compared entry by entry with the input tar), oci-image-tool validate,
# podman load, and a docker-registry on 127.0.0.1.  gzip and zstd layers,
# tarball and -o DIR outputs.  Each client is skipped when missing.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

if ! test_have_prereq SKOPEO && ! test_have_prereq UMOCI &&
   ! test_have_prereq OCI_IMAGE_TOOL && ! test_have_prereq PODMAN; then
	skip_all "no OCI client installed (skopeo, umoci, oci-image-tool, podman)"
fi

test_expect_success 'setup: rootfs, gzip and zstd images, tarball and -o DIR' '
	make_rootfs r &&
	mktar r --format=pax --xattrs --xattrs-include="*" >in.tar &&
	tar_listing --mtime in.tar >in.list &&
	oci-layer <in.tar >gz.stream &&
	oci-layer --zstd <in.tar >zst.stream &&
	stream_split gz.stream gz >/dev/null &&
	stream_split zst.stream zst >/dev/null &&
	oci-config --entrypoint /bin/sh --env A=1 <gz.stream | oci-manifest |
		oci-pack --tag 1.0 --tag latest >gz.tar &&
	oci-config --entrypoint /bin/sh --env A=1 <zst.stream | oci-manifest |
		oci-pack --tag 1.0 --tag latest >zst.tar &&
	oci-pack -o gzdir --tag 1.0 <gz.stream &&
	oci-pack -o zstdir --tag 1.0 <zst.stream &&
	mkdir gzx zstx &&
	tar -C gzx -xf gz.tar &&
	tar -C zstx -xf zst.tar
'

# --- skopeo ---------------------------------------------------------------

# skopeo_checks NAME TRANSPORT-REF LAYERSTREAMDIR
skopeo_checks() {
	_n=$1 _ref=$2 _s=$3
	test_expect_success SKOPEO "skopeo inspect $_ref" "
		skopeo inspect '$_ref' >$_n.inspect &&
		json_get $_n.inspect 'j[\"Layers\"]' >$_n.layers &&
		echo \"[\\\"\$(json_get $_s/layer-1.json 'j[\"digest\"]')\\\"]\" >$_n.expect &&
		test_cmp $_n.expect $_n.layers &&
		test \"\$(json_get $_n.inspect 'j[\"Os\"]')\" = linux &&
		test \"\$(json_get $_n.inspect 'j[\"Architecture\"]')\" = \"\$(host_arch)\"
	"
	test_expect_success SKOPEO "skopeo copy $_ref dir: (verifies digests)" "
		skopeo copy -q '$_ref' dir:$_n.copy &&
		cmp $_s/blob-1 $_n.copy/\$(json_get $_s/layer-1.json 'j[\"digest\"].split(\":\")[1]') &&
		test -f $_n.copy/manifest.json
	"
	test_expect_success SKOPEO "skopeo copy $_ref to another oci layout and back" "
		skopeo copy -q '$_ref' oci:$_n.oci:copied &&
		skopeo copy -q oci:$_n.oci:copied dir:$_n.copy2 &&
		cmp $_s/blob-1 $_n.copy2/\$(json_get $_s/layer-1.json 'j[\"digest\"].split(\":\")[1]')
	"
}

skopeo_checks gz-archive oci-archive:gz.tar:latest gz
skopeo_checks gz-archive-1.0 oci-archive:gz.tar:1.0 gz
skopeo_checks zst-archive oci-archive:zst.tar:latest zst
skopeo_checks gz-dir oci:gzdir:1.0 gz
skopeo_checks zst-dir oci:zstdir:1.0 zst

test_expect_success SKOPEO 'skopeo sees the config of the pipeline' '
	skopeo inspect --config oci-archive:gz.tar:latest >config.json &&
	test "$(json_get config.json "j[\"config\"][\"Entrypoint\"]")" = "[\"/bin/sh\"]" &&
	test "$(json_get config.json "j[\"config\"][\"Env\"]")" = "[\"A=1\"]"
'

test_expect_success SKOPEO 'skopeo rejects an image whose blob was altered' '
	cp -a gzx bad &&
	b=$(blob_path bad "$(json_get gz/layer-1.json "j[\"digest\"]")") &&
	chmod u+w "$b" &&
	printf "X" | dd of="$b" bs=1 seek=100 conv=notrunc 2>/dev/null &&
	test_must_fail skopeo copy -q oci:bad:latest dir:bad.copy
'

# --- umoci ----------------------------------------------------------------

# umoci_check NAME LAYOUTDIR TAG: unpack as root, compare with the input
umoci_check() {
	umoci unpack --image "$2:$3" "$1.bundle" >"$1.umoci.log" 2>&1 || {
		cat "$1.umoci.log" >&2
		return 1
	}
	tree_listing --mtime "$1.bundle/rootfs" >"$1.tree" &&
	test_cmp in.list "$1.tree"
}

test_expect_success UMOCI,ROOT 'umoci unpack (gzip, extracted tarball) recreates the rootfs exactly' '
	umoci_check gzx gzx latest
'

test_expect_success UMOCI,ROOT 'umoci unpack (gzip, -o DIR) recreates the rootfs exactly' '
	umoci_check gzdir gzdir 1.0
'

test_expect_success UMOCI,ROOT 'umoci: setuid, capabilities and devices are real after unpack' '
	test -u gzx.bundle/rootfs/usr/bin/su-like &&
	test -g gzx.bundle/rootfs/usr/bin/sg-like &&
	test -k gzx.bundle/rootfs/tmp &&
	if ! rootfs_skipped r devices; then
		test -c gzx.bundle/rootfs/dev/null &&
		test -b gzx.bundle/rootfs/dev/loop0 &&
		test -p gzx.bundle/rootfs/dev/fifo
	fi &&
	if ! rootfs_skipped r security-xattr && command -v getcap >/dev/null; then
		getcap gzx.bundle/rootfs/usr/bin/ping-like | grep cap_net_raw
	fi
'

# umoci 0.4.7 (Debian 12) predates zstd layers: find out, skip with the reason
if test_have_prereq UMOCI && test_have_prereq ROOT; then
	if umoci unpack --image "zstx:latest" zst-probe.bundle >zst-probe.log 2>&1; then
		test_set_prereq UMOCI_ZSTD
	elif grep -q "zstd" zst-probe.log; then
		_t_umoci_zstd="umoci $(umoci --version | sed 's/.* version //') cannot read zstd layers: $(grep -o 'blob is not correct mediatype[^"]*' zst-probe.log | head -n 1)"
	else
		test_set_prereq UMOCI_ZSTD	# let the test show the failure
	fi
	rm -rf zst-probe.bundle
fi
if test_have_prereq UMOCI_ZSTD || ! test_have_prereq UMOCI,ROOT; then
	test_expect_success UMOCI_ZSTD 'umoci unpack (zstd, extracted tarball) recreates the rootfs exactly' '
		umoci_check zstx zstx latest
	'
	test_expect_success UMOCI_ZSTD 'umoci unpack (zstd, -o DIR) recreates the rootfs exactly' '
		umoci_check zstdir zstdir 1.0
	'
else
	test_skip 'umoci unpack (zstd, extracted tarball)' "$_t_umoci_zstd"
	test_skip 'umoci unpack (zstd, -o DIR)' "$_t_umoci_zstd"
fi

# --- oci-image-tool ---------------------------------------------------------
# oci-image-tool 1.0.0-rc1 validates layout directories ("--type image" on
# a directory; its tar reader and "--type imageLayout" do not work), and
# knows image-spec 1.0 media types only (no zstd layers).

oit_check() {
	oci-image-tool validate --type image --ref "name=$2" "$1" >"$1.oit" 2>&1 || {
		cat "$1.oit" >&2
		return 1
	}
	grep "Validation succeeded" "$1.oit"
}

test_expect_success OCI_IMAGE_TOOL 'oci-image-tool validate (gzip, extracted tarball)' '
	oit_check gzx latest &&
	oit_check gzx 1.0
'

test_expect_success OCI_IMAGE_TOOL 'oci-image-tool validate (gzip, -o DIR)' '
	oit_check gzdir 1.0
'

test_expect_success OCI_IMAGE_TOOL 'oci-image-tool validate: index, manifest and config one by one' '
	m=$(blob_path gzx "$(json_get gzx/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	c=$(blob_path gzx "$(json_get "$m" "j[\"config\"][\"digest\"]")") &&
	oci-image-tool validate --type imageIndex gzx/index.json &&
	oci-image-tool validate --type manifest "$m" &&
	oci-image-tool validate --type config "$c"
'

if test_have_prereq OCI_IMAGE_TOOL; then
	if oci-image-tool validate --type image --ref name=latest zstx >oit-zst.log 2>&1; then
		test_set_prereq OIT_ZSTD
	elif grep -q "tar+zstd" oit-zst.log; then
		_t_oit_zstd="oci-image-tool $(oci-image-tool --version | sed 's/.* version //') knows image-spec 1.0 media types only: invalid descriptor MediaType application/vnd.oci.image.layer.v1.tar+zstd"
	else
		test_set_prereq OIT_ZSTD
	fi
fi
if test_have_prereq OIT_ZSTD || ! test_have_prereq OCI_IMAGE_TOOL; then
	test_expect_success OIT_ZSTD 'oci-image-tool validate (zstd, extracted tarball and -o DIR)' '
		oit_check zstx latest &&
		oit_check zstdir 1.0
	'
else
	test_skip 'oci-image-tool validate (zstd)' "$_t_oit_zstd"
fi

# --- podman ---------------------------------------------------------------

if test_have_prereq PODMAN; then
	podman_setup
fi

# podman 4.3 "load" takes an archive with one tagged image only ("more than
# one image in oci, choose an image"); "pull oci-archive:FILE:TAG" picks one.
test_expect_success PODMAN,ROOT 'podman load (gzip tarball, one tag): the image and its layer' '
	mkdir -p podman/tmp &&
	oci-config --entrypoint /bin/sh <gz.stream | oci-pack --tag single >single.tar &&
	podman_ load -i single.tar >load.out 2>&1 &&
	sed -n "s/^Loaded image: //p" load.out >loaded &&
	test $(wc -l <loaded) = 1 &&
	podman_ image inspect "$(cat loaded)" >pinspect.json &&
	json_get pinspect.json "j[0][\"RootFS\"][\"Layers\"]" >players &&
	echo "[\"$(json_get gz/layer-1.json "j[\"diffID\"]")\"]" >expect &&
	test_cmp expect players &&
	test "$(json_get pinspect.json "j[0][\"Config\"][\"Entrypoint\"]")" = "[\"/bin/sh\"]"
'

test_expect_success PODMAN,ROOT 'podman pull oci-archive: (zstd tarball, two tags)' '
	mkdir -p podman/tmp &&
	podman_ pull -q oci-archive:zst.tar:1.0 >pull.out 2>&1 &&
	podman_ image inspect "$(tail -n 1 pull.out)" >pinspect.json &&
	json_get pinspect.json "j[0][\"RootFS\"][\"Layers\"]" >players &&
	echo "[\"$(json_get zst/layer-1.json "j[\"diffID\"]")\"]" >expect &&
	test_cmp expect players
'

# containers/storage's own applier (podman, buildah, CRI-O): the vfs
# driver's image mount is the unpacked rootfs (its root directory is the
# driver's, so it is left out)
podman_rootfs_check() {
	podman_ image mount "$1" >"$2.mnt" &&
	tree_listing --no-root --mtime "$(cat "$2.mnt")" >"$2.tree" &&
	podman_ image unmount "$1" >/dev/null &&
	grep -v "	\.\$" in.list >in-noroot.list &&
	test_cmp in-noroot.list "$2.tree"
}

test_expect_success PODMAN,ROOT 'podman image mount (gzip, zstd): the rootfs is the input' '
	podman_rootfs_check "$(cat loaded)" pgz &&
	podman_rootfs_check "$(tail -n 1 pull.out)" pzst
'

test_expect_success PODMAN,ROOT 'podman pull oci: (-o DIR)' '
	mkdir -p podman/tmp &&
	podman_ pull -q oci:gzdir:1.0 >pull.out 2>&1 &&
	podman_ image inspect "$(tail -n 1 pull.out)" >pinspect.json &&
	json_get pinspect.json "j[0][\"RootFS\"][\"Layers\"]" >players &&
	echo "[\"$(json_get gz/layer-1.json "j[\"diffID\"]")\"]" >expect &&
	test_cmp expect players
'

# Running a container needs a runtime that works on this machine; a
# sandbox that refuses setrlimit or cgroups is not our bug: skip then.
if test_have_prereq PODMAN && test_have_prereq ROOT; then
	mkdir -p podman/tmp
	if sh "$top_srcdir/examples/make-demo-rootfs.sh" demo >/dev/null 2>&1 &&
	   TAR_OPTS= bash "$top_srcdir/examples/build-image.sh" demo demo.tar demo >/dev/null 2>&1 &&
	   podman_ load -i demo.tar >demo.load 2>&1 &&
	   sed -n "s/^Loaded image: //p" demo.load >demo.name &&
	   test -s demo.name; then
		if podman_ run --rm --network none --pull never "$(cat demo.name)" -c "cat /hello.txt" >run.out 2>run.err; then
			test_set_prereq PODMAN_RUN
		elif grep -q -i -e "setrlimit" -e "permission denied" -e "cgroup" run.err; then
			_t_podman_run="podman cannot run containers on this machine: $(head -n 1 run.err)"
		else
			test_set_prereq PODMAN_RUN
		fi
	else
		test_set_prereq PODMAN_RUN
	fi
fi
if test -n "${_t_podman_run:-}"; then
	test_skip 'podman run of the demo image' "$_t_podman_run"
else
	test_expect_success PODMAN_RUN 'podman run of the demo image (examples/)' '
		podman_ run --rm --network none --pull never "$(cat demo.name)" -c "cat /hello.txt" >run.out &&
		cmp demo/hello.txt run.out
	'
fi

# --- a real registry --------------------------------------------------------

if test_have_prereq REGISTRY && test_have_prereq SKOPEO; then
	start_registry registry && test_set_prereq REG_UP
fi

test_expect_success REGISTRY,SKOPEO 'push to a docker-registry on 127.0.0.1 and read back' '
	test_have_prereq REG_UP &&
	ref=docker://$REG/ocipipe/test &&
	skopeo copy -q --preserve-digests --dest-tls-verify=false oci-archive:gz.tar:latest $ref:gz &&
	skopeo copy -q --preserve-digests --dest-tls-verify=false oci:zstdir:1.0 $ref:zst &&
	skopeo inspect --tls-verify=false $ref:gz >reg-gz.json &&
	skopeo inspect --tls-verify=false $ref:zst >reg-zst.json &&
	echo "[\"$(json_get gz/layer-1.json "j[\"digest\"]")\"]" >expect &&
	json_get reg-gz.json "j[\"Layers\"]" >actual &&
	test_cmp expect actual &&
	echo "[\"$(json_get zst/layer-1.json "j[\"digest\"]")\"]" >expect &&
	json_get reg-zst.json "j[\"Layers\"]" >actual &&
	test_cmp expect actual &&
	skopeo copy -q --src-tls-verify=false $ref:gz dir:reg-gz.copy &&
	cmp gz/blob-1 reg-gz.copy/$(json_get gz/layer-1.json "j[\"digest\"].split(\":\")[1]")
'

test_done
