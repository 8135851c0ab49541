#!/bin/sh
# SPDX-License-Identifier: MIT
# Image metadata end to end (issue 3): every oci-config option and its
# OCI_IMAGE_* variable, read back with skopeo (and podman as root); flags
# against the environment; clearing inherited fields; shell-like splitting;
# the architecture table; ports; created times and history; oci-manifest
# annotations; oci-pack tags and index annotations; bad values.

. "$top_srcdir/tests/lib.sh"

EPOCH=1700000000
EPOCH_TIME=2023-11-14T22:13:20Z

# ------------------------------------------------------------ fixtures
# (written here, outside the single-quoted test bodies, so that they can
# hold quotes)

# Every oci-config option with a variable, as flags.
cat >flags.args <<\EOF
--author=Jane Doe
--author-email=jane@example.org
--user=1000:1000
--arch=x86_64
--variant=v3
--os=linux
--entrypoint=/bin/sh
--entrypoint=-c
--cmd=echo "$GREETING" world
--workdir=/srv/app
--stop-signal=SIGINT
--port=80
--port=53/udp
--port=9/sctp
--port=8000-8002/tcp
--label=org.example.team=tools
--label=desc=two words
--label=empty=
--env=PATH=/usr/bin:/bin
--env=GREETING=hello world
--env=EMPTY=
--volume=/data
--volume=/var/lib/my data
--source-date-epoch=1700000000
EOF

# The same, as the variables of the Yocto image-oci class.
cat >env-all.sh <<\EOF
OCI_IMAGE_AUTHOR='Jane Doe'
OCI_IMAGE_AUTHOR_EMAIL=jane@example.org
OCI_IMAGE_RUNTIME_UID=1000:1000
OCI_IMAGE_ARCH=x86_64
OCI_IMAGE_SUBARCH=v3
OCI_IMAGE_OS=linux
OCI_IMAGE_ENTRYPOINT='/bin/sh -c'
OCI_IMAGE_CMD=\''echo "$GREETING" world'\'
OCI_IMAGE_WORKINGDIR=/srv/app
OCI_IMAGE_STOPSIGNAL=SIGINT
OCI_IMAGE_PORTS='80 53/udp 9/sctp 8000-8002/tcp'
OCI_IMAGE_LABELS='org.example.team=tools "desc=two words" empty='
OCI_IMAGE_ENV_VARS='PATH=/usr/bin:/bin GREETING="hello world" EMPTY='
OCI_IMAGE_VOLUMES='/data "/var/lib/my data"'
SOURCE_DATE_EPOCH=1700000000
OCI_IMAGE_TAG=1.0
export OCI_IMAGE_AUTHOR OCI_IMAGE_AUTHOR_EMAIL OCI_IMAGE_RUNTIME_UID \
	OCI_IMAGE_ARCH OCI_IMAGE_SUBARCH OCI_IMAGE_OS OCI_IMAGE_ENTRYPOINT \
	OCI_IMAGE_CMD OCI_IMAGE_WORKINGDIR OCI_IMAGE_STOPSIGNAL OCI_IMAGE_PORTS \
	OCI_IMAGE_LABELS OCI_IMAGE_ENV_VARS OCI_IMAGE_VOLUMES SOURCE_DATE_EPOCH \
	OCI_IMAGE_TAG
EOF

# Different values for every variable: the flags must win over all of them.
cat >env-other.sh <<\EOF
OCI_IMAGE_AUTHOR='Someone Else'
OCI_IMAGE_AUTHOR_EMAIL=else@example.com
OCI_IMAGE_RUNTIME_UID=nobody
OCI_IMAGE_ARCH=aarch64
OCI_IMAGE_SUBARCH=v9
OCI_IMAGE_OS=freebsd
OCI_IMAGE_ENTRYPOINT='/bin/false --env'
OCI_IMAGE_CMD='from-cmd'
OCI_IMAGE_ENTRYPOINT_ARGS='from-args'
OCI_IMAGE_WORKINGDIR=/elsewhere
OCI_IMAGE_STOPSIGNAL=SIGKILL
OCI_IMAGE_PORTS='1234 5678/udp'
OCI_IMAGE_LABELS='other=label'
OCI_IMAGE_ENV_VARS='OTHER=1 PATH=/nope'
OCI_IMAGE_VOLUMES='/other'
SOURCE_DATE_EPOCH=1234567890
OCI_IMAGE_TAG=other
export OCI_IMAGE_AUTHOR OCI_IMAGE_AUTHOR_EMAIL OCI_IMAGE_RUNTIME_UID \
	OCI_IMAGE_ARCH OCI_IMAGE_SUBARCH OCI_IMAGE_OS OCI_IMAGE_ENTRYPOINT \
	OCI_IMAGE_CMD OCI_IMAGE_ENTRYPOINT_ARGS OCI_IMAGE_WORKINGDIR \
	OCI_IMAGE_STOPSIGNAL OCI_IMAGE_PORTS OCI_IMAGE_LABELS OCI_IMAGE_ENV_VARS \
	OCI_IMAGE_VOLUMES SOURCE_DATE_EPOCH OCI_IMAGE_TAG
EOF

