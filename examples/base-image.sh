#!/bin/bash
# SPDX-License-Identifier: MIT
# base-image.sh BASE-IMAGE.tar APP-DIR IMAGE.tar [TAG]: an application
# image built on a base image.  An OCI image tarball (from oci-pack, or
# `skopeo copy ... oci-archive:FILE`) may start an image stream: its layers
# are carried as they are, not recompressed, the new layer goes on top, and
# oci-config starts from the base's config (env, labels, entrypoint kept):
#
#   { cat BASE.tar; tar -C APP -c . | oci-layer; } \
#     | oci-config --env APP=1 | oci-manifest | oci-pack > IMAGE.tar
#
# BASE_REF=TAG picks one image when the base tarball holds several.
set -euo pipefail

if test $# -lt 3 || test $# -gt 4; then
	echo "usage: $0 BASE-IMAGE.tar APP-DIR IMAGE.tar [TAG]" >&2
	exit 2
fi
base=$1 app=$2 out=$3 tag=${4:-latest}
test -f "$base" || { echo "$0: '$base' is not a file" >&2; exit 1; }
test -d "$app" || { echo "$0: '$app' is not a directory" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
for d in "$here/.." "${top_builddir:-}"; do
	if test -n "$d" && test -x "$d/oci-layer" && test -x "$d/oci-pack"; then
		PATH=$(cd "$d" && pwd):$PATH
	fi
done

owner=
test "$(id -u)" = 0 || owner="--owner=0 --group=0"
ref=()
test -z "${BASE_REF:-}" || ref=(--base-ref "$BASE_REF")

# shellcheck disable=SC2086
{
	cat "$base"
	tar -C "$app" --sort=name --numeric-owner $owner -cf - . |
		oci-layer --created-by "app: $(basename "$app")"
} | oci-config "${ref[@]}" --env APP="$(basename "$app")" |
	oci-manifest "${ref[@]}" |
	oci-pack --tag "$tag" >"$out"

echo "$out: $(wc -c <"$out") bytes, tag $tag"
if command -v skopeo >/dev/null; then
	skopeo inspect "oci-archive:$out:$tag"
fi
