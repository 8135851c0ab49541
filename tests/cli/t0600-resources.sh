#!/bin/sh
# SPDX-License-Identifier: MIT
# Resources: a closed downstream pipe ends every program with a failure
# status (never a partial "success"), a full disk (/dev/full) is an error,
# never exit 0, and memory stays bounded on hostile inputs: a huge pax
# record, millions of tiny entries (generated as a stream, never stored)
# and a 100 000-entry hardlink chain.  Peak RSS is measured with
# /usr/bin/time -v and logged.  T0600_ENTRIES sets the number of tiny
# entries (default 2000000; skipped with OCIPIPE_SKIP_SLOW).  (A small tmpfs is in t0600-layout.sh.)
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

: "${T0600_ENTRIES:=2000000}"
# make distcheck in .ci/run sets OCIPIPE_SKIP_SLOW=1: the millions of
# entries (about a minute under ASan) already ran in the main make check.
test -n "${OCIPIPE_SKIP_SLOW:-}" || test_set_prereq SLOW

ASAN_OPTIONS=$ASAN_RSS_OPTIONS	# RSS measures the programs (tests/lib.sh)
export ASAN_OPTIONS

# gen KIND N: a tar stream on stdout, generated as it is written
#   tiny N    a directory and N empty files
#   chain N   a file and N-1 hardlinks, each to the one before
#   paxbig N  a pax header with one N-byte record, then a small file
gen() {
	"$PYTHON" - "$@" <<-\PY
	import sys, tarfile
	kind, n = sys.argv[1], int(sys.argv[2])
	out = sys.stdout.buffer
	def hdr(name, typ=tarfile.REGTYPE, link="", size=0):
	    ti = tarfile.TarInfo(name)
	    ti.type, ti.linkname, ti.size = typ, link, size
	    ti.mode, ti.mtime = 0o644, 1700000000
	    return ti.tobuf(tarfile.USTAR_FORMAT)
	buf = []
	def put(b):
	    buf.append(b)
	    if len(buf) >= 2048:
	        out.write(b"".join(buf))
	        buf.clear()
	try:
	    if kind == "tiny":
	        put(hdr("d/", tarfile.DIRTYPE))
	        for i in range(n):
	            put(hdr("d/%08d" % i))
	    elif kind == "chain":
	        put(hdr("f0", size=6) + b"hello\n" + b"\0" * 506)
	        for i in range(1, n):
	            put(hdr("f%d" % i, tarfile.LNKTYPE, "f%d" % (i - 1)))
	    elif kind == "paxbig":
	        body = n + len(" comment=\n")
	        L = body + len(str(body))
	        L += len(str(L)) - len(str(body))
	        out.write(hdr("PaxHeaders/x", tarfile.XHDTYPE, size=L))
	        out.write(("%d comment=" % L).encode())
	        left = n
	        blk = b"a" * (1 << 20)
	        while left > 0:
	            k = min(left, len(blk))
	            out.write(blk[:k])
	            left -= k
	        out.write(b"\n" + b"\0" * (-L % 512))
	        put(hdr("file", size=6) + b"hello\n" + b"\0" * 506)
	    out.write(b"".join(buf))
	    out.write(b"\0" * 1024)
	except BrokenPipeError:
	    sys.exit(0)
	PY
}

test_expect_success 'setup: a rootfs tar bigger than a pipe, its stream and image' '
	mkdir -p root &&
	"$PYTHON" -c "import random, sys; sys.stdout.buffer.write(random.Random(3).randbytes(4 << 20))" >root/data &&
	tar -C root -cf root.tar . &&
	oci-layer --compress=none <root.tar >root.stream &&
	oci-config <root.stream >root.cfg &&
	oci-manifest <root.cfg >root.man &&
	oci-pack <root.man >root.img &&
	test $(size_of root.img) -gt 4000000
'

# closed_pipe PROG INPUT [ARGS]: PROG writes into a pipe whose reader
# quits after 100 bytes: exit 1 or death by SIGPIPE (141), at most one line
# on stderr; the same with SIGPIPE ignored (EPIPE: the programs exit 1 or
# re-raise SIGPIPE, see src/tool.c), never 0, never a hang.
closed_pipe() {
	_p=$1 _in=$2
	shift 2
	{ "$_p" "$@" <"$_in" 2>cp.err; echo $? >cp.rc; } | head -c 100 >/dev/null &&
	rc=$(cat cp.rc) &&
	test_diag "$_p, reader gone: exit $rc" &&
	case $rc in
	1|141) ;;
	*) echo "$_p: exit $rc after the reader left" >&2; return 1 ;;
	esac &&
	test $(wc -l <cp.err) -le 1 &&
	{ (trap "" PIPE; exec "$_p" "$@" <"$_in" 2>cp2.err); echo $? >cp2.rc; } | head -c 100 >/dev/null &&
	rc2=$(cat cp2.rc) &&
	test_diag "$_p, reader gone, SIGPIPE ignored: exit $rc2" &&
	case $rc2 in
	1|141) ;;
	*) echo "$_p: exit $rc2 after the reader left (SIGPIPE ignored)" >&2; return 1 ;;
	esac &&
	test $(wc -l <cp2.err) -le 1
}

test_expect_success 'closed downstream pipe: oci-layer' '
	closed_pipe oci-layer root.tar --compress=none
'
test_expect_success 'closed downstream pipe: oci-config' '
	closed_pipe oci-config root.stream
'
test_expect_success 'closed downstream pipe: oci-manifest' '
	closed_pipe oci-manifest root.cfg
'
test_expect_success 'closed downstream pipe: oci-pack' '
	closed_pipe oci-pack root.man
'

