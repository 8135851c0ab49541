#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The block cache and ISA-L level 1 (issue 19, docs/cache.md,
# docs/performance.md), on the same input in one run:
#
#   cold        oci-layer (gzip -6), no cache
#   cold+store  oci-layer --cache=DIR on an empty DIR (what a first build pays)
#   warm        the same input again, DIR filled
#   changed     one package's files rewritten (same sizes, other bytes:
#               a rebuilt package), DIR filled from the unchanged input
#   level 1     oci-layer --level 1 of this build (ISA-L when built with
#               it) and, with BENCH_BEFORE=BUILD_DIR, of another build
#               (today's libdeflate level 1)
#
#   bench/cache.sh [BUILD_DIR]     (default: the current directory)
#   BENCH_INPUT, BENCH_OUT         as for bench/run.sh
#   BENCH_RUNS=N                   rounds (default 3); medians
#   BENCH_PACKAGE=NAME|PREFIX      the package to rewrite: the files dpkg
#                                  lists for package NAME when BENCH_INPUT
#                                  is a rootfs with a dpkg database (as
#                                  bench/debian-rootfs.sh makes; the issue's
#                                  case: perl-base), else every file whose
#                                  name starts with PREFIX (default: the
#                                  directory of the input holding the most
#                                  data between 4 and 40 MB)
#   BENCH_BEFORE=BUILD_DIR         a build of ocipipe to compare level 1 with
#
# The rows of one round run one after the other and the ratios are taken
# per round, so that other load on the host hits both sides of a ratio
# alike; the medians of the rounds are printed.  Printed per row: wall and
# CPU seconds, peak RSS (MiB), output MB; then the cache's disk use.
set -eu

. "$(dirname "$0")/lib.sh"
bench_setup "${1:-.}" oci-layer
runs=${BENCH_RUNS:-3}
bench_input
cache="$out/cache"

