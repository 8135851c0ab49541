#!/bin/sh
# SPDX-License-Identifier: MIT
# ocipipe-image-oci.sh: exactly the commands IMAGE_CMD:oci of
# classes/image-oci-ocipipe.inc runs (the part between the >>> and <<<
# lines is the same text in both files; tests/cli/t0980-docs.sh checks
# that), so the class can be tried, and is tested, without bitbake:
#
#   fakeroot sh ocipipe-image-oci.sh      (or pseudo, or as root)
#
# It reads what bitbake gives the task, from the environment:
#   IMAGE_ROOTFS      the rootfs directory (required)
#   IMGDEPLOYDIR      where the image files go (required; created)
#   IMAGE_NAME, IMAGE_NAME_SUFFIX, IMAGE_BASENAME   file names
#   WORKDIR           scratch space, and the package layers of
#                     OCI_LAYER_MODE=multi: WORKDIR/oci-layer-rootfs/
#                     layer-N-NAME (default: the current directory)
#   TOPDIR            where the git revision and branch labels come from,
#                     and the layer cache (default: the current directory)
#   DEPLOY_DIR_IMAGE  where OCI_BASE_IMAGE=RECIPE is deployed
#                     (default: IMGDEPLOYDIR)
#   PKGDATA_DIR       Yocto pkgdata, for OCI_LAYER_MODE=packages when the
#                     rootfs has no package database
#   MACHINE, SOURCE_DATE_EPOCH, the OCI_* variables of the class (see
#   README) and the OCI_IMAGE_* ones oci-config reads (see ocipipe(7)).
# What is not set at all gets the class's default; relative paths are
# taken from the current directory.  The ocipipe programs must be on
# PATH (bitbake: ocipipe-native).
set -e

: "${IMAGE_ROOTFS:?set IMAGE_ROOTFS to the rootfs directory}"
: "${IMGDEPLOYDIR:?set IMGDEPLOYDIR to the output directory}"
: "${WORKDIR:=.}"
: "${TOPDIR:=.}"
mkdir -p "$IMGDEPLOYDIR" "$WORKDIR"
IMAGE_ROOTFS=$(cd "$IMAGE_ROOTFS" && pwd)
IMGDEPLOYDIR=$(cd "$IMGDEPLOYDIR" && pwd)
WORKDIR=$(cd "$WORKDIR" && pwd)
TOPDIR=$(cd "$TOPDIR" && pwd)
: "${DEPLOY_DIR_IMAGE:=$IMGDEPLOYDIR}"
DEPLOY_DIR_IMAGE=$(cd "$DEPLOY_DIR_IMAGE" && pwd)
: "${IMAGE_BASENAME:=image}"
: "${IMAGE_NAME:=$IMAGE_BASENAME}"
: "${IMAGE_NAME_SUFFIX=.rootfs}"
: "${MACHINE=}"
: "${OCI_IMAGE_TAG=latest}"
: "${OCI_IMAGE_CMD=/bin/sh}"
: "${OCI_IMAGE_TAR_OUTPUT=true}"
: "${OCI_IMAGE_AUTO_LABELS=1}"
: "${OCI_BASE_IMAGE=}"
: "${OCI_BASE_IMAGE_TAG=latest}"
: "${OCI_LAYER_MODE=single}"
: "${OCI_LAYERS=}"
: "${OCI_LAYER_MAX=50}"
: "${PKGDATA_DIR=}"
: "${OCI_LAYER_CACHE=1}"
: "${OCI_LAYER_CACHE_DIR=$TOPDIR/oci-layer-cache/$MACHINE}"
: "${OCI_LAYER_CACHE_MAX=}"
: "${OCI_IMAGE_PUSH=}"
: "${OCI_IMAGE_PUSH_OPTS=}"
: "${SOURCE_DATE_EPOCH=}"
export OCI_IMAGE_CMD SOURCE_DATE_EPOCH

