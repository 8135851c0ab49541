#!/bin/sh
# SPDX-License-Identifier: MIT
# Golden digests (issue 7, docs/reproducibility.md): a fixed input
# (tests/fixtures/golden/mkinput.py, a hand-made tar that depends on nothing
# of the machine), a fixed epoch and fixed options give known digests,
# checked into tests/fixtures/golden/:
#
#   input.txt     sha256 of the generated input tar
#   versions.txt  the libraries the values were made with (oci-layer --version)
#   none.txt, gzip.txt, zstd.txt   "KEY VALUE" per line: the layer's diff_id,
#                 digest and sizes, the config and manifest digests and the
#                 sha256 of the image tarball, for the full pipeline
#                 (oci-layer | oci-config | oci-manifest | oci-pack) and the
#                 short one (oci-layer | oci-pack)
#
# A change of any golden value is a change of the bytes ocipipe writes for
# everybody (every user's image digests change): it must come with a reason
# in the commit message (what changed in the output and why), never as a
# plain "update golden values".  To see the new values, run this file with
# TEST_KEEP=1 and look at actual-*.txt in the scratch directory.
#
# Compressed bytes can change with the compression library (libdeflate for
# gzip, libzstd for zstd) even when ocipipe does not.  When the running
# library's version differs from the one in versions.txt, only the lines
# that depend on compressed bytes (layer digest and size, manifest, image;
# marked "compressed" below) are skipped, with the reason; the uncompressed
# ones (diff_id, uncompressed size, config) and everything of none.txt are
# always checked.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

GOLDEN=$top_srcdir/tests/fixtures/golden
EPOCH=1704067200
# keys whose values depend on the compressor's output bytes
COMPRESSED_KEYS='full.layer.digest full.layer.size full.manifest full.image short.layer.digest short.layer.size short.manifest short.image'

# lib_version NAME: the version oci-layer --version reports for library NAME
lib_version() {
	oci-layer --version | sed -n "s/.*[ ,]$1 \([^ ,]*\).*/\1/p" | head -n 1
}

# golden_lib COMP: the library whose output COMP depends on
golden_lib() {
	case $1 in
	gzip) echo libdeflate ;;
	zstd) echo libzstd ;;
	esac
}

# image_values PREFIX TAR: "PREFIX.KEY VALUE" lines of an image tarball
image_values() {
	_d=$2.d
	rm -rf "$_d" && mkdir "$_d" && tar -C "$_d" -xf "$2" &&
	verify_blobs "$_d" >/dev/null &&
	_m=$(json_get "$_d/index.json" "j[\"manifests\"][0][\"digest\"]") &&
	_mf=$(blob_path "$_d" "$_m") &&
	_l=$(json_get "$_mf" "j[\"layers\"][0][\"digest\"]") &&
	_c=$(json_get "$_mf" "j[\"config\"][\"digest\"]") &&
	_cf=$(blob_path "$_d" "$_c") &&
	echo "$1.layer.digest $_l" &&
	echo "$1.layer.size $(size_of "$(blob_path "$_d" "$_l")")" &&
	echo "$1.diff_id $(json_get "$_cf" "j[\"rootfs\"][\"diff_ids\"][0]")" &&
	echo "$1.uncompressed.size $(uncompress "$(blob_path "$_d" "$_l")" | wc -c | tr -d " ")" &&
	echo "$1.config $_c" &&
	echo "$1.manifest $_m" &&
	echo "$1.image $(sha256_of "$2")"
}

