#!/bin/sh
# SPDX-License-Identifier: MIT
# umoci-backend.sh LAYOUT: what the umoci backend of meta-virtualization's
# image-oci class (classes/image-oci-umoci.inc, 2026) does with the inputs
# examples/yocto/ocipipe-image-oci.sh reads, written down again so that the
# tests can compare the two images and bench/yocto-multilayer.sh can time
# the two ways.  The steps are the class's; the copies use cp where the
# class uses rsync (see overlay); config: the architecture, Cmd
# (OCI_IMAGE_CMD) and labels only.  Run as root (umoci unpacks as the
# caller).
#
#   IMAGE_ROOTFS, WORKDIR (packages layers in WORKDIR/oci-layer-rootfs/
#   layer-N-NAME), OCI_IMAGE_TAG, OCI_BASE_DIR (a layout directory) and
#   OCI_BASE_IMAGE_TAG, OCI_LAYER_MODE, OCI_LAYERS, OCI_IMAGE_ARCH,
#   OCI_IMAGE_CMD, OCI_IMAGE_LABELS
#
# A layout directory is made: umoci init and new, or a copy of the base;
# then a bundle is unpacked from it, filled, repacked, and for each further
# layer of multi mode unpacked again.
set -e

# overlay SRC DST: rsync -a --no-owner --no-group SRC/ DST/ (rsync is not
# installed here): a directory of SRC replaces a non-directory of DST
overlay() {
	(cd "$1" && find . -type d) | while IFS= read -r d; do
		if [ -L "$2/$d" ] || { [ -e "$2/$d" ] && [ ! -d "$2/$d" ]; }; then
			rm -f "$2/$d"
		fi
	done
	cp -a --no-preserve=ownership "$1/." "$2/"
}

image=$1
bundle=$image-bundle
tag=${OCI_IMAGE_TAG:-latest}
rm -rf "$image" "$bundle"

if [ -n "${OCI_BASE_DIR:-}" ]; then
	at=${OCI_BASE_IMAGE_TAG:-latest}
	cp -rL "$OCI_BASE_DIR" "$image"
else
	at=$tag
	umoci init --layout "$image"
	umoci new --image "$image:$at"
fi
umoci unpack --rootless --image "$image:$at" "$bundle" >/dev/null
root=$bundle/rootfs

if [ "${OCI_LAYER_MODE:-single}" = multi ]; then
	set -f
	total=0
	for def in $OCI_LAYERS; do total=$((total + 1)); done
	n=0 pkg=0
	for def in $OCI_LAYERS; do
		n=$((n + 1))
		name=${def%%:*} rest=${def#*:}
		type=${rest%%:*} items=$(printf '%s' "${rest#*:}" | tr '+' ' ')
		case $type in
		packages)
			pkg=$((pkg + 1))
			overlay "$WORKDIR/oci-layer-rootfs/layer-$pkg-$name" "$root"
			;;
		directories)
			# files and symlinks the bundle lacks, then missing directories
			for d in $items; do
				[ -d "$IMAGE_ROOTFS$d" ] || continue
				find "$IMAGE_ROOTFS$d" \( -type f -o -type l \) | while IFS= read -r f; do
					rel=${f#"$IMAGE_ROOTFS"}
					if [ ! -e "$root$rel" ]; then
						mkdir -p "$(dirname "$root$rel")"
						cp -a "$f" "$root$rel"
					fi
				done
				find "$IMAGE_ROOTFS$d" -type d | while IFS= read -r f; do
					mkdir -p "$root${f#"$IMAGE_ROOTFS"}"
				done
			done
			;;
		files)
			for f in $items; do
				if [ -e "$IMAGE_ROOTFS$f" ] && [ ! -e "$root$f" ]; then
					mkdir -p "$(dirname "$root$f")"
					cp -a "$IMAGE_ROOTFS$f" "$root$f"
				fi
			done
			;;
		host)
			for p in $items; do
				mkdir -p "$root$(dirname "${p##*:}")"
				cp -a "${p%:*}" "$root${p##*:}"
			done
			;;
		esac
		umoci repack --image "$image:$at" "$bundle"
		if [ $n -lt $total ]; then
			rm -rf "$bundle"
			umoci unpack --rootless --image "$image:$at" "$bundle" >/dev/null
		fi
	done
	set +f
elif [ -n "${OCI_BASE_DIR:-}" ]; then
	for p in bin lib lib64 sbin var/lock var/log var/tmp; do
		if [ -L "$IMAGE_ROOTFS/$p" ] && [ -d "$root/$p" ] && [ ! -L "$root/$p" ]; then
			rm -rf "${root:?}/$p"
		fi
	done
	overlay "$IMAGE_ROOTFS" "$root"
	umoci repack --image "$image:$at" "$bundle"
else
	cp -r -a --no-preserve=ownership "$IMAGE_ROOTFS"/* "$root"
	umoci repack --image "$image:$at" "$bundle"
fi
if [ "$at" != "$tag" ]; then
	umoci tag --image "$image:$at" "$tag"
fi

set -f
for l in ${OCI_IMAGE_LABELS:-}; do
	umoci config --image "$image:$tag" --config.label "$l"
done
set +f
umoci config --image "$image:$tag" --architecture "${OCI_IMAGE_ARCH:-amd64}"
if [ -n "${OCI_IMAGE_CMD:-}" ]; then
	umoci config --image "$image:$tag" --config.cmd "$OCI_IMAGE_CMD"
fi
rm -rf "$bundle"
