#!/bin/bash
# SPDX-License-Identifier: MIT
# build-image.sh ROOTFS-DIR IMAGE.tar [TAG]: the main job.  Build an OCI
# image tarball from a rootfs directory with the whole ocipipe pipeline,
# then check it with skopeo when skopeo is installed.
#
#   tar -C ROOTFS -c . | oci-layer | oci-config ... | oci-manifest | oci-pack
#
# Environment (all optional):
#   OCI_LAYER_OPTS   options for oci-layer (default: none, i.e. gzip);
#                    e.g. "--zstd" or "--compress=none"
#   OCI_IMAGE_ENTRYPOINT, OCI_IMAGE_ENV_VARS, OCI_IMAGE_PORTS, ...
#                    read by oci-config (see README); the default
#                    entrypoint here is /bin/sh
#   SOURCE_DATE_EPOCH  reproducible output
#   TAR_OPTS         extra options for GNU tar; when not run as root, the
#                    files are stored as owned by root (--owner=0
#                    --group=0), as a fakeroot build would have them
# The programs are taken from PATH, or from the build directory when this
# script runs from the source tree after `make`.
set -euo pipefail

if test $# -lt 2 || test $# -gt 3; then
	echo "usage: $0 ROOTFS-DIR IMAGE.tar [TAG]" >&2
	exit 2
fi
rootfs=$1 out=$2 tag=${3:-latest}
test -d "$rootfs" || { echo "$0: '$rootfs' is not a directory" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
for d in "$here/.." "${top_builddir:-}"; do
	if test -n "$d" && test -x "$d/oci-layer" && test -x "$d/oci-pack"; then
		PATH=$(cd "$d" && pwd):$PATH
	fi
done
for p in oci-layer oci-config oci-manifest oci-pack; do
	command -v "$p" >/dev/null || { echo "$0: $p not found (run make first)" >&2; exit 1; }
done

if test -z "${TAR_OPTS+set}"; then
	TAR_OPTS=
	test "$(id -u)" = 0 || TAR_OPTS="--owner=0 --group=0"
fi
: "${OCI_IMAGE_ENTRYPOINT:=/bin/sh}"
export OCI_IMAGE_ENTRYPOINT

# shellcheck disable=SC2086  # the option lists are meant to be split
tar -C "$rootfs" --sort=name --numeric-owner --format=pax \
	--xattrs --xattrs-include='*' $TAR_OPTS -cf - . |
	oci-layer ${OCI_LAYER_OPTS:-} |
	oci-config --env PATH=/usr/local/bin:/usr/bin:/bin |
	oci-manifest |
	oci-pack --tag "$tag" >"$out"

echo "$out: $(wc -c <"$out") bytes, tag $tag"
if command -v skopeo >/dev/null; then
	skopeo inspect "oci-archive:$out:$tag"
else
	echo "(skopeo not installed: not checked)"
fi
