#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A multi-layer Yocto image (OCI_LAYER_MODE = "multi", three packages
# layers) built by the ocipipe task (examples/yocto/ocipipe-image-oci.sh)
# and by the steps of meta-virtualization's umoci backend
# (tests/helpers/umoci-backend.sh: init, unpack, copy, repack, unpack
# again, per layer), on the same layer directories, in one run.
#
#   bench/yocto-multilayer.sh [BUILD_DIR]     (default: the current directory)
#   BENCH_LAYERS="DIR DIR DIR"  the three layers (default: /usr/include,
#                               /usr/lib/gcc and /usr/share/doc, ~500 MB)
#   BENCH_RUNS=N                runs per command, medians printed (default 1)
#   BENCH_OUT=DIR               scratch directory on the disk to measure
#
# Run as root (umoci unpacks as the caller; the task needs no pseudo here,
# so neither side pays for it).  Printed per command: median wall seconds,
# CPU seconds, MiB written to the file system (counted by the kernel for
# the whole process tree) and the size of the image layout; the layer
# digests of the ocipipe runs are checked to be the same.
set -eu

build=$(cd "${1:-.}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
PATH=$build:$PATH
export PATH
runs=${BENCH_RUNS:-1}
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${BENCH_OUT:-}" ] || trap 'rm -rf "$out"' EXIT
for t in oci-layer oci-config oci-manifest oci-pack umoci; do
	command -v $t >/dev/null || { echo "bench: $t not found" >&2; exit 1; }
done

# The layers, as the prefunc leaves them: WORKDIR/oci-layer-rootfs/layer-N-NAME
# (symlinks to the directories: nothing is copied for the setup).
set -- ${BENCH_LAYERS:-/usr/include /usr/lib/gcc /usr/share/doc}
[ $# = 3 ] || { echo "bench: BENCH_LAYERS names three directories" >&2; exit 2; }
mkdir -p "$out/work/oci-layer-rootfs" "$out/rootfs"
layers=
n=0
for d; do
	n=$((n + 1))
	ln -s "$d" "$out/work/oci-layer-rootfs/layer-$n-l$n"
	layers="$layers l$n:packages:pkg$n"
done
insize=$(du -scbL "$@" | tail -n 1 | cut -f1)
tar -C / -cf - "$@" 2>/dev/null | cat >/dev/null	# warm the page cache

export IMAGE_ROOTFS="$out/rootfs" WORKDIR="$out/work" TOPDIR="$out" MACHINE=bench
export OCI_LAYER_MODE=multi OCI_LAYERS="$layers" SOURCE_DATE_EPOCH=1700000000
export OCI_IMAGE_AUTO_LABELS=0 OCI_LAYER_CACHE_DIR="$out/cache"
# the layout directory only, as the umoci steps write (no .tar copies)
export OCI_IMAGE_TAR_OUTPUT=

# measure NAME SETUP CMD: runs SETUP (not timed) then CMD in $out/o,
# $runs times; NAME's median "wall cpu disk_MiB size_MB" in $out/NAME.row
measure() {
	i=0
	: >"$out/$1.runs"
	while [ $i -lt "$runs" ]; do
		rm -rf "$out/o" && mkdir "$out/o"
		(cd "$out/o" && eval "$2")
		sync
		(cd "$out/o" && /usr/bin/time -o "$out/time" -f '%e %U %S %O' sh -c "$3" >"$out/$1.log" 2>&1) || {
			cat "$out/$1.log" >&2
			exit 1
		}
		sync
		set -- "$1" "$2" "$3" $(cat "$out/time")
		echo "$4 $(echo "$5 + $6" | bc) $(($7 * 512 / 1048576)) $(($(du -sb "$out/o/image" | cut -f1) / 1000000))" >>"$out/$1.runs"
		i=$((i + 1))
	done
	sort -n "$out/$1.runs" | sed -n "$(((runs + 1) / 2))p" >"$out/$1.row"
}

task="IMGDEPLOYDIR=\$PWD/deploy IMAGE_BASENAME=bench sh '$here/examples/yocto/ocipipe-image-oci.sh' && mv deploy/bench.rootfs-oci image"
measure ocipipe "" "OCI_LAYER_CACHE=0 $task"
measure ocipipe-miss "rm -rf '$out/cache'" "OCI_LAYER_CACHE=1 $task"
mv "$out/o/image" "$out/miss-image"
measure ocipipe-hit "" "OCI_LAYER_CACHE=1 $task"
# a hit gives the image a miss gave, byte for byte
diff -r "$out/miss-image" "$out/o/image" >/dev/null || { echo "bench: the cache changed the image" >&2; exit 1; }
rm -rf "$out/miss-image"
measure umoci "" "sh '$here/tests/helpers/umoci-backend.sh' image"

echo "# yocto multi-layer benchmark: $(date -u +%F), $(nproc) CPUs, 3 packages layers, $((insize / 1000000)) MB, $runs run(s), medians"
printf '%-36s %7s %7s %9s %8s\n' command wall_s cpu_s disk_MiB image_MB
row() {
	set -- "$1" "$2" $(cat "$out/$2.row")
	printf '%-36s %7s %7s %9s %8s\n' "$1" "$3" "$4" "$5" "$6"
}
row "ocipipe task, cache off" ocipipe
row "ocipipe task, cache miss (first build)" ocipipe-miss
row "ocipipe task, cache hit (rebuild)" ocipipe-hit
row "umoci backend (unpack/copy/repack)" umoci
set -- $(cat "$out/ocipipe.row") $(cat "$out/umoci.row")
echo "# umoci / ocipipe: wall $(echo "scale=2; $5 / $1" | bc) x, disk written $(echo "scale=2; $7 / $3" | bc) x"
