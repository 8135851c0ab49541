#!/bin/bash
# SPDX-License-Identifier: MIT
#
# oci-diff on a realistic pair: the lower is a rootfs tar with every mtime
# clamped to one second (what a Yocto or SOURCE_DATE_EPOCH build gives),
# the upper the same tree with
#   same     nothing changed
#   one      one small file changed in content, size and mtime kept
#   big      the largest file changed in its last byte (size, mtime kept)
#   touched  every mtime moved by a second (everything is written)
# Each case runs every mode given, alternately (so other load on the host
# hits them alike); printed per run: the median wall seconds, CPU seconds,
# peak RSS, MiB the kernel counted as written to disk, and entries written.
#
#   bench/diff.sh [BUILD_DIR]            (default: the current directory)
#   BENCH_INPUT="DIR..." directories of / to tar (default: usr/bin usr/include)
#   BENCH_MODES="..."    oci-diff options per mode, ':' for none, separated
#                        by commas (default ":,--trust-mtime")
#   BENCH_CASES="..."    (default "same one big touched")
#   BENCH_RUNS=N         runs per mode and case (default 3)
#   BENCH_OUT=DIR        scratch directory (default: mktemp; three times the input)
#
# Build without --enable-sanitizers for numbers that mean something.
set -eu

build=$(cd "${1:-.}" && pwd)
export PATH="$build:$PATH"
runs=${BENCH_RUNS:-3}
cases=${BENCH_CASES:-same one big touched}
IFS=, read -r -a modes <<<"${BENCH_MODES:-:,--trust-mtime}"
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
cleanup() { [ -n "${BENCH_OUT:-}" ] || rm -rf "$out"; }
trap cleanup EXIT
command -v oci-diff >/dev/null || { echo "bench: oci-diff not found in $build" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (/usr/bin/time)" >&2; exit 1; }

lower=$out/lower.tar
if [ ! -s "$lower" ]; then
	# shellcheck disable=SC2086
	tar --sort=name --mtime=@1700000000 -C / -cf "$lower" ${BENCH_INPUT:-usr/bin usr/include} \
		2>/dev/null || true
fi

# upper CASE: the upper tar of CASE (made once)
upper() {
	local u=$out/upper-$1.tar
	if [ ! -s "$u" ]; then
		case $1 in
		same) cp "$lower" "$u" ;;
		touched)
			# shellcheck disable=SC2086
			tar --sort=name --mtime=@1700000001 -C / -cf "$u" \
				${BENCH_INPUT:-usr/bin usr/include} 2>/dev/null || true ;;
		one|big)
			cp "$lower" "$u"
			python3 - "$u" "$1" <<-\PY
			import sys, tarfile
			path, kind = sys.argv[1], sys.argv[2]
			files = [m for m in tarfile.open(path) if m.isfile() and m.size > 0]
			m = (min if kind == "one" else max)(
			    (f for f in files if kind == "big" or f.size >= 100), key=lambda f: f.size)
			with open(path, "r+b") as f:
			    f.seek(m.offset_data + m.size - 1)
			    b = f.read(1)
			    f.seek(m.offset_data + m.size - 1)
			    f.write(bytes([b[0] ^ 1]))
			print("# %s: %s, %d bytes, last byte changed" % (kind, m.name, m.size), file=sys.stderr)
			PY
			;;
		esac
	fi
	echo "$u"
}

# run1 CASE OPTIONS: "wall cpu rss_KiB fs_blocks written"
run1() {
	local line written
	sync
	# shellcheck disable=SC2086
	/usr/bin/time -o "$out/time" -f '%e %U %S %M %O' oci-diff --summary ${2#:} \
		--lower "$lower" <"$(upper "$1")" >/dev/null 2>"$out/summary"
	line=$(tail -1 "$out/time")
	written=$(sed -n 's/.* \([0-9]*\) written .*/\1/p' "$out/summary")
	set -- $line
	echo "$1 $(echo "$2 + $3" | bc) $4 $5 $written"
}

cat "$lower" >/dev/null
echo "# oci-diff benchmark: $(date -u +%F), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "# lower: $(( $(stat -c %s "$lower") / 1000000 )) MB tar (${BENCH_INPUT:-usr/bin usr/include}, mtimes clamped), $runs runs each, medians"
printf '%-8s %-28s %7s %7s %8s %9s %8s\n' case options wall_s cpu_s rss_MiB fsout_MiB written
for c in $cases; do
	upper "$c" >/dev/null
	cat "$(upper "$c")" >/dev/null
	declare -A res=()
	for ((i = 0; i < runs; i++)); do
		for m in "${modes[@]}"; do
			res[$m]+="$(run1 "$c" "$m")"$'\n'
		done
	done
	for m in "${modes[@]}"; do
		set -- $(printf '%s' "${res[$m]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
		label=${m#:}
		printf '%-8s %-28s %7s %7s %8s %9s %8s\n' "$c" "${label:-(default)}" "$1" "$2" "$(( $3 / 1024 ))" \
			"$(( $4 * 512 / 1048576 ))" "$5"
	done
	unset res
done