# bitbake's logging functions
bbnote() { echo "NOTE: $*"; }
bbwarn() { echo "WARNING: $*" >&2; }
bbfatal() { echo "ERROR: $*" >&2; exit 1; }

	# >>> ocipipe IMAGE_CMD:oci >>>
	# bitbake exports an empty variable as VAR="": empty means "not set"
	# (an empty OCI_IMAGE_ENTRYPOINT keeps the base image's entrypoint).
	for oci_v in $(env | sed -n 's/^\(OCI_IMAGE_[A-Z_]*\)=$/\1/p'); do
		unset "$oci_v"
	done

	cd "${IMGDEPLOYDIR}"
	image_name="${IMAGE_NAME}${IMAGE_NAME_SUFFIX}-oci"
	tag="$OCI_IMAGE_TAG"
	[ -n "$tag" ] || tag=initial-tag
	# a tag may hold ":", a file name must not
	image_tag=$(printf '%s' "$tag" | tr ':' '_')
	oci_mode="$OCI_LAYER_MODE"
	[ -n "$oci_mode" ] || oci_mode=single
	oci_work=
	# the merged /usr directories, and the /var ones Yocto makes symlinks
	oci_fixed="bin sbin lib lib32 lib64 libx32 var/lock var/log var/run var/tmp"
	rm -rf "$image_name" "$image_name.tar" "$image_name-dir.tar"

	# one line on failure, and nothing left behind
	oci_fail() {
		if [ -n "$oci_work" ]; then
			rm -rf "$oci_work"
		fi
		rm -rf "$image_name" "$image_name.tar" "$image_name-dir.tar"
		bbfatal "OCI: $*"
	}

	# oci_entry DEF: split an OCI_LAYERS entry NAME:TYPE:CONTENT
	oci_entry() {
		case "$1" in
		*:*:*) ;;
		*) oci_fail "OCI_LAYERS entry '$1' is not name:type:content" ;;
		esac
		oci_lname="${1%%:*}"
		oci_ltype="${1#*:}"
		oci_lcontent="${oci_ltype#*:}"
		oci_ltype="${oci_ltype%%:*}"
		case "$oci_lname" in
		''|*/*) oci_fail "OCI_LAYERS entry '$1': the layer name must not be empty or hold '/'" ;;
		esac
		oci_litems=$(printf '%s' "$oci_lcontent" | tr '+' ' ')
	}

	# --- what was asked: checked before anything is built ---
	case "$oci_mode" in
	single|packages)
		if [ -n "$OCI_LAYERS" ]; then
			bbwarn "OCI: OCI_LAYERS is ignored: OCI_LAYER_MODE is $oci_mode (set it to multi)"
		fi
		if [ "$oci_mode" = packages ]; then
			case "$OCI_LAYER_MAX" in
			''|*[!0-9]*) oci_fail "OCI_LAYER_MAX is '$OCI_LAYER_MAX': a number of layers, 2 to 127" ;;
			esac
			if [ "$OCI_LAYER_MAX" -lt 2 ] || [ "$OCI_LAYER_MAX" -gt 127 ]; then
				oci_fail "OCI_LAYER_MAX is $OCI_LAYER_MAX: a number of layers, 2 to 127"
			fi
		fi
		;;
	multi)
		if [ -z "$(printf '%s' "$OCI_LAYERS" | tr -d ' \t\n')" ]; then
			oci_fail "OCI_LAYER_MODE is multi but OCI_LAYERS is empty (name:type:content ...)"
		fi
		set -f
		oci_pkgn=0
		for oci_def in $OCI_LAYERS; do
			oci_entry "$oci_def"
			case "$oci_ltype" in
			packages)
				oci_pkgn=$(expr $oci_pkgn + 1)
				oci_pkgroot="${WORKDIR}/oci-layer-rootfs/layer-$oci_pkgn-$oci_lname"
				if [ ! -d "$oci_pkgroot" ]; then
					oci_fail "layer $oci_lname: no package rootfs $oci_pkgroot (the class's prefunc installs it)"
				fi
				;;
			directories|files)
				;;
			host)
				for oci_pair in $oci_litems; do
					case "$oci_pair" in
					*?:?*) ;;
					*) oci_fail "layer $oci_lname: host content '$oci_pair' is not source:destination" ;;
					esac
					if [ ! -e "${oci_pair%:*}" ] && [ ! -L "${oci_pair%:*}" ]; then
						oci_fail "layer $oci_lname: host path not found: ${oci_pair%:*}"
					fi
				done
				bbwarn "OCI: layer $oci_lname copies files of the build machine, not of the build ($oci_litems): the image depends on that machine"
				;;
			*)
				oci_fail "OCI_LAYERS entry '$oci_def': unknown layer type '$oci_ltype' (packages, directories, files or host)"
				;;
			esac
		done
		set +f
		;;
	*)
		oci_fail "OCI_LAYER_MODE is '$oci_mode': single, packages or multi"
		;;
	esac

	# The base image: a recipe's deployed layout, or a layout directory.
	oci_base_dir=
	oci_base_tag="$OCI_BASE_IMAGE_TAG"
	[ -n "$oci_base_tag" ] || oci_base_tag=latest
	if [ -n "$OCI_BASE_IMAGE" ]; then
		case "$OCI_BASE_IMAGE" in
		/*) oci_base_dir="$OCI_BASE_IMAGE" ;;
		*/*|*.*:*|*.*)
			oci_fail "OCI_BASE_IMAGE $OCI_BASE_IMAGE is a registry reference: fetch it with a container-bundle recipe (CONTAINER_BUNDLE_DEPLOY = \"1\") and name that recipe"
			;;
		*) oci_base_dir="${DEPLOY_DIR_IMAGE}/$OCI_BASE_IMAGE-$(printf '%s' "$oci_base_tag" | tr ':' '_')-oci" ;;
		esac
		if [ ! -f "$oci_base_dir/index.json" ] || [ ! -f "$oci_base_dir/oci-layout" ]; then
			oci_fail "base image $OCI_BASE_IMAGE: no OCI layout at $oci_base_dir"
		fi
	fi

	oci_work=$(mktemp -d "${WORKDIR}/ocipipe-oci.XXXXXX")
	oci_cache=0
	if [ "$oci_mode" = multi ] && [ "$OCI_LAYER_CACHE" = 1 ] && [ -z "$OCI_LAYER_CACHE_DIR" ]; then
		bbwarn "OCI: OCI_LAYER_CACHE is 1 but OCI_LAYER_CACHE_DIR is empty: no layer cache"
	elif [ "$oci_mode" = multi ] && [ "$OCI_LAYER_CACHE" = 1 ]; then
		oci_cache=1
		mkdir -p "$OCI_LAYER_CACHE_DIR"
		oci_version=$(oci-layer --version)
	fi
	# The block cache of oci-layer (ocipipe docs/cache.md), in any mode:
	# every oci-layer below reads OCI_LAYER_CACHE_DIR (and
	# OCI_LAYER_CACHE_MAX, its bound) from the environment; the same
	# bytes, compressed once per changed block.  Off with the layer cache.
	if [ "$OCI_LAYER_CACHE" = 1 ] && [ -n "$OCI_LAYER_CACHE_DIR" ]; then
		export OCI_LAYER_CACHE_DIR
		if [ -n "$OCI_LAYER_CACHE_MAX" ]; then
			export OCI_LAYER_CACHE_MAX
		else
			unset OCI_LAYER_CACHE_MAX
		fi
	else
		unset OCI_LAYER_CACHE_DIR OCI_LAYER_CACHE_MAX
	fi

	# --- the tree below each layer ---
	# earlier.names and earlier.dirs: every path (directories) the layers
	# so far hold, with no "./" or trailing "/"; links: "DIR<tab>TARGET"
	# for the directories of $oci_fixed that are symlinks there.
	: >"$oci_work/earlier.names"
	: >"$oci_work/earlier.dirs"
	: >"$oci_work/links"
	oci_tab=$(printf '\t')

	# oci_names MODE MAP: names on stdin, each with the directory
	# redirections of MAP ("DIR<tab>TARGET" lines) applied; MODE map
	# prints them, MODE new prints "./NAME" (NAME as read) of those not in
	# earlier.names.
	oci_names() {
		awk -v mode="$1" -v map="$2" -v have="$oci_work/earlier.names" '
		BEGIN {
			n = 0
			while ((getline l < map) > 0) {
				i = index(l, "\t"); n++; d[n] = substr(l, 1, i - 1); t[n] = substr(l, i + 1)
			}
			if (mode == "new")
				while ((getline l < have) > 0) seen[l] = 1
		}
		{
			m = $0
			for (i = 1; i <= n; i++) {
				if (m == d[i]) { m = t[i]; break }
				if (index(m, d[i] "/") == 1) { m = t[i] substr(m, length(d[i]) + 1); break }
			}
			if (mode == "map") print m
			else if (!(m in seen)) print "./" $0
		}'
	}

	# oci_resolve DIR TARGET: where a symlink DIR -> TARGET points,
	# relative to the root ("" when that is the root itself)
	oci_resolve() {
		case "$2" in
		/*) printf '%s\n' "$2" ;;
		*) printf '%s\n' "/$1/../$2" ;;
		esac | awk -F/ '{
			n = 0
			for (i = 1; i <= NF; i++) {
				if ($i == "" || $i == ".") continue
				if ($i == "..") { if (n > 0) n--; continue }
				s[++n] = $i
			}
			p = ""
			for (i = 1; i <= n; i++) p = p (i > 1 ? "/" : "") s[i]
			print p
		}'
	}

	# oci_canon PATH: PATH inside IMAGE_ROOTFS with the symlinks of its
	# parent directories resolved there (the last component is kept)
	oci_canon() {
		oci_c_rest=$(printf '%s' "$1" | sed -e 's,^/*,,' -e 's,/*$,,')
		oci_c_done=
		oci_c_hops=0
		while [ -n "$oci_c_rest" ]; do
			case "$oci_c_rest" in
			*/*) oci_c="${oci_c_rest%%/*}"; oci_c_rest="${oci_c_rest#*/}" ;;
			*) oci_c="$oci_c_rest"; oci_c_rest= ;;
			esac
			case "$oci_c" in
			''|.) continue ;;
			..) case "$oci_c_done" in */*) oci_c_done="${oci_c_done%/*}" ;; *) oci_c_done= ;; esac
			    continue ;;
			esac
			if [ -n "$oci_c_done" ]; then oci_c="$oci_c_done/$oci_c"; fi
			if [ -n "$oci_c_rest" ] && [ -L "${IMAGE_ROOTFS}/$oci_c" ]; then
				oci_c_hops=$(expr $oci_c_hops + 1)
				if [ $oci_c_hops -gt 40 ]; then
					oci_fail "too many symlinks in $1 (in IMAGE_ROOTFS)"
				fi
				oci_c_rest="$(oci_resolve "$oci_c_done" "$(readlink "${IMAGE_ROOTFS}/$oci_c")")/$oci_c_rest"
				oci_c_done=
				continue
			fi
			oci_c_done="$oci_c"
		done
		printf '%s\n' "$oci_c_done"
	}

	# oci_prepare NAME ROOT LIST OWNER HISTORY: one layer's recipe in
	# layer-K/, and the tree below the next layer updated.  LIST is empty
	# for the whole of ROOT, else a file of "./NAME" lines.  A directory
	# of $oci_fixed that is a symlink below (merged /usr) but a directory
	# in this layer keeps being the symlink: this layer's entries under it
	# go where it points, as a package manager installs onto merged /usr.
	oci_k=0
	oci_prepare() {
		oci_k=$(expr $oci_k + 1)
		oci_d="$oci_work/layer-$oci_k"
		mkdir "$oci_d"
		printf '%s\n' "$1" >"$oci_d/name"
		printf '%s\n' "$2" >"$oci_d/root"
		printf '%s\n' "$3" >"$oci_d/list"
		printf '%s\n' "$4" >"$oci_d/owner"
		printf '%s\n' "$5" >"$oci_d/history"
		: >"$oci_d/xform"
		: >"$oci_d/map"
		if [ -z "$oci_state" ]; then
			return 0
		fi
		# the names of this layer
		if [ -n "$3" ]; then
			sed -e 's,^\./,,' "$3" >"$oci_d/names"
		else
			(cd "$2" && find . ! -name . -print) | sed -e 's,^\./,,' >"$oci_d/names"
		fi
		for oci_f in $oci_fixed; do
			grep -qx "$oci_f" "$oci_d/names" || grep -q "^$oci_f/" "$oci_d/names" || continue
			oci_below=$(sed -n "s,^$oci_f$oci_tab,,p" "$oci_work/links")
			if [ -L "$2/$oci_f" ] && grep -qx "$oci_f" "$oci_d/names"; then
				if [ -z "$oci_below" ] && grep -qx "$oci_f" "$oci_work/earlier.dirs"; then
					bbwarn "OCI: layer $1: /$oci_f is a symlink over a directory of the layers below: clients replace the directory, so its $(grep -c "^$oci_f/" "$oci_work/earlier.names") entries are hidden (as with umoci)"
				fi
				grep -v "^$oci_f$oci_tab" "$oci_work/links" >"$oci_work/links.new" || true
				printf '%s\t%s\n' "$oci_f" "$(oci_resolve "$(dirname "$oci_f")" "$(readlink "$2/$oci_f")")" >>"$oci_work/links.new"
				mv "$oci_work/links.new" "$oci_work/links"
			elif [ -n "$oci_below" ] && [ "$oci_below" != "$oci_f" ] &&
			     { [ -d "$2/$oci_f" ] || [ ! -e "$2/$oci_f" ]; }; then
				bbnote "OCI: layer $1: /$oci_f is a symlink to /$oci_below below: what this layer has in /$oci_f goes to /$oci_below"
				printf '%s\t%s\n' "$oci_f" "$oci_below" >>"$oci_d/map"
				oci_to=$(printf '%s' "$oci_below" | sed 's/[\\&,]/\\&/g')
				printf 's,^\\./%s$,./%s,S\ns,^\\./%s/,./%s/,S\n' "$oci_f" "$oci_to" "$oci_f" "$oci_to" >>"$oci_d/xform"
			elif [ -d "$2/$oci_f" ] && [ ! -L "$2/$oci_f" ]; then
				grep -v "^$oci_f$oci_tab" "$oci_work/links" >"$oci_work/links.new" || true
				mv "$oci_work/links.new" "$oci_work/links"
			fi
		done
		oci_names map "$oci_d/map" <"$oci_d/names" | cat - "$oci_work/earlier.names" |
			LC_ALL=C sort -u >"$oci_work/earlier.new"
		mv "$oci_work/earlier.new" "$oci_work/earlier.names"
		if [ -n "$3" ]; then
			while IFS= read -r oci_n; do
				if [ -d "$2/$oci_n" ] && [ ! -L "$2/$oci_n" ]; then
					printf '%s\n' "$oci_n"
				fi
			done <"$3"
		else
			(cd "$2" && find . ! -name . -type d -print)
		fi | sed -e 's,^\./,,' | oci_names map "$oci_d/map" | cat - "$oci_work/earlier.dirs" |
			LC_ALL=C sort -u >"$oci_work/earlier.new"
		mv "$oci_work/earlier.new" "$oci_work/earlier.dirs"
	}

	# oci_pick NAME PATH WHOLE: append to $oci_list what PATH of
	# IMAGE_ROOTFS adds to the layers below: PATH and, with WHOLE, all
	# below it when PATH is new; else only the new paths under it; and the
	# parent directories that are new.
	oci_pick() {
		oci_p=$(oci_canon "$2")
		if [ -z "$oci_p" ] || { [ ! -e "${IMAGE_ROOTFS}/$oci_p" ] && [ ! -L "${IMAGE_ROOTFS}/$oci_p" ]; }; then
			bbwarn "OCI: layer $1: $2 is not in IMAGE_ROOTFS: left out"
			return 0
		fi
		if [ -n "$(cd "${IMAGE_ROOTFS}" && find "./$oci_p" -name "$(printf '*\n*')" -print)" ]; then
			oci_fail "layer $1: a name under $2 holds a newline"
		fi
		{
			oci_q="$oci_p"
			while [ "${oci_q%/*}" != "$oci_q" ]; do
				oci_q="${oci_q%/*}"
				printf '%s\n' "$oci_q"
			done
			if [ "$3" = whole ] && printf '%s\n' "$oci_p" | oci_names new "$oci_work/links" | grep -q .; then
				(cd "${IMAGE_ROOTFS}" && find "./$oci_p" -print) | sed -e 's,^\./,,'
			elif [ "$3" = whole ]; then
				bbnote "OCI: layer $1: $2 is in a layer below: left out" >&2
			else
				(cd "${IMAGE_ROOTFS}" && find "./$oci_p" -print) | sed -e 's,^\./,,'
			fi
		} | oci_names new "$oci_work/links" >>"$oci_list"
	}

	# --- the base image: its layout as a tarball, its tree listed ---
	oci_state=
	if [ -n "$oci_base_dir" ] || [ "$oci_mode" = multi ]; then
		oci_state=1
	fi
	if [ -n "$oci_base_dir" ]; then
		bbnote "OCI: base image $oci_base_dir (tag $oci_base_tag)"
		if ! tar -C "$oci_base_dir/" --sort=name --format=gnu -cf "$oci_work/base.tar" oci-layout index.json blobs; then
			oci_fail "base image $oci_base_dir cannot be read"
		fi
		set -- --ref "$oci_base_tag"
		if [ -n "$OCI_IMAGE_ARCH" ]; then set -- "$@" --arch "$OCI_IMAGE_ARCH"; fi
		if [ -n "$OCI_IMAGE_SUBARCH" ]; then set -- "$@" --variant "$OCI_IMAGE_SUBARCH"; fi
		{
			if oci-flatten -q "$@" "$oci_work/base.tar" 2>"$oci_work/flatten.err"; then
				echo 0 >"$oci_work/st.flatten"
			else
				echo $? >"$oci_work/st.flatten"
			fi
		} | tar -tv --numeric-owner --quoting-style=literal >"$oci_work/base.tv" || true
		if [ "$(cat "$oci_work/st.flatten")" != 0 ]; then
			oci_fail "base image $oci_base_dir (tag $oci_base_tag): $(head -n 1 "$oci_work/flatten.err")"
		fi
		awk '{
			if (!match($0, /^[^ ]+ [^ ]+ +[^ ]+ [0-9-]+ [0-9:]+ /)) next
			t = substr($0, 1, 1); r = substr($0, RLENGTH + 1)
			if (t == "l" && (i = index(r, " -> ")) > 0) { g = substr(r, i + 4); r = substr(r, 1, i - 1) }
			else if (t == "h" && (i = index(r, " link to ")) > 0) r = substr(r, 1, i - 1)
			sub(/^\.\//, "", r); sub(/\/$/, "", r)
			if (r == "" || r == ".") next
			print t "\t" r "\t" g
		}' "$oci_work/base.tv" >"$oci_work/base.list"
		cut -f2 "$oci_work/base.list" | LC_ALL=C sort -u >"$oci_work/earlier.names"
		awk -F'\t' '$1 == "d" { print $2 }' "$oci_work/base.list" | LC_ALL=C sort -u >"$oci_work/earlier.dirs"
		for oci_f in $oci_fixed; do
			oci_to=$(awk -F'\t' -v n="$oci_f" '$2 == n { t = $1; g = $3 } END { if (t == "l") print g }' "$oci_work/base.list")
			if [ -n "$oci_to" ]; then
				printf '%s\t%s\n' "$oci_f" "$(oci_resolve "$(dirname "$oci_f")" "$oci_to")" >>"$oci_work/links"
			fi
		done
	fi

	# --- the layers ---
	# packages: IMAGE_ROOTFS as one tar, split by oci-layer --split along
	# the package lines oci-layermap reads from the package database in
	# the rootfs, or from PKGDATA_DIR when the rootfs has none (no
	# package-management): at most OCI_LAYER_MAX layers
	oci_split=
	if [ "$oci_mode" = packages ]; then
		set --
		if ! ls "${IMAGE_ROOTFS}/var/lib/opkg/info" "${IMAGE_ROOTFS}/usr/lib/opkg/info" \
			"${IMAGE_ROOTFS}/var/lib/dpkg/info" 2>/dev/null | grep -q '\.list$'; then
			if [ -z "${PKGDATA_DIR}" ] || [ ! -d "${PKGDATA_DIR}/runtime" ]; then
				oci_fail "OCI_LAYER_MODE is packages but IMAGE_ROOTFS has no package database and PKGDATA_DIR has no runtime/"
			fi
			set -- --pkgdata "${PKGDATA_DIR}"
		fi
		oci_split="$oci_work/layers.map"
		if ! oci-layermap -q --summary --max-layers "$OCI_LAYER_MAX" "$@" "${IMAGE_ROOTFS}" \
			>"$oci_split" 2>"$oci_work/layermap.err"; then
			oci_fail "package layers: $(head -n 1 "$oci_work/layermap.err")"
		fi
		bbnote "OCI: package layers: $(sed -n 's/^oci-layermap: //p' "$oci_work/layermap.err")"
	fi
	if [ "$oci_mode" != multi ]; then
		oci_prepare rootfs "${IMAGE_ROOTFS}" "" keep ""
	else
		set -f
		oci_pkgn=0
		for oci_def in $OCI_LAYERS; do
			oci_entry "$oci_def"
			oci_list="$oci_work/list-$(expr $oci_k + 1)"
			: >"$oci_list"
			case "$oci_ltype" in
			packages)
				oci_pkgn=$(expr $oci_pkgn + 1)
				oci_prepare "$oci_lname" "${WORKDIR}/oci-layer-rootfs/layer-$oci_pkgn-$oci_lname" "" keep "$oci_def"
				;;
			directories|files)
				oci_whole=
				if [ "$oci_ltype" = files ]; then oci_whole=whole; fi
				for oci_item in $oci_litems; do
					oci_pick "$oci_lname" "$oci_item" "$oci_whole"
				done
				LC_ALL=C sort -u "$oci_list" >"$oci_list.sorted"
				mv "$oci_list.sorted" "$oci_list"
				bbnote "OCI: layer $oci_lname: $(wc -l <"$oci_list") new paths from IMAGE_ROOTFS"
				oci_prepare "$oci_lname" "${IMAGE_ROOTFS}" "$oci_list" keep "$oci_def"
				;;
			host)
				oci_stage="$oci_work/host-$(expr $oci_k + 1)"
				mkdir "$oci_stage"
				: >"$oci_stage.parents"
				for oci_pair in $oci_litems; do
					oci_src="${oci_pair%:*}"
					oci_dst=$(printf '%s' "${oci_pair##*:}" | sed -e 's,^/*,,')
					case "$oci_dst" in
					*/|'') oci_dst="$oci_dst$(basename "$oci_src")" ;;
					*) if grep -qxF "$oci_dst" "$oci_work/earlier.dirs"; then oci_dst="$oci_dst/$(basename "$oci_src")"; fi ;;
					esac
					oci_dst=$(printf '%s' "$oci_dst" | sed -e 's,//*,/,g' -e 's,/$,,')
					mkdir -p "$oci_stage/$(dirname "$oci_dst")"
					cp -a "$oci_src" "$oci_stage/$oci_dst"
					oci_q="$oci_dst"
					while [ "${oci_q%/*}" != "$oci_q" ]; do
						oci_q="${oci_q%/*}"
						printf '%s\n' "$oci_q" >>"$oci_stage.parents"
					done
					bbnote "OCI: layer $oci_lname: $oci_src -> /$oci_dst"
				done
				# the new paths, and the parent directories the layers below lack
				(cd "$oci_stage" && find . ! -name . -print) | sed -e 's,^\./,,' |
					grep -vxF -f "$oci_stage.parents" | sed -e 's,^,./,' >"$oci_list" || true
				oci_names new "$oci_work/links" <"$oci_stage.parents" >>"$oci_list"
				LC_ALL=C sort -u "$oci_list" >"$oci_list.sorted"
				mv "$oci_list.sorted" "$oci_list"
				oci_prepare "$oci_lname" "$oci_stage" "$oci_list" root "$oci_def"
				;;
			esac
		done
		set +f
		# what IMAGE_ROOTFS holds that no layer took
		(cd "${IMAGE_ROOTFS}" && find . ! -name . -print) | sed -e 's,^\./,,' |
			oci_names new /dev/null >"$oci_work/unnamed"
		if [ -s "$oci_work/unnamed" ]; then
			bbnote "OCI: multi-layer: $(wc -l <"$oci_work/unnamed") paths of IMAGE_ROOTFS are in no layer and not in the image (OCI_LAYERS names the content), e.g. $(head -n 3 "$oci_work/unnamed" | sed 's,^\.,,' | tr '\n' ' ')"
		fi
	fi

	# --- traceability labels (OCI_IMAGE_AUTO_LABELS) ---
	oci_label() {
		OCI_IMAGE_LABELS="$OCI_IMAGE_LABELS '$1=$(printf '%s' "$2" | sed "s/'/'\\\\''/g")'"
		export OCI_IMAGE_LABELS
	}
	if [ "$OCI_IMAGE_AUTO_LABELS" = 1 ]; then
		oci_git() {
			git -c safe.directory='*' -C "${TOPDIR}" "$@" 2>/dev/null || true
		}
		case "$OCI_IMAGE_REVISION" in
		none) ;;
		'') oci_rev=$(oci_git rev-parse --short HEAD)
		    if [ -n "$oci_rev" ]; then oci_label org.opencontainers.image.revision "$oci_rev"; fi ;;
		*) oci_label org.opencontainers.image.revision "$OCI_IMAGE_REVISION" ;;
		esac
		case "$OCI_IMAGE_BRANCH" in
		none) ;;
		'') oci_branch=$(oci_git rev-parse --abbrev-ref HEAD)
		    if [ -n "$oci_branch" ] && [ "$oci_branch" != HEAD ]; then
			oci_label org.opencontainers.image.ref.name "$oci_branch"
		    fi ;;
		*) oci_label org.opencontainers.image.ref.name "$OCI_IMAGE_BRANCH" ;;
		esac
		case "$OCI_IMAGE_BUILD_DATE" in
		none) ;;
		'') if [ -n "$SOURCE_DATE_EPOCH" ]; then
			oci_label org.opencontainers.image.created "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
		    else
			oci_label org.opencontainers.image.created "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		    fi ;;
		*) oci_label org.opencontainers.image.created "$OCI_IMAGE_BUILD_DATE" ;;
		esac
	fi

	# --- the image stream ---
	# oci_check_entry DIR: a cache entry is whole (its bytes are the ones
	# recorded when it was written) and consistent (the layer's chunks
	# have the digest and size its descriptor says); else why not.
	oci_check_entry() {
		if [ ! -f "$1/layer.stream" ] || [ ! -f "$1/layer.sum" ]; then
			echo "incomplete"; return 1
		fi
		if [ "$(sha256sum <"$1/layer.stream" | cut -c1-64) $(wc -c <"$1/layer.stream")" != "$(cat "$1/layer.sum")" ]; then
			echo "its bytes changed"; return 1
		fi
		oci_e_want=$(tar -xOf "$1/layer.stream" ocipipe/layer.json 2>/dev/null |
			sed -n 's/^{"mediaType":"[^"]*","digest":"sha256:\([0-9a-f]*\)","size":\([0-9]*\),.*/\1 \2/p')
		oci_e_have=$(tar -xOf "$1/layer.stream" --wildcards 'ocipipe/chunk.*' 2>/dev/null | sha256sum | cut -c1-64)
		oci_e_size=$(tar -tvf "$1/layer.stream" 2>/dev/null | awk '$NF ~ /^ocipipe\/chunk\./ { s += $3 } END { print s + 0 }')
		if [ -z "$oci_e_want" ] || [ "$oci_e_want" != "$oci_e_have $oci_e_size" ]; then
			echo "its layer does not match its descriptor"; return 1
		fi
	}

	# oci_emit K: layer K's image stream on stdout; failures go to
	# $oci_work/failed.  With the cache, the key is the sha256 of the
	# input tar and of everything else that decides the layer's bytes.
	oci_emit() {
		oci_d="$oci_work/layer-$1"
		oci_s_name=$(cat "$oci_d/name")
		oci_s_list=$(cat "$oci_d/list")
		oci_s_hist=$(cat "$oci_d/history")
		set -- --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
			--numeric-owner --xattrs --xattrs-include='*' -C "$(cat "$oci_d/root")"
		if [ "$(cat "$oci_d/owner")" = root ]; then set -- "$@" --owner=0 --group=0; fi
		if [ -n "$SOURCE_DATE_EPOCH" ]; then set -- "$@" "--mtime=@$SOURCE_DATE_EPOCH" --clamp-mtime; fi
		while IFS= read -r oci_x; do set -- "$@" "--transform=$oci_x"; done <"$oci_d/xform"
		if [ -n "$oci_s_list" ]; then
			set -- "$@" --no-recursion --verbatim-files-from -T "$oci_s_list" -cf - 
		else
			set -- "$@" --sort=name -cf - .
		fi
		if [ "$oci_cache" != 1 ]; then
			{
				if tar "$@"; then echo 0 >"$oci_d/st.tar"; else echo $? >"$oci_d/st.tar"; fi
			} | if [ -n "$oci_s_hist" ]; then oci-layer --created-by "$oci_s_hist"
			elif [ -n "$oci_split" ]; then oci-layer --split="$oci_split"
			else oci-layer; fi
			if [ "$(cat "$oci_d/st.tar")" != 0 ]; then
				echo "layer $oci_s_name: tar of $(cat "$oci_d/root") failed (exit $(cat "$oci_d/st.tar"))" >>"$oci_work/failed"
			fi
			return 0
		fi
		oci_key=$({
			printf 'ocipipe layer cache 1\n%s\ngzip\noci-layer --created-by %s\nSOURCE_DATE_EPOCH=%s\n' \
				"$oci_version" "$oci_s_hist" "$SOURCE_DATE_EPOCH"
			if tar "$@"; then echo 0 >"$oci_d/st.tar"; else echo $? >"$oci_d/st.tar"; fi
		} | sha256sum | cut -c1-64)
		if [ "$(cat "$oci_d/st.tar")" != 0 ]; then
			echo "layer $oci_s_name: tar of $(cat "$oci_d/root") failed (exit $(cat "$oci_d/st.tar"))" >>"$oci_work/failed"
			return 0
		fi
		oci_entry_dir="$OCI_LAYER_CACHE_DIR/$oci_key"
		if [ -d "$oci_entry_dir" ]; then
			if oci_why=$(oci_check_entry "$oci_entry_dir"); then
				bbnote "OCI: layer cache hit: $oci_s_name ($oci_key)" >&2
				cat "$oci_entry_dir/layer.stream"
				return 0
			fi
			bbwarn "OCI: layer cache: the entry of $oci_s_name ($oci_key) is damaged ($oci_why): built again" >&2
			oci_gone=$(mktemp -d "$OCI_LAYER_CACHE_DIR/.damaged.XXXXXX")
			mv "$oci_entry_dir" "$oci_gone/" 2>/dev/null || true
			rm -rf "$oci_gone"
		else
			bbnote "OCI: layer cache miss: $oci_s_name ($oci_key)" >&2
		fi
		oci_tmp=$(mktemp -d "$OCI_LAYER_CACHE_DIR/.new.XXXXXX")
		{
			{
				if tar "$@"; then echo 0 >"$oci_d/st.tar"; else echo $? >"$oci_d/st.tar"; fi
			} | if oci-layer --created-by "$oci_s_hist"; then echo 0 >"$oci_d/st.layer"; else echo 1 >"$oci_d/st.layer"; fi
		} | tee "$oci_tmp/layer.stream"
		if [ "$(cat "$oci_d/st.tar")" != 0 ]; then
			echo "layer $oci_s_name: tar of $(cat "$oci_d/root") failed (exit $(cat "$oci_d/st.tar"))" >>"$oci_work/failed"
		elif [ "$(cat "$oci_d/st.layer")" = 0 ]; then
			echo "$(sha256sum <"$oci_tmp/layer.stream" | cut -c1-64) $(wc -c <"$oci_tmp/layer.stream")" >"$oci_tmp/layer.sum"
			if oci_check_entry "$oci_tmp" >/dev/null; then
				# atomic: a whole entry or none; a concurrent writer's wins
				mv -T "$oci_tmp" "$oci_entry_dir" 2>/dev/null || true
			fi
		fi
		rm -rf "$oci_tmp"
	}

	oci_stream() {
		if [ -n "$oci_base_dir" ]; then
			cat "$oci_work/base.tar"
		fi
		oci_i=1
		while [ $oci_i -le $oci_k ]; do
			oci_emit $oci_i
			oci_i=$(expr $oci_i + 1)
		done
	}

	if [ -n "$oci_base_dir" ]; then
		set -- --base-ref "$oci_base_tag"
	else
		set --
	fi
	bbnote "OCI: ocipipe: $oci_k layer(s) from ${IMAGE_ROOTFS} -> $image_name (tag $tag)"
	# One pass, nothing unpacked: tars made under pseudo (owners, devices
	# and xattrs as pseudo recorded) -> layers -> config (OCI_IMAGE_* from
	# the environment) -> manifest -> layout.  sh has no pipefail: the
	# tars' status goes through files; a stage that fails makes the next
	# ones fail (the stream carries the error).
	# OCI_IMAGE_PUSH names a registry (docker://HOST[:PORT]/REPO): the
	# same stream goes to oci-push through a FIFO while oci-pack writes
	# the layout, so the layers are uploaded as they are made and no
	# layer is read back from disk.  --stream by default: the layout is
	# on disk already, and check-first would spool each layer again
	# (OCI_IMAGE_PUSH_OPTS takes --check-first, --creds, --authfile,
	# --cert-dir, --tls-verify=false).  oci-push tags only once every
	# blob is confirmed; a failed push fails the task.
	oci_push_pid=
	if [ -n "$OCI_IMAGE_PUSH" ]; then
		mkfifo "$oci_work/push.fifo"
		# shellcheck disable=SC2086 # OCI_IMAGE_PUSH_OPTS: words
		oci-push --stream $OCI_IMAGE_PUSH_OPTS --tag "$tag" "$OCI_IMAGE_PUSH" \
			<"$oci_work/push.fifo" >"$oci_work/push.log" 2>&1 &
		oci_push_pid=$!
		if oci_stream | oci-config "$@" | oci-manifest | tee "$oci_work/push.fifo" |
			oci-pack -o "$image_name" --tag "$tag"; then
			pack_exit=0
		else
			pack_exit=$?
		fi
	elif oci_stream | oci-config "$@" | oci-manifest | oci-pack -o "$image_name" --tag "$tag"; then
		pack_exit=0
	else
		pack_exit=$?
	fi
	push_exit=0
	if [ -n "$oci_push_pid" ]; then
		wait "$oci_push_pid" || push_exit=$?
	fi
	if [ -s "$oci_work/failed" ]; then
		oci_fail "building $image_name failed: $(head -n 1 "$oci_work/failed")"
	fi
	# a push that fails early closes the FIFO, and the layout fails
	# with it: the push's message is the one that says why
	if [ "$push_exit" != 0 ]; then
		oci_fail "pushing $image_name to $OCI_IMAGE_PUSH failed: $(tail -n 1 "$oci_work/push.log")"
	fi
	if [ "$pack_exit" != 0 ]; then
		oci_fail "building $image_name failed (pipeline exit $pack_exit)"
	fi
	if [ -n "$oci_push_pid" ]; then
		bbnote "OCI: pushed to $OCI_IMAGE_PUSH (tag $tag)"
	fi
	rm -rf "$oci_work"

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
