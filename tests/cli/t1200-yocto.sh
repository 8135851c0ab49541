#!/bin/sh
# SPDX-License-Identifier: MIT
# The Yocto drop-in (issue 16): examples/yocto/ocipipe-image-oci.sh, the
# commands of the class's IMAGE_CMD:oci, run under pseudo as bitbake runs
# do_image_oci, for every mode of today's image-oci class and the
# packages mode ocipipe adds (issue 20: layers split along the opkg
# database or pkgdata, compared with the single layer's tree): one layer; a
# base image by recipe and by path (also merged /usr against a plain /usr,
# both ways); multi-layer with every layer type; the layer cache (miss,
# hit, damaged entries); the block cache (OCI_LAYER_CACHE_DIR, _MAX); the traceability labels; empty exported
# variables; what is refused.  Each image is read by umoci unpack, skopeo
# inspect, oci-image-tool create --ref name=latest and containerd, and its
# merged tree (and layer count) is compared with the image the umoci
# backend makes of the same inputs (tests/helpers/umoci-backend.sh).
# Where ocipipe deliberately keeps more, that comparison leaves it out and
# it is checked on its own: owners (the umoci backend stores 0:0, ocipipe
# what pseudo recorded), devices (umoci does not run under pseudo, so it
# sees the empty files pseudo makes for them) and hardlinks (its multi
# mode copies each name on its own).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
. "$TEST_HELPERS/containerd.sh"

YOCTO=$top_srcdir/examples/yocto

use_pseudo
if test_have_prereq PSEUDO; then
	FAKER=pseudo
elif test_have_prereq FAKEROOT; then
	FAKER=fakeroot
elif test_have_prereq ROOT; then
	FAKER=
else
	skip_all "needs pseudo, fakeroot or root (the task runs under pseudo)"
fi
if _t_why=$(ctrd_usable); then
	ctrd_init
	test_set_prereq CTRD
else
	test_diag "containerd checks skipped: $_t_why"
fi
test_have_prereq UMOCI,ROOT && test_set_prereq UMOCI_ROOT
test_have_prereq PODMAN,ROOT && test_set_prereq PODMAN_ROOT

# build NAME [VAR=VALUE...]: the task, with the environment bitbake gives
# it; the image goes to deploy/ (NAME-latest-oci ...), the log to NAME.log
build() {
	_b=$1
	shift
	env PSEUDO_IGNORE_PATHS="$TEST_DIR/top/oci-layer-cache" \
	    IMAGE_ROOTFS="$TEST_DIR/rootfs" IMGDEPLOYDIR="$TEST_DIR/deploy" \
	    DEPLOY_DIR_IMAGE="$TEST_DIR/deploy" WORKDIR="$TEST_DIR/work" \
	    TOPDIR="$TEST_DIR/top" MACHINE=qemux86-64 GIT_CEILING_DIRECTORIES="$TEST_DIR" \
	    IMAGE_BASENAME="$_b" IMAGE_NAME="$_b-qemux86-64" IMAGE_NAME_SUFFIX=.rootfs \
	    OCI_IMAGE_ARCH=x86_64 SOURCE_DATE_EPOCH=1700000000 OCI_IMAGE_AUTO_LABELS=0 \
	    "$@" $FAKER sh "$YOCTO/ocipipe-image-oci.sh" >"$_b.log" 2>&1
}

# reference NAME [VAR=VALUE...]: the same inputs through the umoci backend,
# layout ref-NAME
reference() {
	_b=$1
	shift
	env IMAGE_ROOTFS="$TEST_DIR/rootfs" WORKDIR="$TEST_DIR/work" OCI_IMAGE_ARCH=amd64 "$@" \
		sh "$TEST_HELPERS/umoci-backend.sh" "ref-$_b" >"ref-$_b.log" 2>&1 || {
		cat "ref-$_b.log" >&2
		return 1
	}
}

# tree DIR: the listing compared: no uid, gid and hardlink-group columns,
# no device
tree() {
	tree_listing --no-root --exclude dev/null "$1" | cut -f1,2,5-8,10-
}

# unpacked LAYOUT NAME: umoci unpack of LAYOUT:latest, its tree in NAME.tree
unpacked() {
	umoci unpack --image "$1:latest" "$2.bundle" >"$2.unpack.log" 2>&1 || {
		cat "$2.unpack.log" >&2
		return 1
	}
	tree "$2.bundle/rootfs" >"$2.tree"
}

# manifest LAYOUT [TAG]: the manifest (or index) TAG (latest) names
manifest() {
	blob_path "$1" "$("$PYTHON" -c 'import json, sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(m["digest"])' "$1" "${2:-latest}")"
}

# layers LAYOUT: the layer digests of its latest manifest, one a line
layers() {
	json_get "$(manifest "$1")" "\"\\n\".join(l[\"digest\"] for l in j[\"layers\"])"
}

# config LAYOUT [TAG]: the config of its TAG (latest) manifest
config() {
	blob_path "$1" "$(json_get "$(manifest "$1" "$2")" "j[\"config\"][\"digest\"]")"
}