# The expected config of the flags / environment image (python literal).
cat >expect-all.py <<\EOF
EXPECT = {
    "created": "2023-11-14T22:13:20Z",
    "author": "Jane Doe <jane@example.org>",
    "architecture": "amd64",
    "variant": "v3",
    "os": "linux",
    "config": {
        "User": "1000:1000",
        "ExposedPorts": {"80/tcp": {}, "53/udp": {}, "9/sctp": {},
                         "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}},
        "Env": ["PATH=/usr/bin:/bin", "GREETING=hello world", "EMPTY="],
        "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": ['echo "$GREETING" world'],
        "Volumes": {"/data": {}, "/var/lib/my data": {}},
        "WorkingDir": "/srv/app",
        "Labels": {"org.example.team": "tools", "desc": "two words", "empty": ""},
        "StopSignal": "SIGINT",
    },
    "history": [{"created": "2023-11-14T22:13:20Z",
                 "created_by": "COPY rootfs /", "comment": "the rootfs"}],
}
EOF

# check_config CONFIG.json: every field of expect-all.py, one by one.
cat >check-all.py <<\EOF
import json, sys
exec(open("expect-all.py").read())
c = json.load(open(sys.argv[1]))
for k in ("created", "author", "architecture", "variant", "os", "history"):
    assert c.get(k) == EXPECT[k], (k, c.get(k), EXPECT[k])
for k, v in EXPECT["config"].items():
    assert c["config"].get(k) == v, (k, c["config"].get(k), v)
extra = set(c["config"]) - set(EXPECT["config"])
assert not extra, extra
assert c["rootfs"]["type"] == "layers", c["rootfs"]
assert len(c["rootfs"]["diff_ids"]) == 1, c["rootfs"]
EOF

# Shell-like splitting of the environment form.
cat >split.sh <<\EOF
OCI_IMAGE_ENTRYPOINT="sh -c 'echo hi'"
OCI_IMAGE_CMD='  one	"two  words"   thr'\''ee'\''   '
OCI_IMAGE_ENV_VARS='A=1 B="two words" C=a\ b D="q\"x\\y" E='\''$HOME'\'' F="$HOME" G="a\nb" H='\''it"s'\'' I=
J=next-line'
OCI_IMAGE_LABELS='"my label=x y" k='\''v w'\'' e='
OCI_IMAGE_VOLUMES='"/a b" /c'
export OCI_IMAGE_ENTRYPOINT OCI_IMAGE_CMD OCI_IMAGE_ENV_VARS OCI_IMAGE_LABELS \
	OCI_IMAGE_VOLUMES
EOF

# A base config for --from: every field set.
cat >base-config.json <<\EOF
{"created":"2020-09-13T12:26:40Z","author":"Base Author","architecture":"arm","variant":"v7","os":"linux",
 "config":{"User":"5:5","ExposedPorts":{"22/tcp":{}},"Env":["A=1","KEEP=yes"],
  "Entrypoint":["/bin/base"],"Cmd":["--base"],"Volumes":{"/base":{}},"WorkingDir":"/base",
  "Labels":{"base":"yes"},"StopSignal":"SIGTERM"},
 "rootfs":{"type":"layers","diff_ids":[]},"history":[]}
EOF

# one_error PROG ERRFILE VALUE: stderr is exactly one line "PROG: ..."
# naming VALUE (a usage error ends that line with its --help hint).
one_error() {
	test_one_error_line "$1" "$2" &&
	grep -q -F -e "$3" "$2" || {
		echo "the error does not name '$3':" >&2
		cat "$2" >&2
		return 1
	}
}

# expect_bad CODE VALUE [env VAR=VALUE...] PROG ARGS...: PROG (stdin:
# layer.s) exits CODE, writes nothing on stdout and one error line naming
# VALUE.
expect_bad() {
	_eb_code=$1 _eb_val=$2
	shift 2
	_eb_prog=
	for _eb_a in "$@"; do
		case $_eb_a in
		env|*=*) ;;
		*) _eb_prog=$_eb_a; break ;;
		esac
	done
	test_expect_code "$_eb_code" "$@" <layer.s >bad.out 2>bad.err || {
		cat bad.err >&2
		return 1
	}
	if test -s bad.out; then
		echo "$*: output written despite the error" >&2
		return 1
	fi
	one_error "$_eb_prog" bad.err "$_eb_val"
}

# cfg ARCHIVE TAG OUT: the config as skopeo sees it
cfg() {
	skopeo inspect --config "oci-archive:$1:$2" >"$3"
}

# ------------------------------------------------------------ tests

test_expect_success 'a layer stream with history text' '
	mkdir -p root/bin root/srv/app &&
	echo hello >root/srv/app/hello &&
	echo tool >root/bin/tool &&
	tar -C root --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf rootfs.tar . &&
	oci-layer --created-by "COPY rootfs /" --comment "the rootfs" <rootfs.tar >layer.s &&
	test -s layer.s
'

test_expect_success SKOPEO 'every option as a flag: skopeo reads each field back' '
	(
		set -f && IFS="
" &&
		oci-config $(cat flags.args) <layer.s >flags-cfg.s
	) &&
	oci-manifest <flags-cfg.s |
		oci-pack --tag 1.0 --source-date-epoch $EPOCH >flags.tar &&
	cfg flags.tar 1.0 flags.json &&
	python3 check-all.py flags.json
'

test_expect_success SKOPEO 'every option from the environment: the same image, byte for byte' '
	(
		. ./env-all.sh &&
		oci-config <layer.s | oci-manifest | oci-pack >env.tar
	) &&
	cfg env.tar 1.0 env.json &&
	python3 check-all.py env.json &&
	cmp flags.tar env.tar
'

test_expect_success SKOPEO 'flags win over every variable (same bytes as the flags image)' '
	(
		. ./env-other.sh &&
		set -f && IFS="
" &&
		oci-config $(cat flags.args) <layer.s | oci-manifest |
			oci-pack --tag 1.0 --source-date-epoch $EPOCH >win.tar
	) &&
	cfg win.tar 1.0 win.json &&
	python3 check-all.py win.json &&
	cmp flags.tar win.tar &&
	test_must_fail skopeo inspect --config oci-archive:win.tar:other >/dev/null 2>&1
'

