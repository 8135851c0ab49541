#!/bin/sh
# SPDX-License-Identifier: MIT
# Base images: an OCI image tarball in the stream is built upon (issue 3).

. "$top_srcdir/tests/lib.sh"

test_expect_success 'build a base image and an app on top of it' '
	mkdir -p base/etc base/bin app/opt &&
	echo base >base/etc/os-release &&
	echo one >base/bin/tool &&
	echo app >app/opt/app &&
	echo override >app/bin-tool-note &&
	tar -C base -cf base-rootfs.tar . &&
	tar -C app -cf app-rootfs.tar . &&
	oci-layer <base-rootfs.tar |
		oci-config --env A=1 --label base=yes --entrypoint /bin/tool --arch amd64 |
		oci-manifest | oci-pack --tag base >base.tar &&
	{ cat base.tar && oci-layer <app-rootfs.tar; } |
		oci-config --env B=2 --label app=yes | oci-manifest |
		oci-pack --tag app >app.tar
'

test_expect_success SKOPEO 'the app has the base layers then its own, base blobs unchanged' '
	skopeo inspect oci-archive:base.tar:base >base.json &&
	skopeo inspect oci-archive:app.tar:app >app.json &&
	python3 - <<-\PY
	import json
	b = json.load(open("base.json")); a = json.load(open("app.json"))
	assert len(b["Layers"]) == 1, b["Layers"]
	assert len(a["Layers"]) == 2, a["Layers"]
	assert a["Layers"][0] == b["Layers"][0], (a["Layers"], b["Layers"])
	PY
'

test_expect_success SKOPEO 'the config is inherited: env and labels merged, entrypoint kept' '
	skopeo inspect --config oci-archive:app.tar:app >cfg.json &&
	python3 - <<-\PY
	import json
	c = json.load(open("cfg.json"))
	cc = c["config"]
	assert cc["Env"] == ["A=1", "B=2"], cc["Env"]
	assert cc["Labels"] == {"base": "yes", "app": "yes"}, cc["Labels"]
	assert cc["Entrypoint"] == ["/bin/tool"], cc
	assert c["architecture"] == "amd64"
	assert len(c["rootfs"]["diff_ids"]) == 2
	assert len([h for h in c["history"] if not h.get("empty_layer")]) == 2, c["history"]
	PY
'

test_expect_success SKOPEO 'skopeo copies the app image (every digest verified)' '
	skopeo copy -q oci-archive:app.tar:app dir:app-dir &&
	test -f app-dir/manifest.json
'

test_expect_success ROOT,UMOCI 'umoci unpack of the app shows files of both layers' '
	mkdir layout && tar -C layout -xf app.tar &&
	umoci unpack --image layout:app bundle >/dev/null &&
	test "$(cat bundle/rootfs/etc/os-release)" = base &&
	test "$(cat bundle/rootfs/opt/app)" = app
'

test_expect_success SKOPEO 'oci-pack alone builds on a base (config extended)' '
	{ cat base.tar && oci-layer <app-rootfs.tar; } | oci-pack --tag app2 >app2.tar &&
	skopeo inspect --config oci-archive:app2.tar:app2 >cfg2.json &&
	python3 -c "import json; c=json.load(open(\"cfg2.json\")); assert len(c[\"rootfs\"][\"diff_ids\"]) == 2; assert c[\"config\"][\"Env\"] == [\"A=1\"]"
'

test_expect_success SKOPEO 'a multi-platform base needs a choice; the platform or --base-ref picks one' '
	oci-layer <base-rootfs.tar | oci-config --arch amd64 | oci-manifest >amd.s &&
	oci-layer <app-rootfs.tar | oci-config --arch aarch64 | oci-manifest >arm.s &&
	cat amd.s arm.s | oci-pack --tag multi >multi.tar &&
	{ cat multi.tar && oci-layer <app-rootfs.tar; } >on-multi.s &&
	test_must_fail oci-pack --tag x <on-multi.s >x.tar 2>err &&
	grep "several images" err && grep "linux/arm64" err && grep "linux/amd64" err &&
	oci-pack --tag x --arch arm64 <on-multi.s >x.tar &&
	skopeo inspect --config oci-archive:x.tar:x >xc.json &&
	python3 -c "import json; c=json.load(open(\"xc.json\")); assert c[\"architecture\"] == \"arm64\", c" &&
	oci-config --arch x86_64 <on-multi.s | oci-pack --tag y >y.tar &&
	skopeo inspect --config oci-archive:y.tar:y >yc.json &&
	python3 -c "import json; c=json.load(open(\"yc.json\")); assert c[\"architecture\"] == \"amd64\", c"
'

test_expect_success SKOPEO '--base-ref selects a tag; an unknown tag is an error' '
	oci-layer <base-rootfs.tar | oci-pack --tag one >t1.tar &&
	mkdir two && oci-layer <base-rootfs.tar | oci-pack -o two --tag a &&
	oci-layer <app-rootfs.tar | oci-pack -o two --tag b &&
	tar -C two -cf two.tar . &&
	{ cat two.tar && oci-layer <app-rootfs.tar; } >on-two.s &&
	test_must_fail oci-pack <on-two.s >z.tar 2>err && grep "several images" err &&
	oci-pack --base-ref b <on-two.s >z.tar &&
	skopeo inspect oci-archive:z.tar:latest >z.json &&
	test_must_fail oci-pack --base-ref nope <on-two.s >z2.tar 2>err2 &&
	grep "no image in the archive matches tag" err2
'

test_expect_success 'a corrupt base blob is refused' '
	mkdir bad && tar -C bad -xf base.tar &&
	blob=$(ls -S bad/blobs/sha256 | head -1) &&
	printf X | dd of=bad/blobs/sha256/$blob bs=1 seek=20 conv=notrunc 2>/dev/null &&
	tar -C bad -cf bad.tar . &&
	{ cat bad.tar && oci-layer <app-rootfs.tar; } >bad.s &&
	test_must_fail oci-pack <bad.s >bad-out.tar 2>err &&
	grep "digest" err
'

test_expect_success 'a base missing a member is an error, not an image without the base' '
	for m in index.json oci-layout \
		"blobs/sha256/$(tar -tvf base.tar | sort -k3 -n | tail -1 | sed "s,.*/,,")"; do
		cp base.tar part.tar && tar --delete -f part.tar "$m" &&
		{ cat part.tar && oci-layer <app-rootfs.tar; } >part.s &&
		for p in oci-config oci-manifest oci-pack; do
			test_expect_code 1 $p <part.s >part-out.tar 2>err &&
			test_one_error_line $p err &&
			grep -E "is incomplete: it has no $m|missing from the archive" err || return 1
		done &&
		not_an_image part-out.tar || return 1
	done
'

test_done
