#!/bin/sh
# SPDX-License-Identifier: MIT
# Seed corpus for the fuzz targets, generated the way the tests make their
# inputs (tests/helpers/mkbad.py, mkrootfs.py, GNU tar in every format,
# bsdtar, the compressors) and run through the built programs, so the
# seeds are real rootfs tars, real image streams and the real JSON the
# stages write.  Nothing is stored in the repository but the regression
# inputs (tests/fuzz/regressions/<target>/), which are added as seeds too.
#
# usage: tests/fuzz/mkseeds.sh OUTDIR
#   top_srcdir / top_builddir as in the tests; the programs must be built.
#   Writes OUTDIR/<target>/ for layer, stream, layerdesc, config, manifest,
#   index, auth.
set -eu

out=${1:?usage: mkseeds.sh OUTDIR}
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PATH=$top_builddir:$PATH
PYTHON=${PYTHON:-python3}
test -x /usr/bin/python3 && PYTHON=/usr/bin/python3
helpers=$top_srcdir/tests/helpers
export PATH LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1700000000
# The programs may be an ASan build: make a report fail loudly.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export ASAN_OPTIONS

mkdir -p "$out"
out=$(cd "$out" && pwd)
for t in layer stream layerdesc config manifest index auth; do
	mkdir -p "$out/$t"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ocipipe-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# --- rootfs tars (fuzz-layer)
for k in good badsum badsum-first abs dotdot middotdot dotdot-pax hardlink-abs hardlink-out; do
	"$PYTHON" "$helpers/mkbad.py" "$k" >"$out/layer/mkbad-$k.tar"
done
mkdir -p tree/dir/sub tree/etc
printf 'hello\n' >tree/dir/file
printf '#!/bin/sh\necho hi\n' >tree/dir/sub/script
chmod 4755 tree/dir/sub/script
ln -s ../dir/file tree/etc/rel-link
ln -s /etc/passwd tree/etc/abs-link
ln tree/dir/file tree/dir/hardlink
mkfifo tree/dir/fifo
: >tree/etc/empty
long=$(printf 'n%.0s' $(seq 1 120))
mkdir -p "tree/$long"
printf 'long\n' >"tree/$long/f"
setfattr -n user.seed -v value tree/dir/file 2>/dev/null || :
for f in ustar pax gnu oldgnu v7; do
	tar --format=$f --sort=name --numeric-owner --mtime=@1700000000 \
		-C tree -cf "$out/layer/gnutar-$f.tar" . 2>/dev/null || :
done
tar --format=pax --xattrs --sort=name -C tree -cf "$out/layer/gnutar-pax-xattrs.tar" . 2>/dev/null || :
tar --format=gnu --sparse -C tree -cf "$out/layer/gnutar-sparse.tar" . 2>/dev/null || :
if command -v bsdtar >/dev/null 2>&1; then
	bsdtar --format=pax -C tree -cf "$out/layer/bsdtar-pax.tar" . 2>/dev/null || :
	bsdtar --format=ustar -C tree -cf "$out/layer/bsdtar-ustar.tar" . 2>/dev/null || :
