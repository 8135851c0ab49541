#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Benchmark ocipipe against the plain tools on the same input, in one run.
#
#   bench/run.sh [BUILD_DIR]            (default: the current directory)
#   BENCH_INPUT=DIR   rootfs directory to tar (default: /usr/bin and
#                     /usr/include of this machine)
#   BENCH_RUNS=N      runs per command, the median is printed (default 3)
#   BENCH_OUT=DIR     scratch directory on the disk to measure (default: mktemp)
#   BENCH_CACHE=0     leave out the rebuild rows (bench/cache.sh, run at the
#                     end on the same input: cold / warm / one package
#                     changed, and --level 1 beside BENCH_BEFORE's)
#
# Every command reads the same tar file (page cache warm) and writes its
# output to BENCH_OUT.  Printed per command: median wall seconds, CPU
# seconds, peak RSS (MiB, largest process of the pipeline), MiB written to
# disk (file system output counted by the kernel), output size, and the
# ratio of wall time to the reference of its group.
set -eu

. "$(dirname "$0")/lib.sh"
bench_setup "${1:-.}" oci-layer oci-config oci-manifest oci-pack
runs=${BENCH_RUNS:-3}
bench_input

# run1 CMD: runs CMD (a shell pipeline, input on stdin) once in an empty
# $out/o; prints "wall cpu rss_KiB fs_blocks".
run1() {
	local line
	rm -rf "$out/o"; mkdir -p "$out/o"
	sync
	line=$(cd "$out/o" && /usr/bin/time -f '%e %U %S %M %O' \
		bash -c "set -o pipefail; $1" < "$input" 2>&1 >/dev/null | tail -1)
	set -- $line
	echo "$1 $(echo "$2 + $3" | bc) $4 $5"
}