# build COMP THREADS: actual-COMP.txt from both pipelines
build() {
	SOURCE_DATE_EPOCH=$EPOCH && export SOURCE_DATE_EPOCH &&
	oci-layer --compress="$1" --threads="$2" <input.tar |
	oci-config --arch amd64 --os linux --entrypoint /bin/busybox --cmd sh \
		--env PATH=/usr/bin:/bin --env LANG=C.UTF-8 --port 8080/tcp --port 53/udp \
		--label org.example.golden=yes --volume /data --user 1000:1000 \
		--workdir /home/app --stop-signal SIGTERM --author "ocipipe golden" \
		--author-email golden@example.org |
	oci-manifest --oci-annotation version=1.0 --annotation org.example.golden=yes |
	oci-pack --tag 1.0 --tag latest >full-$1-$2.tar &&
	oci-layer --compress="$1" --threads="$2" <input.tar |
	oci-pack --arch amd64 >short-$1-$2.tar &&
	{
		image_values full full-$1-$2.tar &&
		image_values short short-$1-$2.tar
	} >actual-$1-$2.txt
}

# golden_lines FILE: the "KEY VALUE" lines of a golden file (no comments)
golden_lines() {
	grep -v -e "^#" -e "^\$" "$1"
}

# split_lines FILE: FILE.compressed and FILE.uncompressed by COMPRESSED_KEYS
split_lines() {
	: >"$1.compressed" && : >"$1.uncompressed" &&
	while read -r _k _v; do
		case " $COMPRESSED_KEYS " in
		*" $_k "*) echo "$_k $_v" >>"$1.compressed" ;;
		*) echo "$_k $_v" >>"$1.uncompressed" ;;
		esac
	done <"$1"
}

test_expect_success 'the generated input is the recorded one' '
	"$PYTHON" "$GOLDEN/mkinput.py" >input.tar &&
	golden_lines "$GOLDEN/input.txt" >expect &&
	echo "input.tar $(sha256_of input.tar)" >actual &&
	test_cmp expect actual
'

test_diag "running: $(oci-layer --version | sed -n 2p)"
test_diag "golden values made with: $(golden_lines "$GOLDEN/versions.txt" | tr "\n" " ")"

for comp in none gzip zstd; do

test_expect_success "$comp: build with 1 and 3 threads, same values" '
	build $comp 1 &&
	build $comp 3 &&
	test_cmp actual-$comp-1.txt actual-$comp-3.txt &&
	cp actual-$comp-1.txt actual-$comp.txt &&
	test $(wc -l <actual-$comp.txt) = 14 &&
	split_lines actual-$comp.txt &&
	golden_lines "$GOLDEN/$comp.txt" >golden-$comp.txt &&
	split_lines golden-$comp.txt
'

test_expect_success "$comp: golden diff_id, uncompressed size, config digests" '
	test -s golden-$comp.txt.uncompressed &&
	test_cmp golden-$comp.txt.uncompressed actual-$comp.txt.uncompressed
'

lib=$(golden_lib $comp)
if test -n "$lib"; then
	have=$(lib_version $lib)
	want=$(golden_lines "$GOLDEN/versions.txt" | sed -n "s/^$lib //p")
fi
if test -n "$lib" && test "$have" != "$want"; then
	test_skip "$comp: golden layer digest, manifest and image" \
		"$lib $have here, the golden values were made with $lib $want (compressed bytes may differ); diff_id and config are still checked"
else
	test_expect_success "$comp: golden layer digest, manifest and image" '
		test -s golden-$comp.txt.compressed &&
		test_cmp golden-$comp.txt.compressed actual-$comp.txt.compressed
	'
fi

done

test_expect_success 'the three compressions share the diff_id and the config' '
	for c in none gzip zstd; do
		grep -e "^full\.diff_id " -e "^full\.config " -e "^short\.config " \
			"$GOLDEN/$c.txt" >"g-$c" || return 1
	done &&
	test_cmp g-none g-gzip &&
	test_cmp g-none g-zstd &&
	grep "^full\.layer\.digest " "$GOLDEN/none.txt" | sed "s/^full\.layer\.digest/full.diff_id/" >expect &&
	grep "^full\.diff_id " "$GOLDEN/none.txt" >actual &&
	test_cmp expect actual
'

test_expect_success 'versions.txt names the libraries oci-layer --version reports' '
	for lib in libdeflate libzstd; do
		golden_lines "$GOLDEN/versions.txt" | grep "^$lib [0-9]" &&
		test -n "$(lib_version $lib)" || return 1
	done
'

test_done
