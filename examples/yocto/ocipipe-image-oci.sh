#!/bin/sh
# SPDX-License-Identifier: MIT
# ocipipe-image-oci.sh: exactly the commands IMAGE_CMD:oci of
# classes/image-oci-ocipipe.inc runs (the part between the >>> and <<<
# lines is the same text in both files; tests/cli/t0980-docs.sh checks
# that), so the class can be tried, and is tested, without bitbake:
#
#   pseudo sh ocipipe-image-oci.sh      (or fakeroot, or as root)
#
# It reads what bitbake would give the task, from the environment:
#   IMAGE_ROOTFS      the rootfs directory (required)
#   IMGDEPLOYDIR      where the image files go (required)
#   IMAGE_NAME, IMAGE_NAME_SUFFIX, IMAGE_BASENAME   file names
#   OCI_IMAGE_TAG, OCI_IMAGE_TAR_OUTPUT, SOURCE_DATE_EPOCH, and the
#   OCI_IMAGE_* variables oci-config reads (see ocipipe(7))
# The ocipipe programs must be on PATH (bitbake: ocipipe-native).
set -e

: "${IMAGE_ROOTFS:?set IMAGE_ROOTFS to the rootfs directory}"
: "${IMGDEPLOYDIR:?set IMGDEPLOYDIR to the output directory}"
: "${IMAGE_BASENAME:=image}"
: "${IMAGE_NAME:=$IMAGE_BASENAME}"
: "${IMAGE_NAME_SUFFIX=.rootfs}"
: "${OCI_IMAGE_TAG=latest}"
: "${OCI_IMAGE_TAR_OUTPUT=true}"
: "${SOURCE_DATE_EPOCH=}"
export SOURCE_DATE_EPOCH

# bitbake's logging functions
bbnote() { echo "NOTE: $*"; }
bbfatal() { echo "ERROR: $*" >&2; exit 1; }

	# >>> ocipipe IMAGE_CMD:oci >>>
	cd "${IMGDEPLOYDIR}"
	image_name="${IMAGE_NAME}${IMAGE_NAME_SUFFIX}-oci"
	tag="$OCI_IMAGE_TAG"
	[ -n "$tag" ] || tag=initial-tag
	# a tag may hold ":", a file name must not
	image_tag=$(printf '%s' "$tag" | tr ':' '_')
	bbnote "OCI: ocipipe: ${IMAGE_ROOTFS} -> $image_name (tag $tag)"
	rm -rf "$image_name" "$image_name.tar" "$image_name-dir.tar" "$image_name.tar-exit"

	# One pass, nothing unpacked: tar of the rootfs (run under pseudo, so
	# owners, devices and xattrs are the ones pseudo recorded) -> layer ->
	# config (OCI_IMAGE_* from the environment) -> manifest -> layout.
	# sh has no pipefail: tar's status goes through a file; a later stage
	# that fails makes the next ones fail (the stream carries the error).
	if { tar --sort=name --format=posix --numeric-owner --xattrs --xattrs-include='*' \
		-C "${IMAGE_ROOTFS}" -cf - . ; echo $? >"$image_name.tar-exit"; } |
		oci-layer |
		oci-config |
		oci-manifest |
		oci-pack -o "$image_name" --tag "$tag"; then
		pack_exit=0
	else
		pack_exit=$?
	fi
	tar_exit=$(cat "$image_name.tar-exit" 2>/dev/null || echo unknown)
	rm -f "$image_name.tar-exit"
	if [ "$tar_exit" != 0 ] || [ "$pack_exit" != 0 ]; then
		rm -rf "$image_name"
		bbfatal "OCI: building $image_name failed (tar exit $tar_exit, pipeline exit $pack_exit)"
	fi

	# The same file names as meta-virtualization's image-oci (umoci
	# backend): the layout directory, and with OCI_IMAGE_TAR_OUTPUT the
	# layout as an OCI archive (.tar) and the directory tarred (-dir.tar).
	if [ -n "$OCI_IMAGE_TAR_OUTPUT" ]; then
		tar_opts="--sort=name --format=gnu --owner=0 --group=0 --numeric-owner"
		if [ -n "$SOURCE_DATE_EPOCH" ]; then
			tar_opts="$tar_opts --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime"
		fi
		(cd "$image_name" && tar $tar_opts -cf "../$image_name.tar" .)
		tar $tar_opts -cf "$image_name-dir.tar" "$image_name"
		ln -sfn "$image_name.tar" "${IMAGE_BASENAME}-$image_tag-oci.tar"
		ln -sfn "$image_name-dir.tar" "${IMAGE_BASENAME}-$image_tag-oci-dir.tar"
	fi
	ln -sfn "$image_name" "${IMAGE_BASENAME}-$image_tag-oci"
	# <<< ocipipe IMAGE_CMD:oci <<<
