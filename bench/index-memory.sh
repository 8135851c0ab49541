#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Peak memory of oci-flatten and oci-diff for a lower tree of many
# entries, with small files and with large ones: it must not depend on the
# file sizes (their indexes hold a few dozen bytes per path, the data
# streams through).
#
#   bench/index-memory.sh [BUILD_DIR]      (default: the current directory)
#   BENCH_ENTRIES=N    entries of the lower tree (default 100000)
#   BENCH_LARGE=N      files of BENCH_LARGE_MIB each in the large case
#                      (default 200)
#   BENCH_LARGE_MIB=N  size of each large file in MiB (default 8)
#   BENCH_OUT=DIR      scratch directory (default: mktemp; about
#                      BENCH_LARGE * BENCH_LARGE_MIB MiB twice)
#   BENCH_CASES=LIST   which cases (default "layer small large")
#
# The "layer" case is oci-layer's memory per entry: BENCH_ENTRIES empty
# files in one directory (d/%08d, generated as a stream, never stored),
# against 100 000 of them; the difference of peak RSS over the difference
# of entries is what the tree rules keep a name (docs/performance.md).
# 10 million entries: BENCH_ENTRIES=10000000 BENCH_CASES=layer.
#
# Each case is an image of two uncompressed layers: the lower tree, then a
# layer that whites out a tenth of its directories, replaces a tenth of its
# files and adds hardlinks.  Printed per case: entries, image size, peak
# RSS of oci-flatten (GNU time, KiB), wall seconds, output size.  Build
# without --enable-sanitizers for numbers that mean something.
set -eu

build=$(cd "${1:-.}" && pwd)
export PATH="$build:$PATH"
n=${BENCH_ENTRIES:-100000}
nlarge=${BENCH_LARGE:-200}
large_mib=${BENCH_LARGE_MIB:-8}
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
cleanup() { [ -n "${BENCH_OUT:-}" ] || rm -rf "$out"; }
trap cleanup EXIT

for t in oci-layer oci-flatten oci-diff; do
	command -v $t >/dev/null || { echo "bench: $t not found in $build" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time)" >&2; exit 1; }

# gen_tar N NLARGE MIB LAYER: a tar on stdout, generated (nothing staged
# on disk): 100 entries a directory; NLARGE files of MIB MiB among them.
gen_tar() {
	python3 - "$@" <<\PY
import io, sys, tarfile
n, nlarge, mib, layer = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out = sys.stdout.buffer
tf = tarfile.open(fileobj=out, mode='w|', format=tarfile.PAX_FORMAT)
zero = bytes(1 << 20)

class Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size
    def readable(self):
        return True
    def readinto(self, b):
        k = min(len(b), self.left, len(zero))
        b[:k] = zero[:k]
        self.left -= k
        return k

def add(name, kind, size=0, link=None):
    ti = tarfile.TarInfo(name)
    ti.mtime = 1700000000
    if kind == 'd':
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        tf.addfile(ti)
    elif kind == 'h':
        ti.type, ti.linkname = tarfile.LNKTYPE, link
        tf.addfile(ti)
    else:
        ti.size, ti.mode = size, 0o644
        tf.addfile(ti, io.BufferedReader(Zeros(size), 1 << 20) if size else io.BytesIO(b'x' * size))

ndirs = max(1, n // 100)
if layer == 'lower':
    k = big = 0
    for d in range(ndirs):
        add('d%06d' % d, 'd')
        for f in range(99):
            if k >= n - ndirs:
                break
            size = 1
            # large files where the upper layer leaves them alone
            if big < nlarge and d % 10 == 3 and f % 33 == 20:
                size, big = mib << 20, big + 1
            add('d%06d/f%02d' % (d, f), 'f', size)
            k += 1
    if big < nlarge:
        sys.exit('bench: %d large files need more entries' % nlarge)
else:
    for d in range(0, ndirs, 10):
        add('.wh.d%06d' % d, 'f')
    for d in range(5, ndirs, 10):
        add('d%06d/f00' % d, 'f', 2)
        add('d%06d/link' % d, 'h', link='d%06d/f00' % d)
tf.close()
PY
}

# gen_tiny N: a ustar stream of a directory d and N empty files in it
gen_tiny() {
	python3 - "$1" <<\PY
import sys, tarfile
n, out = int(sys.argv[1]), sys.stdout.buffer
def hdr(name, typ):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = typ, 0o644, 1700000000
    return bytearray(ti.tobuf(tarfile.USTAR_FORMAT))
out.write(hdr('d/', tarfile.DIRTYPE))
t = hdr('d/00000000', tarfile.REGTYPE)
buf = []
for i in range(n):
    t[2:10] = b'%08d' % i
    t[148:156] = b'        '
    t[148:155] = b'%06o\0' % sum(t)
    buf.append(bytes(t))
    if len(buf) == 4096:
        out.write(b''.join(buf))
        buf.clear()
out.write(b''.join(buf) + bytes(1024))
PY
}

# layer_rss N: peak RSS (KiB) and wall seconds of oci-layer on gen_tiny N
layer_rss() {
	gen_tiny "$1" | /usr/bin/time -f '%M %e' -o "$out/time" oci-layer -q -c none >/dev/null
	cat "$out/time"
}

cases=${BENCH_CASES:-layer small large}
case " $cases " in
*" layer "*)
	read -r rss0 wall0 <<-E
	$(layer_rss 100000)
	E
	read -r rss wall <<-E
	$(layer_rss "$n")
	E
	printf 'oci-layer, empty entries: 100000: %d KiB %s s; %d: %d KiB %s s; %d bytes of peak RSS an extra entry\n' \
		"$rss0" "$wall0" "$n" "$rss" "$wall" $(( (rss - rss0) * 1024 / (n - 100000) ))
	;;
esac

case " $cases " in
*" small "*|*" large "*)
	printf '%-8s %-12s %10s %12s %14s %8s %12s\n' case program entries "input MiB" \
		"peak RSS KiB" "wall s" "output MiB" ;;
esac
for c in small large; do
	case " $cases " in *" $c "*) ;; *) continue ;; esac
	if [ $c = small ]; then nl=0; else nl=$nlarge; fi
	img=$out/$c.stream
	gen_tar "$n" "$nl" "$large_mib" lower >"$out/lower.tar"
	{ oci-layer -q -c none <"$out/lower.tar"
	  gen_tar "$n" "$nl" "$large_mib" upper | oci-layer -q -c none --whiteouts; } >"$img"
	/usr/bin/time -f '%M %e' -o "$out/time" oci-flatten "$img" >"$out/flat.tar"
	read -r rss wall <"$out/time"
	printf '%-8s %-12s %10d %12d %14d %8s %12d\n' $c oci-flatten "$n" \
		$(($(stat -c %s "$img") >> 20)) "$rss" "$wall" $(($(stat -c %s "$out/flat.tar") >> 20))
	# oci-diff: the same lower tree, the merged tree as the upper; its
	# index holds the lower's entries, the data streams through.
	/usr/bin/time -f '%M %e' -o "$out/time" \
		oci-diff -q -c none --lower "$out/lower.tar" <"$out/flat.tar" >"$out/diff.stream"
	read -r rss wall <"$out/time"
	printf '%-8s %-12s %10d %12d %14d %8s %12d\n' $c oci-diff "$n" \
		$(($(stat -c %s "$out/flat.tar") >> 20)) "$rss" "$wall" \
		$(($(stat -c %s "$out/diff.stream") >> 20))
	rm -f "$img" "$out/flat.tar" "$out/lower.tar" "$out/diff.stream"
done