# clients NAME EXPECTED-TREE: umoci, skopeo, oci-image-tool and containerd
# read deploy/NAME-latest-oci (and its .tar); the trees are EXPECTED-TREE
clients() {
	_c=$1 _e=$2 _l=deploy/$1-latest-oci
	verify_blobs "$_l" >/dev/null || return 1
	if test_have_prereq UMOCI_ROOT; then
		unpacked "$_l" "$_c.umoci" && test_cmp "$_e" "$_c.umoci.tree" || return 1
	fi
	if test_have_prereq SKOPEO; then
		skopeo inspect "oci:$_l:latest" >"$_c.skopeo.json" &&
		test "$(json_get "$_c.skopeo.json" "len(j[\"Layers\"])")" = "$(layers "$_l" | wc -l)" &&
		skopeo inspect "oci-archive:deploy/$_c-latest-oci.tar:latest" >/dev/null || return 1
	fi
	if command -v oci-image-tool >/dev/null 2>&1 && test_have_prereq ROOT; then
		oci-image-tool create --ref name=latest "$(readlink -f "$_l")" "$_c.oit" 2>"$_c.oit.err" || {
			cat "$_c.oit.err" >&2
			return 1
		}
		tree "$_c.oit/rootfs" >"$_c.oit.tree" &&
		test_cmp "$_e" "$_c.oit.tree" &&
		test -s "$_c.oit/config.json" || return 1
	fi
	if test_have_prereq CTRD; then
		ctr_import "$_c" "deploy/$_c-latest-oci.tar" --base-name "example.org/yocto/$_c" &&
		ctr_mounted "$_c" "example.org/yocto/$_c:latest" tree >"$_c.ctr.tree" &&
		test_cmp "$_e" "$_c.ctr.tree" || return 1
	fi
}

test_expect_success CTRD 'setup: a private containerd' '
	ctrd_start
'

test_expect_success 'setup: rootfs trees made under pseudo, as do_rootfs makes them' '
	mkdir deploy work top &&
	echo "host certificate" >host-ca.crt &&
	$FAKER sh -c "
		set -e
		# IMAGE_ROOTFS, merged /usr
		mkdir -p rootfs/usr/bin rootfs/usr/lib rootfs/etc/app rootfs/opt/app/lib \
			rootfs/srv/data rootfs/dev rootfs/home/user
		ln -s usr/bin rootfs/bin && ln -s usr/lib rootfs/lib
		echo shell >rootfs/usr/bin/sh && chmod 755 rootfs/usr/bin/sh
		echo app >rootfs/usr/bin/app && chmod 4755 rootfs/usr/bin/app
		echo libc >rootfs/usr/lib/libc.so
		echo base >rootfs/etc/os-release
		echo conf >rootfs/etc/app/app.conf
		echo run >rootfs/opt/app/run && chmod 755 rootfs/opt/app/run
		echo lib >rootfs/opt/app/lib/libapp.so
		ln rootfs/opt/app/run rootfs/opt/app/run-again
		echo data >rootfs/srv/data/file
		echo notes >rootfs/home/user/notes
		chown -R 1000:1000 rootfs/home/user
		mknod rootfs/dev/null c 1 3
		# the package layers the prefunc installs (multi mode)
		mkdir -p work/oci-layer-rootfs/layer-1-base/usr/bin work/oci-layer-rootfs/layer-1-base/etc \
			work/oci-layer-rootfs/layer-2-tools/usr/bin
		ln -s usr/bin work/oci-layer-rootfs/layer-1-base/bin
		cp -a rootfs/usr/bin/sh work/oci-layer-rootfs/layer-1-base/usr/bin/sh
		cp -a rootfs/etc/os-release work/oci-layer-rootfs/layer-1-base/etc/os-release
		echo tool >work/oci-layer-rootfs/layer-2-tools/usr/bin/tool
		# a base image rootfs with merged /usr, and one without
		mkdir -p merged/usr/bin merged/usr/lib merged/etc plain/bin plain/lib plain/usr/bin
		ln -s usr/bin merged/bin && ln -s usr/lib merged/lib
		echo base-shell >merged/usr/bin/sh && echo base-libc >merged/usr/lib/libc.so
		echo merged-base >merged/etc/os-release
		echo busybox >plain/bin/busybox && ln -s busybox plain/bin/sh
		echo plain-libc >plain/lib/libc.so && echo x >plain/usr/bin/x
		# an application rootfs without merged /usr
		mkdir -p flat/bin flat/lib flat/etc
		echo flat-app >flat/bin/app && echo flat-lib >flat/lib/libapp.so
		echo flat >flat/etc/flat.conf
	" &&
	$FAKER ls -ln rootfs/dev/null | grep "^c.* 0  *0  *1, *3 "
'

# --- one layer ------------------------------------------------------------

test_expect_success 'single: the files and symlinks image-oci makes, one layer' '
	build single &&
	n=single-qemux86-64.rootfs-oci &&
	test -f deploy/$n/index.json && test -f deploy/$n.tar && test -f deploy/$n-dir.tar &&
	test "$(readlink deploy/single-latest-oci)" = $n &&
	test "$(readlink deploy/single-latest-oci.tar)" = $n.tar &&
	test "$(readlink deploy/single-latest-oci-dir.tar)" = $n-dir.tar &&
	test $(layers deploy/single-latest-oci | wc -l) = 1 &&
	! test -d work/ocipipe-oci.* &&
	json_get "$(config deploy/single-latest-oci)" "j[\"config\"].get(\"Cmd\")" >cmd &&
	echo "[\"/bin/sh\"]" >expect && test_cmp expect cmd
'

test_expect_success UMOCI_ROOT 'single: the reference image of the umoci backend' '
	reference single &&
	unpacked ref-single ref-single &&
	test $(layers ref-single | wc -l) = 1
'

test_expect_success UMOCI_ROOT 'single: umoci, skopeo, oci-image-tool and containerd see the tree the umoci backend makes' '
	clients single ref-single.tree
'

test_expect_success 'single: the layer keeps what pseudo recorded (owners, setuid, device, hardlink)' '
	l=$(blob_path deploy/single-latest-oci "$(layers deploy/single-latest-oci)") &&
	tar -tvzf "$l" >layer.list &&
	grep "^crw-r--r-- 0/0 .* dev/null\$" layer.list &&
	grep "^-rwsr-xr-x 0/0 .* usr/bin/app\$" layer.list &&
	grep "^drwxr-xr-x 1000/1000 .* home/user/\$" layer.list &&
	grep "^h.* opt/app/run-again link to opt/app/run\$" layer.list
'

# --- a base image -----------------------------------------------------------

test_expect_success 'base: a base image built by the task (recipe container-base)' '
	build container-base IMAGE_ROOTFS="$TEST_DIR/merged" OCI_IMAGE_ENTRYPOINT=/usr/bin/sh \
		OCI_IMAGE_CMD="-c true" OCI_IMAGE_ENV_VARS="BASE=1 PATH=/usr/bin" &&
	test $(layers deploy/container-base-latest-oci | wc -l) = 1
'

test_expect_success 'base by recipe: the base layers byte for byte, its config inherited, the rootfs on top' '
	build onrecipe OCI_BASE_IMAGE=container-base OCI_IMAGE_ENV_VARS="APP=1" \
		OCI_IMAGE_ENTRYPOINT= OCI_IMAGE_CMD= &&
	grep "base image .*container-base-latest-oci" onrecipe.log &&
	layers deploy/container-base-latest-oci >base.layers &&
	layers deploy/onrecipe-latest-oci >on.layers &&
	test $(wc -l <on.layers) = 2 &&
	head -n 1 on.layers >on.first && test_cmp base.layers on.first &&
	c=$(config deploy/onrecipe-latest-oci) &&
	json_get "$c" "[j[\"config\"][k] for k in (\"Entrypoint\", \"Cmd\", \"Env\")]" >actual &&
	echo "[[\"/usr/bin/sh\"], [\"-c\", \"true\"], [\"BASE=1\", \"PATH=/usr/bin\", \"APP=1\"]]" >expect &&
	test_cmp expect actual
'

test_expect_success 'base by path: the same image as by recipe' '
	build onpath OCI_BASE_IMAGE="$TEST_DIR/deploy/container-base-latest-oci" \
		OCI_IMAGE_ENV_VARS="APP=1" OCI_IMAGE_ENTRYPOINT= OCI_IMAGE_CMD= &&
	test "$(basename "$(manifest deploy/onpath-latest-oci)")" = "$(basename "$(manifest deploy/onrecipe-latest-oci)")"
'

test_expect_success UMOCI_ROOT 'base: the tree the umoci backend makes, read by every client' '
	reference onrecipe OCI_BASE_DIR="$TEST_DIR/deploy/container-base-latest-oci" &&
	unpacked ref-onrecipe ref-onrecipe &&
	test $(layers ref-onrecipe | wc -l) = 2 &&
	clients onrecipe ref-onrecipe.tree &&
	clients onpath ref-onrecipe.tree
'

test_expect_success 'base: a plain /usr rootfs over a merged /usr base keeps the base merged' '
	build flatonmerged IMAGE_ROOTFS="$TEST_DIR/flat" OCI_BASE_IMAGE=container-base &&
	grep "/bin is a symlink to /usr/bin below" flatonmerged.log &&
	oci-flatten deploy/flatonmerged-latest-oci.tar | tar -tv >flat.list &&
	grep "^l.* bin -> usr/bin\$" flat.list &&
	grep " usr/bin/app\$" flat.list && grep " usr/bin/sh\$" flat.list &&
	grep " usr/lib/libapp.so\$" flat.list && grep " usr/lib/libc.so\$" flat.list
'

test_expect_success 'base: a merged /usr rootfs over a plain base replaces its /bin (as umoci does), with a warning' '
	build plain IMAGE_ROOTFS="$TEST_DIR/plain" &&
	build mergedonplain OCI_BASE_IMAGE=plain &&
	grep "WARNING: .*/bin is a symlink over a directory of the layers below.* 2 entries are hidden" mergedonplain.log
'

# expected trees: what the user asked for, written out
test_expect_success UMOCI_ROOT 'base, merged /usr both ways: umoci, containerd, oci-image-tool apply the layers' '
	reference mergedonplain OCI_BASE_DIR="$TEST_DIR/deploy/plain-latest-oci" &&
	unpacked ref-mergedonplain ref-mergedonplain &&
	clients mergedonplain ref-mergedonplain.tree &&
	grep "^l	0777	.*	usr/bin	.*	bin\$" ref-mergedonplain.tree &&
	! grep "	bin/busybox\$" ref-mergedonplain.tree &&
	unpacked deploy/flatonmerged-latest-oci flatonmerged &&
	clients flatonmerged flatonmerged.tree &&
	grep "^l	0777	.*	usr/bin	.*	bin\$" flatonmerged.tree &&
	grep "	usr/bin/app\$" flatonmerged.tree &&
	grep "	usr/bin/sh\$" flatonmerged.tree &&
	# the umoci backend replaces the base symlink by the directory
	reference flatonmerged IMAGE_ROOTFS="$TEST_DIR/flat" \
		OCI_BASE_DIR="$TEST_DIR/deploy/container-base-latest-oci" &&
	unpacked ref-flatonmerged ref-flatonmerged &&
	grep "^d	0755	.*	bin\$" ref-flatonmerged.tree &&
	! grep "	bin/sh\$" ref-flatonmerged.tree
'

test_expect_success PODMAN_ROOT 'base, merged /usr both ways: podman applies the layers too' '
	PODMAN_RUNROOT=$(mktemp -d /tmp/ocipipe-podman.XXXXXX) &&
	mkdir -p podman/tmp &&
	for i in flatonmerged mergedonplain; do
		podman --storage-driver vfs --root "$TEST_DIR/podman/root" --runroot "$PODMAN_RUNROOT" \
			--tmpdir "$TEST_DIR/podman/tmp" pull -q "oci:deploy/$i-latest-oci:latest" >$i.pull &&
		m=$(podman --storage-driver vfs --root "$TEST_DIR/podman/root" --runroot "$PODMAN_RUNROOT" \
			--tmpdir "$TEST_DIR/podman/tmp" image mount "$(cat $i.pull)") &&
		tree "$m" >$i.podman.tree &&
		test_cmp $i.umoci.tree $i.podman.tree || break
	done
	r=$?
	rm -rf "$PODMAN_RUNROOT"
	test $r = 0
'

# --- multi-layer ------------------------------------------------------------

LAYERS="base:packages:base-files+busybox tools:packages:tool app:directories:/opt/app+/etc"
LAYERS="$LAYERS conf:files:/etc/app/app.conf+/bin/app+/usr/bin/sh"
LAYERS="$LAYERS certs:host:$TEST_DIR/host-ca.crt:/etc/ssl/ca.crt"

test_expect_success 'multi: one layer per OCI_LAYERS entry, each only what the layers below lack' '
	build multi OCI_LAYER_MODE=multi OCI_LAYERS="$LAYERS" OCI_LAYER_CACHE=0 &&
	layers deploy/multi-latest-oci >multi.layers &&
	test $(wc -l <multi.layers) = 5 &&
	for i in 1 2 3 4 5; do
		tar -tzf "$(blob_path deploy/multi-latest-oci "$(sed -n ${i}p multi.layers)")" >multi.$i || return 1
	done &&
	grep -x "bin" multi.1 && grep -x "usr/bin/sh" multi.1 &&
	grep -x "usr/bin/tool" multi.2 &&
	grep -x "opt/app/run" multi.3 && grep -x "etc/app/app.conf" multi.3 &&
	! grep -x "etc/os-release" multi.3 && ! grep "^usr/" multi.3 &&
	echo usr/bin/app >expect && test_cmp expect multi.4 &&
	grep -x "etc/ssl/ca.crt" multi.5 &&
	grep "conf: /etc/app/app.conf is in a layer below: left out" multi.log &&
	grep "WARNING: .*layer certs copies files of the build machine" multi.log &&
	grep "paths of IMAGE_ROOTFS are in no layer.*/dev" multi.log &&
	json_get "$(config deploy/multi-latest-oci)" "[h.get(\"created_by\") for h in j[\"history\"]]" >history &&
	grep -F "\"base:packages:base-files+busybox\", \"tools:packages:tool\"" history
'

test_expect_success 'multi: host files are stored owned by root' '
	tar -tvzf "$(blob_path deploy/multi-latest-oci "$(sed -n 5p multi.layers)")" >certs.list &&
	grep "^-rw-r--r-- 0/0 .* etc/ssl/ca.crt\$" certs.list
'

test_expect_success UMOCI_ROOT 'multi: the layer count and tree of the umoci backend, read by every client' '
	reference multi OCI_LAYER_MODE=multi OCI_LAYERS="$LAYERS" &&
	test $(layers ref-multi | wc -l) = 5 &&
	unpacked ref-multi ref-multi &&
	clients multi ref-multi.tree
'

test_expect_success 'multi: OCI_LAYERS empty, an unknown type, a missing package rootfs fail with one line' '
	test_must_fail build m1 OCI_LAYER_MODE=multi OCI_LAYERS= &&
	grep -x "ERROR: OCI: OCI_LAYER_MODE is multi but OCI_LAYERS is empty (name:type:content ...)" m1.log &&
	test_must_fail build m2 OCI_LAYER_MODE=multi OCI_LAYERS="x:tarball:/opt" &&
	grep -x "ERROR: OCI: OCI_LAYERS entry .x:tarball:/opt.: unknown layer type .tarball. (packages, directories, files or host)" m2.log &&
	test_must_fail build m3 OCI_LAYER_MODE=multi OCI_LAYERS="base:packages:x tools:packages:y c:packages:z" &&
	grep "ERROR: OCI: layer c: no package rootfs .*/layer-3-c " m3.log &&
	test_must_fail build m4 OCI_LAYER_MODE=layered &&
	test_must_fail build m5 OCI_BASE_IMAGE=docker.io/library/alpine:3.19 &&
	grep "ERROR: OCI: OCI_BASE_IMAGE docker.io/library/alpine:3.19 is a registry reference: fetch it with a container-bundle recipe" m5.log &&
	test_must_fail build m6 OCI_BASE_IMAGE=no-such-recipe &&
	grep "ERROR: OCI: base image no-such-recipe: no OCI layout at .*/deploy/no-such-recipe-latest-oci\$" m6.log &&
	for i in 1 2 3 4 5 6; do
		test $(grep -c "^ERROR" m$i.log) = 1 || return 1
		! test -e deploy/m$i-qemux86-64.rootfs-oci || return 1
	done
'

# --- the layer cache ----------------------------------------------------------

# --- packages: split along the package lines (issue 20) ----------------------

# config_history LAYOUT: the created_by of each history entry, one a line
config_history() {
	json_get "$(config "$1")" "\"\\n\".join(h.get(\"created_by\", \"\") for h in j[\"history\"])"
}

test_expect_success 'setup: a rootfs with an opkg database, and pkgdata for the one without' '
	$FAKER sh -c "
		set -e
		cp -a rootfs pkgrootfs
		mkdir -p pkgrootfs/var/lib/opkg/info
		printf \"/usr/bin/sh\t0755\n/lib/libc.so\n/etc/os-release\n\" >pkgrootfs/var/lib/opkg/info/base.list
		printf \"/usr/bin/app\n/etc/app\n/etc/app/app.conf\n/opt/app\n/opt/app/run\n/opt/app/run-again\n/opt/app/lib/libapp.so\n\" \
			>pkgrootfs/var/lib/opkg/info/app.list
		printf \"/srv/data/file\n/srv/data/gone\n\" >pkgrootfs/var/lib/opkg/info/data.list
	" &&
	mkdir -p pkgdata/runtime &&
	echo "FILES_INFO:base: {\"/usr/bin/sh\": 6, \"/usr/lib/libc.so\": 5, \"/etc/os-release\": 5}" >pkgdata/runtime/base &&
	echo "FILES_INFO:app: {\"/usr/bin/app\": 4, \"/etc/app/app.conf\": 5, \"/opt/app/run\": 4}" >pkgdata/runtime/app &&
	echo "FILES_INFO:app-dbg: {\"/usr/bin/.debug/app\": 4}" >pkgdata/runtime/app-dbg &&
	touch pkgdata/runtime/app.packaged
'

# flat_tree LAYOUT NAME: the image flattened (oci-flatten), extracted, its
# tree in NAME.tree and its tar listing in NAME.flat
flat_tree() {
	oci-flatten "deploy/$1.tar" >"$2.tar" &&
	tar_listing --mtime "$2.tar" >"$2.flat" &&
	mkdir "$2.x" && tar -C "$2.x" --same-owner -xpf "$2.tar" &&
	tree "$2.x" >"$2.tree"
}

test_expect_success ROOT 'packages: layers along the opkg database, the tree of the single layer' '
	build pkgs IMAGE_ROOTFS="$TEST_DIR/pkgrootfs" OCI_LAYER_MODE=packages OCI_LAYER_MAX=5 &&
	build pkgsingle IMAGE_ROOTFS="$TEST_DIR/pkgrootfs" &&
	flat_tree pkgs-latest-oci pkgs-flat &&
	flat_tree pkgsingle-latest-oci pkgsingle-flat &&
	test_cmp pkgsingle-flat.flat pkgs-flat.flat &&
	grep "NOTE: OCI: package layers: 3 packages" pkgs.log &&
	n=$(layers deploy/pkgs-latest-oci | wc -l) &&
	test $n -ge 3 && test $n -le 5 &&
	config_history deploy/pkgs-latest-oci >hist &&
	test "$(tail -n 1 hist)" = "oci-layer --split (layer rest)" &&
	test $(grep -c "^oci-layer --split (layer group-0[0-9])\$" hist) = $((n - 1)) &&
	clients pkgs pkgsingle-flat.tree
'

test_expect_success ROOT 'packages: a rebuild after one package changed changes at most 2 layers' '
	$FAKER sh -c "echo app-2 >pkgrootfs/usr/bin/app" &&
	layers deploy/pkgs-latest-oci >before &&
	build pkgs2 IMAGE_ROOTFS="$TEST_DIR/pkgrootfs" OCI_LAYER_MODE=packages OCI_LAYER_MAX=5 &&
	layers deploy/pkgs2-latest-oci >after &&
	test $(wc -l <before) = $(wc -l <after) &&
	test $(diff before after | grep -c "^>") -le 2 &&
	$FAKER sh -c "echo app >pkgrootfs/usr/bin/app"
'

test_expect_success ROOT 'packages: from PKGDATA_DIR when the rootfs has no database' '
	build pkgd OCI_LAYER_MODE=packages PKGDATA_DIR="$TEST_DIR/pkgdata" &&
	flat_tree pkgd-latest-oci pkgd-flat &&
	flat_tree single-latest-oci single-flat &&
	test_cmp single-flat.flat pkgd-flat.flat &&
	grep "NOTE: OCI: package layers: 2 packages" pkgd.log &&
	test $(layers deploy/pkgd-latest-oci | wc -l) -ge 2 &&
	clients pkgd single-flat.tree
'

test_expect_success 'packages: no database, a bad OCI_LAYER_MAX fail with one line, no image' '
	test_must_fail build p1 OCI_LAYER_MODE=packages &&
	grep -x "ERROR: OCI: OCI_LAYER_MODE is packages but IMAGE_ROOTFS has no package database and PKGDATA_DIR has no runtime/" p1.log &&
	test_must_fail build p2 IMAGE_ROOTFS="$TEST_DIR/pkgrootfs" OCI_LAYER_MODE=packages OCI_LAYER_MAX=200 &&
	grep -x "ERROR: OCI: OCI_LAYER_MAX is 200: a number of layers, 2 to 127" p2.log &&
	test_must_fail build p3 IMAGE_ROOTFS="$TEST_DIR/pkgrootfs" OCI_LAYER_MODE=packages OCI_LAYER_MAX=x &&
	for i in 1 2 3; do
		test $(grep -c "^ERROR" p$i.log) = 1 || return 1
		! test -e deploy/p$i-qemux86-64.rootfs-oci || return 1
	done
'

test_expect_success 'cache: a first build misses, a rebuild hits and gives the same image' '
	build cached OCI_LAYER_MODE=multi OCI_LAYERS="$LAYERS" &&
	test $(grep -c "layer cache miss" cached.log) = 5 &&
	ls top/oci-layer-cache/qemux86-64 | grep -v "^ocipipe-blocks-1\$" >entries &&
	test $(wc -l <entries) = 5 &&
	cp deploy/cached-latest-oci.tar first.tar &&
	layers deploy/cached-latest-oci >cached.layers &&
	test_cmp multi.layers cached.layers &&
	build cached OCI_LAYER_MODE=multi OCI_LAYERS="$LAYERS" &&
	test $(grep -c "layer cache hit" cached.log) = 5 &&
	cmp first.tar deploy/cached-latest-oci.tar
'

test_expect_success 'cache: a changed input misses for its layer only' '
	$FAKER sh -c "echo v2 >rootfs/opt/app/lib/libapp.so" &&
	build cached OCI_LAYER_MODE=multi OCI_LAYERS="$LAYERS" &&
	grep "layer cache miss: app " cached.log &&
	test $(grep -c "layer cache hit" cached.log) = 4 &&
	$FAKER sh -c "echo lib >rootfs/opt/app/lib/libapp.so" &&
	build cached OCI_LAYER_MODE=multi OCI_LAYERS="$LAYERS" &&
	test $(grep -c "layer cache hit" cached.log) = 5 &&
	cmp first.tar deploy/cached-latest-oci.tar
'

test_expect_success 'cache: damaged or truncated entries are built again, never used' '
	c=top/oci-layer-cache/qemux86-64 &&
	set -- $(sed -n "s/.*layer cache hit: .* (\(.*\))\$/\1/p" cached.log) &&
	printf X | dd of=$c/$1/layer.stream bs=1 seek=1100 conv=notrunc 2>/dev/null &&
	truncate -s 1000 $c/$2/layer.stream &&
	rm $c/$3/layer.sum &&
	# bytes and record changed together: the chunks no longer match the descriptor
	printf X | dd of=$c/$4/layer.stream bs=1 seek=1100 conv=notrunc 2>/dev/null &&
	echo "$(sha256sum <$c/$4/layer.stream | cut -c1-64) $(wc -c <$c/$4/layer.stream)" >$c/$4/layer.sum &&
	build cached OCI_LAYER_MODE=multi OCI_LAYERS="$LAYERS" &&
	grep "entry of .* ($1) is damaged (its bytes changed): built again" cached.log &&
	grep "entry of .* ($2) is damaged (its bytes changed): built again" cached.log &&
	grep "entry of .* ($3) is damaged (incomplete): built again" cached.log &&
	grep "entry of .* ($4) is damaged (its layer does not match its descriptor): built again" cached.log &&
	test $(grep -c "layer cache hit" cached.log) = 1 &&
	cmp first.tar deploy/cached-latest-oci.tar &&
	build cached OCI_LAYER_MODE=multi OCI_LAYERS="$LAYERS" &&
	test $(grep -c "layer cache hit" cached.log) = 5 &&
	! ls -a $c | grep "^\.new\|^\.damaged"
'

test_expect_success 'block cache: single mode with OCI_LAYER_CACHE=1 reuses blocks, the same image' '
	rm -rf top/oci-layer-cache &&
	build blk0 OCI_LAYER_CACHE=0 OCI_LAYER_CACHE_DIR="$TEST_DIR/top/oci-layer-cache/qemux86-64" &&
	test ! -e top/oci-layer-cache &&
	build blk OCI_LAYER_CACHE_MAX=64M &&
	b=top/oci-layer-cache/qemux86-64/ocipipe-blocks-1 &&
	test -n "$(find $b -type f)" &&
	cp deploy/blk-latest-oci.tar blk-first.tar &&
	touch -d "2 days ago" $(find $b -type f) &&
	build blk &&
	test -z "$(find $b -type f -mtime +1)" &&
	cmp blk-first.tar deploy/blk-latest-oci.tar &&
	layers deploy/blk0-latest-oci >blk0.layers &&
	layers deploy/blk-latest-oci >blk.layers &&
	test_cmp blk0.layers blk.layers
'

test_expect_success 'block cache: OCI_LAYER_CACHE_MAX bounds it' '
	build blk OCI_LAYER_CACHE_MAX=1 &&
	cmp blk-first.tar deploy/blk-latest-oci.tar &&
	test -z "$(find top/oci-layer-cache/qemux86-64/ocipipe-blocks-1 -type f)"
'

# --- labels, variables --------------------------------------------------------

test_expect_success 'labels: revision and branch of a git TOPDIR, created from SOURCE_DATE_EPOCH' '
	git init -q top &&
	git -C top -c user.name=t -c user.email=t@example.org commit -q --allow-empty -m init &&
	git -C top checkout -q -b release-1 &&
	build labelled OCI_IMAGE_AUTO_LABELS=1 OCI_IMAGE_LABELS="team=tools" &&
	json_get "$(config deploy/labelled-latest-oci)" "j[\"config\"][\"Labels\"]" >labels &&
	cat >expect <<-EOF &&
	{"org.opencontainers.image.created": "2023-11-14T22:13:20Z", "org.opencontainers.image.ref.name": "release-1", "org.opencontainers.image.revision": "$(git -C top rev-parse --short HEAD)", "team": "tools"}
	EOF
	test_cmp expect labels
'

test_expect_success 'labels: "none" leaves each out, given values are taken, AUTO_LABELS=0 none' '
	build nolabels OCI_IMAGE_AUTO_LABELS=1 OCI_IMAGE_REVISION=none OCI_IMAGE_BRANCH=none \
		OCI_IMAGE_BUILD_DATE=none &&
	json_get "$(config deploy/nolabels-latest-oci)" "j[\"config\"].get(\"Labels\")" >labels &&
	echo null >expect && test_cmp expect labels &&
	build given OCI_IMAGE_AUTO_LABELS=1 OCI_IMAGE_REVISION=abc123 OCI_IMAGE_BRANCH="it'"'"'s" \
		OCI_IMAGE_BUILD_DATE=2024-01-01T00:00:00Z &&
	json_get "$(config deploy/given-latest-oci)" "j[\"config\"][\"Labels\"]" >labels &&
	echo "{\"org.opencontainers.image.created\": \"2024-01-01T00:00:00Z\", \"org.opencontainers.image.ref.name\": \"it'"'"'s\", \"org.opencontainers.image.revision\": \"abc123\"}" >expect &&
	test_cmp expect labels
'

test_expect_success 'empty exported variables count as unset; OCI_IMAGE_ENTRYPOINT_ARGS wins' '
	build emptyvars OCI_IMAGE_ENTRYPOINT= OCI_IMAGE_CMD= OCI_IMAGE_ENTRYPOINT_ARGS="-c '"'"'echo hi'"'"'" \
		OCI_IMAGE_WORKINGDIR= OCI_IMAGE_RUNTIME_UID= OCI_IMAGE_PORTS= OCI_IMAGE_TAG= &&
	json_get "$(config deploy/emptyvars-initial-tag-oci initial-tag)" "[j[\"config\"].get(k) for k in (\"Entrypoint\", \"Cmd\", \"WorkingDir\", \"User\")]" >actual &&
	echo "[null, [\"-c\", \"echo hi\"], null, null]" >expect &&
	test_cmp expect actual &&
	build defaults OCI_IMAGE_ENTRYPOINT= OCI_IMAGE_ENTRYPOINT_ARGS= &&
	json_get "$(config deploy/defaults-latest-oci)" "j[\"config\"][\"Cmd\"]" >actual &&
	echo "[\"/bin/sh\"]" >expect && test_cmp expect actual
'

# --- the README and the multi-platform example --------------------------------

test_expect_success FAKEROOT,SKOPEO 'examples/yocto/README: the quick start works as written' '
	sed -n "/^Quick start/,/^The script reads/p" "$YOCTO/README" | sed -n "s/^    //p" >quick.sh &&
	test $(wc -l <quick.sh) -ge 4 &&
	mkdir quick &&
	ln -s "$top_srcdir/examples" quick/examples &&
	(cd quick && sh -e ../quick.sh >../quick.log 2>&1) || { cat quick.log; exit 1; }
	test -f quick/deploy/my-image-latest-oci/index.json &&
	grep "\"Architecture\": \"$(host_arch)\"" quick.log
'

test_expect_success 'oci-multiarch: one index from two machines'"'"' images, digests kept' '
	build amd OCI_IMAGE_ARCH=x86_64 IMGDEPLOYDIR="$TEST_DIR/mc-amd" IMAGE_BASENAME=app &&
	build arm OCI_IMAGE_ARCH=aarch64 IMGDEPLOYDIR="$TEST_DIR/mc-arm" IMAGE_BASENAME=app &&
	sh "$YOCTO/oci-multiarch.sh" deploy/app-multiarch-oci latest mc-amd/app-latest-oci \
		mc-arm/app-latest-oci >ma.log 2>&1 &&
	i=$(manifest deploy/app-multiarch-oci) &&
	json_get "$i" "sorted((m[\"platform\"][\"architecture\"], m[\"digest\"]) for m in j[\"manifests\"])" >actual &&
	echo "[[\"amd64\", \"$(json_get mc-amd/app-latest-oci/index.json "j[\"manifests\"][0][\"digest\"]")\"], [\"arm64\", \"$(json_get mc-arm/app-latest-oci/index.json "j[\"manifests\"][0][\"digest\"]")\"]]" >expect &&
	test_cmp expect actual &&
	if test_have_prereq SKOPEO; then
		skopeo inspect --raw oci:deploy/app-multiarch-oci:latest >raw.json &&
		test "$(json_get raw.json "len(j[\"manifests\"])")" = 2
	fi &&
	test_must_fail sh "$YOCTO/oci-multiarch.sh" deploy/bad-oci latest mc-amd/app-latest-oci mc-amd/app-latest-oci >bad.log 2>&1 &&
	! test -e deploy/bad-oci
'

test_expect_success 'oci-multiarch: the script runs exactly the commands of the class task' '
	for f in "$YOCTO/oci-multiarch.sh" "$YOCTO/classes/oci-multiarch-ocipipe.bbclass"; do
		sed -n "/# >>> ocipipe oci-multiarch >>>/,/# <<< ocipipe oci-multiarch <<</p" "$f" || return 1
	done >both &&
	n=$(wc -l <both) && test $n -gt 20 &&
	head -n $((n / 2)) both >one && tail -n $((n / 2)) both >two &&
	test_cmp one two
'

# OCI_IMAGE_PUSH (an ocipipe addition): the task pushes what it writes,
# from the same stream; a push that fails fails the task.
if test_have_prereq REGISTRY,SKOPEO; then
	start_registry pushreg && PUSHREG=$REG && test_set_prereq PUSHREG
fi

test_expect_success PUSHREG 'OCI_IMAGE_PUSH: the image the task writes is pushed, the same manifest' '
	build pushed OCI_IMAGE_PUSH=docker://$PUSHREG/yocto/pushed \
		OCI_IMAGE_PUSH_OPTS=--tls-verify=false &&
	grep "pushed to docker://$PUSHREG/yocto/pushed (tag latest)" pushed.log &&
	skopeo inspect --raw --tls-verify=false docker://$PUSHREG/yocto/pushed:latest >pushed.raw &&
	json_get deploy/pushed-latest-oci/index.json \
		"[m[\"digest\"] for m in j[\"manifests\"]][0]" >want &&
	echo "sha256:$(sha256_of pushed.raw)" >got &&
	test_cmp want got
'

test_expect_success PUSHREG 'OCI_IMAGE_PUSH to a registry that is not there: the task fails, one line says so' '
	port=$(free_port) &&
	test_must_fail build nopush OCI_IMAGE_PUSH=docker://127.0.0.1:$port/yocto/nopush \
		OCI_IMAGE_PUSH_OPTS=--tls-verify=false &&
	grep "ERROR: OCI: pushing nopush-qemux86-64.* failed: oci-push:" nopush.log
'

test_done