test_expect_success 'a closed pipe in the middle fails the pipeline without pipefail' '
	if oci-layer --compress=none <root.tar | head -c 100000 | oci-pack >mid.img 2>mid.err; then
		echo "pipeline succeeded" >&2
		false
	fi &&
	test_one_error_line oci-pack mid.err &&
	! tar -tf mid.img 2>/dev/null | grep -qx index.json
'

# /dev/full: every write fails with ENOSPC
for case in "oci-layer root.tar" "oci-layer root.tar --compress=none" "oci-config root.stream" \
	"oci-manifest root.cfg" "oci-pack root.man" "oci-pack root.stream"; do
	set -- $case
	test_expect_success "full disk: $case >/dev/full" "
		test_expect_code 1 $1 $3 <$2 >/dev/full 2>full.err &&
		test_one_error_line $1 full.err
	"
done

test_expect_success 'full disk: small outputs too (oci-config of a tiny stream)' '
	mkdir -p tiny && echo x >tiny/x && tar -C tiny -cf tiny.tar . &&
	oci-layer <tiny.tar >tiny.stream &&
	test_expect_code 1 oci-config <tiny.stream >/dev/full 2>full.err &&
	test_one_error_line oci-config full.err &&
	test_expect_code 1 oci-manifest <tiny.stream >/dev/full 2>full.err &&
	test_one_error_line oci-manifest full.err &&
	test_expect_code 1 oci-pack <tiny.stream >/dev/full 2>full.err &&
	test_one_error_line oci-pack full.err
'

# --- memory on hostile inputs --------------------------------------------

test_expect_success TIME 'a 100 MiB pax record: refused, memory bounded' '
	gen paxbig 104857600 | /usr/bin/time -v -o pax.time oci-layer >pax.out 2>pax.err
	rc=$?
	test_diag "100 MiB pax record: exit $rc, peak RSS $(rss pax.time) KiB: $(cat pax.err)" &&
	test $rc = 1 &&
	test_one_error_line oci-layer pax.err &&
	test "$(rss pax.time)" -lt 65536
'

test_expect_success TIME 'a 900 KiB pax record: memory bounded' '
	gen paxbig 921600 | /usr/bin/time -v -o pax2.time oci-layer >pax2.out 2>pax2.err
	rc=$?
	test_diag "900 KiB pax record: exit $rc, peak RSS $(rss pax2.time) KiB" &&
	case $rc in 0|1) ;; *) false ;; esac &&
	test "$(rss pax2.time)" -lt 65536
'

# tiny_run N NAME: gen tiny N | oci-layer | oci-pack, statuses and times
tiny_run() {
	{
		{ gen tiny "$1"; echo $? >"$2.gen.rc"; } |
		{ /usr/bin/time -v -o "$2.layer.time" oci-layer; echo $? >"$2.layer.rc"; } |
		{ /usr/bin/time -v -o "$2.pack.time" oci-pack >"$2.img"; echo $? >"$2.pack.rc"; }
	} &&
	test "$(cat "$2.gen.rc") $(cat "$2.layer.rc") $(cat "$2.pack.rc")" = "0 0 0" &&
	test_diag "$1 tiny entries: oci-layer peak RSS $(rss "$2.layer.time") KiB," \
		"oci-pack $(rss "$2.pack.time") KiB," \
		"oci-layer $(sed -n "s/^[[:space:]]*Elapsed (wall clock) time.*: //p" "$2.layer.time")"
}

test_expect_success TIME,SLOW "millions of tiny entries ($T0600_ENTRIES): memory bounded" '
	tiny_run 100000 t100k &&
	tiny_run $T0600_ENTRIES tbig &&
	small=$(rss t100k.layer.time) big=$(rss tbig.layer.time) &&
	per=$(( (big - small) * 1024 / (T0600_ENTRIES - 100000) )) &&
	test_diag "oci-layer: $per bytes of peak RSS per extra entry (allowed 64: the path table of the tree rules)" &&
	test $per -le 64 &&
	test $(( $(rss tbig.pack.time) - $(rss t100k.pack.time) )) -le 16384 &&
	tar -xOf tbig.img index.json >index.json &&
	digest=$(json_get index.json "j[\"manifests\"][0][\"digest\"]") &&
	tar -xOf tbig.img "blobs/sha256/${digest#sha256:}" >manifest.json &&
	layer=$(json_get manifest.json "j[\"layers\"][0][\"digest\"]") &&
	tar -xOf tbig.img "blobs/sha256/${layer#sha256:}" | gzip -dc | tar -tf - >names &&
	test $(wc -l <names) = $((T0600_ENTRIES + 1)) &&
	sed -n "\$p" names >last &&
	printf "d/%08d\n" $((T0600_ENTRIES - 1)) >expect &&
	test_cmp expect last
'

test_expect_success TIME 'a 100 000-entry hardlink chain: kept, memory and time bounded' '
	gen chain 100000 >chain.tar &&
	/usr/bin/time -v -o chain.time oci-layer --compress=none <chain.tar >chain.stream &&
	test_diag "hardlink chain: oci-layer peak RSS $(rss chain.time) KiB," \
		"$(sed -n "s/^[[:space:]]*Elapsed (wall clock) time.*: //p" chain.time)" &&
	test "$(rss chain.time)" -lt 102400 &&
	stream_split chain.stream chain.d >/dev/null &&
	tar_listing chain.tar >expect &&
	tar_listing chain.d/blob-1 >actual &&
	test_cmp expect actual &&
	oci-pack <chain.stream >chain.img &&
	if test_have_prereq SKOPEO; then
		skopeo inspect oci-archive:chain.img >/dev/null
	fi
'

test_done
