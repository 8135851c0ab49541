#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What oci-pack's diffID check costs the whole pipeline: oci-layer alone
# (its stream to a file) against oci-layer | oci-config | oci-manifest |
# oci-pack > image.tar, gzip and zstd, the two run in turn in each round
# (so other load on the host hits them alike).  oci-pack alone on the
# stream oci-layer wrote shows the check's own CPU (oci-pack decompresses
# and hashes every layer, docs/reliability.md).  Printed per compression:
# median wall and CPU seconds (all processes), and the median of the
# per-round ratios pipeline wall / oci-layer wall (the target is 1.05).
# The gzip inflater itself: oci-flatten of the gzip image (it inflates
# the layer twice), and with BENCH_ZLIB the same with that build, one
# configured --without-isal (zlib's inflate instead of ISA-L's).
#
#   bench/check.sh [BUILD_DIR]     (default: the current directory)
#   BENCH_INPUT=DIR                rootfs to tar (default /usr/bin and
#                                  /usr/include of this machine)
#   BENCH_RUNS=N                   rounds (default 3)
#   BENCH_MODES="gzip zstd"        which compressions
#   BENCH_OUT=DIR                  scratch directory (input, stream, image)
#   BENCH_ZLIB=BUILD_DIR           a build without ISA-L, for the inflate rows
#   BENCH_PRIO=1                   run each command in a session of its own
#                                  whose autogroup has nice -20 (needs
#                                  CAP_SYS_NICE): on a host shared with
#                                  other sessions, their work then waits
#                                  and the wall times come near a quiet
#                                  host's (docs/performance.md)
#
# Build without --enable-sanitizers for numbers that mean something.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_setup "${1:-.}" oci-layer oci-config oci-manifest oci-pack oci-flatten
zlib=${BENCH_ZLIB:+$(cd "$BENCH_ZLIB" && pwd)}
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time)" >&2; exit 1; }
runs=${BENCH_RUNS:-3}
bench_input
echo "input: $((insize / 1048576)) MiB, $(nproc) CPUs, $runs rounds"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed NAME CMD: one run of CMD (input on stdin); appends "wall cpu" to
# $out/NAME.t and sets $wall
timed() {
	if [ -n "${BENCH_PRIO:-}" ]; then
		# (the scheduler weighs sessions (autogroups) against each
		# other: a process's own nice does nothing against another's)
		setsid -w sh -c 'echo -20 >/proc/self/autogroup && exec "$@"' sh \
			/usr/bin/time -f "%e %U %S" -o "$out/t" bash -o pipefail -c "$2" <"$input"
	else
		/usr/bin/time -f "%e %U %S" -o "$out/t" bash -o pipefail -c "$2" <"$input"
	fi
	wall=$(awk '{ print $1 }' "$out/t")
	awk '{ print $1, $2 + $3 }' "$out/t" >>"$out/$1.t"
}

row() {
	printf '  %-34s wall %6.2f s  CPU %6.2f s\n' "$1" \
		"$(awk '{ print $1 }' "$out/$2.t" | median)" "$(awk '{ print $2 }' "$out/$2.t" | median)"
}

for mode in ${BENCH_MODES:-gzip zstd}; do
	opt=
	[ "$mode" = zstd ] && opt=--zstd
	rm -f "$out"/*.t
	for i in $(seq "$runs"); do
		timed layer "oci-layer $opt >$out/out.stream"
		a=$wall
		timed pipeline "oci-layer $opt | oci-config | oci-manifest | oci-pack >$out/image.tar"
		b=$wall
		timed pack "oci-pack <$out/out.stream >$out/image2.tar"
		if [ "$mode" = gzip ]; then
			timed flatten "oci-flatten $out/image.tar >/dev/null"
			[ -z "$zlib" ] || timed flatten-zlib "$zlib/oci-flatten $out/image.tar >/dev/null"
		fi
		awk -v a="$a" -v b="$b" 'BEGIN { print b / a }' >>"$out/ratio.t"
	done
	echo "$mode:"
	row "oci-layer $opt > stream" layer
	row "oci-layer $opt | ... | oci-pack" pipeline
	row "oci-pack < stream (the check)" pack
	if [ "$mode" = gzip ]; then
		row "oci-flatten image.tar" flatten
		[ -z "$zlib" ] || row "oci-flatten image.tar, zlib build" flatten-zlib
	fi
	printf '  pipeline / oci-layer, wall: %.3f x (median of the rounds: %s)\n' \
		"$(median <"$out/ratio.t")" "$(tr '\n' ' ' <"$out/ratio.t")"
	rm -f "$out/ratio.t"
done
