# SPDX-License-Identifier: MIT
# image-oci-ocipipe.bbclass: the "oci" image type built with ocipipe, for
# layers without meta-virtualization (with it, image-oci-ocipipe.inc alone
# is enough: see there).  In an image recipe:
#
#   inherit image-oci-ocipipe
#   IMAGE_FSTYPES += "oci"
#   OCI_IMAGE_CMD = "/usr/bin/myapp"
#
# The variables, their defaults and their meaning are those of today's
# image-oci class of meta-virtualization (classes/image-oci.bbclass), so
# recipes written for it work unchanged; examples/yocto/README has the
# table, and says where ocipipe deliberately differs.

IMAGE_TYPES:append = " oci"
IMAGE_TYPEDEP:oci = "container tar.bz2"

OCI_IMAGE_AUTHOR ?= "${PATCH_GIT_USER_NAME}"
OCI_IMAGE_AUTHOR_EMAIL ?= "${PATCH_GIT_USER_EMAIL}"
OCI_IMAGE_TAG ?= "latest"
OCI_IMAGE_RUNTIME_UID ?= ""
# the Go (OCI) name of the target: x86_64 -> amd64, aarch64 -> arm64, ...
OCI_IMAGE_ARCH ?= "${@oe.go.map_arch(d.getVar('TARGET_ARCH'))}"
OCI_IMAGE_SUBARCH ?= "${@ocipipe_subarch(d)}"
OCI_IMAGE_OS ?= ""
# ENTRYPOINT always runs; Cmd is what a user's arguments replace:
# OCI_IMAGE_ENTRYPOINT_ARGS when not empty, else OCI_IMAGE_CMD.
OCI_IMAGE_ENTRYPOINT ?= ""
OCI_IMAGE_ENTRYPOINT_ARGS ?= ""
OCI_IMAGE_CMD ?= "/bin/sh"
OCI_IMAGE_WORKINGDIR ?= ""
OCI_IMAGE_STOPSIGNAL ?= ""
OCI_IMAGE_PORTS ?= ""
OCI_IMAGE_LABELS ?= ""
OCI_IMAGE_ENV_VARS ?= ""
OCI_IMAGE_VOLUMES ?= ""
OCI_IMAGE_TAR_OUTPUT ?= "true"

# Traceability labels: empty = detected (git of TOPDIR, build date, which
# is SOURCE_DATE_EPOCH when set), "none" = left out.
OCI_IMAGE_AUTO_LABELS ?= "1"
OCI_IMAGE_REVISION ?= ""
OCI_IMAGE_BRANCH ?= ""
OCI_IMAGE_BUILD_DATE ?= ""
# documentation only, as in image-oci
OCI_IMAGE_APP_RECIPE ?= ""

# A base image: a recipe name (its deployed
# ${DEPLOY_DIR_IMAGE}/RECIPE-${OCI_BASE_IMAGE_TAG}-oci) or the absolute
# path of an OCI layout directory.
OCI_BASE_IMAGE ?= ""
OCI_BASE_IMAGE_TAG ?= "latest"

# "single": IMAGE_ROOTFS is one layer; "packages": IMAGE_ROOTFS split into
# at most OCI_LAYER_MAX layers along its packages (oci-layermap: the
# biggest packages get layers of their own, the others fixed groups, so a
# package update changes its layer and the last one; from the package
# database of the rootfs, or PKGDATA_DIR without one); "multi": one layer per OCI_LAYERS
# entry NAME:TYPE:CONTENT, TYPE packages (names joined by +), directories
# or files (paths of IMAGE_ROOTFS joined by +, only what the layers below
# lack) or host (SOURCE:DEST pairs of the build machine joined by +).
OCI_LAYER_MODE ?= "single"
OCI_LAYERS ?= ""
OCI_LAYER_MAX ?= "50"
OCI_LAYER_CACHE ?= "1"
OCI_LAYER_CACHE_DIR ?= "${TOPDIR}/oci-layer-cache/${MACHINE}"
# the bound of the block cache in OCI_LAYER_CACHE_DIR ("": oci-layer's 2G)
OCI_LAYER_CACHE_MAX ?= ""
OCI_IMAGE_PUSH ?= ""
OCI_IMAGE_PUSH_OPTS ?= ""

