# SPDX-License-Identifier: MIT
# image-oci-ocipipe.bbclass: the "oci" image type built with ocipipe, for
# layers without meta-virtualization (with it, image-oci-ocipipe.inc alone
# is enough: see there).  In an image recipe:
#
#   inherit image-oci-ocipipe
#   IMAGE_FSTYPES += "oci"
#   OCI_IMAGE_ENTRYPOINT = "/bin/sh"
#
# The variables and their defaults are those of meta-virtualization's
# image-oci class, so recipes written for it work unchanged; architecture
# names are mapped by oci-config itself (x86_64 -> amd64, aarch64 -> arm64,
# arm with TUNE_FEATURES armv7* -> arm/v7, ...).

IMAGE_TYPES:append = " oci"
IMAGE_TYPEDEP:oci = "container tar.bz2"

OCI_IMAGE_AUTHOR ?= "${PATCH_GIT_USER_NAME}"
OCI_IMAGE_AUTHOR_EMAIL ?= "${PATCH_GIT_USER_EMAIL}"
OCI_IMAGE_TAG ?= "latest"
OCI_IMAGE_RUNTIME_UID ?= ""
OCI_IMAGE_ARCH ?= "${TARGET_ARCH}"
OCI_IMAGE_SUBARCH ?= "${@ocipipe_subarch(d)}"
OCI_IMAGE_OS ?= ""
OCI_IMAGE_ENTRYPOINT ?= "sh"
OCI_IMAGE_ENTRYPOINT_ARGS ?= ""
OCI_IMAGE_CMD ?= ""
OCI_IMAGE_WORKINGDIR ?= ""
OCI_IMAGE_STOPSIGNAL ?= ""
OCI_IMAGE_PORTS ?= ""
OCI_IMAGE_LABELS ?= ""
OCI_IMAGE_ENV_VARS ?= ""
OCI_IMAGE_VOLUMES ?= ""
OCI_IMAGE_TAR_OUTPUT ?= "true"

# The variant of 32-bit arm images, from the tune (empty elsewhere).
def ocipipe_subarch(d):
    if not (d.getVar('TARGET_ARCH') or '').startswith('arm'):
        return ''
    features = (d.getVar('TUNE_FEATURES') or '').split()
    for v in ('armv7', 'armv6', 'armv5'):
        if any(f.startswith(v) for f in features):
            return 'v' + v[-1]
    return ''

require classes/image-oci-ocipipe.inc
