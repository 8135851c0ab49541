#!/bin/bash
# SPDX-License-Identifier: MIT
# layered-image.sh BASE-DIR APP-DIR IMAGE.tar [TAG]: an image of two
# layers, a base (libraries, shell) and an application on top.  Image
# streams concatenate, so the two oci-layer runs simply follow each other;
# oci-config then describes the whole image:
#
#   { tar -C BASE -c . | oci-layer; tar -C APP -c . | oci-layer; } \
#     | oci-config --entrypoint /bin/sh ... | oci-manifest | oci-pack
#
# When only the application changes, the base layer keeps its digest, so a
# registry and a container engine keep the blob they already have.  With
# SOURCE_DATE_EPOCH set, each layer is reproducible on its own.
set -euo pipefail

if test $# -lt 3 || test $# -gt 4; then
	echo "usage: $0 BASE-DIR APP-DIR IMAGE.tar [TAG]" >&2
	exit 2
fi
base=$1 app=$2 out=$3 tag=${4:-latest}
for d in "$base" "$app"; do
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

# shellcheck disable=SC2086
{
	tar -C "$base" $tar_opts -cf - . | oci-layer --created-by "base: $(basename "$base")"
	tar -C "$app" $tar_opts -cf - . | oci-layer --created-by "app: $(basename "$app")"
} | oci-config --entrypoint /bin/sh --env PATH=/usr/local/bin:/usr/bin:/bin \
	--label org.opencontainers.image.title="$(basename "$app")" |
	oci-manifest |
	oci-pack --tag "$tag" >"$out"

echo "$out: $(wc -c <"$out") bytes, tag $tag"
if command -v skopeo >/dev/null; then
	skopeo inspect "oci-archive:$out:$tag"
fi
