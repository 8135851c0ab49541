#!/bin/sh
# SPDX-License-Identifier: MIT
# Layer descriptor annotations travel through the image stream: what a
# layer.json carries reaches the manifest's layer descriptor, through
# oci-config, oci-manifest, oci-pack (stream, directory, tarball) and
# oci-push (read back by skopeo from a docker-registry on 127.0.0.1), and
# hostile annotations are refused.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

SOURCE_DATE_EPOCH=1700000000
export SOURCE_DATE_EPOCH

# layer_annotations MANIFEST: the first layer's annotations, sorted JSON
layer_annotations() {
	json_get "$1" 'j["layers"][0].get("annotations")'
}

test_expect_success 'setup: a layer whose layer.json has annotations' '
	mkdir -p rootfs/etc &&
	echo hello >rootfs/etc/motd &&
	mktar rootfs | oci-layer >plain.stream &&
	"$PYTHON" "$TEST_HELPERS/stream.py" annotate plain.stream \
		org.example.toc=sha256:0123 "org.example.pos=1:2:3=4" >ann.stream &&
	stream_split ann.stream split >/dev/null &&
	json_get split/layer-1.json "j[\"annotations\"]" >got &&
	echo "{\"org.example.pos\": \"1:2:3=4\", \"org.example.toc\": \"sha256:0123\"}" >expect &&
	test_cmp expect got
'

test_expect_success 'oci-config | oci-manifest keep them in layer.json and the manifest' '
	oci-config --entrypoint /bin/sh <ann.stream | oci-manifest >full.stream &&
	stream_split full.stream full >/dev/null &&
	json_get full/layer-1.json "j[\"annotations\"]" >got &&
	test_cmp expect got &&
	layer_annotations full/manifest-1.json >got &&
	test_cmp expect got
'

test_expect_success 'oci-pack: a directory and a tarball carry them, skopeo reads them' '
	oci-pack -o dir <ann.stream &&
	m=$(json_get dir/index.json "j[\"manifests\"][0][\"digest\"]") &&
	layer_annotations "$(blob_path dir "$m")" >got &&
	test_cmp expect got &&
	oci-pack <full.stream >img.tar &&
	mkdir x && tar -C x -xf img.tar &&
	m=$(json_get x/index.json "j[\"manifests\"][0][\"digest\"]") &&
	layer_annotations "$(blob_path x "$m")" >got &&
	test_cmp expect got &&
	if test_have_prereq SKOPEO; then
		skopeo inspect --raw oci-archive:img.tar >raw.json &&
		layer_annotations raw.json >got &&
		test_cmp expect got
	fi
'

test_expect_success 'without annotations nothing changes' '
	oci-pack -o plain <plain.stream &&
	m=$(json_get plain/index.json "j[\"manifests\"][0][\"digest\"]") &&
	! grep -q annotations "$(blob_path plain "$m")"
'

if test_have_prereq REGISTRY,SKOPEO; then
	start_registry reg && REGADDR=$REG && test_set_prereq REG
fi

test_expect_success REG 'oci-push: the registry gets the same manifest as oci-pack writes' '
	oci-push --tls-verify=false "$REGADDR/ocipipe/ann:1" <full.stream &&
	skopeo inspect --raw --tls-verify=false "docker://$REGADDR/ocipipe/ann:1" >pushed.json &&
	layer_annotations pushed.json >got &&
	test_cmp expect got &&
	cmp pushed.json "$(blob_path x "$(json_get x/index.json "j[\"manifests\"][0][\"digest\"]")")"
'

test_expect_success 'hostile annotations in layer.json are refused' '
	"$PYTHON" - <<-\PY &&
	import io, json, tarfile
	for bad, name in ((1, "num"), ("x" * 5000, "long")):
	    src = tarfile.open("plain.stream", "r")
	    out = tarfile.open(name + ".stream", "w", format=tarfile.USTAR_FORMAT)
	    for m in src:
	        data = src.extractfile(m).read()
	        if m.name == "ocipipe/layer.json":
	            d = json.loads(data)
	            d["annotations"] = {"k": bad}
	            data = json.dumps(d).encode()
	        info = tarfile.TarInfo(m.name)
	        info.size, info.mode, info.mtime = len(data), 0o644, 0
	        out.addfile(info, io.BytesIO(data))
	    out.close()
	PY
	test_must_fail oci-pack -o bad1 <num.stream 2>err &&
	grep -q "not a string" err &&
	test_must_fail oci-manifest <long.stream >/dev/null 2>err &&
	grep -q "value over" err
'

test_done