# changed_tar IN OUT PREFIX|@LIST: IN with the data of every regular file
# whose name starts with PREFIX (or is a line of the file LIST) rewritten
# in place (one byte in 512 flipped): the headers and every other byte
# stay, as when a package is rebuilt.  Prints the bytes rewritten.
changed_tar() {
	python3 - "$@" <<-\EOF
	import sys
	src, dst, prefix = sys.argv[1], sys.argv[2], sys.argv[3].encode()
	listed = None
	if prefix.startswith(b"@"):
	    with open(prefix[1:], "rb") as f:
	        listed = {l.strip(b"\n").lstrip(b"/") for l in f}
	def wanted(name):
	    name = name.lstrip(b"./")
	    return name in listed if listed is not None else name.startswith(prefix)
	def num(f):
	    if f[0] & 0x80:
	        return int.from_bytes(f[1:], "big")
	    return int(f.split(b"\0", 1)[0].strip() or b"0", 8)
	changed = 0
	with open(src, "rb") as i, open(dst, "wb") as o:
	    longname = None
	    while True:
	        h = i.read(512)
	        if len(h) < 512:
	            o.write(h)
	            break
	        o.write(h)
	        if h == bytes(512):
	            continue
	        size, t = num(h[124:136]), h[156:157]
	        data = i.read((size + 511) // 512 * 512)
	        name = h[345:500].split(b"\0", 1)[0] + b"/" + h[0:100].split(b"\0", 1)[0] \
	            if h[345] else h[0:100].split(b"\0", 1)[0]
	        if t == b"L":
	            longname = data[:size].rstrip(b"\0")
	        elif t == b"x":
	            for rec in data[:size].split(b"\n"):
	                if b" path=" in rec:
	                    longname = rec.split(b" path=", 1)[1]
	        else:
	            name = longname or name
	            longname = None
	            if t in (b"0", b"\0") and wanted(name) and size:
	                b = bytearray(data)
	                for k in range(0, size, 512):
	                    b[k] ^= 0x5a
	                data = bytes(b)
	                changed += size
	        o.write(data)
	print(changed)
	EOF
}

# biggest_dir TAR: a directory of TAR holding 4 to 40 MB of file data (the
# one with the most), as a package would
biggest_dir() {
	tar -tvf "$1" | awk '$1 ~ /^-/ { n = split($6, p, "/"); d = ""; for (i = 1; i < n; i++) { d = d p[i] "/"; s[d] += $3 } }
		END { best = ""; for (d in s) if (s[d] >= 4e6 && s[d] <= 40e6 && s[d] > s[best]) best = d; print best }'
}

pkg=${BENCH_PACKAGE:-$(biggest_dir "$input")}
pkg=${pkg#./}
# a package of the rootfs's dpkg database: its files (NAME.list, or
# NAME:ARCH.list for a package of several architectures)
dpkg_list=
for l in "${BENCH_INPUT:-/nonexistent}/var/lib/dpkg/info/$pkg.list" \
	 "${BENCH_INPUT:-/nonexistent}/var/lib/dpkg/info/$pkg":*.list; do
	[ -f "$l" ] && dpkg_list=$l && break
done
what=$pkg
[ -z "$dpkg_list" ] || what=@$dpkg_list
changed_bytes=$(changed_tar "$input" "$out/changed.tar" "$what")
[ "$changed_bytes" -gt 0 ] || { echo "bench/cache.sh: no file of $pkg in the input" >&2; exit 1; }
cat "$out/changed.tar" >/dev/null

# run1 CMD INPUT: "wall cpu rss_KiB out_bytes" of one run of CMD < INPUT
run1() {
	local line
	line=$( { /usr/bin/time -f '%e %U %S %M' bash -c "set -o pipefail; $1 > '$out/o.stream'" \
		< "$2"; } 2>&1 | tail -1)
	set -- $line
	echo "$1 $(echo "$2 + $3" | bc) $4 $(stat -c %s "$out/o.stream")"
}

med() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }
ratio() { echo "scale=3; $1 / $2" | bc; }

declare -A R
names=(cold cold+store warm changed level1)
[ -n "${BENCH_BEFORE:-}" ] && names+=(level1-before)
before=${BENCH_BEFORE:+$(cd "$BENCH_BEFORE" && pwd)/oci-layer}
for ((i = 0; i < runs; i++)); do
	R[cold]+="$(run1 "oci-layer" "$input")"$'\n'
	rm -rf "$cache"
	R[cold+store]+="$(run1 "oci-layer --cache='$cache'" "$input")"$'\n'
	R[warm]+="$(run1 "oci-layer --cache='$cache'" "$input")"$'\n'
	R[changed]+="$(run1 "oci-layer --cache='$cache'" "$out/changed.tar")"$'\n'
	R[level1]+="$(run1 "oci-layer --level 1" "$input")"$'\n'
	if [ -n "$before" ]; then
		R[level1-before]+="$(run1 "'$before' --level 1" "$input")"$'\n'
	fi
done
# the warm run refreshed the cache; the changed run added its blocks
disk=$(du -sb "$cache" | cut -f1)
entries=$(find "$cache" -type f | wc -l)

# col NAME N: the median of column N of NAME's rounds
col() { printf '%s' "${R[$1]}" | awk -v c="$2" 'NF { print $c }' | med; }
# per-round ratio of wall times
rratio() {
	paste <(printf '%s' "${R[$1]}" | awk 'NF { print $1 }') \
	      <(printf '%s' "${R[$2]}" | awk 'NF { print $1 }') |
		while read -r a b; do ratio "$a" "$b"; done | med
}

echo "# ocipipe block cache benchmark: $(date -u +%F), $(nproc) CPUs, $(oci-layer --version | sed -n 3p)"
echo "# input: $((insize / 1000000)) MB tar; package rewritten: $pkg${dpkg_list:+ (dpkg)} ($((changed_bytes / 1000000)) MB); $runs rounds, medians"
printf '%-16s %7s %7s %7s %8s  %s\n' run wall_s cpu_s rss_MiB out_MB ratio
for n in "${names[@]}"; do
	case $n in
	cold) r= ;;
	level1) r=${before:+$(rratio level1 level1-before) x before}
		r=${r:-} ;;
	level1-before) r= ;;
	*) r="$(rratio "$n" cold) x cold" ;;
	esac
	printf '%-16s %7s %7s %7s %8s  %s\n' "$n" "$(col "$n" 1)" "$(col "$n" 2)" \
		"$(( $(col "$n" 3) / 1024 ))" "$(( $(col "$n" 4) / 1000000 ))" "$r"
done
if [ -n "$before" ]; then
	echo "# level 1 size: $(ratio "$(col level1 4)" "$(col level1-before 4)") x before"
fi
echo "# cache: $((disk / 1048576)) MiB in $entries files ($(ratio "$disk" "$(col cold 4)") x the layer)"
