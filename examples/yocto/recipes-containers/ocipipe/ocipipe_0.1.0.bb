# SPDX-License-Identifier: MIT
# ocipipe: the programs the image-oci-ocipipe class runs, built for the
# build machine (ocipipe-native).  Point SRC_URI at a release tarball made
# with `make dist` (or at your git mirror).
SUMMARY = "Build OCI container images from a rootfs tar stream"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

SRC_URI ?= "file://ocipipe-${PV}.tar.xz"

# curl: oci-push; xxhash: the block cache (both required by configure).
# ISA-L (gzip level 1) is optional: add isa-l where a layer provides it.
DEPENDS = "libarchive zstd zlib xz bzip2 yajl openssl libdeflate curl xxhash"

inherit autotools pkgconfig

BBCLASSEXTEND = "native nativesdk"
