#!/bin/bash
# SPDX-License-Identifier: MIT
# diff-image.sh BASE APP-DIR IMAGE.tar [TAG]: a base layer and an
# application layer from two whole rootfs trees, as a Yocto build makes
# them (a base image, and the same image with the application installed).
# The application layer holds only what APP-DIR changed, added or removed
# (whiteouts), computed from the two tar streams by oci-diff: no overlay
# mount, no unpacked copy of either tree.
#
#   { tar -C BASE -c . | oci-layer
#     tar -C APP -c . | oci-diff --lower <(tar -C BASE -c .); } \
#     | oci-config ... | oci-manifest | oci-pack > IMAGE.tar
#
# BASE may also be an image (a tarball from oci-pack, or an image stream
# saved to a file): then oci-diff compares APP-DIR with that image's
# rootfs and writes the image's layers and config ahead of the new layer,
# so the result is that image plus one layer, its base layers unchanged.
#
# Rebuild with another APP-DIR and the base layer keeps its digest (set
# SOURCE_DATE_EPOCH for whole-image reproducibility): a registry and a
# container engine keep the blob they have.
set -euo pipefail

if test $# -lt 3 || test $# -gt 4; then
	echo "usage: $0 BASE-DIR|BASE-IMAGE.tar APP-DIR IMAGE.tar [TAG]" >&2
	exit 2
fi
base=$1 app=$2 out=$3 tag=${4:-latest}
test -e "$base" || { echo "$0: '$base' does not exist" >&2; exit 1; }
test -d "$app" || { echo "$0: '$app' is not a directory" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
for d in "$here/.." "${top_builddir:-}"; do
	if test -n "$d" && test -x "$d/oci-diff" && test -x "$d/oci-pack"; then
		PATH=$(cd "$d" && pwd):$PATH
	fi
done

tar_opts="--sort=name --numeric-owner --format=pax"
test "$(id -u)" = 0 || tar_opts="$tar_opts --owner=0 --group=0"

# shellcheck disable=SC2086
if test -d "$base"; then
	# the lower is read once, through a pipe: no copy of it on disk
	{
		tar -C "$base" $tar_opts -cf - . | oci-layer --created-by "base: $(basename "$base")"
		tar -C "$app" $tar_opts -cf - . |
			oci-diff --lower <(tar -C "$base" $tar_opts -cf - .) \
				--created-by "app: $(basename "$app")"
	} | oci-config --entrypoint /bin/sh --env PATH=/usr/local/bin:/usr/bin:/bin
else
	# an image: its layers and config come first, oci-config builds on it
	tar -C "$app" $tar_opts -cf - . |
		oci-diff --lower "$base" --created-by "app: $(basename "$app")" |
		oci-config
fi | oci-manifest | oci-pack --tag "$tag" >"$out"

echo "$out: $(wc -c <"$out") bytes, tag $tag"
if command -v skopeo >/dev/null; then
	skopeo inspect "oci-archive:$out:$tag"
fi
