#!/bin/sh
# SPDX-License-Identifier: MIT
# Reproducible images (issue 7, docs/reproducibility.md): with a source
# date epoch the same rootfs stream gives the same bytes whatever the
# thread count, TMPDIR, output kind (file, pipe, -o DIR), user, HOME, TZ,
# locale, umask and working directory, through the full pipeline and the
# short one, for gzip, zstd and none; without an epoch only `created`
# changes; --clamp-mtime; gzip headers; nothing of the host (pid, host
# name, user name) in the output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

EPOCH=1700000000
EPOCH_RFC3339=2023-11-14T22:13:20Z
COMPS='gzip zstd none'
KINDS='full short'

# tar_meta TAR: one line per entry of an uncompressed tar, from the raw
# headers: "typeflag mode uid gid uname gname mtime name" (pax and GNU
# long-name entries are listed as themselves, with their header name), then
# for a pax entry one "  key" line per record key.
tar_meta() {
	"$PYTHON" -c '
import sys
def num(f):
    if f[0] & 0x80:
        return int.from_bytes(f[1:], "big")
    return int(f.split(b"\0", 1)[0].strip() or b"0", 8)
def s(b):
    return b.split(b"\0", 1)[0].decode("latin-1") or "-"
f = open(sys.argv[1], "rb")
zeros = 0
while True:
    h = f.read(512)
    if len(h) < 512:
        break
    if h == bytes(512):
        zeros += 1
        if zeros == 2:
            break
        continue
    zeros = 0
    size = num(h[124:136])
    t = chr(h[156]) if h[156] else "0"
    print("%s %o %d %d %s %s %d %s" % (t, num(h[100:108]), num(h[108:116]), num(h[116:124]),
          s(h[265:297]), s(h[297:329]), num(h[136:148]), s(h[0:100])))
    data = f.read((size + 511) // 512 * 512)[:size] if t not in "123456" else b""
    if t in "xg":
        i = 0
        while i < len(data):
            sp = data.index(b" ", i)
            n = int(data[i:sp])
            print("  " + data[sp + 1:i + n - 1].partition(b"=")[0].decode("latin-1"))
            i += n
' "$1"
}

# gzip_members FILE: check every gzip member of FILE: header exactly
# 1f 8b 08 00 00000000 00 03 (deflate, no flags so no name/comment/extra,
# mtime 0, XFL 0, OS 3 Unix); prints the number of members.
gzip_members() {
	"$PYTHON" -c '
import sys, zlib
data = open(sys.argv[1], "rb").read()
n = 0
while data:
    hdr = data[:10]
    if hdr != bytes.fromhex("1f8b0800000000000003"):
        sys.exit("member %d: gzip header %s" % (n, hdr.hex()))
    d = zlib.decompressobj(16 + 15)
    d.decompress(data)
    if not d.eof:
        sys.exit("member %d: truncated" % n)
    data = d.unused_data
    n += 1
print(n)
' "$1"
}

# strip_created FILE: the JSON of FILE without the top-level "created" and
# the history entries' "created", keys sorted (to compare two configs).
strip_created() {
	"$PYTHON" -c '
import json, sys
j = json.load(open(sys.argv[1], "rb"))
j.pop("created", None)
for h in j.get("history", []):
    h.pop("created", None)
print(json.dumps(j, sort_keys=True, indent=1))
' "$1"
}

# layout_files DIR: "sha256 path" of every file under DIR, sorted
layout_files() {
	(cd "$1" && find . -type f | LC_ALL=C sort | while read -r f; do
		printf "%s %s\n" "$(sha256sum <"$f" | cut -d" " -f1)" "$f"
	done)
}

# unpack TAR DIR
unpack() {
	rm -rf "$2" && mkdir "$2" && tar -C "$2" -xf "$1"
}

test_expect_success 'setup: rootfs of several compression blocks, build script' '
	make_rootfs r &&
	"$PYTHON" -c "
import sys
words = [b\"alpha\", b\"beta\", b\"gamma\", b\"delta\", b\"epsilon\", b\"zeta\", b\"eta\", b\"theta\"]
x = 12345
out = []
for i in range(200000):
    x = (x * 1103515245 + 12345) % 2147483648
    out.append(b\"%d %s %s\n\" % (i, words[x % 8], words[(x >> 8) % 8]))
sys.stdout.buffer.write(b\"\".join(out))
" >r/usr/share/doc/text.txt &&
	touch -h -d @1700000000 r/usr/share/doc/text.txt r/usr/share/doc &&
	mktar r --format=pax --xattrs --xattrs-include="*" >in.tar &&
	test $(size_of in.tar) -gt 6000000 &&
	cat >build.sh <<-\EOF &&
	# build.sh full|short COMP THREADS [oci-pack options]: the image from
	# $IN; THREADS "default" passes no --threads; $SDE_OPT (unquoted) goes
	# to every program.
	kind=$1 comp=$2 threads=$3
	shift 3
	case $threads in default) topt= ;; *) topt=--threads=$threads ;; esac
	case $kind in
	full)
		oci-layer --compress="$comp" $topt $SDE_OPT <"$IN" |
		oci-config $SDE_OPT --entrypoint /bin/sh --env PATH=/usr/bin:/bin \
			--port 8080/tcp --label org.example.test=t0700 |
		oci-manifest $SDE_OPT --annotation org.example.note=t0700 |
		oci-pack $SDE_OPT --tag 1.0 --tag latest "$@" ;;
	short)
		oci-layer --compress="$comp" $topt $SDE_OPT <"$IN" | oci-pack $SDE_OPT "$@" ;;
	*)
		echo "build.sh: bad kind $kind" >&2; exit 2 ;;
	esac
	EOF
	mkdir tmpA tmpB elsewhere
