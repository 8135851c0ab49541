#!/bin/bash
# SPDX-License-Identifier: MIT
# multi-platform.sh AMD64-ROOTFS ARM64-ROOTFS IMAGE.tar [TAG]: one image
# per platform, each closed by oci-manifest, then one oci-pack writes an
# image index that lists both, so a client picks the image of its machine:
#
#   { tar -C AMD64 -c . | oci-layer | oci-config --arch amd64 | oci-manifest
#     tar -C ARM64 -c . | oci-layer | oci-config --arch arm64 | oci-manifest
#   } | oci-pack --tag TAG > IMAGE.tar
#
# Nothing here runs the programs of the rootfs, so an arm64 rootfs is built
# on any machine (for example by Yocto for another MACHINE).
set -euo pipefail

if test $# -lt 3 || test $# -gt 4; then
	echo "usage: $0 AMD64-ROOTFS ARM64-ROOTFS IMAGE.tar [TAG]" >&2
	exit 2
fi
amd64=$1 arm64=$2 out=$3 tag=${4:-latest}
for d in "$amd64" "$arm64"; do
	test -d "$d" || { echo "$0: '$d' is not a directory" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")" && pwd)
for d in "$here/.." "${top_builddir:-}"; do
	if test -n "$d" && test -x "$d/oci-layer" && test -x "$d/oci-pack"; then
		PATH=$(cd "$d" && pwd):$PATH
	fi
done

tar_opts="--sort=name --numeric-owner --format=pax"
test "$(id -u)" = 0 || tar_opts="$tar_opts --owner=0 --group=0"

# image DIR ARCH: one complete image (layer, config, manifest) on stdout
image() {
	# shellcheck disable=SC2086
	tar -C "$1" $tar_opts -cf - . |
		oci-layer |
		oci-config --arch "$2" --entrypoint /bin/sh |
		oci-manifest
}

{
	image "$amd64" amd64
	image "$arm64" arm64
} | oci-pack --tag "$tag" >"$out"

echo "$out: $(wc -c <"$out") bytes, tag $tag"
if command -v skopeo >/dev/null; then
	for arch in amd64 arm64; do
		printf '%s: ' "$arch"
		skopeo inspect --override-os linux --override-arch "$arch" \
			--format '{{.Os}}/{{.Architecture}} layers {{.Layers}}' "oci-archive:$out:$tag"
	done
fi
