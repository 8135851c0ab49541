#!/bin/sh
# SPDX-License-Identifier: MIT
# oci-multiarch.sh OUTPUT TAG LAYOUT...: one multi-platform image (an OCI
# image index) from the images that several machines built, each a layout
# directory such as DEPLOY_DIR_IMAGE/RECIPE-latest-oci of a multiconfig:
#
#   sh oci-multiarch.sh app-multiarch-oci latest \
#       tmp-vruntime-x86-64/deploy/images/qemux86-64/app-latest-oci \
#       tmp-vruntime-aarch64/deploy/images/qemuarm64/app-latest-oci
#
# writes the layout directory OUTPUT whose tag TAG is an index of the
# images (their manifests, configs and layers byte for byte: the same
# digests).  OCI_IMAGE_TAG is the tag of the images in the LAYOUTs
# (default latest).  The lines between >>> and <<< are the task of
# classes/oci-multiarch-ocipipe.bbclass (tests/cli/t1200-yocto.sh checks).
set -e

if [ $# -lt 3 ]; then
	echo "usage: $0 OUTPUT TAG LAYOUT..." >&2
	exit 2
fi
oci_out=$1 oci_tag=$2
shift 2
oci_src_tag=${OCI_IMAGE_TAG:-latest}

bbnote() { echo "NOTE: $*"; }
bbfatal() { echo "ERROR: $*" >&2; exit 1; }

	# >>> ocipipe oci-multiarch >>>
	if [ $# = 0 ]; then
		bbfatal "OCI multiarch: no per-machine image to put in the index"
	fi
	for oci_l in "$@"; do
		if [ ! -f "$oci_l/index.json" ] || [ ! -f "$oci_l/oci-layout" ]; then
			bbfatal "OCI multiarch: no OCI layout at $oci_l (is that machine's image built?)"
		fi
	done
	rm -rf "$oci_out" "$oci_out.new"
	# Each machine's image enters the stream as a base image (its layers
	# and config as they are, nothing recompressed) and oci-manifest closes
	# it; oci-pack writes one index of them, one entry per platform (two
	# images of one platform are refused).
	if for oci_l in "$@"; do
		tar -C "$oci_l/" -cf - oci-layout index.json blobs | oci-manifest --base-ref "$oci_src_tag"
	done | oci-pack -o "$oci_out.new" --tag "$oci_tag"; then
		mv "$oci_out.new" "$oci_out"
	else
		rm -rf "$oci_out.new"
		bbfatal "OCI multiarch: building the index $oci_out failed (see the lines above)"
	fi
	bbnote "OCI multiarch: $oci_out (tag $oci_tag): $# platform image(s)"
	# <<< ocipipe oci-multiarch <<<