test_expect_success SKOPEO 'the other variables are read when no flag is given' '
	(
		. ./env-other.sh &&
		oci-config <layer.s | oci-manifest | oci-pack >other.tar
	) &&
	cfg other.tar other other.json &&
	python3 - <<-\PY
	import json
	c = json.load(open("other.json")); cc = c["config"]
	want = {"created": "2009-02-13T23:31:30Z",
	        "author": "Someone Else <else@example.com>",
	        "architecture": "arm64", "variant": "v9", "os": "freebsd"}
	for k, v in want.items():
	    assert c.get(k) == v, (k, c.get(k), v)
	want = {"User": "nobody", "ExposedPorts": {"1234/tcp": {}, "5678/udp": {}},
	        "Env": ["OTHER=1", "PATH=/nope"], "Entrypoint": ["/bin/false", "--env"],
	        "Cmd": ["from-args"], "Volumes": {"/other": {}}, "WorkingDir": "/elsewhere",
	        "Labels": {"other": "label"}, "StopSignal": "SIGKILL"}
	for k, v in want.items():
	    assert cc.get(k) == v, (k, cc.get(k), v)
	assert c["history"][0]["created"] == "2009-02-13T23:31:30Z", c["history"]
	PY
'

test_expect_success SKOPEO 'OCI_IMAGE_ENTRYPOINT_ARGS wins over OCI_IMAGE_CMD, as in the image-oci class; --cmd wins' '
	OCI_IMAGE_ENTRYPOINT_ARGS="-l --color=auto" oci-config <layer.s | oci-pack --tag a >ea.tar &&
	cfg ea.tar a ea.json &&
	test "$(json_get ea.json "j[\"config\"][\"Cmd\"]")" = "[\"-l\", \"--color=auto\"]" &&
	OCI_IMAGE_ENTRYPOINT_ARGS=x OCI_IMAGE_CMD=y oci-config <layer.s | oci-pack --tag a >ec.tar &&
	cfg ec.tar a ec.json &&
	test "$(json_get ec.json "j[\"config\"][\"Cmd\"]")" = "[\"x\"]" &&
	OCI_IMAGE_ENTRYPOINT_ARGS= OCI_IMAGE_CMD=y oci-config <layer.s | oci-pack --tag a >ey.tar &&
	cfg ey.tar a ey.json &&
	test "$(json_get ey.json "j[\"config\"][\"Cmd\"]")" = "[\"y\"]" &&
	OCI_IMAGE_ENTRYPOINT_ARGS=x OCI_IMAGE_CMD=y oci-config --cmd z <layer.s | oci-pack --tag a >ez.tar &&
	cfg ez.tar a ez.json &&
	test "$(json_get ez.json "j[\"config\"][\"Cmd\"]")" = "[\"z\"]"
'

test_expect_success SKOPEO 'author: name and e-mail combined; either flag turns both variables off' '
	OCI_IMAGE_AUTHOR=EnvName OCI_IMAGE_AUTHOR_EMAIL=env@x oci-config --author-email me@x \
		<layer.s | oci-pack --tag a >au1.tar &&
	cfg au1.tar a au1.json && test "$(json_get au1.json "j[\"author\"]")" = me@x &&
	OCI_IMAGE_AUTHOR=EnvName OCI_IMAGE_AUTHOR_EMAIL=env@x oci-config --author Me \
		<layer.s | oci-pack --tag a >au2.tar &&
	cfg au2.tar a au2.json && test "$(json_get au2.json "j[\"author\"]")" = Me &&
	OCI_IMAGE_AUTHOR_EMAIL=env@x oci-config <layer.s | oci-pack --tag a >au3.tar &&
	cfg au3.tar a au3.json && test "$(json_get au3.json "j[\"author\"]")" = env@x &&
	OCI_IMAGE_AUTHOR=EnvName oci-config <layer.s | oci-pack --tag a >au4.tar &&
	cfg au4.tar a au4.json && test "$(json_get au4.json "j[\"author\"]")" = EnvName
'

test_expect_success ROOT,PODMAN,SKOPEO 'podman load + image inspect show every field' '
	prr=$(mktemp -d /tmp/ocipipe-podman.XXXXXX) &&
	pm() { podman --storage-driver vfs --root "$PWD/pr" --runroot "$prr" "$@"; } &&
	pm load -i flags.tar >load.out 2>&1 &&
	pm image inspect localhost/1.0:latest >pi.json
	rc=$?
	rm -rf "$prr" &&
	test $rc = 0 &&
	skopeo inspect --raw oci-archive:flags.tar:1.0 >flags-manifest.json &&
	python3 - <<-\PY
	import json, hashlib
	exec(open("expect-all.py").read())
	i = json.load(open("pi.json"))[0]
	c = json.load(open("flags.json"))
	raw = open("flags-manifest.json", "rb").read()
	assert i["Digest"] == "sha256:" + hashlib.sha256(raw).hexdigest(), (i["Digest"],)
	assert i["Config"] == EXPECT["config"], (i["Config"], EXPECT["config"])
	assert i["Author"] == EXPECT["author"], i["Author"]
	assert i["Architecture"] == EXPECT["architecture"], i["Architecture"]
	assert i["Os"] == EXPECT["os"], i["Os"]
	assert i["Created"] == EXPECT["created"], i["Created"]
	assert i["User"] == "1000:1000", i["User"]
	assert i["Labels"] == EXPECT["config"]["Labels"], i["Labels"]
	assert i["History"] == EXPECT["history"], i["History"]
	assert i["Comment"] == "the rootfs", i["Comment"]
	assert i["RootFS"]["Layers"] == c["rootfs"]["diff_ids"], (i["RootFS"], c["rootfs"])
	PY
'

test_expect_success SKOPEO 'shell-like splitting of the environment form' '
	( . ./split.sh && oci-config <layer.s | oci-pack --tag s >split.tar ) &&
	cfg split.tar s split.json &&
	python3 - <<-\PY
	import json
	cc = json.load(open("split.json"))["config"]
	assert cc["Entrypoint"] == ["sh", "-c", "echo hi"], cc["Entrypoint"]
	assert cc["Cmd"] == ["one", "two  words", "three"], cc["Cmd"]
	assert cc["Env"] == ["A=1", "B=two words", "C=a b", "D=q\"x\\y", "E=$HOME",
	                     "F=$HOME", "G=a\\nb", "H=it\"s", "I=", "J=next-line"], cc["Env"]
	assert cc["Labels"] == {"my label": "x y", "k": "v w", "e": ""}, cc["Labels"]
	assert cc["Volumes"] == {"/a b": {}, "/c": {}}, cc["Volumes"]
	PY
'

test_expect_success 'an unterminated quote in a variable is a usage error naming it' '
	expect_bad 2 OCI_IMAGE_ENV_VARS env OCI_IMAGE_ENV_VARS="A=\"x" oci-config &&
	expect_bad 2 OCI_IMAGE_ENTRYPOINT env OCI_IMAGE_ENTRYPOINT="sh -c '\''echo" oci-config &&
	expect_bad 2 OCI_IMAGE_CMD env OCI_IMAGE_CMD="'\''a b" oci-config &&
	expect_bad 2 OCI_IMAGE_LABELS env OCI_IMAGE_LABELS="\"k=v" oci-config &&
	expect_bad 2 OCI_IMAGE_VOLUMES env OCI_IMAGE_VOLUMES="/a \"/b" oci-config &&
	expect_bad 2 OCI_IMAGE_PORTS env OCI_IMAGE_PORTS="\"80" oci-config
'

test_expect_success SKOPEO 'a base image with every field, for the clearing tests' '
	oci-layer --source-date-epoch 1600000000 --created-by "base layer" <rootfs.tar |
		oci-config --from base-config.json --source-date-epoch 1600000000 |
		oci-manifest | oci-pack --tag base --source-date-epoch 1600000000 >base.tar &&
	cfg base.tar base base.json &&
	python3 - <<-\PY
	import json
	b = json.load(open("base-config.json")); c = json.load(open("base.json"))
	for k in ("author", "architecture", "variant", "os"):
	    assert c[k] == b[k], (k, c[k], b[k])
	assert c["config"] == b["config"], (c["config"], b["config"])
	assert c["created"] == "2020-09-13T12:26:40Z", c["created"]
	assert len(c["rootfs"]["diff_ids"]) == 1, c
	PY
'

# check_cleared CONFIG.json: the single fields are gone, the rest kept
cat >check-cleared.py <<\EOF
import json, sys
c = json.load(open(sys.argv[1])); cc = c.get("config", {})
for k in ("Entrypoint", "Cmd", "User", "WorkingDir", "StopSignal"):
    assert k not in cc, (k, cc)
assert "author" not in c, c
assert "variant" not in c, c
assert c["architecture"] == "arm" and c["os"] == "linux", c
assert cc["Env"] == ["A=1", "KEEP=yes"], cc
assert cc["Labels"] == {"base": "yes"}, cc
assert cc["ExposedPorts"] == {"22/tcp": {}}, cc
assert cc["Volumes"] == {"/base": {}}, cc
EOF

test_expect_success SKOPEO 'explicitly empty flags clear inherited fields (--from FILE)' '
	oci-config --from base-config.json --entrypoint "" --cmd "" --user "" --workdir "" \
		--stop-signal "" --author "" --variant "" <layer.s |
		oci-pack --tag c >clear-from.tar &&
	cfg clear-from.tar c clear-from.json &&
	python3 check-cleared.py clear-from.json
'

test_expect_success SKOPEO 'explicitly empty flags clear inherited fields (base image tarball)' '
	{ cat base.tar && oci-layer <rootfs.tar; } |
		oci-config --entrypoint "" --cmd "" --user "" --workdir "" \
		--stop-signal "" --author "" --variant "" |
		oci-manifest | oci-pack --tag c >clear-base.tar &&
	cfg clear-base.tar c clear-base.json &&
	python3 check-cleared.py clear-base.json &&
	test "$(json_get clear-base.json "len(j[\"rootfs\"][\"diff_ids\"])")" = 2
'

test_expect_success SKOPEO 'empty OCI_IMAGE_* variables change nothing (bitbake exports empty defaults)' '
	{ cat base.tar && oci-layer <rootfs.tar; } >on-base.s &&
	env OCI_IMAGE_ENTRYPOINT= OCI_IMAGE_CMD= OCI_IMAGE_ENTRYPOINT_ARGS= OCI_IMAGE_RUNTIME_UID= \
		OCI_IMAGE_WORKINGDIR= OCI_IMAGE_STOPSIGNAL= OCI_IMAGE_AUTHOR= \
		OCI_IMAGE_AUTHOR_EMAIL= OCI_IMAGE_SUBARCH= OCI_IMAGE_ARCH= OCI_IMAGE_OS= \
		OCI_IMAGE_ENV_VARS= OCI_IMAGE_LABELS= OCI_IMAGE_PORTS= OCI_IMAGE_VOLUMES= \
		oci-config <on-base.s | oci-manifest | oci-pack --tag e >clear-env.tar &&
	cfg clear-env.tar e clear-env.json &&
	python3 - <<-\PY
	import json
	b = json.load(open("base-config.json")); c = json.load(open("clear-env.json"))
	cc = c["config"]
	for k in ("Entrypoint", "Cmd", "User", "WorkingDir", "StopSignal", "Env", "Labels",
	          "ExposedPorts", "Volumes"):
	    assert cc.get(k) == b["config"][k], (k, cc.get(k), b["config"][k])
	for k in ("author", "architecture", "variant", "os"):
	    assert c.get(k) == b[k], (k, c.get(k), b[k])
	PY
'

test_expect_success SKOPEO 'a base: env and labels merged in place, the rest kept' '
	oci-config --env KEEP=no --env NEW=1 --label base=no --label app=1 --port 80 \
		--volume /app <on-base.s | oci-manifest | oci-pack --tag m >merge.tar &&
	cfg merge.tar m merge.json &&
	python3 - <<-\PY
	import json
	c = json.load(open("merge.json")); cc = c["config"]
	assert cc["Env"] == ["A=1", "KEEP=no", "NEW=1"], cc["Env"]
	assert cc["Labels"] == {"base": "no", "app": "1"}, cc["Labels"]
	assert cc["ExposedPorts"] == {"22/tcp": {}, "80/tcp": {}}, cc["ExposedPorts"]
	assert cc["Volumes"] == {"/base": {}, "/app": {}}, cc["Volumes"]
	assert cc["Entrypoint"] == ["/bin/base"] and cc["Cmd"] == ["--base"], cc
	assert cc["User"] == "5:5" and cc["WorkingDir"] == "/base", cc
	assert cc["StopSignal"] == "SIGTERM", cc
	assert c["architecture"] == "arm" and c["variant"] == "v7", c
	assert c["author"] == "Base Author", c
	PY
'

test_expect_success SKOPEO '--arch over a --from base replaces its variant with the table'"'"'s' '
	oci-config --from base-config.json --arch x86_64 <layer.s | oci-pack --tag a >ra1.tar &&
	cfg ra1.tar a ra1.json &&
	test "$(json_get ra1.json "j[\"architecture\"] + str(\"variant\" in j)")" = amd64False &&
	oci-config --from base-config.json --arch aarch64 <layer.s | oci-pack --tag a >ra2.tar &&
	cfg ra2.tar a ra2.json &&
	test "$(json_get ra2.json "j[\"architecture\"] + \"/\" + j[\"variant\"]")" = arm64/v8 &&
	OCI_IMAGE_ARCH=armv6 oci-config --from base-config.json <layer.s | oci-pack --tag a >ra3.tar &&
	cfg ra3.tar a ra3.json &&
	test "$(json_get ra3.json "j[\"architecture\"] + \"/\" + j[\"variant\"]")" = arm/v6
'

test_expect_success SKOPEO '--base-ref picks the base among several tags; -q and -v change no bytes' '
	oci-layer <rootfs.tar | oci-config --label which=a --source-date-epoch 1 | oci-pack -o two --tag a &&
	oci-layer <rootfs.tar | oci-config --label which=b --source-date-epoch 1 | oci-pack -o two --tag b &&
	tar -C two -cf two.tar . &&
	{ cat two.tar && oci-layer <rootfs.tar; } >on-two.s &&
	oci-config --base-ref b --source-date-epoch $EPOCH <on-two.s | oci-manifest | oci-pack --tag r >br.tar &&
	cfg br.tar r br.json &&
	test "$(json_get br.json "j[\"config\"][\"Labels\"][\"which\"]")" = b &&
	for o in "" -q -v; do
		oci-config $o --base-ref a --source-date-epoch $EPOCH <on-two.s 2>qv$o.err |
			oci-manifest | oci-pack --tag r >qv$o.tar &&
		cfg qv$o.tar r qv$o.json || echo "$o" >>qv-bad
	done &&
	test ! -e qv-bad && test ! -s qv-q.err &&
	python3 - <<-\PY
	import json
	# only the command line recorded in the last (empty_layer) entry differs
	def load(n):
	    c = json.load(open(n))
	    by = c["history"][-1].pop("created_by")
	    return c, by
	a, by = load("qv.json"); q, qby = load("qv-q.json"); v, vby = load("qv-v.json")
	assert a == q == v, (a, q, v)
	assert a["config"]["Labels"] == {"which": "a"}, a
	assert " -q " in qby and " -v " in vby and "-q" not in by, (by, qby, vby)
	PY
'

test_expect_success SKOPEO 'the architecture table, as skopeo sees it (flag and OCI_IMAGE_ARCH)' '
	while read in arch variant; do
		got= got_env=
		{
			oci-config --arch "$in" <layer.s | oci-pack --tag a >arch.tar &&
			cfg arch.tar a arch.json &&
			got=$(json_get arch.json "j[\"architecture\"] + \" \" + j.get(\"variant\", \"-\")") &&
			OCI_IMAGE_ARCH=$in oci-config <layer.s | oci-pack --tag a >arch-env.tar &&
			cfg arch-env.tar a arch-env.json &&
			got_env=$(json_get arch-env.json "j[\"architecture\"] + \" \" + j.get(\"variant\", \"-\")") &&
			test "$got" = "$arch $variant" && test "$got_env" = "$arch $variant"
		} || {
			echo "$in: got \"$got\" (env \"$got_env\"), want \"$arch $variant\""
			echo "$in" >>arch-bad
		}
	done <<-\EOF &&
	x86_64 amd64 -
	x86-64 amd64 -
	amd64 amd64 -
	aarch64 arm64 v8
	arm64 arm64 v8
	armv7 arm v7
	armv7l arm v7
	armv7a arm v7
	armv7ve arm v7
	armhf arm v7
	arm arm v7
	armv8l arm v7
	armv6 arm v6
	armv6l arm v6
	armv5te arm v5
	armel arm v5
	i386 386 -
	i486 386 -
	i586 386 -
	i686 386 -
	x86 386 -
	386 386 -
	riscv64 riscv64 -
	ppc64le ppc64le -
	powerpc64le ppc64le -
	ppc64 ppc64 -
	powerpc64 ppc64 -
	mips mips -
	mipsel mipsle -
	mipsle mipsle -
	mips64 mips64 -
	mips64el mips64le -
	mips64le mips64le -
	s390x s390x -
	loong64 loong64 -
	loongarch64 loong64 -
	EOF
	test ! -e arch-bad
'

test_expect_success SKOPEO 'variant, os, and the default architecture' '
	oci-config --arch aarch64 --variant v9 <layer.s | oci-pack --tag a >v1.tar &&
	cfg v1.tar a v1.json && test "$(json_get v1.json "j[\"variant\"]")" = v9 &&
	OCI_IMAGE_ARCH=armv7 OCI_IMAGE_SUBARCH=v6 oci-config <layer.s | oci-pack --tag a >v2.tar &&
	cfg v2.tar a v2.json &&
	test "$(json_get v2.json "j[\"architecture\"] + \"/\" + j[\"variant\"]")" = arm/v6 &&
	oci-config --arch aarch64 --variant "" <layer.s | oci-pack --tag a >v3.tar &&
	cfg v3.tar a v3.json &&
	test "$(json_get v3.json "j[\"architecture\"] + str(\"variant\" in j)")" = arm64False &&
	OCI_IMAGE_OS=freebsd oci-config <layer.s | oci-pack --tag a >os1.tar &&
	cfg os1.tar a os1.json && test "$(json_get os1.json "j[\"os\"]")" = freebsd &&
	oci-config --os windows <layer.s | oci-pack --tag a >os2.tar &&
	cfg os2.tar a os2.json && test "$(json_get os2.json "j[\"os\"]")" = windows &&
	oci-config <layer.s | oci-pack --tag a >def.tar &&
	cfg def.tar a def.json &&
	test "$(json_get def.json "j[\"os\"] + \"/\" + j[\"architecture\"]")" = "linux/$(host_arch)"
'

test_expect_success SKOPEO 'ports: tcp default, udp, sctp, ranges up to 1024 ports, duplicates folded' '
	oci-config --port 80 --port 80/tcp --port 53/udp --port 9/sctp --port 1 \
		--port 65535/udp --port 10000-11023/tcp <layer.s | oci-pack --tag p >ports.tar &&
	cfg ports.tar p ports.json &&
	python3 - <<-\PY
	import json
	p = json.load(open("ports.json"))["config"]["ExposedPorts"]
	want = {"80/tcp", "53/udp", "9/sctp", "1/tcp", "65535/udp"}
	want |= {"%d/tcp" % n for n in range(10000, 11024)}
	assert set(p) == want, sorted(set(p) ^ want)
	assert all(v == {} for v in p.values())
	PY
'

test_expect_success 'bad ports are usage errors naming the port' '
	expect_bad 2 70000 oci-config --port 70000 &&
	expect_bad 2 65536/udp oci-config --port 65536/udp &&
	expect_bad 2 0 oci-config --port 0 &&
	expect_bad 2 http oci-config --port http &&
	expect_bad 2 80/foo oci-config --port 80/foo &&
	expect_bad 2 8010-8000 oci-config --port 8010-8000 &&
	expect_bad 2 10000-11024 oci-config --port 10000-11024 &&
	expect_bad 2 70000 env OCI_IMAGE_PORTS="80 70000" oci-config
'

test_expect_success SKOPEO '--created: RFC 3339 kept as written, wins over the epochs' '
	SOURCE_DATE_EPOCH=5 oci-config --source-date-epoch 6 --created 2024-01-31T12:00:00Z \
		<layer.s | oci-pack --tag t >cr1.tar &&
	cfg cr1.tar t cr1.json &&
	test "$(json_get cr1.json "j[\"created\"]")" = 2024-01-31T12:00:00Z &&
	test "$(json_get cr1.json "j[\"history\"][0][\"created\"]")" = 2024-01-31T12:00:00Z &&
	oci-config --created 2024-01-31T12:00:00.123456789+02:00 <layer.s |
		oci-pack --tag t >cr2.tar &&
	mkdir cr2 && tar -C cr2 -xf cr2.tar &&
	skopeo inspect --raw oci-archive:cr2.tar:t >cr2.m &&
	d=$(json_get cr2.m "j[\"config\"][\"digest\"]") &&
	grep -F "\"created\":\"2024-01-31T12:00:00.123456789+02:00\"" "$(blob_path cr2 "$d")" &&
	skopeo inspect oci-archive:cr2.tar:t >cr2.i &&
	test "$(json_get cr2.i "j[\"Created\"]")" = 2024-01-31T12:00:00.123456789+02:00
'

test_expect_success 'bad --created values are usage errors naming them' '
	expect_bad 2 2024-13-01T00:00:00Z oci-config --created 2024-13-01T00:00:00Z &&
	expect_bad 2 2024-02-30T00:00:00Z oci-config --created 2024-02-30T00:00:00Z &&
	expect_bad 2 2024-01-31T12:00:00 oci-config --created 2024-01-31T12:00:00 &&
	expect_bad 2 yesterday oci-config --created yesterday
'

test_expect_success SKOPEO 'created defaults: SOURCE_DATE_EPOCH, --source-date-epoch over it, else now' '
	SOURCE_DATE_EPOCH=0 oci-config <layer.s | oci-pack --tag t >sde0.tar &&
	cfg sde0.tar t sde0.json &&
	test "$(json_get sde0.json "j[\"created\"]")" = 1970-01-01T00:00:00Z &&
	SOURCE_DATE_EPOCH=0 oci-config --source-date-epoch $EPOCH <layer.s | oci-pack --tag t >sde1.tar &&
	cfg sde1.tar t sde1.json &&
	test "$(json_get sde1.json "j[\"created\"]")" = $EPOCH_TIME &&
	before=$(date -u +%s) &&
	oci-config <layer.s | oci-pack --tag t >now.tar &&
	after=$(date -u +%s) &&
	cfg now.tar t now.json &&
	python3 -c "
import json, datetime, sys
c = json.load(open(\"now.json\"))[\"created\"]
t = datetime.datetime.strptime(c, \"%Y-%m-%dT%H:%M:%SZ\").replace(tzinfo=datetime.timezone.utc).timestamp()
assert $before - 1 <= t <= $after + 1, (c, $before, $after)
"
'

test_expect_success SKOPEO 'history: base entries kept, the layer entry, one empty_layer step' '
	{ cat base.tar && oci-layer --created-by "RUN make install" --comment "app" <rootfs.tar; } |
		SOURCE_DATE_EPOCH=$EPOCH oci-config --env X=1 | oci-manifest |
		oci-pack --tag h >hist.tar &&
	cfg hist.tar h hist.json &&
	python3 - <<-\PY
	import json
	c = json.load(open("hist.json")); h = c["history"]
	b = json.load(open("base.json"))["history"]
	# the base: its layer, then the empty_layer step of its own --from config
	assert b[0] == {"created": "2020-09-13T12:26:40Z", "created_by": "base layer"}, b
	assert len(b) == 2 and b[1].get("empty_layer") is True, b
	assert len(h) == 4 and h[:2] == b, h
	assert h[2] == {"created": "2023-11-14T22:13:20Z", "created_by": "RUN make install",
	                "comment": "app"}, h[2]
	assert h[3].get("empty_layer") is True, h[3]
	assert h[3]["created"] == "2023-11-14T22:13:20Z", h[3]
	assert h[3]["created_by"].startswith("oci-config") and "--env X=1" in h[3]["created_by"], h[3]
	assert len(c["rootfs"]["diff_ids"]) == 2
	assert len([e for e in h if not e.get("empty_layer")]) == len(c["rootfs"]["diff_ids"])
	PY
'

test_expect_success SKOPEO 'history: a metadata-only step over a base adds one empty_layer entry' '
	cfg base.tar base base.json &&
	SOURCE_DATE_EPOCH=$EPOCH oci-config --label step=meta <base.tar | oci-manifest |
		oci-pack --tag meta >meta.tar &&
	cfg meta.tar meta meta.json &&
	python3 - <<-\PY
	import json
	b = json.load(open("base.json")); c = json.load(open("meta.json"))
	assert c["rootfs"] == b["rootfs"], (c["rootfs"], b["rootfs"])
	assert c["history"][:-1] == b["history"], (c["history"], b["history"])
	e = c["history"][-1]
	assert e.get("empty_layer") is True and "--label step=meta" in e["created_by"], e
	assert c["config"]["Labels"] == {"base": "yes", "step": "meta"}, c["config"]
	PY
	test $? = 0 &&
	skopeo inspect oci-archive:meta.tar:meta >meta.i &&
	skopeo inspect oci-archive:base.tar:base >base.i &&
	test "$(json_get meta.i "j[\"Layers\"]")" = "$(json_get base.i "j[\"Layers\"]")"
'

test_expect_success SKOPEO 'a fresh config has no empty_layer entry' '
	test "$(json_get flags.json "[e for e in j[\"history\"] if e.get(\"empty_layer\")]")" = "[]"
'

test_expect_success SKOPEO 'oci-manifest --annotation and --oci-annotation, as skopeo --raw sees them' '
	oci-config --author "Jane Doe" --source-date-epoch $EPOCH <layer.s |
		oci-manifest --annotation com.example.a=1 --annotation com.example.a=2 \
		--annotation org.opencontainers.image.version=from-annotation \
		--annotation com.example.empty= \
		--oci-annotation created --oci-annotation authors \
		--oci-annotation url=https://example.org --oci-annotation documentation=https://example.org/doc \
		--oci-annotation source=https://example.org/src --oci-annotation version=1.0 \
		--oci-annotation revision=abc123 --oci-annotation vendor=Example \
		--oci-annotation licenses=MIT --oci-annotation ref.name=1.0 \
		--oci-annotation title=App --oci-annotation description="An app" \
		--oci-annotation base.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000 \
		--oci-annotation base.name=example.org/base:1 |
		oci-pack --tag an >an.tar &&
	skopeo inspect --raw oci-archive:an.tar:an >an.m &&
	python3 - <<-\PY
	import json
	m = json.load(open("an.m")); a = m["annotations"]
	p = "org.opencontainers.image."
	want = {"com.example.a": "2", "com.example.empty": "",
	        p + "created": "2023-11-14T22:13:20Z", p + "authors": "Jane Doe",
	        p + "url": "https://example.org", p + "documentation": "https://example.org/doc",
	        p + "source": "https://example.org/src", p + "version": "from-annotation",
	        p + "revision": "abc123", p + "vendor": "Example", p + "licenses": "MIT",
	        p + "ref.name": "1.0", p + "title": "App", p + "description": "An app",
	        p + "base.digest": "sha256:" + "0" * 64, p + "base.name": "example.org/base:1"}
	assert a == want, (sorted(set(a.items()) ^ set(want.items())))
	assert m["schemaVersion"] == 2, m
	assert m["mediaType"] == "application/vnd.oci.image.manifest.v1+json", m
	assert m["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json", m
	PY
'

test_expect_success SKOPEO 'manifest layer media types match the compression' '
	{ oci-layer --gzip <rootfs.tar && oci-layer --zstd <rootfs.tar &&
	  oci-layer --compress=none <rootfs.tar; } | oci-manifest | oci-pack --tag mt >mt.tar &&
	skopeo inspect --raw oci-archive:mt.tar:mt >mt.m &&
	test "$(json_get mt.m "[l[\"mediaType\"].rsplit(\".\", 1)[1] for l in j[\"layers\"]]")" = \
		"[\"tar+gzip\", \"tar+zstd\", \"tar\"]" &&
	test "$(json_get mt.m "\"annotations\" in j")" = false
'

test_expect_success 'bad oci-manifest annotations are usage errors' '
	oci-config <layer.s >cfg.s &&
	test_expect_code 2 oci-manifest --oci-annotation nosuch=1 <cfg.s >bad.out 2>bad.err &&
	test ! -s bad.out && one_error oci-manifest bad.err nosuch &&
	test_expect_code 2 oci-manifest --oci-annotation version <cfg.s >bad.out 2>bad.err &&
	test ! -s bad.out && one_error oci-manifest bad.err version &&
	test_expect_code 2 oci-manifest --annotation novalue <cfg.s >bad.out 2>bad.err &&
	test ! -s bad.out && one_error oci-manifest bad.err novalue
'

test_expect_success SKOPEO 'oci-pack: several --tag, one manifest; --annotation on every entry' '
	oci-config --source-date-epoch $EPOCH <layer.s | oci-manifest |
		oci-pack --tag 1.0 --tag latest --tag v1.0-rc.1_x --annotation com.example.k=v \
		--annotation org.opencontainers.image.version=1.0 >tags.tar &&
	mkdir tags && tar -C tags -xf tags.tar &&
	skopeo inspect --raw oci-archive:tags.tar:1.0 >t1.m &&
	skopeo inspect --raw oci-archive:tags.tar:latest >t2.m &&
	skopeo inspect --raw oci-archive:tags.tar:v1.0-rc.1_x >t3.m &&
	cmp t1.m t2.m && cmp t1.m t3.m &&
	d=sha256:$(sha256_of t1.m) &&
	python3 - "$d" <<-\PY
	import json, sys
	idx = json.load(open("tags/index.json"))
	es = idx["manifests"]
	names = [e["annotations"]["org.opencontainers.image.ref.name"] for e in es]
	assert sorted(names) == ["1.0", "latest", "v1.0-rc.1_x"], names
	for e in es:
	    assert e["digest"] == sys.argv[1], (e, sys.argv[1])
	    assert e["annotations"]["com.example.k"] == "v", e
	    assert e["annotations"]["org.opencontainers.image.version"] == "1.0", e
	PY
'

test_expect_success SKOPEO 'oci-pack: OCI_IMAGE_TAG is the default tag, --tag wins' '
	OCI_IMAGE_TAG=from-env oci-pack <layer.s >te.tar &&
	skopeo inspect --raw oci-archive:te.tar:from-env >/dev/null &&
	OCI_IMAGE_TAG=from-env oci-pack --tag flag <layer.s >tf.tar &&
	mkdir tf && tar -C tf -xf tf.tar &&
	test "$(json_get tf/index.json "[e[\"annotations\"][\"org.opencontainers.image.ref.name\"] for e in j[\"manifests\"]]")" = "[\"flag\"]"
'

test_expect_success 'oci-pack: tags outside the ref-name grammar are refused' '
	for t in "bad tag" "-lead" "trail-" ".dot" "a..b" "a//b" "a/" "x!" "a__"; do
		test_expect_code 2 oci-pack --tag "$t" <layer.s >bad.out 2>bad.err &&
		test ! -s bad.out && one_error oci-pack bad.err "$t" ||
		{ echo "tag \"$t\" was not refused as it should" >&2; echo "$t" >>tag-bad; }
	done &&
	expect_bad 2 "bad tag" env OCI_IMAGE_TAG="bad tag" oci-pack &&
	test ! -e tag-bad
'

test_expect_success 'oci-pack: tags inside the ref-name grammar are accepted' '
	for t in 1.0 a--b x+y@z example.org/app:1.0 A_b-C.d; do
		{ oci-pack --tag "$t" <layer.s >ok.tar && test -s ok.tar; } ||
		echo "$t" >>tag-refused
	done &&
	test ! -e tag-refused
'

test_expect_success 'bad oci-config values: exit 2 (1 for --from), one line naming the value, no output' '
	expect_bad 2 FOO oci-config --env FOO &&
	expect_bad 2 =x oci-config --env =x &&
	expect_bad 2 70000 oci-config --port 70000 &&
	expect_bad 2 =x oci-config --label =x &&
	expect_bad 2 nokey oci-config --label nokey &&
	expect_bad 2 vax oci-config --arch vax &&
	expect_bad 2 AMD64 oci-config --arch AMD64 &&
	expect_bad 2 relative/dir oci-config --volume relative/dir &&
	expect_bad 2 rel oci-config --workdir rel &&
	expect_bad 2 FOO env OCI_IMAGE_ENV_VARS="A=1 FOO" oci-config &&
	expect_bad 2 70000 env OCI_IMAGE_PORTS=70000 oci-config &&
	expect_bad 2 =x env OCI_IMAGE_LABELS="=x" oci-config &&
	expect_bad 2 vax env OCI_IMAGE_ARCH=vax oci-config &&
	printf "{\"config\":" >malformed.json &&
	expect_bad 1 malformed.json oci-config --from malformed.json &&
	printf "{\"config\":{\"Env\":\"A=1\"}}" >wrongtype.json &&
	expect_bad 1 wrongtype.json oci-config --from wrongtype.json &&
	expect_bad 1 missing.json oci-config --from missing.json &&
	printf "[1,2]" >array.json &&
	expect_bad 1 array.json oci-config --from array.json
'

test_expect_success 'a bad value among good ones still writes nothing' '
	set -f && IFS="
" &&
	expect_bad 2 70000 oci-config $(cat flags.args) --port 70000
'

test_done
