# SPDX-License-Identifier: MIT
# tests/lib.sh: TAP helpers for the end-to-end tests (git's t/test-lib.sh,
# kept small).  A test file is a POSIX shell script:
#
#	. "$top_srcdir/tests/lib.sh"
#	test_expect_success 'title' '
#		commands &&
#		more commands
#	'
#	test_done
#
# Run by `make check` (AM_TESTS_ENVIRONMENT exports top_srcdir,
# top_builddir and a PATH with the built programs first), or by hand from
# anywhere: `sh tests/cli/t0100-layer-basic.sh` (top_srcdir is then found
# from $0 and top_builddir defaults to it; set it for a separate build dir).
# TEST_VERBOSE=1 shows every test's output, not only a failed one's.
# TEST_KEEP=1 keeps the scratch directory of a passing file.
#
# Helpers:
#   test_expect_success [PREREQ] 'title' 'commands'
#   test_expect_failure [PREREQ] 'title' 'commands'   known breakage (TODO)
#   test_skip 'title' 'reason'
#   test_must_fail CMD...        CMD must exit 1..125 (not a crash, not a
#                                sanitizer report, not "not found")
#   test_expect_code N CMD...    CMD must exit N
#   test_cmp EXPECTED ACTUAL     files equal (diff -u shown when not)
#   test_set_prereq NAME, test_have_prereq NAME[,NAME...]
#   test_diag TEXT...            a "# " line in the log
#   skip_all 'reason'            skip the whole file
#   test_done
# Project helpers:
#   make_rootfs [--portable] [--no-random] DIR
#   mktar DIR [TAR OPTIONS]      deterministic archive of DIR on stdout
#   tar_listing [OPTS] TARFILE|- canonical listing (tests/helpers/listing.py)
#   tree_listing [OPTS] DIR
#   blob_path DIR DIGEST         path of a blob in an OCI layout
#   rss FILE                     peak RSS in KiB from /usr/bin/time -v output
#   not_an_image FILE            FILE is empty or no client takes it for an image
#   use_pseudo                   set up Debian's stand-alone pseudo (prereq
#                                PSEUDO; its server stops with test_done)
# Servers and clients (call the start_* helpers at the top level of a test
# file, not inside a test: they set variables; everything they start is
# stopped by test_done, skip_all, or when the file exits):
#   free_port, wait_port PORT    a free port on 127.0.0.1; wait until it listens
#   start_bg NAME CMD...         CMD in the background, output in NAME.out
#   start_registry NAME [--tls CERT KEY] [--htpasswd FILE]
#                  [--token REALM SERVICE ISSUER CERTBUNDLE]
#                                a docker-registry on 127.0.0.1 (prereq
#                                REGISTRY), storage NAME.data, log (every
#                                request) NAME.out; sets REG=127.0.0.1:PORT
#   podman_setup, podman_ ARGS   podman with its storage in the scratch
#                                directory (vfs)

# ---------------------------------------------------------------- setup
if test -z "${top_srcdir:-}"; then
	_t_dir=$(cd "$(dirname "$0")/../.." && pwd) || exit 99
	top_srcdir=$_t_dir
fi
if test -z "${top_builddir:-}"; then
	top_builddir=$top_srcdir
	PATH=$top_builddir:$PATH
	_t_harness=
else
	_t_harness=yes
fi
top_srcdir=$(cd "$top_srcdir" && pwd) || exit 99
top_builddir=$(cd "$top_builddir" && pwd) || exit 99
export top_srcdir top_builddir PATH

# Deterministic environment.
LC_ALL=C
LANG=C
TZ=UTC
unset SOURCE_DATE_EPOCH CDPATH GREP_OPTIONS OCI_LAYER_CACHE_DIR OCI_LAYER_CACHE_MAX
for _t_v in $(env | sed -n 's/^\(OCI_IMAGE_[A-Z_]*\)=.*/\1/p'); do
	unset "$_t_v"
done
export LC_ALL LANG TZ

