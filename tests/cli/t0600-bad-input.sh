#!/bin/sh
# SPDX-License-Identifier: MIT
# Bad input at every stage: each program fails with exit 1 and one line on
# stderr (what and where), never crashes (the suite runs under ASan and
# UBSan, whose reports have exit codes of their own), and what a failed
# pipeline leaves behind never passes as an image -- also in a shell
# pipeline without pipefail, and with -o DIR (the layout stays as it was).
# t0150-layer-errors.sh has the basic oci-layer cases; this file adds the
# damaged tar fields, damaged compression, the image-stream and JSON
# inputs of the later stages, and the pipelines.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

mkbad() {
	"$PYTHON" "$TEST_HELPERS/mkbad.py" "$@"
}

# stage_fails PROG INPUT [ARGS...]: PROG <INPUT exits 1 with one line
# "PROG: ..." on stderr (in out.err) and what it wrote (out.data) is no
# image, and oci-pack refuses it.
stage_fails() {
	_p=$1 _in=$2
	shift 2
	test_expect_code 1 "$_p" "$@" <"$_in" >out.data 2>out.err &&
	test_one_error_line "$_p" out.err &&
	not_an_image out.data || return 1
	if test "$_p" != oci-pack; then
		test_expect_code 1 oci-pack <out.data >out.img 2>out.pack-err &&
		test_one_error_line oci-pack out.pack-err &&
		not_an_image out.img
	fi
}

# says_where FILE: the message names an entry ('...') or a byte offset
says_where() {
	grep -E "'[^']+'|byte [0-9]+|offset [0-9]+" "$1" || {
		echo "no entry name or byte offset in: $(cat "$1")" >&2
		return 1
	}
}

# pipeline_fails IN IMG [STAGE ARGS]: the whole pipeline, in sh without
# pipefail, on IN: the last status is non-zero and IMG is no image.
pipeline_fails() {
	if oci-layer <"$1" 2>/dev/null | oci-config --entrypoint /bin/sh 2>/dev/null |
		oci-manifest 2>/dev/null | oci-pack >"$2" 2>"$2.err"; then
		echo "pipeline without pipefail succeeded" >&2
		return 1
	fi
	test_one_error_line oci-pack "$2.err" &&
	not_an_image "$2"
}

test_expect_success 'setup: good inputs and a stream writer' '
	mkbad good >good.tar &&
	oci-layer --compress=none <good.tar >good.stream &&
	oci-config <good.stream >cfg.stream &&
	oci-manifest <cfg.stream >man.stream &&
	oci-pack <man.stream >good.img &&
	stream_split man.stream parts >parts.list &&
	printf "layer 1 1\nconfig 1\nmanifest 1\n" >expect &&
	test_cmp expect parts.list &&
	cat >mkstream.py <<-\PY &&
	# mkstream.py [--no-end] KIND=FILE...: an image stream by hand; KIND is
	# chunk (numbered per run), layer, config, manifest, error, or
	# raw:NAME (any entry name)
	import sys, tarfile, io
	args = sys.argv[1:]
	end = True
	if args and args[0] == "--no-end":
	    end = False
	    args = args[1:]
	out = io.BytesIO()
	n = 0
	for a in args:
	    kind, path = a.split("=", 1)
	    data = open(path, "rb").read()
	    if kind == "chunk":
	        name = "ocipipe/chunk.%06d" % n
	        n += 1
	    elif kind.startswith("raw:"):
	        name = kind[4:]
	    else:
	        name = "ocipipe/%s.json" % kind if kind != "error" else "ocipipe/error"
	        n = 0
	    ti = tarfile.TarInfo(name)
	    ti.size = len(data)
	    ti.mode = 0o644
	    out.write(ti.tobuf(tarfile.USTAR_FORMAT))
	    out.write(data + b"\0" * (-len(data) % 512))
	if end:
	    out.write(b"\0" * 1024)
	sys.stdout.buffer.write(out.getvalue())
	PY
	"$PYTHON" mkstream.py chunk=parts/blob-1 layer=parts/layer-1.json \
		config=parts/config-1.json manifest=parts/manifest-1.json >remade.stream &&
	oci-pack <remade.stream >remade.img &&
	cmp good.img remade.img
