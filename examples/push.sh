#!/bin/bash
# SPDX-License-Identifier: MIT
# push.sh ROOTFS-DIR REGISTRY/REPOSITORY[:TAG]: build an image and push it
# straight into a registry with oci-push (no layout on disk), run it a
# second time to show that nothing is uploaded again, then read the image
# back from the registry with skopeo.
#
#   tar -C ROOTFS -c . | oci-layer | oci-config ... | oci-push docker://REGISTRY/REPOSITORY:TAG
#
# SOURCE_DATE_EPOCH is fixed, so both builds give the same layer digest.
# Environment:
#   TLS_VERIFY=false   for a registry without TLS (e.g. one on 127.0.0.1)
#   PUSH_OPTS          more options for oci-push (e.g. --creds U:P, --stream)
set -euo pipefail

if test $# != 2; then
	echo "usage: $0 ROOTFS-DIR REGISTRY/REPOSITORY[:TAG]" >&2
	exit 2
fi
rootfs=$1 dest=$2
test -d "$rootfs" || { echo "$0: '$rootfs' is not a directory" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
for d in "$here/.." "${top_builddir:-}"; do
	if test -n "$d" && test -x "$d/oci-layer" && test -x "$d/oci-push"; then
		PATH=$(cd "$d" && pwd):$PATH
	fi
done
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

owner=
test "$(id -u)" = 0 || owner="--owner=0 --group=0"
tls=${TLS_VERIFY:-true}
build_and_push() {
	# shellcheck disable=SC2086
	tar -C "$rootfs" --sort=name --numeric-owner --mtime=@"$SOURCE_DATE_EPOCH" $owner -cf - . |
		oci-layer --zstd --clamp-mtime |
		oci-config --entrypoint /bin/sh |
		oci-push --tls-verify="$tls" --summary ${PUSH_OPTS:-} "docker://$dest"
}
build_and_push
build_and_push
command -v skopeo >/dev/null || exit 0
skopeo inspect --tls-verify="$tls" --format '{{.Digest}} {{.Layers}}' "docker://$dest"