# A sanitizer report must never pass as an ordinary failure (exit 1):
# give ASan/LSan/UBSan exit codes of their own, which test_must_fail and
# test_expect_code refuse.
ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-exitcode=87:print_stacktrace=1:halt_on_error=1}
LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=86}
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

# ASan options for a test that measures peak RSS, so that the numbers are
# the programs' and not the sanitizer's: freed memory waits in a
# quarantine (256 MiB by default) that fills with the input, so keep it
# small; and no allocation stacks, since ASan keeps every distinct one in
# its stack depot, and its fast unwinder, past a library built without
# frame pointers, reads stale stack words as frames that differ from call
# to call (62 MB of depot for a million tiny entries, with the heap the
# same).
ASAN_RSS_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1:thread_local_quarantine_size_kb=64:malloc_context_size=0"

# Python for the helpers: the system one (Debian's python3) when present.
if test -x /usr/bin/python3; then
	PYTHON=/usr/bin/python3
else
	PYTHON=python3
fi
TEST_HELPERS=$top_srcdir/tests/helpers

_t_name=$(basename "$0" .sh)
mkdir -p "$top_builddir/tests" || exit 99
TEST_DIR=$(mktemp -d "$top_builddir/tests/trash.$_t_name.XXXXXX") || {
	echo "Bail out! cannot create a scratch directory"
	exit 99
}
cd "$TEST_DIR" || exit 99
HOME=$TEST_DIR
export HOME TEST_DIR

_t_count=0
_t_failed=0
_t_fixed=0
_t_broken=0
_t_prereqs=" "

test_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

test_set_prereq() {
	_t_prereqs="$_t_prereqs$1 "
}

test_have_prereq() {
	_t_save_ifs=$IFS
	IFS=,
	set -- $1
	IFS=$_t_save_ifs
	for _t_p in "$@"; do
		case $_t_p in
		!*)
			case $_t_prereqs in *" ${_t_p#!} "*) return 1 ;; esac ;;
		*)
			case $_t_prereqs in *" $_t_p "*) ;; *) return 1 ;; esac ;;
		esac
	done
	return 0
}

# Sanitizer builds: programs run under pseudo or fakeroot get an
# LD_PRELOAD library ahead of the ASan runtime; ASan then refuses to start
# unless this start-up check is off (the checking itself stays on).
ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export ASAN_OPTIONS

# Prerequisites known to every test file.
test "$(id -u)" = 0 && test_set_prereq ROOT
command -v fakeroot >/dev/null 2>&1 && test_set_prereq FAKEROOT
for _t_c in skopeo umoci oci-image-tool bsdtar zstd xz bzip2 gzip pigz podman; do
	if command -v "$_t_c" >/dev/null 2>&1; then
		test_set_prereq "$(echo "$_t_c" | tr 'a-z-' 'A-Z_')"
	fi
done
test -x /usr/bin/time && test_set_prereq TIME

# Output of the test being run goes here; shown as "# " lines when it fails.
_t_out=$TEST_DIR/.test-output

_t_run() {
	# $1 = commands; runs in a subshell in the scratch directory.
	(
		cd "$TEST_DIR" || exit 99
		eval "$1"
	) >"$_t_out" 2>&1 </dev/null
}

_t_show_output() {
	if test -s "$_t_out"; then
		sed 's/^/# /' "$_t_out"
	fi
}

_t_prereq_args() {
	# sets _t_pr, _t_title, _t_body from 2 or 3 arguments
	if test $# -ge 3; then
		_t_pr=$1 _t_title=$2 _t_body=$3
	else
		_t_pr= _t_title=$1 _t_body=$2
	fi
}

_t_title_clean() {
	# a title must not carry "#" (TAP directive) or newlines
	printf '%s' "$1" | tr '\n#' ' _'
}

