#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-pack: an image stream in, an OCI image layout out (a tarball on
# stdout or a directory with -o); tags; defaults for a stream without
# config and manifest; the full pipeline; nothing private in the output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

# check_layout DIR TAG...: DIR is a complete OCI layout whose index has
# exactly the tags TAG... (all on one manifest); writes DIR.manifest and
# DIR.config (the blob paths) for later checks.
check_layout() {
	_d=$1
	shift
	test -f "$_d/oci-layout" &&
	test "$(json_get "$_d/oci-layout" "j[\"imageLayoutVersion\"]")" = 1.0.0 &&
	test "$(json_get "$_d/index.json" "j[\"schemaVersion\"]")" = 2 &&
	verify_blobs "$_d" >/dev/null &&
	json_get "$_d/index.json" \
		"\"\\n\".join(sorted(m[\"annotations\"][\"org.opencontainers.image.ref.name\"] for m in j[\"manifests\"]))" \
		>"$_d.tags" &&
	printf "%s\n" "$@" | LC_ALL=C sort >"$_d.tags.expect" &&
	test_cmp "$_d.tags.expect" "$_d.tags" &&
	json_get "$_d/index.json" "\"\\n\".join(sorted(set(m[\"digest\"] for m in j[\"manifests\"])))" >"$_d.mdigests" &&
	test $(wc -l <"$_d.mdigests") = 1 &&
	json_get "$_d/index.json" "j[\"manifests\"][0][\"mediaType\"]" >"$_d.mt" &&
	echo application/vnd.oci.image.manifest.v1+json >"$_d.mt.expect" &&
	test_cmp "$_d.mt.expect" "$_d.mt" &&
	_m=$(blob_path "$_d" "$(cat "$_d.mdigests")") &&
	test -f "$_m" &&
	test "$(json_get "$_d/index.json" "j[\"manifests\"][0][\"size\"]")" = "$(size_of "$_m")" &&
	echo "$_m" >"$_d.manifest" &&
	test "$(json_get "$_m" "j[\"schemaVersion\"]")" = 2 &&
	test "$(json_get "$_m" "j[\"config\"][\"mediaType\"]")" = application/vnd.oci.image.config.v1+json &&
	_c=$(blob_path "$_d" "$(json_get "$_m" "j[\"config\"][\"digest\"]")") &&
	test "$(json_get "$_m" "j[\"config\"][\"size\"]")" = "$(size_of "$_c")" &&
	echo "$_c" >"$_d.config" &&
	json_get "$_m" "\"\\n\".join(\"%s %s %s\" % (l[\"mediaType\"], l[\"digest\"], l[\"size\"]) for l in j[\"layers\"])" >"$_d.layers" &&
	while read _mt _dg _sz; do
		test "$(size_of "$(blob_path "$_d" "$_dg")")" = "$_sz" || return 1
	done <"$_d.layers"
}

# layer_line STREAMDIR N: "mediaType digest size" of layer N of a split stream
layer_line() {
	json_get "$1/layer-$2.json" "\"%s %s %s\" % (j[\"mediaType\"], j[\"digest\"], j[\"size\"])"
}

test_expect_success 'setup: rootfs, tar, gzip and zstd layer streams' '
	make_rootfs --no-random r &&
	mktar r --format=pax --xattrs --xattrs-include="*" >in.tar &&
	oci-layer <in.tar >gz.stream &&
	stream_split gz.stream gz >/dev/null &&
	oci-layer --zstd <in.tar >zst.stream &&
	stream_split zst.stream zst >/dev/null
'

test_expect_success '--help and --version' '
	oci-pack --help >out &&
	grep -i usage out &&
	grep -e "--tag" out &&
	oci-pack --version | grep oci-pack
'

test_expect_success 'oci-layer | oci-pack: a layout tarball on stdout' '
	oci-pack <gz.stream >img.tar 2>err &&
	test_cmp /dev/null err &&
	tar -tf img.tar >names &&
	grep -x oci-layout names &&
	grep -x index.json names &&
	grep "^blobs/sha256/[0-9a-f]\{64\}\$" names &&
	! grep "ocipipe" names &&
	mkdir img && tar -C img -xf img.tar &&
	check_layout img latest
'

test_expect_success 'tarball: every entry is a directory or a file under the layout' '
	tar -tvf img.tar >tv &&
	! grep -v "^[-d]" tv &&
	! grep -v -e "^oci-layout\$" -e "^index.json\$" -e "^blobs/" names
'

test_expect_success 'default config: os linux, this machine'"'"'s arch, diff_ids of the layer' '
	c=$(cat img.config) &&
	test "$(json_get "$c" "j[\"os\"]")" = linux &&
	test "$(json_get "$c" "j[\"architecture\"]")" = "$(host_arch)" &&
	test "$(json_get "$c" "j[\"rootfs\"][\"type\"]")" = layers &&
	json_get "$c" "j[\"rootfs\"][\"diff_ids\"]" >diff_ids &&
	echo "[\"$(json_get gz/layer-1.json "j[\"diffID\"]")\"]" >expect &&
	test_cmp expect diff_ids
'

test_expect_success 'the manifest lists the layer of the stream; its blob is the stream blob' '
	layer_line gz 1 >expect &&
	test_cmp expect img.layers &&
	cmp gz/blob-1 "$(blob_path img "$(json_get gz/layer-1.json "j[\"digest\"]")")"
'

test_expect_success 'output through a pipe (spooled) is a complete layout too' '
	oci-pack <gz.stream | cat >piped.tar &&
	mkdir piped && tar -C piped -xf piped.tar &&
	check_layout piped latest &&
	layer_line gz 1 >expect &&
	test_cmp expect piped.layers
'

test_expect_success 'input through a pipe' '
	cat gz.stream | oci-pack >frompipe.tar &&
	mkdir frompipe && tar -C frompipe -xf frompipe.tar &&
	check_layout frompipe latest
'

test_expect_success 'SOURCE_DATE_EPOCH: two runs give the same tarball' '
	SOURCE_DATE_EPOCH=1700000000 oci-pack <gz.stream >sde1.tar &&
	sleep 1 &&
	SOURCE_DATE_EPOCH=1700000000 oci-pack <gz.stream >sde2.tar &&
	cmp sde1.tar sde2.tar &&
	oci-pack --source-date-epoch=1700000000 <gz.stream >sde3.tar &&
	cmp sde1.tar sde3.tar
'

test_expect_success 'SOURCE_DATE_EPOCH: the whole pipeline is reproducible' '
	SOURCE_DATE_EPOCH=1700000000 && export SOURCE_DATE_EPOCH &&
	oci-layer --threads 1 <in.tar | oci-config --entrypoint /bin/sh | oci-manifest | oci-pack >rep1.tar &&
	oci-layer --threads 2 <in.tar | oci-config --entrypoint /bin/sh | oci-manifest | oci-pack >rep2.tar &&
	cmp rep1.tar rep2.tar
'

test_expect_success 'tags: --tag repeated, all on the one manifest' '
	oci-pack --tag 1.0 --tag latest --tag stable <gz.stream >tags.tar &&
	mkdir tags && tar -C tags -xf tags.tar &&
	check_layout tags 1.0 latest stable
'

test_expect_success 'OCI_IMAGE_TAG is the default tag' '
	OCI_IMAGE_TAG=from-env oci-pack <gz.stream >envtag.tar &&
	mkdir envtag && tar -C envtag -xf envtag.tar &&
	check_layout envtag from-env
'

test_expect_success '--arch sets the default config architecture' '
	oci-pack --arch arm64 <gz.stream >arm.tar &&
	mkdir arm && tar -C arm -xf arm.tar &&
	check_layout arm latest &&
	test "$(json_get "$(cat arm.config)" "j[\"architecture\"]")" = arm64 &&
	oci-pack --arch aarch64 <gz.stream >arm2.tar &&
	mkdir arm2 && tar -C arm2 -xf arm2.tar &&
	check_layout arm2 latest &&
	test "$(json_get "$(cat arm2.config)" "j[\"architecture\"]")" = arm64
'

test_expect_success 'zstd layer: media type and blob carried to the layout' '
	oci-pack <zst.stream >zimg.tar &&
	mkdir zimg && tar -C zimg -xf zimg.tar &&
	check_layout zimg latest &&
	layer_line zst 1 >expect &&
	test_cmp expect zimg.layers &&
	grep "tar+zstd " zimg.layers
'

test_expect_success '-o DIR: a layout directory, same content as the tarball' '
	SOURCE_DATE_EPOCH=1700000000 oci-pack -o dir1 <gz.stream >out &&
	test_cmp /dev/null out &&
	check_layout dir1 latest &&
	mkdir sde1 && tar -C sde1 -xf sde1.tar &&
	diff -r sde1 dir1
'

test_expect_success '-o DIR with a stream through a pipe' '
	cat zst.stream | oci-pack -o dir2 &&
	check_layout dir2 latest &&
	layer_line zst 1 >expect &&
	test_cmp expect dir2.layers
'

test_expect_success '-o DIR again adds tags to the existing layout' '
	oci-pack -o dir3 --tag one <gz.stream &&
	check_layout dir3 one &&
	oci-pack -o dir3 --tag two <gz.stream &&
	json_get dir3/index.json "sorted(m[\"annotations\"][\"org.opencontainers.image.ref.name\"] for m in j[\"manifests\"])" >dir3.tagl &&
	echo "[\"one\", \"two\"]" >expect &&
	test_cmp expect dir3.tagl &&
	verify_blobs dir3 >/dev/null
'

test_expect_success '-o DIR: an image with another layer moves the tag, keeps the other' '
	oci-pack -o dir3 --tag one <zst.stream &&
	json_get dir3/index.json "sorted(m[\"annotations\"][\"org.opencontainers.image.ref.name\"] for m in j[\"manifests\"])" >dir3.tagl &&
	echo "[\"one\", \"two\"]" >expect &&
	test_cmp expect dir3.tagl &&
	json_get dir3/index.json "len(set(m[\"digest\"] for m in j[\"manifests\"]))" >n &&
	echo 2 >expect &&
	test_cmp expect n &&
	verify_blobs dir3 >/dev/null
'

test_expect_success 'two layers: in stream order in the manifest and diff_ids' '
	mkdir app && echo "app" >app/hello &&
	tar --format=pax -C app -cf app.tar . &&
	oci-layer --compress=none <app.tar >app.stream &&
	stream_split app.stream app.d >/dev/null &&
	cat gz.stream app.stream | oci-pack >two.tar &&
	mkdir two && tar -C two -xf two.tar &&
	check_layout two latest &&
	{ layer_line gz 1 && layer_line app.d 1; } >expect &&
	test_cmp expect two.layers &&
	json_get "$(cat two.config)" "j[\"rootfs\"][\"diff_ids\"]" >diff_ids &&
	echo "[\"$(json_get gz/layer-1.json "j[\"diffID\"]")\", \"$(json_get app.d/layer-1.json "j[\"diffID\"]")\"]" >expect &&
	test_cmp expect diff_ids
'

test_expect_success 'two layers from a { ...; } group' '
	{ oci-layer <in.tar && oci-layer --compress=none <app.tar; } | oci-pack >group.tar &&
	mkdir group && tar -C group -xf group.tar &&
	check_layout group latest &&
	test_cmp two.layers group.layers
'

test_expect_success 'full pipeline: oci-config and oci-manifest end up in the layout' '
	oci-layer --zstd <in.tar |
	oci-config --entrypoint /bin/sh --cmd -c --cmd "echo hi" --env FOO=bar --env PATH=/usr/bin:/bin |
	oci-manifest | oci-pack --tag 1.0 --tag latest >full.tar &&
	mkdir full && tar -C full -xf full.tar &&
	check_layout full 1.0 latest &&
	c=$(cat full.config) &&
	test "$(json_get "$c" "j[\"config\"][\"Entrypoint\"]")" = "[\"/bin/sh\"]" &&
	test "$(json_get "$c" "j[\"config\"][\"Cmd\"]")" = "[\"-c\", \"echo hi\"]" &&
	json_get "$c" "sorted(j[\"config\"][\"Env\"])" >env &&
	echo "[\"FOO=bar\", \"PATH=/usr/bin:/bin\"]" >expect &&
	test_cmp expect env &&
	test "$(json_get "$c" "j[\"rootfs\"][\"diff_ids\"]")" = "[\"$(json_get zst/layer-1.json "j[\"diffID\"]")\"]" &&
	layer_line zst 1 >expect &&
	test_cmp expect full.layers
'

test_expect_success 'the stream config and manifest are used as they are' '
	oci-layer <in.tar | oci-config --env A=1 | oci-manifest >cm.stream &&
	stream_split cm.stream cm >items &&
	printf "layer 1 %s\nconfig 1\nmanifest 1\n" "$(sed -n "s/^layer 1 //p" items)" >expect &&
	test_cmp expect items &&
	oci-pack <cm.stream >cm.tar &&
	mkdir cmimg && tar -C cmimg -xf cm.tar &&
	check_layout cmimg latest &&
	cmp cm/config-1.json "$(cat cmimg.config)" &&
	cmp cm/manifest-1.json "$(cat cmimg.manifest)"
'

test_done
