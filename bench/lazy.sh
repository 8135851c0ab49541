#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Lazy-pull layers against their plain formats, on the same input in one
# run (docs/lazy-pull.md, docs/performance.md): oci-layer
# --compress=estargz against --compress=gzip at the same level,
# --compress=zstd:chunked against --compress=zstd at the same level, and
# the plain tools (gzip -n, pigz, zstd) on the same tar.  The commands
# run in turn, BENCH_RUNS times each (other load on the host hits them
# alike); printed
# per command: median wall seconds, CPU seconds, peak RSS (MB) and output
# size (MB), then the ratios the issue sets: estargz / gzip (wall, CPU;
# target <= 1.2), zstd:chunked / zstd (target <= 1.3).
#
#   bench/lazy.sh [BUILD_DIR]    (default: the current directory)
#   BENCH_INPUT=DIR   a rootfs directory (default: /usr/bin and /usr/include)
#   BENCH_LEVEL=N     gzip level (default 6)
#   BENCH_ZLEVEL=N    zstd level (default 3)
#   BENCH_THREADS=N   oci-layer --threads (default: all CPUs)
#   BENCH_RUNS=N      runs per command (default 3)
#   BENCH_OUT=DIR     scratch directory (default: mktemp)
#
# Build without --enable-sanitizers for numbers that mean something.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_setup "${1:-.}" oci-layer gzip
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time)" >&2; exit 1; }
bench_input
level=${BENCH_LEVEL:-6}
zlevel=${BENCH_ZLEVEL:-3}
threads=${BENCH_THREADS:-0}
runs=${BENCH_RUNS:-3}
export SOURCE_DATE_EPOCH=1700000000

names=(gzip estargz zstd zstd:chunked "gzip -n" pigz "zstd -T0")
cmds=("oci-layer --compress=gzip -l $level -T $threads"
      "oci-layer --compress=estargz -l $level -T $threads"
      "oci-layer --compress=zstd -l $zlevel -T $threads"
      "oci-layer --compress=zstd:chunked -l $zlevel -T $threads"
      "gzip -n -$level"
      "pigz -n -$level"
      "zstd -q -T0 -$zlevel")
command -v pigz >/dev/null || unset 'names[5]' 'cmds[5]'
command -v zstd >/dev/null || unset 'names[6]' 'cmds[6]'

for ((r = 0; r < runs; r++)); do
	for i in "${!cmds[@]}"; do
		/usr/bin/time -o "$out/t" -f "%e %U %S %M" ${cmds[$i]} <"$input" >"$out/o"
		read -r wall user sys rss <"$out/t"
		echo "$wall $(echo "$user + $sys" | bc) $rss $(stat -c %s "$out/o")" >>"$out/run.$i"
	done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "input: $((insize / 1000000)) MB, level $level (zstd $zlevel), threads ${threads/#0/all}, $runs runs"
printf "%-12s %8s %8s %8s %10s\n" command wall_s cpu_s rss_MB size_MB
for i in "${!cmds[@]}"; do
	w=$(cut -d" " -f1 "$out/run.$i" | median)
	c=$(cut -d" " -f2 "$out/run.$i" | median)
	m=$(cut -d" " -f3 "$out/run.$i" | median)
	s=$(cut -d" " -f4 "$out/run.$i" | median)
	printf "%-12s %8s %8s %8d %10.2f\n" "${names[$i]}" "$w" "$c" $((m / 1024)) \
		"$(echo "$s / 1000000" | bc -l)"
	eval "w$i=$w c$i=$c"
done
# shellcheck disable=SC2154
echo "estargz/gzip wall $(echo "scale=3; $w1 / $w0" | bc) cpu $(echo "scale=3; $c1 / $c0" | bc)"
echo "zstd:chunked/zstd wall $(echo "scale=3; $w3 / $w2" | bc) cpu $(echo "scale=3; $c3 / $c2" | bc)"