# record NAME RUN...: the median run (by wall time) of NAME's runs.
declare -A WALL CPU RSS DISK SIZE PAIR
record() {
	local name=$1 line
	shift
	line=$(printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p")
	set -- $line
	WALL[$name]=$1; CPU[$name]=$2; RSS[$name]=$(( $3 / 1024 )); DISK[$name]=$(( $4 * 512 / 1048576 ))
}

# measure NAME CMD: runs CMD $runs times.
measure() {
	local name=$1 cmd=$2 i walls=()
	for ((i = 0; i < runs; i++)); do
		walls+=("$(run1 "$cmd")")
	done
	record "$name" "${walls[@]}"
	SIZE[$name]=$(du -sb "$out/o" | cut -f1)
}

# measure_pair NAME1 CMD1 NAME2 CMD2: as measure, but the two commands run
# alternately, so that other load on the host (which slows a run using every
# core far more than a run using one) hits both alike.  PAIR[NAME2] is the
# median over the pairs of wall(NAME2) / wall(NAME1).
measure_pair() {
	local i a b as=() bs=() rs=()
	for ((i = 0; i < runs; i++)); do
		a=$(run1 "$2")
		b=$(run1 "$4")
		as+=("$a"); bs+=("$b")
		rs+=("$(ratio "${b%% *}" "${a%% *}")")
	done
	record "$1" "${as[@]}"
	record "$3" "${bs[@]}"
	SIZE[$3]=$(du -sb "$out/o" | cut -f1)
	SIZE[$1]=${SIZE[$3]}	# the same bytes whatever the thread count
	PAIR[$3]=$(printf '%s\n' "${rs[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
}

ratio() { echo "scale=2; $1 / $2" | bc; }
row() {
	printf '%-44s %7s %7s %6s %7s %8s  %s\n' "$1" "${WALL[$1]}" "${CPU[$1]}" "${RSS[$1]}" \
		"${DISK[$1]}" "$(( ${SIZE[$1]} / 1000000 ))" "${2:-}"
}

n=$(nproc)
echo "# ocipipe benchmark: $(date -u +%F), $n CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "# input: $((insize / 1000000)) MB tar, $runs runs each, medians"
printf '%-44s %7s %7s %6s %7s %8s  %s\n' command wall_s cpu_s rss_MiB disk_MiB out_MB ratio

measure "openssl dgst -sha256" "openssl dgst -sha256"
measure "gzip -6 -n" "gzip -6 -n > out.gz"
if command -v libdeflate-gzip >/dev/null; then
	measure "libdeflate-gzip -6 | sha256 (1 thread)" "libdeflate-gzip -6 -c | tee out.gz | openssl dgst -sha256"
fi
measure "pigz -p $n -6 | sha256 (limit)" "tee >(openssl dgst -sha256 >/dev/null) | pigz -p $n -6 | tee out.gz | openssl dgst -sha256"
measure_pair "oci-layer (gzip -6)" "oci-layer > out.stream" \
	"oci-layer --threads 1 (gzip -6)" "oci-layer --threads 1 > out.stream"
for l in 1 2 3; do
	measure "oci-layer --level $l (gzip)" "oci-layer --level $l > out.stream"
done
measure "zstd -3 -T$n | sha256 (limit)" "tee >(openssl dgst -sha256 >/dev/null) | zstd -3 -T$n -c | tee out.zst | openssl dgst -sha256"
measure "oci-layer --zstd" "oci-layer --zstd > out.stream"
measure "pipeline gzip -> image.tar" "oci-layer | oci-config --entrypoint /bin/sh | oci-manifest | oci-pack > image.tar"
measure "pipeline gzip -> image.tar via pipe" "oci-layer | oci-config | oci-manifest | oci-pack | cat > image.tar"
measure "pipeline gzip -> -o DIR" "oci-layer | oci-pack -o layout"
if command -v umoci >/dev/null; then
	measure "umoci raw add-layer" "cat > in.tar && umoci init --layout l >/dev/null && umoci new --image l:t && umoci raw add-layer --image l:t in.tar && rm in.tar"
fi

row "openssl dgst -sha256"
row "gzip -6 -n"
command -v libdeflate-gzip >/dev/null && row "libdeflate-gzip -6 | sha256 (1 thread)"
row "pigz -p $n -6 | sha256 (limit)"
row "oci-layer (gzip -6)" "$(ratio ${WALL["oci-layer (gzip -6)"]} ${WALL["pigz -p $n -6 | sha256 (limit)"]}) x pigz"
# The default cannot beat CPU(default) / n seconds: "bound" is the ratio it
# would have there.  --threads 1 does all the work on one core, so the bound
# is n less what the threads of the default cost in hand-offs
# (docs/performance.md).
row "oci-layer --threads 1 (gzip -6)" "${PAIR["oci-layer --threads 1 (gzip -6)"]} x default (pairs), bound $(ratio "${WALL["oci-layer --threads 1 (gzip -6)"]} * $n" "${CPU["oci-layer (gzip -6)"]}")"
for l in 1 2 3; do
	row "oci-layer --level $l (gzip)" "$(ratio ${WALL["oci-layer --level $l (gzip)"]} ${WALL["pigz -p $n -6 | sha256 (limit)"]}) x pigz"
done
row "zstd -3 -T$n | sha256 (limit)"
row "oci-layer --zstd" "$(ratio ${WALL["oci-layer --zstd"]} ${WALL["zstd -3 -T$n | sha256 (limit)"]}) x zstd"
row "pipeline gzip -> image.tar" "$(ratio ${WALL["pipeline gzip -> image.tar"]} ${WALL["oci-layer (gzip -6)"]}) x oci-layer; disk $(ratio ${DISK["pipeline gzip -> image.tar"]} $(( ${SIZE["pipeline gzip -> image.tar"]} / 1048576 ))) x image"
row "pipeline gzip -> image.tar via pipe" "disk $(ratio ${DISK["pipeline gzip -> image.tar via pipe"]} $(( ${SIZE["pipeline gzip -> image.tar via pipe"]} / 1048576 ))) x image"
row "pipeline gzip -> -o DIR" "disk $(ratio ${DISK["pipeline gzip -> -o DIR"]} $(( ${SIZE["pipeline gzip -> -o DIR"]} / 1048576 ))) x image"
if command -v umoci >/dev/null; then
	# issue target: the lowest level whose image is no larger than umoci's
	best=
	for l in 1 2 3; do
		if [ "${SIZE["oci-layer --level $l (gzip)"]}" -le "${SIZE["umoci raw add-layer"]}" ]; then
			best=$l
			break
		fi
	done
	if [ -n "$best" ]; then
		row "umoci raw add-layer" "oci-layer -l$best (no larger) / umoci = $(ratio ${WALL["oci-layer --level $best (gzip)"]} ${WALL["umoci raw add-layer"]})"
	else
		row "umoci raw add-layer" "no level 1-3 is as small as umoci's output"
	fi
fi

# Rebuilds (issue 19): the block cache's rows and level 1 beside the build
# before, from bench/cache.sh on the same input and scratch directory.
if [ "${BENCH_CACHE:-1}" != 0 ]; then
	echo
	"$(dirname "$0")/cache.sh" "$build"
fi