fi
# Concatenated archives, and compressed ones.
cat "$out/layer/gnutar-ustar.tar" "$out/layer/mkbad-good.tar" >"$out/layer/concat.tar"
# pax mtimes in (-1, 1): the tar reader reads their headers a second time
"$PYTHON" -c 'import sys
sys.path.insert(0, sys.argv[1])
import fidelity as f
a = f.Ar(sys.stdout.buffer)
a.entry(b"m", b"x", [(b"mtime", b"-0.25"), (b"path", b"long/" * 30 + b"m")])
a.entry(b"n", b"y", [(b"mtime", b"0.5")])
a.end()' "$helpers" >"$out/layer/pax-mtime-sign.tar"
# The tree rules (issue 15): names FNV-1a collides, a symlink followed by
# a directory of its name, hardlinks into replaced directories, whiteout
# names; each refused (t1120), the last one kept.
"$PYTHON" - "$out/layer" <<-\PY
import io, os, sys, tarfile
A, B = "EJ3TW5nTDWJ", "LneudQ4ey6N"
CASES = {
    "tree-collide-symlink": ["l %s /etc" % B, "d " + A, "f %s/passwd" % B],
    "tree-collide-hardlink": ["l %s /etc" % B, "d " + A, "f %s/passwd" % A,
                              "h x %s/passwd" % B],
    "tree-symlink-then-dir": ["l a /etc", "d a", "f a/passwd"],
    "tree-replaced-implicit": ["f a/b", "f a", "d a", "h l a/b"],
    "tree-replaced-explicit": ["d a", "f a/b", "f a", "d a", "h l a/b"],
    "tree-whiteouts": ["d etc", "f .wh.etc", "f etc/.wh..wh..opq", "d .wh.x", "f .wh.x/y",
                       "f .wh..."],
    "tree-collide-harmless": ["f " + A, "f " + B, "h la " + A, "h lb " + B],
}
for name, specs in CASES.items():
    with open(os.path.join(sys.argv[1], name + ".tar"), "wb") as f:
        tf = tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT)
        for spec in specs:
            t, n, *rest = spec.split(" ")
            ti = tarfile.TarInfo(n)
            ti.mtime = 1700000000
            data = None
            if t == "f":
                data = n.encode() + b"\n"
                ti.size = len(data)
            else:
                ti.type = {"d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE}[t]
                ti.linkname = rest[0] if rest else ""
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        tf.close()
PY
gzip -n -c "$out/layer/gnutar-pax.tar" >"$out/layer/pax.tar.gz"
# gzip members whose headers have every optional field (FEXTRA, FNAME,
# FCOMMENT, FHCRC: the gunzip module reads them itself with ISA-L), split
# in two members and an empty one
"$PYTHON" - "$out/layer/gnutar-pax.tar" <<-\PY >"$out/layer/pax-fields.tar.gz"
	import struct, sys, zlib
	def member(data):
	    h = bytes([0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3])
	    h += struct.pack("<H", 5) + b"extra" + b"name.tar\0" + b"comment\0"
	    h += struct.pack("<H", zlib.crc32(h) & 0xffff)
	    c = zlib.compressobj(6, zlib.DEFLATED, -15)
	    body = c.compress(data) + c.flush()
	    return h + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xffffffff)
	d = open(sys.argv[1], "rb").read()
	sys.stdout.buffer.write(member(d[:1000]) + member(b"") + member(d[1000:]))
	PY
command -v zstd >/dev/null 2>&1 && zstd -q -c "$out/layer/gnutar-pax.tar" >"$out/layer/pax.tar.zst"
command -v xz >/dev/null 2>&1 && xz -c "$out/layer/gnutar-pax.tar" >"$out/layer/pax.tar.xz"
command -v bzip2 >/dev/null 2>&1 && bzip2 -c "$out/layer/gnutar-pax.tar" >"$out/layer/pax.tar.bz2"
command -v xz >/dev/null 2>&1 && xz -c "$out/layer/gnutar-ustar.tar" >"$out/layer/ustar.tar.xz"
command -v bzip2 >/dev/null 2>&1 && bzip2 -c "$out/layer/gnutar-ustar.tar" >"$out/layer/ustar.tar.bz2"
# pax global headers among GNU long names (the tar reader reads the
# header blocks again); lz4 input (decompressed by a reader of its own)
"$PYTHON" -c 'import sys
sys.path.insert(0, sys.argv[1])
import fidelity as f
a = f.Ar(sys.stdout.buffer)
a.entry(b"first", b"x")
a.out.write(f.pax([(b"comment", b"c")], name=b"pax_global_header", typ=b"g"))
for i in range(3):
    a.gnu_long(b"L", b"long/" * 30 + b"%d" % i)
a.out.write(f.pax([(b"uid", b"4242")], name=b"pax_global_header", typ=b"g"))
a.entry(b"f", b"y")
a.end()' "$helpers" >"$out/layer/pax-global-long-names.tar"
command -v lz4 >/dev/null 2>&1 && lz4 -q -c "$out/layer/gnutar-pax.tar" >"$out/layer/pax.tar.lz4"
# A small generated rootfs (no 3 MiB file: seeds stay small).
if "$PYTHON" "$helpers/mkrootfs.py" --portable --no-random rootfs >/dev/null 2>&1; then
	tar --format=pax --sort=name --numeric-owner -C rootfs -cf "$out/layer/mkrootfs-pax.tar" . 2>/dev/null || :
fi

