# SPDX-License-Identifier: MIT
# containerd.sh: a private containerd for the end-to-end tests (its own
# root, state, socket and opt dirs, the CRI plugin off), sourced after
# tests/lib.sh by the files that check images with it (t0910, t1200).
#
#   ctrd_usable              containerd and ctr installed, and root; else
#                            prints why not and returns 1
#   ctrd_init                before the first test: the state directory
#                            (short, under /tmp: a unix socket path must
#                            stay short) and a trap that stops the daemon
#   ctrd_start               in a test: start it, wait until it answers
#   ctr_ ARGS...             ctr against it (namespace ocipipe-test)
#   ctr_import NAME TARBALL [ctr import options]   import and unpack
#                            (native snapshotter), log in NAME.import.log
#   ctr_mounted NAME IMAGE CMD...   mount the unpacked IMAGE read-only on
#                            NAME.mnt, run CMD... NAME.mnt, unmount
#   ctr_rootfs_check NAME IMAGE EXPECTED-LISTING [LISTING OPTIONS]
#                            the mounted rootfs (without its root
#                            directory, which is containerd's own) is the
#                            listing (tree_listing --no-root --mtime)

ctrd_usable() {
	if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
		echo "containerd and ctr not installed (Debian: containerd)"
		return 1
	fi
	if ! test_have_prereq ROOT; then
		echo "containerd needs root"
		return 1
	fi
}

ctrd_init() {
	CTRD_RUN=$(mktemp -d /tmp/ocipipe-ctrd.XXXXXX) || exit 99
	CTRD_SOCK=$CTRD_RUN/sock
	trap ctrd_stop EXIT
}

ctr_() {
	ctr --address "$CTRD_SOCK" --namespace ocipipe-test "$@"
}

ctrd_stop() {
	for _m in "$TEST_DIR"/*.mnt; do
		test -d "$_m" || continue
		mountpoint -q "$_m" && umount "$_m" 2>/dev/null
	done
	if test -f "$CTRD_RUN/pid"; then
		kill "$(cat "$CTRD_RUN/pid")" 2>/dev/null
		sleep 1
	fi
	rm -rf "$CTRD_RUN"
}

ctrd_start() {
	cat >ctrd.toml <<-EOF &&
	version = 2
	root = "$TEST_DIR/ctrd-root"
	state = "$CTRD_RUN/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri",
	  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
	  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs"]
	[grpc]
	  address = "$CTRD_SOCK"
	[ttrpc]
	  address = "$CTRD_SOCK.ttrpc"
	[plugins."io.containerd.internal.v1.opt"]
	  path = "$TEST_DIR/ctrd-opt"
	EOF
	{ containerd --config ctrd.toml >ctrd.log 2>&1 & echo $! >"$CTRD_RUN/pid"; } &&
	_i=0 &&
	until ctr_ version >/dev/null 2>&1; do
		_i=$((_i + 1)) &&
		test $_i -lt 100 || { cat ctrd.log >&2; false; } &&
		sleep 0.1 || return 1
	done &&
	ctr_ plugins ls | grep "io.containerd.snapshotter.v1.*native.*ok"
}

ctr_import() {
	_n=$1 _t=$2
	shift 2
	ctr_ images import --snapshotter native "$@" "$_t" >"$_n.import.log" 2>&1 || {
		cat "$_n.import.log" >&2
		return 1
	}
}

ctr_mounted() {
	_n=$1 _img=$2
	shift 2
	mkdir "$_n.mnt" &&
	ctr_ images mount --snapshotter native "$_img" "$_n.mnt" >"$_n.mount.log" 2>&1 || {
		cat "$_n.mount.log" >&2
		return 1
	}
	"$@" "$_n.mnt"
	_r=$?
	umount "$_n.mnt" || return 1
	return $_r
}

ctr_rootfs_check() {
	_n=$1 _img=$2 _e=$3
	shift 3
	ctr_mounted "$_n" "$_img" tree_listing --no-root --mtime "$@" >"$_n.tree" &&
	test_cmp "$_e" "$_n.tree"
}
