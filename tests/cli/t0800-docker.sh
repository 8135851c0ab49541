#!/bin/sh
# SPDX-License-Identifier: MIT
# docker-archive output (--docker, --name), Docker media types, index
# annotations (issues 3 and 8).

. "$top_srcdir/tests/lib.sh"

test_expect_success 'a --docker tarball is an OCI layout and a docker-archive' '
	make_rootfs root &&
	tar -C root -cf rootfs.tar . &&
	oci-layer <rootfs.tar | oci-config --entrypoint /bin/sh |
		oci-pack --docker --name example/app --tag 1.0 --tag latest >d.tar &&
	tar -tf d.tar >members &&
	grep -x manifest.json members && grep -x repositories members &&
	grep -x index.json members && grep -x oci-layout members
'

test_expect_success 'manifest.json points at the same blobs as the OCI manifest' '
	mkdir x && tar -C x -xf d.tar &&
	python3 - <<-\PY
	import json, hashlib
	dm = json.load(open("x/manifest.json"))
	assert len(dm) == 1, dm
	d = dm[0]
	assert d["RepoTags"] == ["example/app:1.0", "example/app:latest"], d["RepoTags"]
	idx = json.load(open("x/index.json"))
	m = json.load(open("x/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
	assert d["Config"] == "blobs/sha256/" + m["config"]["digest"][7:], (d, m)
	assert d["Layers"] == ["blobs/sha256/" + l["digest"][7:] for l in m["layers"]]
	bad = [p for p in [d["Config"]] + d["Layers"] if hashlib.sha256(open("x/" + p, "rb").read()).hexdigest() != p.split("/")[-1]]
	assert not bad, bad
	r = json.load(open("x/repositories"))
	assert set(r) == {"example/app"} and set(r["example/app"]) == {"1.0", "latest"}, r
	PY
'

test_expect_success SKOPEO 'skopeo reads it as docker-archive and as oci-archive' '
	skopeo inspect docker-archive:d.tar >da.json &&
	skopeo inspect --config oci-archive:d.tar:1.0 >oc.json &&
	skopeo copy -q docker-archive:d.tar dir:da-dir &&
	python3 -c "
import json
a = json.load(open(\"da.json\")); c = json.load(open(\"oc.json\"))
# the docker-archive source serves layers uncompressed: digests are the diffIDs
assert a[\"Layers\"] == c[\"rootfs\"][\"diff_ids\"], (a, c)
"
'

test_expect_success ROOT,PODMAN 'podman loads the --docker tarball with its tags' '
	# podman refuses a runroot path longer than 50 characters
	prr=$(mktemp -d /tmp/ocipipe-podman.XXXXXX) &&
	podman --root "$PWD/pr" --runroot "$prr" --storage-driver vfs load -i d.tar >load.out 2>&1 &&
	podman --root "$PWD/pr" --runroot "$prr" --storage-driver vfs image inspect \
		example/app:1.0 >pi.json &&
	rm -rf "$prr" &&
	python3 -c "import json; i = json.load(open(\"pi.json\"))[0]; assert i[\"Config\"][\"Entrypoint\"] == [\"/bin/sh\"], i[\"Config\"]"
'

test_expect_success '--docker refuses several images and -o DIR' '
	oci-layer <rootfs.tar | oci-config --arch amd64 | oci-manifest >a.s &&
	oci-layer <rootfs.tar | oci-config --arch arm64 | oci-manifest >b.s &&
	cat a.s b.s | test_expect_code 1 oci-pack --docker >two.tar 2>err &&
	grep "one image" err &&
	test_expect_code 2 oci-pack --docker -o dir <a.s 2>err2 &&
	test ! -e dir
'

test_expect_success 'Docker media types: v2 schema 2 manifest, gzip layers only' '
	oci-layer <rootfs.tar | oci-manifest --media-types docker |
		oci-pack --media-types docker --tag dk >dk.tar &&
	mkdir dk && tar -C dk -xf dk.tar &&
	python3 - <<-\PY
	import json
	idx = json.load(open("dk/index.json"))
	e = idx["manifests"][0]
	assert e["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json", e
	m = json.load(open("dk/blobs/sha256/" + e["digest"][7:]))
	assert m["mediaType"] == e["mediaType"]
	assert m["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
	assert [l["mediaType"] for l in m["layers"]] == ["application/vnd.docker.image.rootfs.diff.tar.gzip"]
	PY
	test $? = 0 &&
	oci-layer --zstd <rootfs.tar | test_must_fail oci-manifest --media-types docker >/dev/null 2>err &&
	grep "gzip layers" err &&
	oci-layer <rootfs.tar | oci-manifest | test_must_fail oci-pack --media-types docker >x.tar 2>err &&
	grep "same --media-types" err
'

test_expect_success '--annotation goes on the index.json entries; -o DIR keeps other tags' '
	oci-layer <rootfs.tar | oci-pack -o lay --tag a --annotation org.opencontainers.image.version=1 &&
	oci-layer --zstd <rootfs.tar | oci-pack -o lay --tag b &&
	python3 - <<-\PY
	import json
	idx = json.load(open("lay/index.json"))
	tags = {e["annotations"]["org.opencontainers.image.ref.name"]: e for e in idx["manifests"]}
	assert set(tags) == {"a", "b"}, tags
	assert tags["a"]["annotations"]["org.opencontainers.image.version"] == "1"
	PY
'

test_done
