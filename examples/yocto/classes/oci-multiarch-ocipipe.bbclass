# SPDX-License-Identifier: MIT
# oci-multiarch-ocipipe.bbclass: one multi-platform OCI image (an image
# index) from the images that several machines build through multiconfig,
# made with ocipipe.  The variables are those of meta-virtualization's
# oci-multiarch.bbclass:
#
#   inherit oci-multiarch-ocipipe
#   OCI_MULTIARCH_RECIPE = "myapp-container"
#   OCI_MULTIARCH_PLATFORMS = "aarch64 x86_64"
#   # optional, these are the defaults:
#   OCI_MULTIARCH_MC[aarch64] = "vruntime-aarch64"
#   OCI_MULTIARCH_MACHINE[aarch64] = "qemuarm64"
#   OCI_MULTIARCH_DEPLOY[aarch64] = "${TOPDIR}/tmp-vruntime-aarch64/deploy/images/qemuarm64"
#
# with BBMULTICONFIG naming the multiconfigs in local.conf.  Each
# platform's OCI_MULTIARCH_RECIPE image (its do_image_oci, with any
# backend) is built first; the index goes to
# ${DEPLOY_DIR_IMAGE}/${PN}-multiarch-oci, tagged OCI_MULTIARCH_TAG
# (default: OCI_IMAGE_TAG, latest).  Unlike oci-multiarch.bbclass, the
# layout's index.json holds one tagged entry, the image index, whose
# entries are the platforms' manifests (the same digests as in their own
# layouts), and every manifest is checked on the way.
# ../oci-multiarch.sh holds the same commands for use without bitbake.

inherit nopackages
INHIBIT_DEFAULT_DEPS = "1"
DEPENDS = "ocipipe-native"
EXCLUDE_FROM_WORLD = "1"

OCI_MULTIARCH_RECIPE ?= ""
OCI_MULTIARCH_PLATFORMS ?= ""
OCI_MULTIARCH_MC[aarch64] ?= "vruntime-aarch64"
OCI_MULTIARCH_MC[x86_64] ?= "vruntime-x86-64"
OCI_MULTIARCH_MACHINE[aarch64] ?= "qemuarm64"
OCI_MULTIARCH_MACHINE[x86_64] ?= "qemux86-64"
OCI_IMAGE_TAG ?= "latest"
OCI_MULTIARCH_TAG ?= "${OCI_IMAGE_TAG}"
OCI_MULTIARCH_OUTPUT = "${DEPLOY_DIR_IMAGE}/${PN}-multiarch-oci"

deltask do_fetch
deltask do_unpack
deltask do_patch
deltask do_configure
deltask do_compile
deltask do_install
deltask do_populate_lic
deltask do_populate_sysroot

# The platforms' image tasks, and where their layouts will be.
python __anonymous() {
    recipe = d.getVar('OCI_MULTIARCH_RECIPE')
    platforms = (d.getVar('OCI_MULTIARCH_PLATFORMS') or '').split()
    if not recipe or not platforms:
        bb.fatal("oci-multiarch-ocipipe: set OCI_MULTIARCH_RECIPE and OCI_MULTIARCH_PLATFORMS")
    tag = (d.getVar('OCI_IMAGE_TAG') or 'initial-tag').replace(':', '_')
    deps, layouts = [], []
    for p in platforms:
        mc = d.getVarFlag('OCI_MULTIARCH_MC', p)
        machine = d.getVarFlag('OCI_MULTIARCH_MACHINE', p)
        if not mc or not machine:
            bb.fatal("oci-multiarch-ocipipe: no OCI_MULTIARCH_MC[%s] or OCI_MULTIARCH_MACHINE[%s]" % (p, p))
        deploy = d.getVarFlag('OCI_MULTIARCH_DEPLOY', p) or \
            '%s/tmp-%s/deploy/images/%s' % (d.getVar('TOPDIR'), mc, machine)
        deps.append('mc::%s:%s:do_image_oci' % (mc, recipe))
        layouts.append('%s/%s-%s-oci' % (deploy, recipe, tag))
    d.setVarFlag('do_create_multiarch_index', 'mcdepends', ' '.join(deps))
    d.setVar('OCI_MULTIARCH_LAYOUTS', ' '.join(layouts))
}

do_create_multiarch_index() {
	set -- ${OCI_MULTIARCH_LAYOUTS}
	oci_out="${OCI_MULTIARCH_OUTPUT}"
	oci_tag="${OCI_MULTIARCH_TAG}"
	oci_src_tag="${OCI_IMAGE_TAG}"
	mkdir -p "${DEPLOY_DIR_IMAGE}"
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
}
do_create_multiarch_index[vardeps] += "OCI_MULTIARCH_LAYOUTS"
addtask do_create_multiarch_index after do_prepare_recipe_sysroot before do_build
