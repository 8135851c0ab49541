#!/bin/sh
# SPDX-License-Identifier: MIT
# Documentation that cannot rot: the man pages render without warnings and
# list exactly the options each program's --help lists; ocipipe(7) names
# every OCI_IMAGE_* variable the programs read; the bash completion offers
# the options of --help; every example script runs (the push one against a
# docker-registry on 127.0.0.1); the Yocto class's commands run under
# pseudo on a small rootfs and give the image the variables describe.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

MAN=$top_srcdir/man
EX=$top_srcdir/examples
PROGRAMS="oci-layer oci-config oci-manifest oci-pack oci-flatten oci-diff oci-push oci-layermap"

command -v groff >/dev/null 2>&1 && test_set_prereq GROFF
command -v man >/dev/null 2>&1 && test_set_prereq MAN
command -v bash >/dev/null 2>&1 && test_set_prereq BASH
command -v docker-registry >/dev/null 2>&1 && test_set_prereq REGISTRY

# --- man pages ---------------------------------------------------------------

for page in oci-layer.1 oci-config.1 oci-manifest.1 oci-pack.1 oci-flatten.1 oci-diff.1 oci-push.1 oci-layermap.1 ocipipe.7; do
	test_expect_success GROFF "man page $page renders without warnings (groff -ww)" "
		groff -ww -man -z '$MAN/$page' 2>err &&
		test_cmp /dev/null err
	"
	test_expect_success MAN "man page $page renders without warnings (man --warnings)" "
		MANWIDTH=80 man --warnings -l '$MAN/$page' >out 2>err &&
		test_cmp /dev/null err &&
		grep -q '^NAME' out
	"
done

# help_options PROG: the options --help lists, one a line, sorted ("--name",
# "-x"): from the option column of the lines that start with a dash.
help_options() {
	"$1" --help >help.out || return 1
	sed -n 's/^ *\(-.*\)$/\1/p' help.out | sed 's/  .*//' >help.cols &&
	{
		grep -o -- '--[a-z][a-z0-9-]*' help.cols
		sed -n 's/^\(-[A-Za-z]\),.*/\1/p' help.cols
	} | LC_ALL=C sort -u
}

# man_options PAGE: the options of the tag lines (.TP) of the OPTIONS section
man_options() {
	awk '/^\.SH /{ opts = ($2 == "OPTIONS") } opts && tp { print } { tp = ($0 == ".TP") }' "$1" |
		sed 's/\\-/-/g' >man.tags &&
	{
		grep -o -- '--[a-z][a-z0-9-]*' man.tags
		sed -n 's/^\.B[IR]* \(-[A-Za-z]\)\( .*\)\{0,1\}$/\1/p' man.tags
	} | LC_ALL=C sort -u
}

for p in $PROGRAMS; do
	test_expect_success "$p: --help and $p(1) list the same options" "
		help_options $p >help.list &&
		man_options '$MAN/$p.1' >man.list &&
		test -s help.list &&
		grep -qx -- --help help.list &&
		test_cmp help.list man.list
	"
done

test_expect_success 'the option check sees a missing option (self-test)' '
	help_options oci-layer >help.list &&
	awk "/^\.SH /{ o = (\$2 == \"OPTIONS\") } o && /clamp/ { next } { print }" "$MAN/oci-layer.1" >broken.1 &&
	man_options broken.1 >man.list &&
	! test_cmp help.list man.list 2>/dev/null
'

