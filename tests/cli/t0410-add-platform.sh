#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-pack -o DIR --add-platform: grow a multi-platform tag (issue 8).

. "$top_srcdir/tests/lib.sh"

platforms() {
	python3 - "$1" "$2" <<-\PY
	import json, sys
	d, tag = sys.argv[1], sys.argv[2]
	def blob(dg): return json.load(open(d + "/blobs/sha256/" + dg[7:]))
	e = [m for m in json.load(open(d + "/index.json"))["manifests"]
	     if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
	assert len(e) == 1, e
	e = e[0]
	ms = blob(e["digest"])["manifests"] if e["mediaType"].endswith("index.v1+json") else [e]
	for m in ms:
	    c = blob(blob(m["digest"])["config"]["digest"])
	    print(c["os"] + "/" + c["architecture"] + ("/" + c["variant"] if c.get("variant") else ""), m["digest"])
	PY
}

test_expect_success 'setup' '
	mkdir -p a b &&
	echo a >a/f && echo b >b/f &&
	tar -C a -cf a.tar . && tar -C b -cf b.tar .
'

test_expect_success 'a platform added to a single-platform tag makes an index' '
	oci-layer <a.tar | oci-config --arch amd64 | oci-pack -o lay --tag t &&
	platforms lay t >one &&
	test "$(wc -l <one)" -eq 1 &&
	oci-layer <b.tar | oci-config --arch arm64 | oci-pack -o lay --tag t --add-platform &&
	platforms lay t >two &&
	cut -d" " -f1 two | sort >plats &&
	printf "linux/amd64\nlinux/arm64/v8\n" >expect &&
	test_cmp expect plats &&
	grep "^linux/amd64 " one >amd1 && grep "^linux/amd64 " two >amd2 &&
	test_cmp amd1 amd2
'

test_expect_success 'the same platform again replaces it' '
	oci-layer <a.tar | oci-config --arch aarch64 --env X=1 | oci-pack -o lay --tag t --add-platform &&
	platforms lay t >three &&
	test "$(wc -l <three)" -eq 2 &&
	grep "^linux/arm64/v8 " two >arm2 && grep "^linux/arm64/v8 " three >arm3 &&
	! test_cmp arm2 arm3 >/dev/null
'

test_expect_success SKOPEO 'skopeo reads each platform of the grown tag' '
	skopeo inspect --raw oci:lay:t >raw.json &&
	grep -q "image.index.v1+json" raw.json &&
	skopeo copy -q --override-arch arm64 oci:lay:t dir:arm &&
	skopeo copy -q --override-arch amd64 oci:lay:t dir:amd
'

test_expect_success '--add-platform needs -o DIR' '
	oci-layer <a.tar | test_expect_code 2 oci-pack --add-platform >x.tar 2>err &&
	grep "with -o DIR" err
'

test_done
