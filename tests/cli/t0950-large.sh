#!/bin/sh
# SPDX-License-Identifier: MIT
# A large stream (over 1 GiB of file data, generated as it is read, never
# stored) through oci-layer | oci-pack; skopeo checks the image; peak memory
# (/usr/bin/time -v) is logged and must not grow with the input: the big
# run may use at most LARGE_RSS_SLACK_KIB (default 16 MiB) more than a
# 100 MiB run.  LARGE_MIB sets the size of the big run (default 1100).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

: "${LARGE_MIB:=1100}"
: "${LARGE_RSS_SLACK_KIB:=16384}"

# make distcheck in .ci/run sets OCIPIPE_SKIP_SLOW=1: this file already runs
# in the main `make check` of the same CI run.
test -z "${OCIPIPE_SKIP_SLOW:-}" || skip_all "OCIPIPE_SKIP_SLOW is set (slow test)"
test_have_prereq TIME || skip_all "/usr/bin/time is missing (Debian package time)"

ASAN_OPTIONS=$ASAN_RSS_OPTIONS	# RSS measures the programs (tests/lib.sh)
export ASAN_OPTIONS

bigtar() {
	"$PYTHON" "$TEST_HELPERS/bigtar.py" "$@"
}

test_expect_success 'setup: the generator makes what it says' '
	bigtar 5 | tar -tvf - >list &&
	grep -c "^-" list >nfiles &&
	test $(cat nfiles) -gt 2000
'

# pipeline NAME MIB [oci-layer options]: generator | oci-layer | oci-pack,
# each program under /usr/bin/time -v; writes NAME.tar, NAME.layer.time,
# NAME.pack.time.  No pipefail in sh: check every stage's status.
pipeline() {
	_n=$1 _mib=$2
	shift 2
	{
		{
			bigtar "$_mib"; echo $? >"$_n.gen.rc"
		} | {
			/usr/bin/time -v -o "$_n.layer.time" oci-layer "$@"; echo $? >"$_n.layer.rc"
		} | {
			/usr/bin/time -v -o "$_n.pack.time" oci-pack >"$_n.tar"; echo $? >"$_n.pack.rc"
		}
	} &&
	test "$(cat "$_n.gen.rc") $(cat "$_n.layer.rc") $(cat "$_n.pack.rc")" = "0 0 0" &&
	echo "$_n: $_mib MiB in, image $(size_of "$_n.tar") bytes;" \
		"peak RSS oci-layer $(rss "$_n.layer.time") KiB, oci-pack $(rss "$_n.pack.time") KiB;" \
		"oci-layer $(sed -n "s/^[[:space:]]*Elapsed (wall clock) time.*: //p" "$_n.layer.time")" >"$_n.summary"
}

test_expect_success 'a 100 MiB stream (reference run)' '
	pipeline small 100 &&
	cat small.summary
'
test -f small.summary && test_diag "$(cat small.summary)"

test_expect_success "a $LARGE_MIB MiB stream" '
	pipeline big "$LARGE_MIB" &&
	cat big.summary
'
test -f big.summary && test_diag "$(cat big.summary)"

test_expect_success 'the big image: one layer of more than 1 GiB uncompressed' '
	mkdir big.layout &&
	tar -C big.layout -xf big.tar &&
	verify_blobs big.layout >/dev/null &&
	m=$(blob_path big.layout "$(json_get big.layout/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	test "$(json_get "$m" "len(j[\"layers\"])")" = 1 &&
	l=$(blob_path big.layout "$(json_get "$m" "j[\"layers\"][0][\"digest\"]")") &&
	c=$(blob_path big.layout "$(json_get "$m" "j[\"config\"][\"digest\"]")") &&
	gzip -dc "$l" | size_and_sha256 >usize-diffid &&
	read usize diffid <usize-diffid &&
	test "$usize" -gt 1073741824 &&
	test "$(json_get "$c" "j[\"rootfs\"][\"diff_ids\"][0]")" = "sha256:$diffid"
'

test_expect_success SKOPEO 'skopeo inspects and copies the big image (digests verified)' '
	skopeo inspect oci:big.layout:latest >inspect.json &&
	test "$(json_get inspect.json "len(j[\"Layers\"])")" = 1 &&
	skopeo copy -q oci-archive:big.tar:latest dir:big.copy &&
	test -f big.copy/manifest.json &&
	rm -rf big.copy
'

test_expect_success 'peak memory does not grow with the input' '
	for stage in layer pack; do
		small=$(rss small.$stage.time) &&
		big=$(rss big.$stage.time) &&
		echo "oci-$stage: $small KiB at 100 MiB, $big KiB at $LARGE_MIB MiB (allowed +$LARGE_RSS_SLACK_KIB)" &&
		test "$big" -le $((small + LARGE_RSS_SLACK_KIB)) || return 1
	done
'
for _s in layer pack; do
	test -f small.$_s.time && test -f big.$_s.time &&
	test_diag "oci-$_s peak RSS: $(rss small.$_s.time) KiB (100 MiB), $(rss big.$_s.time) KiB ($LARGE_MIB MiB)"
done

test_expect_success ZSTD 'zstd: a big stream with bounded memory too' '
	pipeline zsmall 100 --zstd &&
	pipeline zbig "$LARGE_MIB" --zstd &&
	cat zsmall.summary zbig.summary &&
	for stage in layer pack; do
		small=$(rss zsmall.$stage.time) &&
		big=$(rss zbig.$stage.time) &&
		test "$big" -le $((small + LARGE_RSS_SLACK_KIB)) || return 1
	done &&
	mkdir zbig.layout && tar -C zbig.layout -xf zbig.tar &&
	verify_blobs zbig.layout >/dev/null &&
	if test_have_prereq SKOPEO; then
		skopeo copy -q oci:zbig.layout:latest dir:zbig.copy &&
		rm -rf zbig.copy
	fi
'
test -f zbig.summary && test_diag "$(cat zsmall.summary)" && test_diag "$(cat zbig.summary)"

test_done
