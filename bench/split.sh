#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Package-split layers (oci-layer --split, issue 20) against the single
# layer of the same input, in one run.
#
#   bench/split.sh [BUILD_DIR]          (default: the current directory)
#   BENCH_INPUT=DIR   a rootfs directory with a dpkg or opkg database
#                     (default: usr/bin and usr/include of this machine,
#                     split by this machine's dpkg database)
#   BENCH_LAYERS=N    oci-layermap --max-layers (default 50)
#   BENCH_RUNS=N      runs per command, medians printed (default 3)
#   BENCH_OUT=DIR     scratch directory on the disk to measure (default:
#                     mktemp); the split's spool files go there too
#
# The single and the split build run alternately, so that other load on
# the host hits both alike; "ratio" is the median over the pairs of
# wall(split) / wall(single).  Printed per command: median wall seconds,
# CPU seconds, peak RSS (MiB), MiB written to the file system (counted by
# the kernel: the split's spooled layers included), and the stream size.
# Then one run each of the single and split builds in zstd and none (the
# peak RSS of every compression: the issue bounds it at 128 MiB for 64
# layers).  Then the rebuild after one package changed (one byte of one file of a
# grouped package, then of a package with a layer of its own): how many
# layer digests change, and the bytes a puller downloads, next to the
# single layer's.
set -eu

. "$(dirname "$0")/lib.sh"
bench_setup "${1:-.}" oci-layer oci-layermap
runs=${BENCH_RUNS:-3}
layers=${BENCH_LAYERS:-50}
export TMPDIR="$out"

input="$out/input.tar"
if [ -n "${BENCH_INPUT:-}" ]; then
	tar -C "$BENCH_INPUT" -cf "$input" .
	oci-layermap -q --max-layers "$layers" "$BENCH_INPUT" >"$out/map"
else
	tar -C / -cf "$input" usr/bin usr/include 2>/dev/null || true
	oci-layermap -q --max-layers "$layers" / >"$out/map"
fi
insize=$(stat -c %s "$input")
cat "$input" >/dev/null

# once CMD: "wall cpu rss_KiB fs_blocks" of CMD (stdin: the input)
once() {
	local line
	sync
	line=$( { /usr/bin/time -f '%e %U %S %M %O' bash -c "$1" <"$input" >/dev/null; } 2>&1 | tail -1)
	set -- $line
	echo "$1 $(echo "$2 + $3" | bc) $4 $5"
}

median() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }

single=() split=() ratios=()
for ((i = 0; i < runs; i++)); do
	a=$(once "oci-layer > '$out/single.stream'")
	b=$(once "oci-layer --split='$out/map' > '$out/split.stream'")
	single+=("$a"); split+=("$b")
	ratios+=("$(echo "scale=2; ${b%% *} / ${a%% *}" | bc)")
done

show() {
	local name=$1 stream=$2
	shift 2
	set -- $(printf '%s\n' "$@" | median)
	printf '%-32s %7s %7s %7s %8s %9s\n' "$name" "$1" "$2" "$(( $3 / 1024 ))" \
		"$(( $4 * 512 / 1048576 ))" "$(( $(stat -c %s "$stream") / 1000000 ))"
}

nl=$(grep -c '' "$out/map")
nlayers=$(tar -tf "$out/split.stream" | grep -c '^ocipipe/layer.json$')
echo "# split benchmark: $(date -u +%F), $(nproc) CPUs, input $((insize / 1000000)) MB tar, map of $nl lines, $nlayers layers, $runs runs, medians"
printf '%-32s %7s %7s %7s %8s %9s\n' command wall_s cpu_s rss_MiB disk_MiB stream_MB
show "oci-layer (one layer)" "$out/single.stream" "${single[@]}"
show "oci-layer --split" "$out/split.stream" "${split[@]}"
echo "# split / single wall: $(printf '%s\n' "${ratios[@]}" | median) x (median of the pairs; target <= 1.15)"

# Peak memory per compression (one run each): the split's layers share one
# compressor pool, so its RSS should not grow with the layer count
# (docs/split.md, "Costs"; the issue's bound: 128 MiB for 64 layers).
for c in zstd none; do
	a=$(once "oci-layer --compress=$c > '$out/single-$c.stream'")
	b=$(once "oci-layer --split='$out/map' --compress=$c > '$out/split-$c.stream'")
	runs=1 show "oci-layer --compress=$c" "$out/single-$c.stream" "$a"
	runs=1 show "oci-layer --split --compress=$c" "$out/split-$c.stream" "$b"
done

# --- a rebuild after one package changed --------------------------------------

# descriptors STREAM: "digest size" of each layer
descriptors() {
	"${PYTHON:-python3}" - "$1" <<-\PY
	import json, sys, tarfile
	with tarfile.open(sys.argv[1], "r|") as t:
	    for m in t:
	        if m.name == "ocipipe/layer.json":
	            d = json.load(t.extractfile(m))
	            print(d["digest"], d["size"])
	PY
}

# changed KIND: a copy of the input with one byte of one regular file of a
# package of KIND ("group" or "own") flipped; prints the file's name
changed() {
	"${PYTHON:-python3}" - "$input" "$out/map" "$1" "$out/input2.tar" <<-\PY
	import shutil, sys, tarfile
	src, mapf, kind, dst = sys.argv[1:]
	lines = [l.rstrip("\n").split("\t", 1) for l in open(mapf, encoding="utf-8", errors="surrogateescape")]
	want = [(n, p) for n, p in lines if n.startswith("group-") == (kind == "group")]
	with tarfile.open(src, "r:") as t:
	    for m in t:
	        name = m.name[2:] if m.name.startswith("./") else m.name
	        if not m.isreg() or m.size == 0:
	            continue
	        if any(name == p or name.startswith(p + "/") for _, p in want):
	            shutil.copyfile(src, dst)
	            with open(dst, "r+b") as f:
	                f.seek(m.offset_data)
	                b = f.read(1)
	                f.seek(m.offset_data)
	                f.write(bytes([b[0] ^ 0xff]))
	            print(name)
	            break
	PY
}

for kind in group own; do
	f=$(changed $kind)
	[ -n "$f" ] || { echo "# no $kind package file in the input"; continue; }
	oci-layer --split="$out/map" <"$out/input2.tar" >"$out/split2.stream"
	oci-layer <"$out/input2.tar" >"$out/single2.stream"
	descriptors "$out/split.stream" >"$out/d1"
	descriptors "$out/split2.stream" >"$out/d2"
	n=$(grep -vxF -f "$out/d1" "$out/d2" | wc -l)
	bytes=$(grep -vxF -f "$out/d1" "$out/d2" | awk '{ s += $2 } END { print s + 0 }')
	one=$(descriptors "$out/single2.stream" | awk '{ print $2 }')
	echo "# one byte of $f ($kind package) changed: $n of $nlayers layer digests change, a puller downloads $((bytes / 1000)) kB (single layer: $((one / 1000)) kB)"
done