'

# --- damaged rootfs tars ------------------------------------------------

test_expect_success 'oci-layer: a non-octal size field' '
	"$PYTHON" - <<-\PY >nonoctal.in &&
	b = bytearray(open("good.tar", "rb").read())
	off = 1536                      # header of a/two
	b[off + 124:off + 136] = b"0000000x750\0"
	b[off + 148:off + 156] = b" " * 8
	b[off + 148:off + 156] = ("%06o\0 " % sum(b[off:off + 512])).encode()
	import sys; sys.stdout.buffer.write(b)
	PY
	stage_fails oci-layer nonoctal.in &&
	says_where out.err &&
	pipeline_fails nonoctal.in nonoctal.img
'

# pax_tar RECORD [SIZE]: a pax header holding RECORD (escapes allowed),
# its size field SIZE (default: the record length), then good.tar
pax_tar() {
	"$PYTHON" - "$@" <<-\PY
	import sys, tarfile
	rec = sys.argv[1].encode().decode("unicode_escape").encode("latin1")
	size = int(sys.argv[2]) if len(sys.argv) > 2 else len(rec)
	ti = tarfile.TarInfo("PaxHeaders/x")
	ti.type = tarfile.XHDTYPE
	ti.size = size
	sys.stdout.buffer.write(ti.tobuf(tarfile.USTAR_FORMAT) + rec +
	                        b"\0" * (-len(rec) % 512) + open("good.tar", "rb").read())
	PY
}

test_expect_success 'setup: a well-formed pax record is honoured (control)' '
	pax_tar "10 path=x\n" >pax-ok.tar &&
	oci-layer --compress=none <pax-ok.tar >pax-ok.stream &&
	stream_split pax-ok.stream pax-ok >/dev/null &&
	tar -tf pax-ok/blob-1 >names &&
	printf "x\na/two\n" >expect &&
	test_cmp expect names
'

# A pax record that cannot be parsed loses what it said (here the path):
# the entry must not go into the layer under its ustar name instead.
n=0
for rec in "99999999999999999999 path=x\n" "500 path=x\n" "5 path=x\n" \
	"garbage\n" "0 path=x\n" "12 path=/x\n"; do
	n=$((n + 1))
	test_expect_success "oci-layer: pax header with a bad record length: $rec" "
		pax_tar '$rec' >pax-$n.in &&
		stage_fails oci-layer pax-$n.in &&
		says_where out.err &&
		pipeline_fails pax-$n.in pax-$n.img
	"
done

test_expect_success 'oci-layer: pax header with an absurd size field (8 GiB)' '
	pax_tar "10 path=x\n" 8589934591 >paxsize.in &&
	stage_fails oci-layer paxsize.in &&
	pipeline_fails paxsize.in paxsize.img
'

# damage FILE OFFSET: flip the bits of one byte (OFFSET < 0 counts from the end)
damage() {
	"$PYTHON" -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[2])] ^= 0xff
sys.stdout.buffer.write(b)' "$@"
}

test_expect_success 'oci-layer: gzip input with damaged compressed data' '
	gzip -n -c <good.tar >good.tgz &&
	damage good.tgz 30 >gz-data.in &&
	stage_fails oci-layer gz-data.in &&
	pipeline_fails gz-data.in gz-data.img
'

# A stored (level 0) deflate block decodes whatever its bytes are: only
# the CRC-32 of the gzip trailer tells that the content was damaged.
test_expect_success 'oci-layer: gzip input whose content does not match its CRC' '
	"$PYTHON" - <<-\PY >gz-crc.in &&
	import gzip, sys
	d = open("good.tar", "rb").read()
	g = bytearray(gzip.compress(d, compresslevel=0, mtime=0))
	i = g.find(d[512:560])          # inside the data of a/one
	g[i + 5] ^= 0x20
	sys.stdout.buffer.write(g)
	PY
	test_must_fail gzip -t gz-crc.in &&
	stage_fails oci-layer gz-crc.in &&
	pipeline_fails gz-crc.in gz-crc.img