# The variant of 32-bit arm images, from the tune (empty elsewhere).
def ocipipe_subarch(d):
    if not (d.getVar('TARGET_ARCH') or '').startswith('arm'):
        return ''
    features = (d.getVar('TUNE_FEATURES') or '').split()
    for v in ('armv7', 'armv6', 'armv5'):
        if any(f.startswith(v) for f in features):
            return 'v' + v[-1]
    return ''

# What the class refuses at parse time, as image-oci does, and what the
# task needs built first.
python __anonymous() {
    mode = d.getVar('OCI_LAYER_MODE') or 'single'
    if mode not in ('single', 'packages', 'multi'):
        bb.fatal("OCI_LAYER_MODE is '%s': single, packages or multi" % mode)
    if mode == 'packages':
        n = d.getVar('OCI_LAYER_MAX') or ''
        if not n.isdigit() or not 2 <= int(n) <= 127:
            bb.fatal("OCI_LAYER_MAX is '%s': a number of layers, 2 to 127" % n)
    if mode == 'multi':
        entries = (d.getVar('OCI_LAYERS') or '').split()
        if not entries:
            bb.fatal("OCI_LAYER_MODE is multi but OCI_LAYERS is empty (name:type:content ...)")
        packages = False
        for entry in entries:
            fields = entry.split(':', 2)
            if len(fields) != 3 or not fields[0] or '/' in fields[0]:
                bb.fatal("OCI_LAYERS entry '%s' is not name:type:content" % entry)
            if fields[1] not in ('packages', 'directories', 'files', 'host'):
                bb.fatal("OCI_LAYERS entry '%s': unknown layer type '%s' "
                         "(packages, directories, files or host)" % (entry, fields[1]))
            packages = packages or fields[1] == 'packages'
        if packages:
            tools = {'ipk': 'opkg-native opkg-utils-native',
                     'rpm': 'dnf-native createrepo-c-native'}.get(d.getVar('IMAGE_PKGTYPE'))
            if tools is None:
                bb.fatal("OCI_LAYERS packages layers need IMAGE_PKGTYPE ipk or rpm, not '%s'"
                         % d.getVar('IMAGE_PKGTYPE'))
            d.appendVarFlag('do_image_oci', 'depends',
                            ''.join(' %s:do_populate_sysroot' % t for t in tools.split()))
    base = d.getVar('OCI_BASE_IMAGE') or ''
    if base and not base.startswith('/'):
        if '/' in base or '.' in base.split(':')[0]:
            bb.fatal("OCI_BASE_IMAGE %s is a registry reference: fetch it with a "
                     "container-bundle recipe (inherit container-bundle, "
                     "CONTAINER_BUNDLES = \"%s\", CONTAINER_BUNDLE_DEPLOY = \"1\") "
                     "and set OCI_BASE_IMAGE to that recipe's name" % (base, base))
        d.appendVarFlag('do_image_oci', 'depends', ' %s:do_build' % base)
}

# The packages of one layer, installed into ROOT with the package manager
# and feeds of this build (what do_rootfs uses), for the prefunc of
# image-oci-ocipipe.inc.  A dependency missing in ROOT is not an error: a
# layer below may hold it.
def oci_install_layer_packages(d, root, packages, name):
    import os
    names = packages.split()
    if not names:
        return
    kind = d.getVar('IMAGE_PKGTYPE')
    if kind == 'ipk':
        from oe.package_manager.ipk import OpkgPM
        conf = os.path.join(d.getVar('WORKDIR'), 'opkg-oci-layer-%s.conf' % name)
        pm = OpkgPM(d, root, conf, d.getVar('PACKAGE_ARCHS'),
                    task_name='oci-layer', filterbydependencies=False)
    elif kind == 'rpm':
        from oe.package_manager.rpm import RpmPM
        pm = RpmPM(d, root, d.getVar('TARGET_VENDOR'),
                   task_name='oci-layer', filterbydependencies=False)
        pm.create_configs()
    else:
        bb.fatal("OCI: layer %s: packages layers need IMAGE_PKGTYPE ipk or rpm" % name)
    pm.write_index()
    pm.install(names, attempt_only=True)

require classes/image-oci-ocipipe.inc
