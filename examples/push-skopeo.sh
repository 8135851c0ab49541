#!/bin/bash
# SPDX-License-Identifier: MIT
# push-skopeo.sh ROOTFS-DIR REGISTRY/REPOSITORY[:TAG]: build an image and
# push it to a registry with skopeo, then read it back from the registry.
#
#   tar -C ROOTFS -c . | oci-layer | oci-config ... | oci-pack -o LAYOUT
#   skopeo copy oci:LAYOUT:TAG docker://REGISTRY/REPOSITORY:TAG
#
# The image is written as a layout directory (-o), which skopeo reads
# without unpacking a tarball first.  --preserve-digests keeps the layer
# exactly as oci-layer made it, so the digest in the registry is the one
# the pipeline computed.
# Environment:
#   TLS_VERIFY=false   for a registry without TLS (e.g. one on 127.0.0.1)
#   SKOPEO_OPTS        more options for skopeo copy (e.g. --dest-creds U:P)
set -euo pipefail

if test $# != 2; then
	echo "usage: $0 ROOTFS-DIR REGISTRY/REPOSITORY[:TAG]" >&2
	exit 2
fi
rootfs=$1 dest=$2
test -d "$rootfs" || { echo "$0: '$rootfs' is not a directory" >&2; exit 1; }
case ${dest##*/} in
*:*) tag=${dest##*:} repo=${dest%:*} ;;
*) tag=latest repo=$dest ;;
esac
command -v skopeo >/dev/null || { echo "$0: skopeo is not installed" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
for d in "$here/.." "${top_builddir:-}"; do
	if test -n "$d" && test -x "$d/oci-layer" && test -x "$d/oci-pack"; then
		PATH=$(cd "$d" && pwd):$PATH
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

owner=
test "$(id -u)" = 0 || owner="--owner=0 --group=0"
# shellcheck disable=SC2086
tar -C "$rootfs" --sort=name --numeric-owner $owner -cf - . |
	oci-layer --zstd |
	oci-config --entrypoint /bin/sh |
	oci-manifest |
	oci-pack -o "$tmp/layout" --tag "$tag"

tls=${TLS_VERIFY:-true}
# shellcheck disable=SC2086
skopeo copy --quiet --preserve-digests --dest-tls-verify="$tls" ${SKOPEO_OPTS:-} \
	"oci:$tmp/layout:$tag" "docker://$repo:$tag"
echo "pushed docker://$repo:$tag"
skopeo inspect --tls-verify="$tls" --format '{{.Digest}} {{.Layers}}' "docker://$repo:$tag"