'

test_expect_success 'oci-layer: gzip input with a damaged CRC field' '
	damage good.tgz -6 >gz-crcfield.in &&
	test_must_fail gzip -t gz-crcfield.in &&
	stage_fails oci-layer gz-crcfield.in
'

test_expect_success ZSTD 'oci-layer: zstd input with damaged data' '
	zstd -q -c <good.tar >good.tzst &&
	size=$(size_of good.tzst) &&
	damage good.tzst $((size / 2)) >zst-data.in &&
	stage_fails oci-layer zst-data.in &&
	pipeline_fails zst-data.in zst-data.img
'

# zstd input is decompressed by oci-layer itself (src/lib/tarin.c), like
# gzip: frames may follow each other and zero padding may end the input;
# anything else after the data, a damaged frame checksum and a frame cut
# short are errors.
test_expect_success ZSTD 'oci-layer: zstd frames, padding, garbage, checksum' '
	oci-layer --compress=none <good.tar >ref.stream &&
	head -c 1024 good.tar >head.part &&
	tail -c +1025 good.tar >tail.part &&
	zstd -q -c head.part >two.tzst && zstd -q -c tail.part >>two.tzst &&
	oci-layer --compress=none <two.tzst >two.stream &&
	cmp ref.stream two.stream &&
	cp good.tzst padded.tzst && head -c 4096 /dev/zero >>padded.tzst &&
	oci-layer --compress=none <padded.tzst >padded.stream &&
	cmp ref.stream padded.stream &&
	cp good.tzst garbage.tzst && printf "trailing junk" >>garbage.tzst &&
	stage_fails oci-layer garbage.tzst &&
	grep "garbage after the compressed data" out.err &&
	zstd -q --check -c <good.tar >sum.tzst &&
	damage sum.tzst -2 >zst-sum.in &&
	test_must_fail zstd -t -q zst-sum.in &&
	stage_fails oci-layer zst-sum.in &&
	size=$(size_of good.tzst) &&
	head -c $((size - 3)) good.tzst >zst-cut.in &&
	stage_fails oci-layer zst-cut.in &&
	grep "zstd input is truncated" out.err
'

# From a pipe zstd cannot shrink the window to the input: --long=28 asks
# the reader for 256 MiB, past libzstd's default limit.  Not damage: say so.
test_expect_success ZSTD 'oci-layer: a zstd window over 128 MiB is refused as such, not as damage' '
	zstd -q --long=28 -c <good.tar | cat >long28.in &&
	zstd -q -d --long=28 -c long28.in | cmp - good.tar &&
	stage_fails oci-layer long28.in &&
	grep "zstd input needs a window of more than 128 MiB" out.err
'

test_expect_success XZ 'oci-layer: xz input truncated' '
	xz -c <good.tar >good.txz &&
	size=$(size_of good.txz) &&
	head -c $((size - 20)) good.txz >xz-trunc.in &&
	stage_fails oci-layer xz-trunc.in
'

test_expect_success 'oci-layer: bzip2 input truncated' '
	bzip2 -c <good.tar >good.tbz &&
	size=$(size_of good.tbz) &&
	head -c $((size - 10)) good.tbz >bz-trunc.in &&
	stage_fails oci-layer bz-trunc.in
'

# xz and bzip2 are decompressed by oci-layer too (src/lib/tarin.c):
# streams may follow each other (pbzip2, cat; xz stream padding), anything
# else after them, a damaged check and a cut stream are errors.
# streams_cases COMP EXT GARBAGE-MESSAGE: two streams, zero padding and
# trailing junk after good.EXT (made by COMP -c), damaged data, xz-trunc.in
# or bz-trunc.in cut short
streams_cases() {
	_c=$1 _x=$2 _g=$3
	oci-layer --compress=none <good.tar >ref.stream &&
	$_c -c head.part >two.$_x && $_c -c tail.part >>two.$_x &&
	oci-layer --compress=none <two.$_x >two-$_x.stream &&
	cmp ref.stream two-$_x.stream &&
	cp good.$_x padded.$_x && head -c 4096 /dev/zero >>padded.$_x &&
	oci-layer --compress=none <padded.$_x >padded-$_x.stream &&
	cmp ref.stream padded-$_x.stream &&
	cp good.$_x garbage.$_x && printf "trailing junk" >>garbage.$_x &&
	stage_fails oci-layer garbage.$_x &&
	grep "$_g" out.err &&
	_size=$(size_of good.$_x) &&
	damage good.$_x $((_size / 2)) >data-$_x.in &&
	test_must_fail $_c -t data-$_x.in 2>/dev/null &&
	stage_fails oci-layer data-$_x.in &&
	pipeline_fails data-$_x.in data-$_x.img
}