# --- image streams (fuzz-stream) and their JSON
n=0
for t in "$out/layer/mkbad-good.tar" "$out/layer/gnutar-pax.tar" "$out/layer/gnutar-ustar.tar"; do
	n=$((n + 1))
	oci-layer --compress=none --created-by="seed $n" <"$t" >"s$n.layer" 2>/dev/null || continue
	cp "s$n.layer" "$out/stream/layer-none-$n.stream"
	oci-layer --gzip <"$t" >"s$n.gz" 2>/dev/null && cp "s$n.gz" "$out/stream/layer-gzip-$n.stream"
	oci-config --entrypoint /bin/sh --env A=1 --port 80 --label k=v --volume /data \
		--workdir /w --user 1:2 --author seed <"s$n.layer" >"s$n.cfg" 2>/dev/null || continue
	cp "s$n.cfg" "$out/stream/config-$n.stream"
	oci-manifest --annotation a=b <"s$n.cfg" >"s$n.man" 2>/dev/null || continue
	cp "s$n.man" "$out/stream/manifest-$n.stream"
	"$PYTHON" "$helpers/stream.py" split "s$n.man" "split$n" >/dev/null 2>&1 || continue
	for j in "split$n"/*; do
		case $j in
		*layer*.json) cp "$j" "$out/layerdesc/seed$n-$(basename "$j")" ;;
		*config*.json) cp "$j" "$out/config/seed$n-$(basename "$j")" ;;
		*manifest*.json) cp "$j" "$out/manifest/seed$n-$(basename "$j")" ;;
		esac
	done
	oci-pack --tag "t$n" --tag latest -o "layout" <"s$n.man" >/dev/null 2>&1 || :
done
# Two images: an index.
cat s1.man s2.man >two.stream 2>/dev/null &&
	cp two.stream "$out/stream/two-images.stream" &&
	oci-pack --allow-same-platform -o layout2 <two.stream >/dev/null 2>&1 || :
test -f layout/index.json && cp layout/index.json "$out/index/layout-index.json"
test -f layout2/index.json && cp layout2/index.json "$out/index/layout2-index.json"
for b in layout2/blobs/sha256/*; do
	test -f "$b" || continue
	case $(head -c 200 "$b") in
	*image.index*) cp "$b" "$out/index/index-blob.json" ;;
	esac
done
# Image tarballs in the stream, whole and broken (a size that wraps, no
# index.json, no oci-layout, cut short, a wrong diff_id, garbage after
# a gzip layer), then a layer; and a layer.json whose diffID is not its
# layer's (the layer check of oci-pack's mode).  Even lengths: the
# target verifies those.
for c in good size-wrap no-index-json no-marker cut diff-id-wrong gzip-garbage; do
	"$PYTHON" "$helpers/mkimage.py" "$c" >"img-$c.tar" 2>/dev/null &&
		cat "img-$c.tar" s1.gz >"$out/stream/base-$c.stream" 2>/dev/null || :
done
"$PYTHON" -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"\"diffID\":\"sha256:") + len(b"\"diffID\":\"sha256:")
b[i:i + 64] = b"0" * 64
sys.stdout.buffer.write(b)' s1.gz >"$out/stream/wrong-diffid.stream" 2>/dev/null || :
# An error entry, and an image stream with a config given by --from.
printf '{"architecture":"arm","variant":"v7","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":[]},"history":[{"created":"2024-01-02T03:04:05Z","empty_layer":true}]}' \
	>"$out/config/from.json"
oci-layer <"$out/layer/mkbad-dotdot.tar" >"$out/stream/error.stream" 2>/dev/null || :

# --- what oci-push parses (fuzz-auth): the first byte chooses the reader
seed_auth() {
	printf "\\$(printf %03o "$1")%s" "$3" >"$out/auth/$2"
}
seed_auth 0 bearer 'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"'
seed_auth 0 basic-and-bearer 'Basic realm="x", Bearer realm="y", error="insufficient_scope"'
seed_auth 0 escapes 'bearer Realm = "h\"t" , scope=a, scope="b c", Newauth abc=='
seed_auth 1 token '{"token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln","expires_in":300,"issued_at":"2024-01-01T00:00:00Z"}'
seed_auth 1 access-token '{"access_token":"abc","refresh_token":"r"}'
seed_auth 2 authfile '{"auths":{"h.io:5000":{"auth":"Ym9iOng6eQ=="},"h.io:5000/ns":{"auth":"YWxpY2U6czNjcmV0"},"https://h.io:5000/v1/":{"auth":""}},"credHelpers":{"x":"y"}}'
seed_auth 3 ref-tag 'docker://h.io:5000/ns/app:1.0'
seed_auth 3 ref-digest '[::1]:5000/a.b/c__d/e-f@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'

# --- regression inputs found earlier
for t in layer stream layerdesc config manifest index auth; do
	if test -d "$top_srcdir/tests/fuzz/regressions/$t"; then
		for f in "$top_srcdir/tests/fuzz/regressions/$t"/*; do
			test -f "$f" && cp "$f" "$out/$t/regression-$(basename "$f")"
		done
	fi
done

for t in layer stream layerdesc config manifest index auth; do
	echo "seeds: $t $(ls "$out/$t" | wc -l)"
done
