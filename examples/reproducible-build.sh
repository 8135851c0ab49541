#!/bin/bash
# SPDX-License-Identifier: MIT
# reproducible-build.sh ROOTFS-DIR [SOURCE_DATE_EPOCH]: build the same
# image twice, with different thread counts, and show that both are the
# same bytes (same sha256).  What makes it so:
#   - SOURCE_DATE_EPOCH: the config's created time and history, the mtimes
#     of the image tarball, and (--clamp-mtime) no file newer than it;
#   - tar --sort=name: the input stream itself is stable;
#   - ocipipe: gzip headers without name or time, parallel compression
#     whose output does not depend on the thread count, JSON with a fixed
#     key order.
# The default epoch is the last commit's time when run in a git work tree,
# else 1700000000.  Exit 1 when the two builds differ.
set -euo pipefail

if test $# -lt 1 || test $# -gt 2; then
	echo "usage: $0 ROOTFS-DIR [SOURCE_DATE_EPOCH]" >&2
	exit 2
fi
rootfs=$1
test -d "$rootfs" || { echo "$0: '$rootfs' is not a directory" >&2; exit 1; }
if test $# = 2; then
	SOURCE_DATE_EPOCH=$2
elif test -z "${SOURCE_DATE_EPOCH:-}"; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 1700000000)
fi
export SOURCE_DATE_EPOCH

here=$(cd "$(dirname "$0")" && pwd)
for d in "$here/.." "${top_builddir:-}"; do
	if test -n "$d" && test -x "$d/oci-layer" && test -x "$d/oci-pack"; then
		PATH=$(cd "$d" && pwd):$PATH
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# build THREADS OUT
build() {
	tar -C "$rootfs" --sort=name --numeric-owner --owner=0 --group=0 \
		--format=pax --pax-option=delete=atime,delete=ctime -cf - . |
		oci-layer --threads "$1" --clamp-mtime |
		oci-config --entrypoint /bin/sh |
		oci-manifest |
		oci-pack --tag latest >"$2"
}

build 1 "$tmp/one.tar"
build 0 "$tmp/all.tar"
a=$(sha256sum <"$tmp/one.tar" | cut -d" " -f1)
b=$(sha256sum <"$tmp/all.tar" | cut -d" " -f1)
echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
echo "build 1 (1 thread):    sha256:$a"
echo "build 2 (all threads): sha256:$b"
if test "$a" != "$b"; then
	echo "$0: the two builds differ" >&2
	exit 1
fi
echo "identical"