test_expect_success XZ 'oci-layer: xz streams, padding, garbage, check' '
	streams_cases xz txz "xz input is damaged" &&
	damage good.txz -20 >xz-check.in &&
	test_must_fail xz -t xz-check.in &&
	stage_fails oci-layer xz-check.in &&
	stage_fails oci-layer xz-trunc.in &&
	grep "xz input is truncated" out.err
'

test_expect_success 'oci-layer: bzip2 streams, padding, garbage, check' '
	streams_cases bzip2 tbz "bzip2 input: garbage after the compressed data" &&
	stage_fails oci-layer bz-trunc.in &&
	grep "bzip2 input is truncated" out.err
'

test_expect_success 'oci-layer: an image stream is refused' '
	stage_fails oci-layer good.stream
'

# --- bad image streams, at every later stage ---------------------------

"$PYTHON" -c 'import random, sys; sys.stdout.buffer.write(random.Random(6).randbytes(20000))' >random.in
printf "this is not an image stream\n" >text.in
: >empty.in
size=$(size_of good.stream)
head -c 700 good.stream >cut-chunk.in
head -c $((size - 1024)) good.stream >cut-end.in
head -c 512 good.stream >cut-header.in
head -c 1300 good.stream >cut-desc.in

for stage in oci-config oci-manifest oci-pack; do
	for kind in empty random text cut-chunk cut-end cut-header cut-desc; do
		test_expect_success "$stage: bad stream ($kind)" "
			stage_fails $stage $kind.in &&
			case $kind in
			cut-*) says_where out.err ;;
			esac
		"
	done
	test_expect_success "$stage: a raw rootfs tar names oci-layer" "
		stage_fails $stage good.tar &&
		grep oci-layer out.err
	"
done

test_expect_success 'setup: damaged descriptors and streams' '
	d=parts/layer-1.json &&
	json_get $d "j[\"size\"]" >size &&
	"$PYTHON" - <<-\PY &&
	import json
	d = json.load(open("parts/layer-1.json"))
	def put(name, **kw):
	    x = dict(d); x.update(kw)
	    open(name, "w").write(json.dumps(x))
	put("desc-size.json", size=d["size"] + 512)
	put("desc-size0.json", size=0)
	put("desc-digest.json", digest="sha256:" + "0" * 64)
	put("desc-badmt.json", mediaType="text/plain")
	put("desc-nodigest.json", digest="md5:1234")
	open("desc-malformed.json", "w").write(json.dumps(d)[:-7])
	open("deep.json", "w").write("[" * 100000 + "]" * 100000)
	PY
	printf "{\"schemaVersion\":2,\"mediaType\":\"x\"" >manifest-malformed.json &&
	printf "oci-layer: input broke" >error-msg &&
	py() { "$PYTHON" mkstream.py "$@"; } &&
	for k in size size0 digest badmt nodigest malformed; do
		py chunk=parts/blob-1 layer=desc-$k.json >desc-$k.in || return 1
	done &&
	py layer=parts/layer-1.json >nochunk.in &&
	py chunk=parts/blob-1 >unclosed.in &&
	py chunk=parts/blob-1 config=parts/config-1.json >unclosed-cfg.in &&
	py chunk=parts/blob-1 layer=parts/layer-1.json error=error-msg >error.in &&
	py chunk=parts/blob-1 layer=parts/layer-1.json config=deep.json >deep-config.in &&
	py chunk=parts/blob-1 layer=parts/layer-1.json config=parts/config-1.json \
		manifest=manifest-malformed.json >bad-manifest.in &&
	py chunk=parts/blob-1 layer=parts/layer-1.json raw:etc/passwd=error-msg >foreign.in &&
	py chunk=parts/blob-1 layer=parts/layer-1.json raw:ocipipe/../x=error-msg >dotdot.in