test_expect_success() {
	_t_prereq_args "$@"
	_t_count=$((_t_count + 1))
	_t_t=$(_t_title_clean "$_t_title")
	if test -n "$_t_pr" && ! test_have_prereq "$_t_pr"; then
		echo "ok $_t_count - $_t_t # SKIP missing $_t_pr"
		return 0
	fi
	if _t_run "$_t_body"; then
		echo "ok $_t_count - $_t_t"
		test -n "${TEST_VERBOSE:-}" && _t_show_output
	else
		echo "not ok $_t_count - $_t_t"
		_t_show_output
		printf '%s\n' "$_t_body" | sed 's/^/#	/'
		_t_failed=$((_t_failed + 1))
	fi
	return 0
}

test_expect_failure() {
	_t_prereq_args "$@"
	_t_count=$((_t_count + 1))
	_t_t=$(_t_title_clean "$_t_title")
	if test -n "$_t_pr" && ! test_have_prereq "$_t_pr"; then
		echo "ok $_t_count - $_t_t # SKIP missing $_t_pr"
		return 0
	fi
	if _t_run "$_t_body"; then
		echo "ok $_t_count - $_t_t # TODO known breakage vanished"
		_t_fixed=$((_t_fixed + 1))
	else
		echo "not ok $_t_count - $_t_t # TODO known breakage"
		_t_show_output
		_t_broken=$((_t_broken + 1))
	fi
	return 0
}

test_skip() {
	_t_count=$((_t_count + 1))
	echo "ok $_t_count - $(_t_title_clean "$1") # SKIP $(_t_title_clean "$2")"
}

skip_all() {
	echo "1..0 # SKIP $*"
	_t_stop_bg
	cd / && rm -rf "$TEST_DIR"
	exit 0
}

test_done() {
	if test_have_prereq PSEUDO; then
		pseudo -S >/dev/null 2>&1	# stop the pseudo server of this file
	fi
	_t_stop_bg
	echo "1..$_t_count"
	if test "$_t_failed" = 0; then
		test -n "${TEST_KEEP:-}" || { cd / && rm -rf "$TEST_DIR"; }
	else
		test_diag "failed $_t_failed of $_t_count; scratch directory kept: $TEST_DIR"
	fi
	# Under the automake harness the TAP lines carry the result; a
	# non-zero exit would add a spurious ERROR.
	if test -z "$_t_harness" && test "$_t_failed" != 0; then
		exit 1
	fi
	exit 0
}

_t_exit_meaning() {
	case $1 in
	86) echo "AddressSanitizer/LeakSanitizer report" ;;
	87) echo "UndefinedBehaviorSanitizer report" ;;
	126|127) echo "command not found or not executable" ;;
	*) if test "$1" -gt 128; then echo "killed by signal $(($1 - 128))"; fi ;;
	esac
}

test_must_fail() {
	"$@"
	_t_rc=$?
	if test $_t_rc = 0; then
		echo "test_must_fail: command succeeded: $*" >&2
		return 1
	fi
	if test $_t_rc -gt 125 || test $_t_rc = 86 || test $_t_rc = 87; then
		echo "test_must_fail: $(_t_exit_meaning $_t_rc) (exit $_t_rc): $*" >&2
		return 1
	fi
	return 0
}

test_expect_code() {
	_t_want=$1
	shift
	"$@"
	_t_rc=$?
	if test "$_t_rc" = "$_t_want"; then
		return 0
	fi
	echo "test_expect_code: exit $_t_rc, wanted $_t_want $(_t_exit_meaning $_t_rc): $*" >&2
	return 1
}

test_cmp() {
	diff -u "$1" "$2" >&2
}

# Fail unless FILE holds exactly one line, starting with "PROG: ".
test_one_error_line() {
	_t_n=$(wc -l <"$2")
	if test "$_t_n" != 1 || ! grep -q "^$1: ." "$2"; then
		echo "expected one line \"$1: ...\" on stderr, got:" >&2
		cat "$2" >&2
		return 1
	fi
}

# ---------------------------------------------------------------- project

