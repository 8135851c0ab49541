#!/bin/bash
# SPDX-License-Identifier: MIT
# basic-image.sh ROOTFS-DIR IMAGE.tar: the smallest pipeline.  A rootfs
# directory becomes an OCI image tarball with one gzip layer and a default
# config (this machine's architecture, tag "latest"):
#
#   tar -C ROOTFS -c . | oci-layer | oci-pack > IMAGE.tar
#
# When not run as root, the files are stored as owned by root (as a
# fakeroot or pseudo build would have them).
set -euo pipefail

if test $# != 2; then
	echo "usage: $0 ROOTFS-DIR IMAGE.tar" >&2
	exit 2
fi
rootfs=$1 out=$2
test -d "$rootfs" || { echo "$0: '$rootfs' is not a directory" >&2; exit 1; }

# The programs: from PATH, or from the build tree when run from the sources.
here=$(cd "$(dirname "$0")" && pwd)
for d in "$here/.." "${top_builddir:-}"; do
	if test -n "$d" && test -x "$d/oci-layer" && test -x "$d/oci-pack"; then
		PATH=$(cd "$d" && pwd):$PATH
	fi
done

owner=
test "$(id -u)" = 0 || owner="--owner=0 --group=0"

# shellcheck disable=SC2086
tar -C "$rootfs" --numeric-owner $owner -cf - . | oci-layer | oci-pack >"$out"

echo "$out: $(wc -c <"$out") bytes"
if command -v skopeo >/dev/null; then
	skopeo inspect "oci-archive:$out:latest"
fi