'

for kind in desc-size desc-size0 desc-badmt desc-nodigest desc-malformed nochunk \
	unclosed unclosed-cfg error foreign dotdot; do
	for stage in oci-config oci-manifest oci-pack; do
		test_expect_success "$stage: bad stream ($kind)" "
			stage_fails $stage $kind.in
		"
	done
done

# The filters check sizes only; oci-pack recomputes every digest.
test_expect_success 'a descriptor whose digest disagrees with its bytes: oci-pack refuses it' '
	stage_fails oci-pack desc-digest.in &&
	grep -i digest out.err &&
	if oci-config <desc-digest.in 2>/dev/null | oci-manifest 2>/dev/null |
		oci-pack >dg.img 2>dg.err; then
		echo "pipeline succeeded" >&2
		false
	fi &&
	test_one_error_line oci-pack dg.err &&
	not_an_image dg.img
'

# A layer.json whose diffID or uncompressedSize is not its layer's, or a
# layer whose data is damaged under a digest that matches it: the chunks
# and the digest are right, only decompressing tells.  oci-pack does,
# before index.json; the filters pass it on.

# relayer DIR BLOB KEY=VALUE...: DIR/layer-1.json with its digest and size
# those of BLOB and the keys set, into DIR/re.json
relayer() {
	"$PYTHON" - "$@" <<-\PY
	import hashlib, json, sys
	d, blob = sys.argv[1], open(sys.argv[2], "rb").read()
	j = json.load(open(d + "/layer-1.json"))
	j["digest"] = "sha256:" + hashlib.sha256(blob).hexdigest()
	j["size"] = len(blob)
	for kv in sys.argv[3:]:
	    k, v = kv.split("=", 1)
	    j[k] = int(v) if v.isdigit() else v
	open(d + "/re.json", "w").write(json.dumps(j))
	PY
}

test_expect_success 'a layer.json whose diffID is not its layer: oci-pack refuses it' '
	zero=sha256:$(printf "%064d" 0) &&
	for c in gzip zstd none; do
		oci-layer --compress=$c <good.tar >dl.$c.stream &&
		stream_split dl.$c.stream dl.$c >/dev/null &&
		relayer dl.$c dl.$c/blob-1 diffID=$zero &&
		"$PYTHON" mkstream.py chunk=dl.$c/blob-1 layer=dl.$c/re.json >dl.$c.bad &&
		stage_fails oci-pack dl.$c.bad &&
		grep -E "layer 1 \(sha256:[0-9a-f]{64}\): its uncompressed content is sha256:[0-9a-f]{64}, not the diffID $zero its descriptor says" out.err &&
		oci-config <dl.$c.bad | oci-manifest >dl.$c.piped &&
		stage_fails oci-pack dl.$c.piped || return 1
	done
'

test_expect_success 'a layer.json whose uncompressedSize is not its layer: refused' '
	size=$(json_get dl.gzip/layer-1.json "j[\"uncompressedSize\"]") &&
	relayer dl.gzip dl.gzip/blob-1 uncompressedSize=$((size + 512)) &&
	"$PYTHON" mkstream.py chunk=dl.gzip/blob-1 layer=dl.gzip/re.json >usize.bad &&
	stage_fails oci-pack usize.bad &&
	grep "bytes uncompressed, not the $((size + 512)) its descriptor says" out.err
'