# use_pseudo: a stand-alone pseudo (Debian's package), as bitbake runs the
# do_image tasks: the library is found with PSEUDO_LIBDIR, the database
# lives in the scratch directory.  Sets the prerequisite PSEUDO.
use_pseudo() {
	for _t_lib in /usr/lib/*/pseudo/libpseudo.so /usr/lib/pseudo/libpseudo.so \
		      /usr/lib64/pseudo/libpseudo.so; do
		if test -f "$_t_lib" && command -v pseudo >/dev/null 2>&1; then
			PSEUDO_PREFIX=/usr
			PSEUDO_LIBDIR=$(dirname "$_t_lib")
			PSEUDO_LOCALSTATEDIR=$TEST_DIR/pseudo-state
			export PSEUDO_PREFIX PSEUDO_LIBDIR PSEUDO_LOCALSTATEDIR
			test_set_prereq PSEUDO
			return 0
		fi
	done
}

# not_an_image FILE: FILE is empty, or no client takes it for an image
not_an_image() {
	if test -s "$1"; then
		! tar -tf "$1" 2>/dev/null | grep -qx index.json || {
			echo "$1 looks like an image" >&2
			return 1
		}
		if test_have_prereq SKOPEO; then
			test_must_fail skopeo inspect "oci-archive:$1" >/dev/null 2>&1
		fi
	fi
	return 0
}

make_rootfs() {
	if test "$(id -u)" = 0; then
		"$PYTHON" "$TEST_HELPERS/mkrootfs.py" "$@"
	elif command -v fakeroot >/dev/null 2>&1; then
		for _t_a in "$@"; do :; done
		fakeroot -s "$_t_a.fakeroot" -- "$PYTHON" "$TEST_HELPERS/mkrootfs.py" "$@"
	else
		"$PYTHON" "$TEST_HELPERS/mkrootfs.py" "$@"
	fi
}

# Run a command in the fakeroot session of a rootfs made by make_rootfs
# (or directly when root or when there is none).
in_rootfs_session() {
	_t_root=$1
	shift
	if test -f "$_t_root.fakeroot"; then
		fakeroot -i "$_t_root.fakeroot" -s "$_t_root.fakeroot" -- "$@"
	else
		"$@"
	fi
}

# mktar DIR [GNU TAR OPTIONS]: a deterministic archive of DIR on stdout
# (sorted names, numeric owners, xattrs when the format holds them).
mktar() {
	_t_root=$1
	shift
	in_rootfs_session "$_t_root" tar --sort=name --numeric-owner \
		-C "$_t_root" -cf - "$@" .
}

tar_listing() {
	"$PYTHON" "$TEST_HELPERS/listing.py" tar "$@"
}

tree_listing() {
	"$PYTHON" "$TEST_HELPERS/listing.py" tree "$@"
}

# Does the rootfs made by make_rootfs DIR lack a part (devices, owners,
# user-xattr, security-xattr)?
rootfs_skipped() {
	grep -qx "$2" "$1.skipped" 2>/dev/null
}

rss() {
	sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"
}

# blob_path LAYOUT sha256:HEX
blob_path() {
	echo "$1/blobs/${2%%:*}/${2#*:}"
}

# json_get FILE EXPR: evaluate a Python expression on the parsed JSON "j".
json_get() {
	"$PYTHON" -c 'import json,sys
j = json.load(open(sys.argv[1], "rb"))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$1" "$2"
}

# stream_split STREAM OUTDIR: blobs and JSON of an image stream (stream.py)
stream_split() {
	"$PYTHON" "$TEST_HELPERS/stream.py" split "$@"
}

# tar_headers TAR: "typeflag magic name" per header block
tar_headers() {
	"$PYTHON" "$TEST_HELPERS/stream.py" headers "$@"
}

# verify_blobs LAYOUTDIR: every blob is named by its digest
verify_blobs() {
	"$PYTHON" "$TEST_HELPERS/stream.py" verify-blobs "$@"
}

sha256_of() {
	sha256sum <"$1" | cut -d" " -f1
}

size_of() {
	wc -c <"$1" | tr -d " "
}

# uncompress FILE: gzip, zstd, xz or plain, on stdout
uncompress() {
	case $(od -An -tx1 -N4 "$1" | tr -d " \n") in
	1f8b*) gzip -dc "$1" ;;
	28b52ffd) zstd -dcq "$1" ;;
	fd377a58) xz -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# docker-style architecture name of this machine
host_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	armv7l|armv6l) echo arm ;;
	i?86) echo 386 ;;
	ppc64le) echo ppc64le ;;
	s390x) echo s390x ;;
	riscv64) echo riscv64 ;;
	*) uname -m ;;
	esac
}

# tar_names TAR: "typeflag rawname" per entry (pax path / GNU long name
# applied), to check how names are written
tar_names() {
	"$PYTHON" "$TEST_HELPERS/stream.py" names "$@"
}

# size_and_sha256: "SIZE HEX" of standard input, in one pass
size_and_sha256() {
	"$PYTHON" -c 'import hashlib, sys
h = hashlib.sha256()
n = 0
for b in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
    h.update(b)
    n += len(b)
print(n, h.hexdigest())'
}

# ---------------------------------------------------------------- servers

# The pids of what start_bg started, also inside a test (a subshell).
_t_bg_file=$TEST_DIR/.bg-pids
_t_stop_bg() {
	if test -s "$_t_bg_file"; then
		for _t_p in $(cat "$_t_bg_file"); do
			kill "$_t_p" 2>/dev/null
		done
		for _t_p in $(cat "$_t_bg_file"); do
			wait "$_t_p" 2>/dev/null
		done
		: >"$_t_bg_file"
	fi
	if test -n "${PODMAN_RUNROOT:-}"; then
		podman_ rm -a -f >/dev/null 2>&1
		rm -rf "$PODMAN_RUNROOT"
		PODMAN_RUNROOT=
	fi
}
trap '_t_stop_bg' EXIT
trap '_t_stop_bg; exit 130' INT TERM

free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	"$PYTHON" -c 'import socket, sys, time
end = time.time() + 15
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        break
    except OSError:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.1)' "$1"
}

start_bg() {
	_t_name=$1
	shift
	"$@" >"$TEST_DIR/$_t_name.out" 2>&1 </dev/null &
	echo $! >>"$_t_bg_file"
}

command -v docker-registry >/dev/null 2>&1 && test_set_prereq REGISTRY

start_registry() {
	_t_rn=$1
	shift
	_t_tls=
	_t_auth=
	while test $# -gt 0; do
		case $1 in
		--tls)
			_t_tls="  tls:
    certificate: $2
    key: $3"
			shift 3 ;;
		--htpasswd)
			_t_auth="auth:
  htpasswd:
    realm: ocipipe-test
    path: $2"
			shift 2 ;;
		--token)
			_t_auth="auth:
  token:
    realm: $2
    service: $3
    issuer: $4
    rootcertbundle: $5"
			shift 5 ;;
		*)
			echo "start_registry: unknown option $1" >&2
			return 1 ;;
		esac
	done
	_t_port=$(free_port) || return 1
	cat >"$TEST_DIR/$_t_rn.yml" <<-EOF || return 1
	version: 0.1
	log:
	  level: info
	storage:
	  filesystem:
	    rootdirectory: $TEST_DIR/$_t_rn.data
	http:
	  addr: 127.0.0.1:$_t_port
	  secret: ocipipe-test-secret
	$_t_tls
	$_t_auth
	EOF
	start_bg "$_t_rn" docker-registry serve "$TEST_DIR/$_t_rn.yml"
	wait_port "$_t_port" || return 1
	REG=127.0.0.1:$_t_port
}

# podman wants a short runroot (at most 50 characters)
podman_setup() {
	PODMAN_RUNROOT=$(mktemp -d /tmp/ocipipe-podman.XXXXXX) || exit 99
	mkdir -p "$TEST_DIR/podman/tmp"
}

podman_() {
	podman --storage-driver vfs --root "$TEST_DIR/podman/root" \
		--runroot "$PODMAN_RUNROOT" --tmpdir "$TEST_DIR/podman/tmp" "$@"
}
