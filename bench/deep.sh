#!/bin/bash
# SPDX-License-Identifier: MIT
#
# oci-flatten and oci-diff --lower on the deep image of issue 15, finding
# 7 (tests/helpers/mkimage.py deep): layer 1 makes d, d/d, ... DEEP levels
# as regular files, layer 2 is a root .wh..wh..opq, layer 3 holds
# DEEP_FILES files in each of the levels (names up to 4 KB: 44 MB of names
# in a 390 KB image at the defaults).  The upper tree of oci-diff is the
# flattened image itself (nothing changes).  Printed: median wall and CPU
# seconds of BENCH_RUNS runs, each program's summary line (its name
# lookups: a few per entry when no walk went quadratic), and how the CPU
# time grows from half the depth to the whole (about 4 x when it is linear
# in the bytes of the names, which grow with the square of the depth; the
# CPU time, because other load on the host stretches the wall time).
#
#   bench/deep.sh [BUILD_DIR]      (default: the current directory)
#   DEEP=N DEEP_FILES=N            (default 2000 and 10: the 390 KB image)
#   BENCH_RUNS=N                   (default 3)
#
# Build without --enable-sanitizers for numbers that mean something.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_setup "${1:-.}" oci-flatten oci-diff
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time)" >&2; exit 1; }
runs=${BENCH_RUNS:-3}
depth=${DEEP:-2000}
files=${DEEP_FILES:-10}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run NAME CMD: BENCH_RUNS runs of CMD; prints the medians, sets $cpu
run() {
	local name=$1 cmd=$2 i
	: >"$out/times"
	for i in $(seq "$runs"); do
		/usr/bin/time -f "%e %U %S" -o "$out/t" bash -c "$cmd" 2>"$out/summary"
		cat "$out/t" >>"$out/times"
	done
	cpu=$(awk '{ print $2 + $3 }' "$out/times" | median)
	printf '%-28s wall %6.2f s  CPU %6.2f s   %s\n' "$name" \
		"$(awk '{ print $1 }' "$out/times" | median)" "$cpu" \
		"$(grep -o '[0-9]* entries read.*\|[0-9]* lower and.*' "$out/summary" | head -1)"
}

# one_depth DEPTH: both programs on the image of that depth; $flat_cpu, $diff_cpu
one_depth() {
	local d=$1 img=$out/deep-$1.tar
	DEEP=$d DEEP_FILES=$files python3 "$here/../tests/helpers/mkimage.py" deep >"$img"
	echo "depth $d, $files files a level: image $(($(stat -c %s "$img") / 1024)) KB"
	oci-flatten "$img" >"$out/flat-$d.tar"
	run "oci-flatten" "oci-flatten --summary $img >/dev/null"
	flat_cpu=$cpu
	run "oci-diff --lower" "oci-diff --summary -q -c none --lower $img <$out/flat-$d.tar >/dev/null"
	diff_cpu=$cpu
}

one_depth $((depth / 2))
half_flat=$flat_cpu half_diff=$diff_cpu
one_depth "$depth"
awk -v a="$half_flat" -v b="$flat_cpu" -v c="$half_diff" -v d="$diff_cpu" 'BEGIN {
	printf "depth x 2: oci-flatten %.1f x, oci-diff %.1f x the CPU time (names x 4)\n",
		b / a, d / c }'