test_expect_success 'a damaged layer under a digest that matches it: refused, named' '
	size=$(size_of dl.gzip/blob-1) &&
	head -c $((size - 9)) dl.gzip/blob-1 >cut.gz &&
	relayer dl.gzip cut.gz && mv dl.gzip/re.json cut.json &&
	"$PYTHON" mkstream.py chunk=cut.gz layer=cut.json >cut-gz.bad &&
	stage_fails oci-pack cut-gz.bad &&
	grep "layer 1 (sha256:[0-9a-f]*): its gzip data is truncated" out.err &&
	{ cat dl.gzip/blob-1 && printf garbage; } >trail.gz &&
	relayer dl.gzip trail.gz && mv dl.gzip/re.json trail.json &&
	"$PYTHON" mkstream.py chunk=trail.gz layer=trail.json >trail-gz.bad &&
	stage_fails oci-pack trail-gz.bad &&
	grep "garbage after its gzip data" out.err &&
	if test_have_prereq ZSTD; then
		size=$(size_of dl.zstd/blob-1) &&
		head -c $((size - 5)) dl.zstd/blob-1 >cut.zst &&
		relayer dl.zstd cut.zst && mv dl.zstd/re.json cut-zst.json &&
		"$PYTHON" mkstream.py chunk=cut.zst layer=cut-zst.json >cut-zst.bad &&
		stage_fails oci-pack cut-zst.bad &&
		grep "its zstd data is" out.err
	fi
'

test_expect_success SKOPEO 'a wrong diffID leaves an existing -o DIR exactly as it was' '
	oci-layer <good.tar | oci-pack -o dlay --tag keep &&
	find dlay -type f | sort | xargs sha256sum >before.sums &&
	test_expect_code 1 oci-pack -o dlay --tag new <dl.gzip.bad 2>dlay.err &&
	test_one_error_line oci-pack dlay.err &&
	find dlay -type f | sort | xargs sha256sum >after.sums &&
	test_cmp before.sums after.sums &&
	test_must_fail skopeo inspect oci:dlay:new >/dev/null 2>&1
'

test_expect_success 'an error entry is passed on and named by every later stage' '
	test_expect_code 1 oci-config <error.in >e1 2>e1.err &&
	grep "input broke" e1.err &&
	test_expect_code 1 oci-manifest <e1 >e2 2>e2.err &&
	grep "input broke" e2.err &&
	test_expect_code 1 oci-pack <e2 >e3 2>e3.err &&
	grep "input broke" e3.err &&
	not_an_image e3
'

test_expect_success 'oci-pack: a config nested 100000 deep in the stream' '
	stage_fails oci-pack deep-config.in
'

test_expect_success 'oci-pack: a malformed manifest in the stream' '
	stage_fails oci-pack bad-manifest.in
'

# --- oci-config --from ------------------------------------------------

test_expect_success 'oci-config --from: malformed, deeply nested, huge, missing, wrong types' '
	printf "{\"config\": {\"Env\": [\"A=1\"" >from-malformed.json &&
	printf "{\"config\": {\"Env\": \"A=1\"}}" >from-type.json &&
	"$PYTHON" -c "import sys; sys.stdout.write(\"{\\\"x\\\":\\\"\" + \"a\" * (40 << 20) + \"\\\"}\")" >from-huge.json &&
	for f in from-malformed.json deep.json from-huge.json from-type.json no-such.json; do
		test_expect_code 1 oci-config --from $f <good.stream >from.out 2>from.err &&
		test_one_error_line oci-config from.err &&
		test_expect_code 1 oci-pack <from.out >from.img 2>/dev/null &&
		not_an_image from.img || return 1
	done
'

test_expect_success TIME 'oci-config --from: a 40 MiB document is refused without reading it all into memory' '
	/usr/bin/time -v -o from.time oci-config --from from-huge.json <good.stream >/dev/null 2>from.err
	test $? = 1 &&
	rss=$(sed -n "s/^[[:space:]]*Maximum resident set size (kbytes): //p" from.time) &&
	test_diag "oci-config --from 40 MiB: peak RSS $rss KiB" &&
	test "$rss" -lt 120000
'

# --- pipelines without pipefail ----------------------------------------

test_expect_success 'a failing middle stage fails the pipeline without pipefail' '
	if oci-layer <good.tar 2>/dev/null | oci-config --from from-malformed.json 2>/dev/null |
		oci-manifest 2>/dev/null | oci-pack >mid.img 2>mid.err; then
		echo "pipeline succeeded" >&2
		false
	fi &&
	test_one_error_line oci-pack mid.err &&
	not_an_image mid.img