'

# Every build below runs with these.
IN=$TEST_DIR/in.tar
SDE_OPT=
export IN SDE_OPT

for comp in $COMPS; do
for kind in $KINDS; do

test_expect_success "$comp $kind: reference image, valid, epoch in it" '
	SOURCE_DATE_EPOCH=$EPOCH sh build.sh $kind $comp 1 >ref-$comp-$kind.tar &&
	unpack ref-$comp-$kind.tar ref-$comp-$kind &&
	test -f ref-$comp-$kind/oci-layout &&
	verify_blobs ref-$comp-$kind >/dev/null &&
	m=$(json_get ref-$comp-$kind/index.json "j[\"manifests\"][0][\"digest\"]") &&
	mf=$(blob_path ref-$comp-$kind "$m") &&
	c=$(blob_path ref-$comp-$kind "$(json_get "$mf" "j[\"config\"][\"digest\"]")") &&
	test "$(json_get "$c" "j[\"created\"]")" = $EPOCH_RFC3339 &&
	json_get "$c" "sorted(set(h[\"created\"] for h in j[\"history\"]))" >hc &&
	echo "[\"$EPOCH_RFC3339\"]" >expect &&
	test_cmp expect hc &&
	tar_meta ref-$comp-$kind.tar >meta &&
	grep -q " index.json\$" meta &&
	! grep -v "^[05] [0-9]* 0 0 - - $EPOCH " meta
'

test_expect_success "$comp $kind: threads 1, 2, 8 and the default give the same bytes" '
	SOURCE_DATE_EPOCH=$EPOCH && export SOURCE_DATE_EPOCH &&
	for t in 2 8 default; do
		sh build.sh $kind $comp $t >t$t.tar &&
		cmp ref-$comp-$kind.tar t$t.tar || return 1
	done &&
	oci-layer --compress=$comp --threads=1 <in.tar >s1.stream &&
	oci-layer --compress=$comp --threads=8 <in.tar >s8.stream &&
	cat in.tar | oci-layer --compress=$comp --threads=3 >sp.stream &&
	cmp s1.stream s8.stream &&
	cmp s1.stream sp.stream
'

test_expect_success "$comp $kind: through a pipe, with two TMPDIRs" '
	SOURCE_DATE_EPOCH=$EPOCH && export SOURCE_DATE_EPOCH &&
	TMPDIR=$TEST_DIR/tmpA sh build.sh $kind $comp 2 | cat >p1.tar &&
	TMPDIR=$TEST_DIR/tmpB sh build.sh $kind $comp 8 | cat >p2.tar &&
	cmp ref-$comp-$kind.tar p1.tar &&
	cmp ref-$comp-$kind.tar p2.tar &&
	test -z "$(ls -A tmpA)" &&
	test -z "$(ls -A tmpB)"
'

test_expect_success "$comp $kind: -o DIR holds exactly the tarball members" '
	SOURCE_DATE_EPOCH=$EPOCH && export SOURCE_DATE_EPOCH &&
	rm -rf d1 d8 &&
	sh build.sh $kind $comp 1 -o d1 &&
	sh build.sh $kind $comp 8 -o d8 &&
	layout_files ref-$comp-$kind >expect &&
	layout_files d1 >actual1 &&
	layout_files d8 >actual8 &&
	test_cmp expect actual1 &&
	test_cmp expect actual8 &&
	diff -r ref-$comp-$kind d1
'

test_expect_success "$comp $kind: an unrelated environment, umask, directory" '
	SOURCE_DATE_EPOCH=$EPOCH && export SOURCE_DATE_EPOCH &&
	(
		umask 077 &&
		cd elsewhere &&
		env USER=ocipipe-someone-else LOGNAME=ocipipe-someone-else \
			HOME=$TEST_DIR/elsewhere TZ=Pacific/Chatham LC_ALL=C.UTF-8 \
			LANG=de_DE.UTF-8 TMPDIR=$TEST_DIR/tmpB \
			sh ../build.sh $kind $comp 2 >../e1.tar
	) &&
	cmp ref-$comp-$kind.tar e1.tar &&
	(
		umask 022 &&
		cd / &&
		env -i PATH="$PATH" IN="$IN" SOURCE_DATE_EPOCH=$EPOCH \
			ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
			LSAN_OPTIONS="$LSAN_OPTIONS" TZ=America/St_Johns \
			LC_ALL=fr_FR.UTF-8 USER=nobody LOGNAME=nobody HOME=/nonexistent \
			sh "$TEST_DIR/build.sh" $kind $comp 8 | cat >"$TEST_DIR/e2.tar"
	) &&
	cmp ref-$comp-$kind.tar e2.tar &&
	rm -rf de &&
	( umask 077 && cd elsewhere && env TZ=Asia/Kathmandu LC_ALL=C.UTF-8 \
		sh ../build.sh $kind $comp 1 -o ../de ) &&
	layout_files ref-$comp-$kind >expect &&
	layout_files de >actual &&
	test_cmp expect actual
'

test_expect_success "$comp $kind: --source-date-epoch on each program, over another SOURCE_DATE_EPOCH" '
	SOURCE_DATE_EPOCH=1000000000 SDE_OPT=--source-date-epoch=$EPOCH \
		sh build.sh $kind $comp 2 >flag.tar &&
	cmp ref-$comp-$kind.tar flag.tar &&
	SDE_OPT=--source-date-epoch=$EPOCH sh build.sh $kind $comp 8 >flag2.tar &&
	cmp ref-$comp-$kind.tar flag2.tar
'

test_expect_success "$comp $kind: another epoch gives other bytes (the comparisons can fail)" '
	SOURCE_DATE_EPOCH=$((EPOCH + 1)) sh build.sh $kind $comp 1 >other.tar &&
	! cmp -s ref-$comp-$kind.tar other.tar
'

done
done

test_expect_success 'the input container does not count: compressed input, other tar formats' '
	oci-layer --compress=gzip <in.tar >plain.stream &&
	gzip -c in.tar | oci-layer --compress=gzip >fromgz.stream &&
	cmp plain.stream fromgz.stream &&
	if test_have_prereq ZSTD; then
		zstd -qc in.tar | oci-layer --compress=gzip >fromzst.stream &&
		cmp plain.stream fromzst.stream
	fi &&
	make_rootfs --portable --no-random pr &&
	mktar pr --format=ustar >pr-ustar.tar &&
	mktar pr --format=gnu >pr-gnu.tar &&
	mktar pr --format=pax >pr-pax.tar &&
	oci-layer --compress=none <pr-ustar.tar >u.stream &&
	oci-layer --compress=none <pr-gnu.tar >g.stream &&
	oci-layer --compress=none <pr-pax.tar >x.stream &&
	cmp u.stream g.stream &&
	cmp u.stream x.stream
'

test_expect_success 'each program honours --source-date-epoch alone' '
	# oci-layer: the history of its layer
	oci-layer --source-date-epoch=$EPOCH <in.tar >l.stream &&
	stream_split l.stream l >/dev/null &&
	test "$(json_get l/layer-1.json "j[\"history\"][\"created\"]")" = $EPOCH_RFC3339 &&
	# oci-config: created (and history) of the config
	oci-layer <in.tar | oci-config --source-date-epoch=$EPOCH >c.stream &&
	stream_split c.stream c >/dev/null &&
	test "$(json_get c/config-1.json "j[\"created\"]")" = $EPOCH_RFC3339 &&
	test "$(json_get c/config-1.json "j[\"history\"][0][\"created\"]")" = $EPOCH_RFC3339 &&
	# oci-manifest: its default config
	oci-layer <in.tar | oci-manifest --source-date-epoch=$EPOCH >m.stream &&
	stream_split m.stream m >/dev/null &&
	test "$(json_get m/config-1.json "j[\"created\"]")" = $EPOCH_RFC3339 &&
	# oci-pack: its default config and the tar mtimes
	oci-layer <in.tar | oci-pack --source-date-epoch=$EPOCH >p.tar &&
	unpack p.tar p &&
	mf=$(blob_path p "$(json_get p/index.json "j[\"manifests\"][0][\"digest\"]")") &&
	c=$(blob_path p "$(json_get "$mf" "j[\"config\"][\"digest\"]")") &&
	test "$(json_get "$c" "j[\"created\"]")" = $EPOCH_RFC3339 &&
	tar_meta p.tar >meta &&
	grep -q " index.json\$" meta &&
	! grep -v "^[05] [0-9]* 0 0 - - $EPOCH " meta
'

# Without an epoch: two runs at least a second apart.  Only the config's
# created and history created may differ; then, through the digests, the
# manifest and index.json; nothing else.
for kind in $KINDS; do
test_expect_success "$kind: without SOURCE_DATE_EPOCH only created differs" '
	sh build.sh $kind gzip 1 >now1.tar &&
	sleep 2 &&
	sh build.sh $kind gzip 8 >now2.tar &&
	unpack now1.tar n1 && unpack now2.tar n2 &&
	for n in n1 n2; do
		mf=$(blob_path $n "$(json_get $n/index.json "j[\"manifests\"][0][\"digest\"]")") &&
		cd=$(json_get "$mf" "j[\"config\"][\"digest\"]") &&
		cp "$(blob_path $n "$cd")" $n.config &&
		cp "$mf" $n.manifest &&
		json_get "$mf" "j[\"layers\"]" >$n.layers &&
		strip_created $n.config >$n.config.stripped || return 1
	done &&
	! cmp -s n1.config n2.config &&
	test "$(json_get n1.config "j[\"created\"]")" != "$(json_get n2.config "j[\"created\"]")" &&
	test_cmp n1.config.stripped n2.config.stripped &&
	test_cmp n1.layers n2.layers &&
	test $(size_of n1.config) = $(size_of n2.config) &&
	"$PYTHON" -c "
import json, sys
a, b = (json.load(open(n + \".manifest\")) for n in (\"n1\", \"n2\"))
a[\"config\"].pop(\"digest\"); b[\"config\"].pop(\"digest\")
sys.exit(a != b)
" &&
	# the blobs other than config and manifest are the same files
	(cd n1 && find blobs -type f | sort) >b1 &&
	(cd n2 && find blobs -type f | sort) >b2 &&
	comm -12 b1 b2 >same &&
	test $(wc -l <same) -ge 1 &&
	test $(comm -3 b1 b2 | wc -l) = 4 &&
	cmp n1/oci-layout n2/oci-layout &&
	tar_meta now1.tar >meta1 && tar_meta now2.tar >meta2 &&
	sed "s/[0-9a-f]\{64\}\$/HEX/" meta1 >m1 && sed "s/[0-9a-f]\{64\}\$/HEX/" meta2 >m2 &&
	test_cmp m1 m2
'
done

test_expect_success 'without an epoch the outer tar mtimes are 0, owners 0:0, no names' '
	tar_meta now1.tar >meta &&
	grep -q " index.json\$" meta &&
	! grep -v "^[05] [0-9]* 0 0 - - 0 " meta
'

test_expect_success '--clamp-mtime: newer mtimes become the epoch, older ones stay' '
	"$PYTHON" -c "
import io, sys, tarfile
out = io.BytesIO()
t = tarfile.open(fileobj=out, mode=\"w\", format=tarfile.PAX_FORMAT)
def add(name, mtime, frac=None, typ=tarfile.REGTYPE):
    i = tarfile.TarInfo(name)
    i.type = typ
    i.mtime = mtime
    i.mode = 0o755 if typ == tarfile.DIRTYPE else 0o644
    i.uid = i.gid = 0
    i.uname = i.gname = \"\"
    data = b\"\" if typ != tarfile.REGTYPE else name.encode() + b\"\n\"
    i.size = len(data)
    if frac:
        i.pax_headers = {\"mtime\": frac}
    t.addfile(i, io.BytesIO(data))
add(\"d\", 1800000000, typ=tarfile.DIRTYPE)
add(\"d/old\", 1600000000)
add(\"d/old-frac\", 1600000000, \"1600000000.25\")
add(\"d/at-epoch\", $EPOCH)
add(\"d/new\", 1800000000)
add(\"d/new-frac\", 1800000000, \"1800000000.5\")
add(\"d/just-after\", $EPOCH + 1)
t.close()
sys.stdout.buffer.write(out.getvalue())
" >clamp.tar &&
	list_mtimes() {
		"$PYTHON" -c "
import sys, tarfile
for m in tarfile.open(sys.argv[1]):
    print(m.name, m.pax_headers.get(\"mtime\", \"-\"), int(m.mtime))
" "$1"
	} &&
	oci-layer --compress=none --clamp-mtime --source-date-epoch=$EPOCH <clamp.tar >cl.stream &&
	stream_split cl.stream cl >/dev/null &&
	list_mtimes cl/blob-1 >actual &&
	cat >expect <<-EOF &&
	d - $EPOCH
	d/old - 1600000000
	d/old-frac 1600000000.25 1600000000
	d/at-epoch - $EPOCH
	d/new - $EPOCH
	d/new-frac - $EPOCH
	d/just-after - $EPOCH
	EOF
	test_cmp expect actual &&
	SOURCE_DATE_EPOCH=$EPOCH oci-layer --compress=none --clamp-mtime <clamp.tar >cl2.stream &&
	cmp cl.stream cl2.stream &&
	oci-layer --compress=none --source-date-epoch=$EPOCH <clamp.tar >nc.stream &&
	stream_split nc.stream nc >/dev/null &&
	list_mtimes nc/blob-1 >actual &&
	cat >expect <<-EOF &&
	d - 1800000000
	d/old - 1600000000
	d/old-frac 1600000000.25 1600000000
	d/at-epoch - $EPOCH
	d/new - 1800000000
	d/new-frac 1800000000.5 1800000000
	d/just-after - $((EPOCH + 1))
	EOF
	test_cmp expect actual &&
	test_expect_code 2 oci-layer --clamp-mtime <clamp.tar >/dev/null 2>err &&
	grep -i "epoch" err
'

test_expect_success 'gzip: every member has no name, mtime 0, XFL 0, OS 3 (Unix)' '
	SOURCE_DATE_EPOCH=$EPOCH oci-layer --threads=2 <in.tar >gz.stream &&
	stream_split gz.stream gz >/dev/null &&
	n=$(gzip_members gz/blob-1) &&
	test_diag "gzip members: $n" &&
	test "$n" -ge 6 &&
	gzip -dc gz/blob-1 | sha256sum | cut -d" " -f1 >actual &&
	json_get gz/layer-1.json "j[\"diffID\"][7:]" >expect &&
	test_cmp expect actual
'

test_expect_success 'no pids in pax header names: the input has them, the layer does not' '
	mktar r --format=pax --xattrs --xattrs-include="*" \
		--pax-option=exthdr.name=%d/PaxHeaders.%p/%f >pid.tar &&
	tar_meta pid.tar >in.meta &&
	grep "^x .*PaxHeaders\.[0-9]" in.meta &&
	oci-layer --compress=none <pid.tar >none.stream &&
	oci-layer --compress=none <in.tar >none2.stream &&
	cmp none.stream none2.stream &&
	stream_split none.stream none >/dev/null &&
	tar_meta none/blob-1 >layer.meta &&
	grep "^x " layer.meta >x &&
	test -s x &&
	! grep -v "^x [0-9]* 0 0 - - [0-9]* PaxHeaders/[^/]*\$" x &&
	! grep "PaxHeaders\.[0-9]" layer.meta &&
	tar_meta ref-none-full.tar >outer.meta &&
	! grep "^[xgLK] " outer.meta
'

test_expect_success 'no user names in the output that the input does not have' '
	sed -n "s/^[^x ][^ ]* [0-7]* [0-9]* [0-9]* \([^ ]*\) \([^ ]*\) .*/\1\n\2/p" in.meta |
		sort -u >in.names &&
	sed -n "s/^[^x ][^ ]* [0-7]* [0-9]* [0-9]* \([^ ]*\) \([^ ]*\) .*/\1\n\2/p" layer.meta |
		sort -u >layer.names &&
	test_diag "user/group names in the layer: $(tr "\n" " " <layer.names)" &&
	test_cmp /dev/null "$(comm -13 in.names layer.names >extra; echo extra)" &&
	# the full image built by a made-up user: its name nowhere in the bytes
	SOURCE_DATE_EPOCH=$EPOCH USER=ocipipeleakuser LOGNAME=ocipipeleakuser \
		HOME=$TEST_DIR/ocipipeleakhome sh build.sh full none 2 >leak.tar &&
	! grep -a -c ocipipeleak leak.tar &&
	cmp ref-none-full.tar leak.tar &&
	for u in "${USER:-}" "${LOGNAME:-}" "$(id -un 2>/dev/null)"; do
		case $u in ""|root) continue ;; esac
		for f in ref-none-full/index.json ref-none-full/blobs/sha256/*; do
			test $(size_of "$f") -lt 65536 || continue
			! grep -a -F -e "$u" "$f" || return 1
		done
		! grep -F -e "$u" outer.meta layer.meta || return 1
	done
'

test_expect_success 'no host name in the metadata or the headers' '
	h=$(uname -n) &&
	test -n "$h" &&
	test_diag "host name: $h" &&
	for f in ref-*-*/index.json ref-*-*/oci-layout; do
		! grep -a -F -e "$h" "$f" || return 1
	done &&
	for d in ref-*-*; do
		for f in $d/blobs/sha256/*; do
			test $(size_of "$f") -lt 65536 || continue
			! grep -a -F -e "$h" "$f" || return 1
		done
	done &&
	! grep -F -e "$h" outer.meta &&
	grep "^  " layer.meta | sort -u >keys &&
	test_diag "pax keys in the layer: $(tr -d " " <keys | tr "\n" " ")" &&
	! grep -v -e "^  path\$" -e "^  linkpath\$" -e "^  mtime\$" -e "^  size\$" \
		-e "^  uid\$" -e "^  gid\$" -e "^  uname\$" -e "^  gname\$" \
		-e "^  SCHILY\.xattr\." -e "^  SCHILY\.devmajor\$" -e "^  SCHILY\.devminor\$" \
		-e "^  hdrcharset\$" keys
'

# A different host name (a UTS namespace) must not change a byte.
if unshare --uts true 2>/dev/null; then
	test_set_prereq UTS
	UNSHARE='unshare --uts'
elif unshare --user --map-root-user --uts true 2>/dev/null; then
	test_set_prereq UTS
	UNSHARE='unshare --user --map-root-user --uts'
fi
test_expect_success UTS 'another host name gives the same bytes' '
	$UNSHARE sh -c "hostname ocipipe-other-host-name &&
		test \"\$(uname -n)\" = ocipipe-other-host-name &&
		SOURCE_DATE_EPOCH=$EPOCH sh build.sh full gzip 2" >host.tar &&
	cmp ref-gzip-full.tar host.tar &&
	! grep -a -c ocipipe-other-host-name host.tar
'

test_done