test_expect_success 'ocipipe(7) and oci-config(1) name every OCI_IMAGE_* variable the programs read' '
	cat "$top_srcdir"/src/*.c | grep -o "\"OCI_IMAGE_[A-Z_]*\"" | tr -d "\"" |
		LC_ALL=C sort -u >vars &&
	test $(wc -l <vars) -ge 12 &&
	for v in $(cat vars); do
		grep -q "^\.B $v\$" "$MAN/ocipipe.7" || { echo "ocipipe.7 lacks $v"; exit 1; }
		test $v = OCI_IMAGE_TAG ||
		grep -q "^\.B $v\$" "$MAN/oci-config.1" || { echo "oci-config.1 lacks $v"; exit 1; }
	done &&
	grep -q "^\.B SOURCE_DATE_EPOCH\$" "$MAN/ocipipe.7" &&
	grep -q "^\.B OCI_IMAGE_TAG\$" "$MAN/oci-pack.1"
'

test_expect_success 'each man page has the exit codes 0, 1 and 2' '
	for page in oci-layer.1 oci-config.1 oci-manifest.1 oci-pack.1 oci-flatten.1 oci-diff.1 oci-push.1 oci-layermap.1 ocipipe.7; do
		sed -n "/^\.SH EXIT STATUS/,/^\.SH /p" "$MAN/$page" >exit.sec &&
		grep -qx "\.B 0" exit.sec && grep -qx "\.B 1" exit.sec &&
		grep -qx "\.B 2" exit.sec || { echo "$page: exit codes"; exit 1; }
	done
'

# --- bash completion ---------------------------------------------------------

# complete_words PROG WORD...: what the completion offers for the last word
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		_ocipipe "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}";
		printf "%s\n" "${COMPREPLY[@]}"' sh "$top_srcdir/completion/ocipipe.bash" "$@"
}

for p in $PROGRAMS; do
	test_expect_success BASH "bash completion: $p -- offers the long options of --help" "
		help_options $p | grep -- '^--' >expect &&
		complete_words $p -- | LC_ALL=C sort -u >actual &&
		test_cmp expect actual
	"
done

test_expect_success BASH 'bash completion: option values' '
	complete_words oci-layer --compress "" >actual &&
	printf "gzip\nzstd\nnone\n" >expect &&
	test_cmp expect actual &&
	complete_words oci-config --arch = arm6 >actual &&
	echo arm64 >expect &&
	test_cmp expect actual &&
	mkdir layoutdir &&
	complete_words oci-pack -o layout >actual &&
	echo layoutdir >expect &&
	test_cmp expect actual
'

test_expect_success BASH 'bash completion: registered for the four programs' '
	bash -c ". \"$top_srcdir/completion/ocipipe.bash\"; complete -p" >reg &&
	for p in $PROGRAMS; do
		grep -q "complete -F _ocipipe .*$p" reg || { cat reg; exit 1; }
	done
'

# --- examples ----------------------------------------------------------------

test_expect_success 'examples/make-demo-rootfs.sh makes a rootfs with a shell' '
	sh "$EX/make-demo-rootfs.sh" demo >out &&
	test -x demo/bin/sh &&
	test -f demo/hello.txt &&
	mkdir app app/app &&
	printf "#!/bin/sh\necho app\n" >app/app/run &&
	chmod 755 app/app/run
'

# layer_digests TARFILE TAG: the layer digests skopeo sees, as JSON
layer_digests() {
	skopeo inspect "oci-archive:$1:$2" >inspect.json &&
	json_get inspect.json "j[\"Layers\"]"
}

test_expect_success 'examples/build-image.sh' '
	bash "$EX/build-image.sh" demo build.tar 1.0 >out &&
	test -s build.tar &&
	if test_have_prereq SKOPEO; then
		skopeo inspect --config oci-archive:build.tar:1.0 >config.json &&
		test "$(json_get config.json "j[\"config\"][\"Entrypoint\"]")" = "[\"/bin/sh\"]"
	fi
'

test_expect_success 'examples/basic-image.sh' '
	bash "$EX/basic-image.sh" demo basic.tar >out &&
	mkdir basic && tar -C basic -xf basic.tar &&
	test -f basic/oci-layout && test -f basic/index.json &&
	verify_blobs basic &&
	if test_have_prereq SKOPEO; then
		grep "\"Architecture\": \"$(host_arch)\"" out
	fi
'

test_expect_success 'examples/layered-image.sh: two layers, the base one shared' '
	bash "$EX/layered-image.sh" demo app layered.tar 2.0 >out &&
	bash "$EX/basic-image.sh" demo basic2.tar >/dev/null &&
	if test_have_prereq SKOPEO; then
		layer_digests layered.tar 2.0 >layers &&
		test "$("$PYTHON" -c "import json,sys; print(len(json.load(open(\"inspect.json\"))[\"Layers\"]))")" = 2 &&
		skopeo inspect --config oci-archive:layered.tar:2.0 >config.json &&
		json_get config.json "j[\"rootfs\"][\"diff_ids\"]" >diffids &&
		test "$(json_get config.json "len(j[\"history\"])")" -ge 2 &&
		json_get config.json "j[\"history\"][1][\"created_by\"]" >by &&
		echo "app: app" >expect && test_cmp expect by
	fi
'

test_expect_success 'examples/base-image.sh: the base layers as they were, the app on top' '
	bash "$EX/basic-image.sh" demo base.tar >/dev/null &&
	bash "$EX/base-image.sh" base.tar app onbase.tar 4.0 >out &&
	mkdir base onbase && tar -C base -xf base.tar && tar -C onbase -xf onbase.tar &&
	verify_blobs onbase &&
	bm=$(blob_path base "$(json_get base/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	om=$(blob_path onbase "$(json_get onbase/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	json_get "$bm" "[l[\"digest\"] for l in j[\"layers\"]]" >base.layers &&
	json_get "$om" "[l[\"digest\"] for l in j[\"layers\"]][:1]" >onbase.first &&
	test_cmp base.layers onbase.first &&
	test "$(json_get "$om" "len(j[\"layers\"])")" = 2 &&
	oc=$(blob_path onbase "$(json_get "$om" "j[\"config\"][\"digest\"]")") &&
	json_get "$oc" "j[\"config\"][\"Env\"]" >env &&
	echo "[\"APP=app\"]" >expect &&
	test_cmp expect env
'

# manifest_layers IMAGE.tar DIR: unpack the layout, print its layer digests
manifest_layers() {
	mkdir "$2" && tar -C "$2" -xf "$1" &&
	_m=$(blob_path "$2" "$(json_get "$2/index.json" "j[\"manifests\"][0][\"digest\"]")") &&
	json_get "$_m" "[l[\"digest\"] for l in j[\"layers\"]]"
}

test_expect_success 'examples/diff-image.sh: base + app from two whole trees, and on an image' '
	cp -a demo full1 && cp -a app/app full1/app &&
	rm full1/hello.txt &&
	cp -a full1 full2 && echo v2 >full2/app/version &&
	bash "$EX/diff-image.sh" demo full1 diff1.tar 1.0 >out &&
	bash "$EX/diff-image.sh" demo full2 diff2.tar 2.0 >out &&
	manifest_layers diff1.tar d1 >d1.layers &&
	manifest_layers diff2.tar d2 >d2.layers &&
	verify_blobs d1 && verify_blobs d2 &&
	test "$(json_get d1.layers "len(j)")" = 2 &&
	json_get d1.layers "j[0]" >base1 && json_get d2.layers "j[0]" >base2 &&
	test_cmp base1 base2 &&
	! test_cmp d1.layers d2.layers >/dev/null &&
	oci-flatten diff1.tar >flat1.tar &&
	tar_listing --no-root flat1.tar >actual &&
	(cd full1 && tar --sort=name --numeric-owner --owner=0 --group=0 -cf - .) >full1.tar &&
	tar_listing --no-root full1.tar >expect &&
	test_cmp expect actual &&
	oci-flatten --ref 1.0 diff1.tar | tar -tf - >/dev/null &&
	stream_split_layer() { tar -xOf "$1" "blobs/sha256/${2#sha256:}"; } &&
	stream_split_layer diff1.tar "$(json_get d1.layers "j[1]")" | tar -tzf - >app.names &&
	grep -x "app/run" app.names &&
	grep -x ".wh.hello.txt" app.names &&
	! grep -x "bin/sh" app.names &&
	bash "$EX/diff-image.sh" diff1.tar full2 ondiff.tar 3.0 >out &&
	manifest_layers ondiff.tar d3 >d3.layers &&
	json_get d3.layers "j[:2]" >d3.first &&
	json_get d1.layers "j" >d1.all &&
	test_cmp d1.all d3.first &&
	test "$(json_get d3.layers "len(j)")" = 3 &&
	oci-flatten ondiff.tar >flat3.tar &&
	tar_listing --no-root flat3.tar >actual3 &&
	(cd full2 && tar --sort=name --numeric-owner --owner=0 --group=0 -cf - .) >full2.tar &&
	tar_listing --no-root full2.tar >expect3 &&
	test_cmp expect3 actual3
'

test_expect_success 'examples/multi-platform.sh: an index of amd64 and arm64' '
	cp -a demo demo-arm64 &&
	bash "$EX/multi-platform.sh" demo demo-arm64 multi.tar 3.0 >out &&
	mkdir multi && tar -C multi -xf multi.tar &&
	verify_blobs multi &&
	idx=$(blob_path multi "$(json_get multi/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	json_get "$idx" "sorted(m[\"platform\"][\"architecture\"] for m in j[\"manifests\"])" >archs &&
	echo "[\"amd64\", \"arm64\"]" >expect &&
	test_cmp expect archs &&
	if test_have_prereq SKOPEO; then
		grep "^arm64: linux/arm64 " out &&
		grep "^amd64: linux/amd64 " out
	fi
'

test_expect_success 'examples/reproducible-build.sh: two builds, one sha256' '
	bash "$EX/reproducible-build.sh" demo 1700000000 >out &&
	grep -x identical out &&
	test $(grep -c "^build .*sha256:" out) = 2 &&
	test $(sed -n "s/^build .*sha256://p" out | sort -u | wc -l) = 1
'

if test_have_prereq REGISTRY && test_have_prereq SKOPEO; then
	start_registry registry && test_set_prereq REG_UP
fi

test_expect_success REGISTRY,SKOPEO 'examples/push-skopeo.sh pushes to a docker-registry on 127.0.0.1' '
	test_have_prereq REG_UP &&
	TLS_VERIFY=false bash "$EX/push-skopeo.sh" demo $REG/ocipipe/demo:1.0 >out &&
	grep "^pushed docker://$REG/ocipipe/demo:1.0" out &&
	skopeo inspect --tls-verify=false docker://$REG/ocipipe/demo:1.0 >reg.json &&
	test "$(json_get reg.json "len(j[\"Layers\"])")" = 1 &&
	skopeo inspect --tls-verify=false --config docker://$REG/ocipipe/demo:1.0 >config.json &&
	test "$(json_get config.json "j[\"config\"][\"Entrypoint\"]")" = "[\"/bin/sh\"]"
'

test_expect_success REGISTRY,SKOPEO 'examples/push.sh pushes with oci-push; the second push uploads nothing' '
	test_have_prereq REG_UP &&
	TLS_VERIFY=false bash "$EX/push.sh" demo $REG/ocipipe/pushed:1.0 >out 2>err &&
	test "$(grep -c "^oci-push: 1 image, 1 layer, 2 blobs: " err)" = 2 &&
	tail -n 1 err | grep ": 0 uploaded (.*), 2 already there" &&
	grep "^sha256:" out &&
	skopeo inspect --tls-verify=false --config docker://$REG/ocipipe/pushed:1.0 >config.json &&
	test "$(json_get config.json "j[\"config\"][\"Entrypoint\"]")" = "[\"/bin/sh\"]"
'

test_expect_success 'the example scripts refuse bad arguments with exit 2' '
	for s in basic-image base-image layered-image multi-platform reproducible-build push-skopeo push build-image; do
		test_expect_code 2 bash "$EX/$s.sh" 2>err || exit 1
		grep -q "^usage: " err || exit 1
	done
'

# --- Yocto -------------------------------------------------------------------

YOCTO=$EX/yocto

test_expect_success 'yocto: the script runs exactly the commands of IMAGE_CMD:oci' '
	sed -n "/# >>> ocipipe IMAGE_CMD:oci >>>/,/# <<< ocipipe IMAGE_CMD:oci <<</p" \
		"$YOCTO/ocipipe-image-oci.sh" >script.body &&
	sed -n "/# >>> ocipipe IMAGE_CMD:oci >>>/,/# <<< ocipipe IMAGE_CMD:oci <<</p" \
		"$YOCTO/classes/image-oci-ocipipe.inc" >class.body &&
	test $(wc -l <script.body) -gt 20 &&
	test_cmp script.body class.body &&
	grep -q "^IMAGE_CMD:oci() {" "$YOCTO/classes/image-oci-ocipipe.inc" &&
	grep -q "^require classes/image-oci-ocipipe.inc" "$YOCTO/classes/image-oci-ocipipe.bbclass" &&
	! grep -n "\${@" script.body
'

test_expect_success 'yocto: every OCI_IMAGE_* variable oci-config reads is exported by the class' '
	cat "$top_srcdir"/src/*.c | grep -o "\"OCI_IMAGE_[A-Z_]*\"" | tr -d "\"" |
		LC_ALL=C sort -u >vars &&
	for v in $(cat vars); do
		grep -qx "export $v" "$YOCTO/classes/image-oci-ocipipe.inc" || { echo "not exported: $v"; exit 1; }
		grep -q "^$v ?= " "$YOCTO/classes/image-oci-ocipipe.bbclass" || { echo "no default: $v"; exit 1; }
	done
'

use_pseudo

test_expect_success PSEUDO 'yocto: a small rootfs made under pseudo (owners, devices, setuid)' '
	mkdir deploy &&
	pseudo sh -c "
		mkdir -p rootfs/bin rootfs/dev rootfs/etc rootfs/home/user &&
		cp demo/bin/sh rootfs/bin/sh && chmod 4755 rootfs/bin/sh &&
		echo hello >rootfs/etc/motd &&
		chown 1000:1000 rootfs/home/user rootfs/etc/motd &&
		mknod rootfs/dev/null c 1 3 &&
		ln rootfs/etc/motd rootfs/etc/motd.link
	" &&
	pseudo ls -ln rootfs/dev/null | grep "^c.* 0  *0  *1, *3 "
'

test_expect_success PSEUDO 'yocto: the IMAGE_CMD:oci commands under pseudo make the files image-oci makes' '
	env IMAGE_ROOTFS="$TEST_DIR/rootfs" IMGDEPLOYDIR="$TEST_DIR/deploy" \
	    IMAGE_BASENAME=core-image-test \
	    IMAGE_NAME=core-image-test-qemuarm64-20240101000000 \
	    IMAGE_NAME_SUFFIX=.rootfs \
	    OCI_IMAGE_TAG=1.0:rc1 OCI_IMAGE_TAR_OUTPUT=true \
	    OCI_IMAGE_ARCH=aarch64 OCI_IMAGE_SUBARCH= \
	    OCI_IMAGE_ENTRYPOINT=/bin/sh OCI_IMAGE_ENTRYPOINT_ARGS="-c '"'"'cat /etc/motd'"'"'" \
	    OCI_IMAGE_ENV_VARS="LANG=C.UTF-8 GREETING=\"hello world\"" \
	    OCI_IMAGE_LABELS="org.example.layer=meta-test" \
	    OCI_IMAGE_PORTS="8080 53/udp" OCI_IMAGE_RUNTIME_UID=1000 \
	    OCI_IMAGE_WORKINGDIR=/home/user OCI_IMAGE_STOPSIGNAL= \
	    OCI_IMAGE_AUTHOR="Jo Builder" OCI_IMAGE_AUTHOR_EMAIL=jo@example.org \
	    SOURCE_DATE_EPOCH=1700000000 OCI_IMAGE_AUTO_LABELS=0 \
	    pseudo sh "$YOCTO/ocipipe-image-oci.sh" >yocto.out 2>&1 || { cat yocto.out; exit 1; }
	n=core-image-test-qemuarm64-20240101000000.rootfs-oci &&
	test -d deploy/$n && test -f deploy/$n/index.json &&
	test -f deploy/$n.tar && test -f deploy/$n-dir.tar &&
	test "$(readlink deploy/core-image-test-1.0_rc1-oci)" = $n &&
	test "$(readlink deploy/core-image-test-1.0_rc1-oci.tar)" = $n.tar &&
	test "$(readlink deploy/core-image-test-1.0_rc1-oci-dir.tar)" = $n-dir.tar &&
	tar -tf deploy/$n-dir.tar | grep -x "$n/index.json" &&
	tar -tf deploy/$n.tar | grep -x "./index.json" &&
	verify_blobs deploy/$n &&
	ls deploy >files &&
	test $(wc -l <files) = 6
'

test_expect_success PSEUDO,SKOPEO 'yocto: skopeo sees the config the OCI_IMAGE_* variables describe' '
	n=deploy/core-image-test-1.0_rc1-oci &&
	skopeo inspect --config oci:$n:1.0:rc1 >config.json &&
	cat >expect <<-\EOF &&
	arm64
	v8
	linux
	"Jo Builder <jo@example.org>"
	2023-11-14T22:13:20Z
	["/bin/sh"]
	["-c", "cat /etc/motd"]
	["LANG=C.UTF-8", "GREETING=hello world"]
	{"org.example.layer": "meta-test"}
	{"53/udp": {}, "8080/tcp": {}}
	1000
	/home/user
	EOF
	for e in "j[\"architecture\"]" "j[\"variant\"]" "j[\"os\"]" "json.dumps(j[\"author\"])" \
		"j[\"created\"]" "j[\"config\"][\"Entrypoint\"]" "j[\"config\"][\"Cmd\"]" \
		"j[\"config\"][\"Env\"]" "j[\"config\"][\"Labels\"]" "j[\"config\"][\"ExposedPorts\"]" \
		"j[\"config\"][\"User\"]" "j[\"config\"][\"WorkingDir\"]"; do
		json_get config.json "$e" || exit 1
	done >actual &&
	test_cmp expect actual &&
	skopeo inspect oci-archive:deploy/core-image-test-1.0_rc1-oci.tar:1.0:rc1 >inspect.json &&
	test "$(json_get inspect.json "j[\"Architecture\"]")" = arm64
'

test_expect_success PSEUDO 'yocto: the layer has what pseudo recorded (owners, device, setuid, hardlink)' '
	n=deploy/core-image-test-1.0_rc1-oci &&
	m=$(blob_path $n "$(json_get $n/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	l=$(blob_path $n "$(json_get "$m" "j[\"layers\"][0][\"digest\"]")") &&
	tar -tvzf "$l" >layer.list &&
	grep "^crw-r--r-- 0/0 .* dev/null\$" layer.list &&
	grep "^-rwsr-xr-x 0/0 .* bin/sh\$" layer.list &&
	grep "^-rw-r--r-- 1000/1000 .* etc/motd\$" layer.list &&
	grep "^drwxr-xr-x 1000/1000 .* home/user/\$" layer.list &&
	grep "^h.* etc/motd.link link to etc/motd\$" layer.list
'

test_expect_success PSEUDO 'yocto: same inputs, same image (SOURCE_DATE_EPOCH)' '
	mkdir deploy2 &&
	env IMAGE_ROOTFS="$TEST_DIR/rootfs" IMGDEPLOYDIR="$TEST_DIR/deploy2" \
	    IMAGE_BASENAME=core-image-test \
	    IMAGE_NAME=core-image-test-qemuarm64-20240101000000 \
	    OCI_IMAGE_TAG=1.0:rc1 OCI_IMAGE_ARCH=aarch64 \
	    OCI_IMAGE_ENTRYPOINT=/bin/sh OCI_IMAGE_ENTRYPOINT_ARGS="-c '"'"'cat /etc/motd'"'"'" \
	    OCI_IMAGE_ENV_VARS="LANG=C.UTF-8 GREETING=\"hello world\"" \
	    OCI_IMAGE_LABELS="org.example.layer=meta-test" \
	    OCI_IMAGE_PORTS="8080 53/udp" OCI_IMAGE_RUNTIME_UID=1000 \
	    OCI_IMAGE_WORKINGDIR=/home/user \
	    OCI_IMAGE_AUTHOR="Jo Builder" OCI_IMAGE_AUTHOR_EMAIL=jo@example.org \
	    SOURCE_DATE_EPOCH=1700000000 OCI_IMAGE_AUTO_LABELS=0 \
	    pseudo sh "$YOCTO/ocipipe-image-oci.sh" >yocto2.out 2>&1 || { cat yocto2.out; exit 1; }
	n=core-image-test-qemuarm64-20240101000000.rootfs-oci &&
	cmp deploy/$n.tar deploy2/$n.tar &&
	cmp deploy/$n-dir.tar deploy2/$n-dir.tar
'

test_expect_success PSEUDO 'yocto: a failing stage fails the task and leaves no image' '
	mkdir deploy3 &&
	test_must_fail env IMAGE_ROOTFS="$TEST_DIR/rootfs" IMGDEPLOYDIR="$TEST_DIR/deploy3" \
	    IMAGE_BASENAME=bad OCI_IMAGE_PORTS=70000 \
	    pseudo sh "$YOCTO/ocipipe-image-oci.sh" >bad.out 2>&1 &&
	grep "^ERROR: OCI: building" bad.out &&
	ls deploy3 >files &&
	test_cmp /dev/null files
'

test_done