'

test_expect_success 'a stage killed midway fails the pipeline without pipefail' '
	# oci-layer is killed after its first 1 MiB chunk: the stream has no
	# descriptor and no end marker
	"$PYTHON" -c "import random, sys; sys.stdout.buffer.write(random.Random(5).randbytes(3 << 20))" >big &&
	tar --format=pax -cf big.tar big &&
	if { oci-layer --compress=none <big.tar | head -c $((1024 * 1024 + 512)); } |
		oci-config 2>/dev/null | oci-manifest 2>/dev/null | oci-pack >kill.img 2>kill.err; then
		echo "pipeline succeeded" >&2
		false
	fi &&
	test_one_error_line oci-pack kill.err &&
	not_an_image kill.img
'

test_expect_success SKOPEO 'a failing pipeline leaves an existing -o DIR exactly as it was' '
	oci-layer <good.tar | oci-pack -o layout --tag keep &&
	tree_listing layout >before &&
	find layout -type f | sort | xargs sha256sum >before.sums &&
	for bad in nonoctal.in gz-data.in cut-chunk.in; do
		if oci-layer <$bad 2>/dev/null | oci-config 2>/dev/null |
			oci-pack -o layout --tag new 2>/dev/null; then
			echo "pipeline on $bad succeeded" >&2
			return 1
		fi
	done &&
	if oci-config <desc-digest.in 2>/dev/null | oci-pack -o layout --tag new 2>/dev/null; then
		echo "pipeline on desc-digest succeeded" >&2
		false
	fi &&
	tree_listing layout >after &&
	find layout -type f | sort | xargs sha256sum >after.sums &&
	test_cmp before after &&
	test_cmp before.sums after.sums &&
	skopeo inspect oci:layout:keep >/dev/null &&
	test_must_fail skopeo inspect oci:layout:new >/dev/null 2>&1
'

# --- inputs the fuzzers found (tests/fuzz/regressions/TARGET/) ----------
# Each goes to the program that reads that kind of input; it must end
# with exit 0, or exit 1 and exactly one line "PROG: ..." (an untrusted
# string with a newline must not split the message).

# regression PROG INPUT [ARGS]
regression() {
	_p=$1 _in=$2
	shift 2
	"$_p" "$@" <"$_in" >reg.out 2>reg.err
	_rc=$?
	case $_rc in
	0) return 0 ;;
	1) test_one_error_line "$_p" reg.err ;;
	*) echo "$_p: exit $_rc $(_t_exit_meaning $_rc)" >&2; cat reg.err >&2; return 1 ;;
	esac
}

for f in "$top_srcdir"/tests/fuzz/regressions/*/*; do
	test -f "$f" || continue
	target=$(basename "$(dirname "$f")")
	case $target in
	layer) cmd="regression oci-layer '$f'" ;;
	stream) cmd="regression oci-pack '$f' && regression oci-config '$f'" ;;
	layerdesc) cmd="\"\$PYTHON\" mkstream.py chunk=parts/blob-1 layer='$f' >reg.in &&
		regression oci-pack reg.in && regression oci-config reg.in" ;;
	config) cmd="regression oci-config good.stream --from '$f' &&
		\"\$PYTHON\" mkstream.py chunk=parts/blob-1 layer=parts/layer-1.json config='$f' >reg.in &&
		regression oci-pack reg.in" ;;
	manifest) cmd="\"\$PYTHON\" mkstream.py chunk=parts/blob-1 layer=parts/layer-1.json \
		config=parts/config-1.json manifest='$f' >reg.in &&
		regression oci-pack reg.in" ;;
	index) cmd="rm -rf reg.layout && oci-pack -o reg.layout <good.stream &&
		cp '$f' reg.layout/index.json && regression oci-pack good.stream -o reg.layout" ;;
	*) continue ;;
	esac
	test_expect_success "fuzz regression: $target/$(basename "$f")" "$cmd"
done

test_done
