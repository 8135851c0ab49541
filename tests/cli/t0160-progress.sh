#!/bin/sh
# SPDX-License-Identifier: MIT
# Progress line, summary and descriptor output (issue 9).

. "$top_srcdir/tests/lib.sh"

command -v script >/dev/null 2>&1 && test_set_prereq SCRIPT

test_expect_success 'setup' '
	make_rootfs root &&
	tar -C root -cf rootfs.tar .
'

test_expect_success 'stderr not a terminal: no output at all by default' '
	oci-layer <rootfs.tar 2>err.layer | oci-pack >img.tar 2>err.pack &&
	test_cmp /dev/null err.layer &&
	test_cmp /dev/null err.pack
'

test_expect_success SCRIPT 'on a terminal a progress line is drawn and cleared' '
	script -qec "oci-layer <rootfs.tar >stream" /dev/null >tty.out &&
	grep "oci-layer: .* read, .* tar, .* written (.*%), .* entries" tty.out &&
	# drawn in place: carriage return, erase to end of line
	tr "\r" "\n" <tty.out | grep -c "entries" >n &&
	test "$(cat n)" -ge 1 &&
	grep "$(printf "\033\\[K")" tty.out &&
	oci-pack <stream >img2.tar
'

test_expect_success SCRIPT '-q keeps the terminal quiet' '
	script -qec "oci-layer -q <rootfs.tar >stream" /dev/null >tty.q &&
	! grep "entries" tty.q
'

test_expect_success '--progress on a non-terminal prints plain lines' '
	oci-layer --progress <rootfs.tar 2>err >stream &&
	grep "^oci-layer: .* entries" err &&
	! grep "$(printf "\r")" err &&
	oci-pack --progress <stream 2>perr >img3.tar &&
	grep "^oci-pack: .* of image stream read" perr
'

test_expect_success '--summary and --print-descriptor agree with the stream' '
	oci-layer --summary --print-descriptor=desc.json <rootfs.tar 2>sum >stream &&
	tar -xOf stream ocipipe/layer.json >layer.json &&
	printf "%s\n" "$(cat layer.json)" >expect && test_cmp expect desc.json &&
	digest=$(python3 -c "import json; print(json.load(open(\"desc.json\"))[\"digest\"])") &&
	grep "^oci-layer: $digest .* gzip (.*% of .*), [0-9]* entries, .* s\$" sum &&
	oci-pack --summary --print-descriptor=top.json <stream >img4.tar 2>psum &&
	tar -xOf img4.tar index.json >index.json &&
	python3 -c "
import json
t = json.load(open(\"top.json\")); i = json.load(open(\"index.json\"))[\"manifests\"][0]
assert (t[\"digest\"], t[\"size\"], t[\"mediaType\"]) == (i[\"digest\"], i[\"size\"], i[\"mediaType\"]), (t, i)
" &&
	grep "^oci-pack: 1 image, 1 layer, sha256:[0-9a-f]* tagged latest" psum
'

test_expect_success '--summary counts the entries of the layer, not those left out' '
	n_in=$(tar -tf rootfs.tar | wc -l) &&
	oci-layer --summary --exclude=dev <rootfs.tar 2>sum >stream &&
	stream_split stream excl >/dev/null &&
	tar -tzf excl/blob-1 >kept &&
	n_kept=$(wc -l <kept) &&
	test $n_kept -lt $n_in &&
	grep ", $n_kept entries, " sum
'

test_expect_success '-v lists the entries as tar -v does, then the summary' '
	oci-layer -v <rootfs.tar 2>list >stream &&
	tar -tf stream >/dev/null &&
	grep -x "etc/" list && grep "^oci-layer: sha256:" list
'

test_done
