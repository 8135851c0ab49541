#!/bin/sh
# SPDX-License-Identifier: MIT
# Odd tars: rootfs tars as real tools write them (busybox, Python's
# tarfile, Go's archive/tar, bsdtar in every format, GNU tar incremental
# and --posix with xattrs, SELinux and ACLs, cpio through bsdtar, git
# archive) and odd entries (the same path twice, hardlinks to
# directories, to themselves, entries below a file, ids and names no
# file system holds, pax global headers, a link target libarchive drops).
# The oracle is GNU tar -x as root of the same input (or, where tar -x
# fails, what the unpackers' "last entry wins" gives): the tree umoci
# unpacks from the layer must be that tree; what no client can unpack is
# one line on stderr and exit 1 (docs/fidelity.md, "Odd entries").
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

command -v busybox >/dev/null 2>&1 && test_set_prereq BUSYBOX
command -v go >/dev/null 2>&1 && test_set_prereq GO
command -v git >/dev/null 2>&1 && test_set_prereq GIT

# layer_of TAR NAME: the uncompressed layer in NAME.d/blob-1, stderr in NAME.err
layer_of() {
	oci-layer --compress=none <"$1" >"$2.stream" 2>"$2.err" &&
	stream_split "$2.stream" "$2.d" >/dev/null
}

# unpacked TAR NAME: oci-layer | oci-pack, umoci unpack into NAME.bundle
unpacked() {
	oci-layer <"$1" 2>"$2.err" | oci-pack -o "$2.layout" --tag t &&
	umoci unpack --image "$2.layout:t" "$2.bundle" >"$2.umoci" 2>&1 ||
		{ cat "$2.umoci" "$2.err"; return 1; }
}

# extracted TAR NAME: GNU tar -x as root (numeric ids, modes, xattrs) into
# NAME.ref; directory times set at the end, as umoci does (else GNU tar sets
# them when it leaves a directory, and an unsorted archive such as
# bsdtar's comes back into it)
extracted() {
	mkdir "$2.ref" &&
	tar -C "$2.ref" --numeric-owner --same-owner -p --xattrs --xattrs-include='*' \
		--delay-directory-restore -xf "$1"
}

# as_tar_x TAR NAME: the tree umoci unpacks from the layer is the tree
# GNU tar extracts from the input (umoci 0.4.7 skips security.selinux)
as_tar_x() {
	unpacked "$1" "$2" && extracted "$1" "$2" &&
	tree_listing --mtime-ns --no-root --ignore-xattr security.selinux "$2.ref" >"$2.want" &&
	tree_listing --mtime-ns --no-root --ignore-xattr security.selinux \
		"$2.bundle/rootfs" >"$2.got" &&
	test $(wc -l <"$2.want") -gt 0 &&
	test_cmp "$2.want" "$2.got"
}

# refused TAR PATTERN: oci-layer exits 1 with one line that matches PATTERN
refused() {
	test_expect_code 1 oci-layer --compress=none <"$1" >refused.out 2>refused.err &&
	test_one_error_line oci-layer refused.err &&
	grep -- "$2" refused.err
}

# craft.py NAME: hand-made archives of odd entries (fidelity.py's writer)
cat >craft.py <<\EOF
import sys
sys.path.insert(0, sys.argv[1])
import fidelity as f

def ar(name):
    return f.Ar(open(name + ".tar", "wb"))

cases = {}
def case(fn):
    cases[fn.__name__.replace("_", "-")] = fn
    return fn

@case
def uid_2p32(a):    # umoci chowned it to root (low 32 bits)
    a.entry(b"f", b"x", [(b"uid", b"4294967296")])
@case
def gid_2p32m1(a):  # (gid_t)-1 is "unchanged" to chown
    a.entry(b"f", b"x", [(b"gid", b"4294967295")])
@case
def uid_negative(a):  # GNU base-256, negative
    a.entry(b"f", b"x", uid=-5, gnu=True)
@case
def hardlink_dir(a):
    a.entry(b"d/", typ=b"5", mode=0o755)
    a.entry(b"h", typ=b"1", link=b"d")
@case
def below_file(a):
    a.entry(b"d", b"file")
    a.entry(b"d/x", b"x")
@case
def below_fifo(a):
    a.entry(b"p", typ=b"6")
    a.entry(b"p/x/y", b"x")
@case
def hardlink_into_replaced(a):
    a.entry(b"d/", typ=b"5", mode=0o755)
    a.entry(b"d/in", b"in")
    a.entry(b"d", b"now a file")
    a.entry(b"d/", typ=b"5", mode=0o755)
    a.entry(b"h", typ=b"1", link=b"d/in")
@case
def hardlink_below_file(a):
    a.entry(b"d/", typ=b"5", mode=0o755)
    a.entry(b"d/in", b"in")
    a.entry(b"d", b"now a file")
    a.entry(b"h", typ=b"1", link=b"d/in")
@case
def component_256(a):
    a.entry(b"x", b"x", [(b"path", b"d/" + b"n" * 256)])
@case
def path_4096(a):
    a.entry(b"x", b"x", [(b"path", b"/".join([b"d" * 255] * 16) + b"/n")])
@case
def symlink_4096(a):
    a.entry(b"s", typ=b"2", link=b"t", records=[(b"linkpath", b"t" * 4096)])
@case
def global_mtime(a):
    a.out.write(f.pax([(b"comment", b"x"), (b"mtime", b"1234567890")],
                      name=b"pax_global_header", typ=b"g"))
    a.entry(b"f", b"x")
@case
def global_xattr(a):
    a.entry(b"first", b"x")
    a.out.write(f.pax([(b"SCHILY.xattr.user.g", b"v")], name=b"g", typ=b"g"))
    a.entry(b"f", b"x")
@case
def global_long_names(a):  # 3.6 MiB of GNU long names push the g out of the window
    a.out.write(f.pax([(b"uid", b"4242"), (b"mtime", b"1234567890")],
                      name=b"pax_global_header", typ=b"g"))
    for i in range(4):
        a.gnu_long(b"L", b"f" + b"\0" * (900 * 1024))
    a.entry(b"f", b"x", mtime=0)
@case
def global_big_file(a):    # the entry itself is over the window
    a.out.write(f.pax([(b"uid", b"4242")], name=b"pax_global_header", typ=b"g"))
    a.entry(b"big", b"x" * (4 << 20), mtime=0)
@case
def zero_gap(a):           # concatenated archives, 4 MiB of zeros between
    a.entry(b"one", b"1")
    a.out.write(b"\0" * (4 << 20))
    a.gnu_long(b"L", b"long-" * 40)
    a.entry(b"two", b"2")
@case
def trailing_text(a):      # a newline or a note appended to a tar file
    a.entry(b"f", b"x")
    a.end()
    a.out.write(b"checksum: 1234\n")
@case
def trailing_block(a):
    a.entry(b"f", b"x")
    a.end()
    a.out.write(b"\x01" * 512)
    a.end()
@case
def zero_gap_global(a):
    a.entry(b"one", b"1")
    a.out.write(b"\0" * (4 << 20))
    a.out.write(f.pax([(b"uid", b"4242")], name=b"pax_global_header", typ=b"g"))
    a.entry(b"two", b"2")

# what tar readers read differently: libarchive reads the digits before a
# stray byte and clamps what overflows, GNU tar and Go refuse, Python
# reads 0 or stops
@case
def pax_uid_junk(a):
    a.entry(b"f", b"x", [(b"uid", b"12abc")])
@case
def pax_gid_sign(a):
    a.entry(b"f", b"x", [(b"gid", b"+7")])
@case
def pax_size_junk(a):
    a.entry(b"f", b"xy", [(b"size", b"2z")])
@case
def pax_mtime_huge(a):
    a.entry(b"f", b"x", [(b"mtime", b"100000000000000000000")])
@case
def pax_uid_empty(a):    # POSIX: the ustar field; Python: 0
    a.entry(b"f", b"x", [(b"uid", b"")], uid=5)
@case
def pax_path_empty(a):   # libarchive: the ustar name; GNU tar: "."
    a.entry(b"ustar-name", b"x", [(b"path", b"")])
@case
def xattr_no_name(a):    # libarchive drops it, GNU tar tries to set it
    a.entry(b"f", b"x", [(b"SCHILY.xattr.", b"v")])
@case
def field_mode_junk(a):  # the first header would not be taken for a tar
    a.entry(b"a", b"x")
    a.entry(b"f", b"x", extra=[(100, b"0000755x")])
@case
def field_uid_nine(a):
    a.entry(b"a", b"x")
    a.entry(b"f", b"x", extra=[(108, b"0000019\0")])
@case
def field_mtime_2p70(a): # base-256 beyond 64 bits: libarchive clamps
    a.entry(b"f", b"x", mtime=2 ** 70, gnu=True)
@case
def field_mtime_negative(a):  # base-256 before 1970: read alike
    a.entry(b"f", b"x", mtime=-86400 * 365, gnu=True)
@case
def long_name_and_path(a):    # libarchive, Python: the later; GNU tar: pax; Go: L
    a.gnu_long(b"L", b"gnu-name")
    a.entry(b"f", b"x", [(b"path", b"pax-name")])
@case
def path_and_long_name(a):
    a.out.write(f.pax([(b"path", b"pax-name")]))
    a.gnu_long(b"L", b"gnu-name")
    a.entry(b"f", b"x")
@case
def long_link_and_linkpath(a):
    a.gnu_long(b"K", b"gnu-target")
    a.entry(b"s", typ=b"2", link=b"t", records=[(b"linkpath", b"pax-target")])
@case
def gnu_prefix(a):            # as Go before 1.8 wrote GNU headers
    a.entry(b"name", b"x", gnu=True, extra=[(345, b"usr/lib\0")])
@case
def gnu_times(a):             # GNU tar -G: atime and ctime there
    a.entry(b"name", b"x", gnu=True, extra=[(345, b"14540000000\0" b"14540000001\0")])
@case
def hardlink_size_pax(a):     # a pax archive: libarchive takes g, k for data
    a.entry(b"f", b"content", [(b"uid", b"1")])
    a.entry(b"h", typ=b"1", link=b"f", size=1024)
    a.entry(b"g", b"after")
    a.entry(b"k", b"kept")
@case
def hardlink_small_pax(a):    # under a block of "data": libarchive takes g
    a.entry(b"f", b"content", [(b"uid", b"1")])
    a.entry(b"h", typ=b"1", link=b"f", size=100)
    a.entry(b"g", b"")       # no data block: k is read next, g is lost
    a.entry(b"k", b"kept")
@case
def hardlink_size_gnu(a):     # libarchive ignores the size, as the others
    a.entry(b"f", b"content", gnu=True)
    a.entry(b"h", typ=b"1", link=b"f", size=1024, gnu=True)
    a.entry(b"g", b"after", gnu=True)
    a.entry(b"k", b"kept", gnu=True)

# what unpacks: the oracle is in the test
@case
def limits_ok(a):
    a.entry(b"d/", typ=b"5", mode=0o755)
    a.entry(b"x", b"x", [(b"path", b"d/" + b"n" * 255)])
    a.entry(b"s", typ=b"2", link=b"t", records=[(b"linkpath", b"/" + b"t" * 4094)])
    a.entry(b"u", b"u", [(b"uid", b"4294967294"), (b"gid", b"4294967294")])
@case
def hardlink_self(a):
    a.entry(b"f", b"content\n", mode=0o640)
    a.entry(b"f", typ=b"1", link=b"./f", mode=0o777)
    a.entry(b"g", typ=b"1", link=b"f")
@case
def duplicates(a):
    a.entry(b"./", typ=b"5", mode=0o755)
    a.entry(b"file", b"first\n")
    a.entry(b"link", typ=b"1", link=b"file")
    a.entry(b"file", b"second\n", mode=0o600)
    a.entry(b"was-file", b"a file\n")
    a.entry(b"was-file/", typ=b"5", mode=0o700)
    a.entry(b"was-file/in", b"in\n")
    a.entry(b"was-dir/", typ=b"5", mode=0o755)
    a.entry(b"was-dir/in", b"gone\n")
    a.entry(b"was-dir", b"now a file\n")
    a.entry(b"was-sym", typ=b"2", link=b"/etc")
    a.entry(b"was-sym/", typ=b"5", mode=0o750)
    # (nothing below it: t1120 refuses that)
    a.entry(b".", typ=b"5", mode=0o711)
@case
def linkpath_only(a):
    # the header's linkname field empty, as Go writes a non-ASCII target:
    # libarchive 3.6 drops the record for the first link of an archive
    a.entry(b"\xe6\x97\xa5", b"x")
    a.entry(b"h", typ=b"1", link=b"", records=[(b"linkpath", b"\xe6\x97\xa5")])
    a.entry(b"s", typ=b"2", link=b"", records=[(b"linkpath", b"\xe6\x97\xa5")])
@case
def linkpath_only_symlink(a):
    a.entry(b"s", typ=b"2", link=b"", records=[(b"linkpath", b"\xc3\xa9t\xc3\xa9")])

for name in sys.argv[2:] or cases:
    a = ar(name)
    cases[name](a)
    a.end()
EOF

test_expect_success 'setup: hand-made odd archives' '
	"$PYTHON" craft.py "$TEST_HELPERS" &&
	test -s duplicates.tar && test -s global-xattr.tar
'

test_expect_success 'uids and gids a file system cannot hold are refused' '
	refused uid-2p32.tar "entry .f.: uid 4294967296 is out of range (0 to 4294967294)" &&
	refused gid-2p32m1.tar "entry .f.: gid 4294967295 is out of range" &&
	refused uid-negative.tar "entry .f.: uid -5 is out of range"
'

test_expect_success 'a hardlink to a directory, entries below a file or fifo are refused' '
	refused hardlink-dir.tar "entry .h.: hardlink target .d. is a directory" &&
	refused below-file.tar "entry .d/x.: would be written through the non-directory .d." &&
	refused below-fifo.tar "entry .p/x/y.: would be written through the non-directory .p." &&
	refused hardlink-below-file.tar \
		"hardlink target .d/in. goes through the non-directory .d. of an earlier entry" &&
	refused hardlink-into-replaced.tar \
		"hardlink target .d/in. is in the directory .d., which a later entry replaced"
'

test_expect_success 'a name component over 255 bytes, a path or a symlink target over 4095 are refused' '
	refused component-256.tar "has a component of 256 bytes, longer than the 255" &&
	refused path-4096.tar "is 4097 bytes long, longer than the 4095 a path can have" &&
	refused symlink-4096.tar "entry .s.: symlink target of 4096 bytes is longer than the 4095"
'

test_expect_success 'a pax global header that changes entries is refused (libarchive ignores it)' '
	refused global-mtime.tar "entry .f.: a pax global header before it sets .mtime." &&
	refused global-xattr.tar "sets .SCHILY.xattr.user.g. for all later entries" &&
	gzip -c global-xattr.tar >global-xattr.tgz &&
	refused global-xattr.tgz "sets .SCHILY.xattr.user.g." &&
	bzip2 -c global-xattr.tar >global-xattr.tbz &&
	refused global-xattr.tbz "sets .SCHILY.xattr.user.g." &&
	if test_have_prereq XZ; then
		xz -c global-xattr.tar >global-xattr.txz &&
		refused global-xattr.txz "sets .SCHILY.xattr.user.g."
	fi &&
	# GNU tar applies it: the test is not moot
	tar --xattrs --xattrs-include="*" -tvf global-mtime.tar --full-time | grep " 2009-02-13 "
'

test_expect_success 'a pax global header is found whatever the window: long names, a big file, lz4' '
	# GNU tar applies it to f: uid 4242, a 2009 mtime
	tar -tvf global-long-names.tar --full-time --numeric-owner | grep " 4242/0 .* 2009-02-13 " &&
	refused global-long-names.tar "entry .f.: its headers from tar byte 0 on are too long to check" &&
	refused global-big-file.tar "entry .big.: a pax global header before it sets .uid." &&
	refused zero-gap-global.tar "entry .two.: a pax global header before it sets .uid." &&
	if command -v lz4 >/dev/null 2>&1; then
		lz4 -q -c global-xattr.tar >global-xattr.tar.lz4 &&
		refused global-xattr.tar.lz4 "sets .SCHILY.xattr.user.g."
	fi
'

test_expect_success 'pax records and header fields that tar readers read differently are refused' '
	refused pax-uid-junk.tar "entry .f.: its pax record .uid=12abc. is not a decimal number" &&
	refused pax-gid-sign.tar "its pax record .gid=+7. is not a decimal number" &&
	refused pax-size-junk.tar "its pax record .size=2z. is not a decimal number" &&
	refused pax-mtime-huge.tar "record .mtime=100000000000000000000. is out of range" &&
	refused pax-uid-empty.tar "its pax record .uid=. is empty" &&
	refused pax-path-empty.tar "entry .ustar-name.: its pax record .path=. is empty" &&
	refused xattr-no-name.tar "record .SCHILY.xattr.=v. is an xattr without a name" &&
	refused field-mode-junk.tar "entry .f.: its header.s mode field is malformed" &&
	refused field-uid-nine.tar "entry .f.: its header.s uid field is malformed" &&
	refused field-mtime-2p70.tar "entry .f.: its header.s mtime field is malformed or out of range" &&
	# GNU tar refuses them too
	test_must_fail tar -tf pax-uid-junk.tar >/dev/null 2>&1 &&
	test_must_fail tar -tf field-mtime-2p70.tar >/dev/null 2>&1 &&
	layer_of field-mtime-negative.tar neg &&
	tar_listing --mtime neg.d/blob-1 | grep "	-31536000	-	f\$"
'

test_expect_success 'a GNU long name and a pax path for one entry are refused (readers pick either)' '
	refused long-name-and-path.tar "it has both a GNU long name header and a pax path record" &&
	refused path-and-long-name.tar "it has both a GNU long name header and a pax path record" &&
	refused long-link-and-linkpath.tar "entry .s.: it has both a GNU long link header and a pax linkpath record" &&
	# GNU tar itself takes the pax path in either order
	tar -tf long-name-and-path.tar >ln.names && test "$(cat ln.names)" = pax-name &&
	# GNU tar: "name"; Go and Python: "usr/lib/name"
	refused gnu-prefix.tar "entry .name.: its GNU header holds a name prefix .usr/lib. (as Go before 1.8" &&
	tar -tf gnu-prefix.tar >gp.names && test "$(cat gp.names)" = name &&
	layer_of gnu-times.tar gt && test "$(tar_names gt.d/blob-1)" = "0 name"
'

test_expect_success 'Python tarfile: a float mtime in exponent notation is refused, not read as 1 s' '
	$PYTHON -c "import io, sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode=\"w|\", format=tarfile.PAX_FORMAT)
i = tarfile.TarInfo(\"f\")
i.mtime = 1e16
t.addfile(i, io.BytesIO(b\"\"))
t.close()" >py-float.tar &&
	grep -q "mtime=1e+16" py-float.tar &&
	refused py-float.tar "its pax record .mtime=1e+16. is not a decimal number"
'

test_expect_success 'a hardlink with a size before more entries: refused where libarchive would swallow them' '
	refused hardlink-size-pax.tar "entry .h.: a hardlink whose size field says 1024 bytes, and a tar header" &&
	# GNU tar extracts g and k
	tar -tf hardlink-size-pax.tar >hs.names && grep -qx k hs.names &&
	layer_of hardlink-size-gnu.tar hsg &&
	tar_names hsg.d/blob-1 >hsg.names &&
	printf "0 f\n1 h\n0 g\n0 k\n" >expect &&
	test_cmp expect hsg.names
'

# The same with 100 bytes of "data", and the input cut by the pipe 100
# bytes into that block: libarchive has all the link's data before the
# reader holds the whole block, which is then checked at the next header.
test_expect_success 'a hardlink with under a block of size, its block split by the pipe: refused' '
	refused hardlink-small-pax.tar "entry .h.: a hardlink whose size field says 100 bytes, and a tar header" &&
	tar -tf hardlink-small-pax.tar >hsp.names && grep -qx g hsp.names &&
	cat >split.py <<-\EOF &&
	import sys, time
	b = open(sys.argv[1], "rb").read()
	at = 0
	while b[at + 156:at + 157] != b"1":	# the hardlink header
	    size = int(b[at + 124:at + 136].split(b"\0")[0] or b"0", 8)
	    at += 512 + (size + 511) // 512 * 512
	cut = at + 512 + 100
	sys.stdout.buffer.write(b[:cut]); sys.stdout.flush()
	time.sleep(1)
	sys.stdout.buffer.write(b[cut:]); sys.stdout.flush()
	EOF
	"$PYTHON" split.py hardlink-small-pax.tar >/dev/null &&
	{ "$PYTHON" split.py hardlink-small-pax.tar |
	  test_expect_code 1 oci-layer --compress=none >split.out 2>split.err; } &&
	test_one_error_line oci-layer split.err &&
	grep "entry .h.: a hardlink whose size field says 100 bytes, and a tar header" split.err
'

# libarchive reads a device's SCHILY.devmajor/devminor pax records, GNU
# tar ("Ignoring unknown extended header keyword"), Go and Python its
# header's fields: refused when they differ, kept when they agree (bsdtar
# writes them agreeing).
test_expect_success 'a device whose SCHILY.devmajor record and header field differ: refused' '
	cat >dev.py <<-\EOF &&
	import sys, tarfile
	t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
	i = tarfile.TarInfo("null")
	i.type, i.devmajor, i.devminor, i.mode = tarfile.CHRTYPE, 1, 3, 0o666
	i.pax_headers = {"SCHILY.devmajor": sys.argv[2], "SCHILY.devminor": sys.argv[3]}
	t.addfile(i)
	t.close()
	EOF
	"$PYTHON" dev.py dev-differ.tar 9 3 &&
	"$PYTHON" dev.py dev-minor.tar 1 7 &&
	"$PYTHON" dev.py dev-agree.tar 1 3 &&
	tar -tvf dev-differ.tar | grep " 1,3 " &&
	refused dev-differ.tar "entry .null.: its pax record .SCHILY.devmajor=9. differs from its header.s devmajor field" &&
	refused dev-minor.tar "entry .null.: its pax record .SCHILY.devminor=7. differs from its header.s devminor field" &&
	layer_of dev-agree.tar dev-agree &&
	tar -tvf dev-agree.d/blob-1 | grep "^c.* 1,3 .*null\$"
'

test_expect_success 'a hardlink target ending in / or /. is refused, not read as the file' '
	cat >hl.py <<-\EOF &&
	import io, sys, tarfile
	t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
	i = tarfile.TarInfo("f")
	i.size = 8
	t.addfile(i, io.BytesIO(b"content\n"))
	i = tarfile.TarInfo("h")
	i.type, i.linkname = tarfile.LNKTYPE, sys.argv[2]
	t.addfile(i)
	t.close()
	EOF
	"$PYTHON" hl.py hl-slash.tar f/ &&
	"$PYTHON" hl.py hl-dot.tar f/. &&
	"$PYTHON" hl.py hl-plain.tar f &&
	mkdir hlx && test_must_fail tar -C hlx -xf hl-slash.tar 2>hlx.err &&
	grep "Not a directory" hlx.err &&
	refused hl-slash.tar "entry .h.: hardlink target .f/. ends as a directory name does" &&
	refused hl-dot.tar "entry .h.: hardlink target .f/\.. ends as a directory name does" &&
	layer_of hl-plain.tar hlp &&
	tar_names hlp.d/blob-1 >hlp.names &&
	printf "0 f\n1 h\n" >expect && test_cmp expect hlp.names
'

# GNU tar stops at the end marker; archives in a row are read whole here,
# so what follows must be another archive: a clear line, not "damaged"
test_expect_success 'data after the end-of-archive marker is refused as such' '
	tar -tf trailing-text.tar >tt.names && test "$(cat tt.names)" = f &&
	refused trailing-text.tar "after the end-of-archive marker at tar byte 1024: data that is not a tar archive" &&
	refused trailing-block.tar "after the end-of-archive marker at tar byte 1024" &&
	gzip -c trailing-text.tar >trailing-text.tgz &&
	refused trailing-text.tgz "after the end-of-archive marker at tar byte 1024"
'

test_expect_success 'megabytes of zero blocks between concatenated archives are still read' '
	layer_of zero-gap.tar zero-gap &&
	tar -tf zero-gap.d/blob-1 >zero-gap.names &&
	grep -qx one zero-gap.names && grep -qx "$(printf "long-%.0s" $(seq 40))" zero-gap.names
'

# umoci as root: the unpacked tree

test_expect_success UMOCI,ROOT 'at the limits: a 255-byte name, a 4095-byte target, uid 2^32-2' '
	as_tar_x limits-ok.tar limits &&
	test "$(readlink limits.bundle/rootfs/s | wc -c)" = 4096 &&
	test "$(stat -c "%u %g" limits.bundle/rootfs/u)" = "4294967294 4294967294"
'

test_expect_success UMOCI,ROOT 'a hardlink to itself is left out: the file is kept, as tar -x keeps it' '
	layer_of hardlink-self.tar self &&
	tar_names self.d/blob-1 >names &&
	printf "0 f\n1 g\n" >expect &&
	test_cmp expect names &&
	as_tar_x hardlink-self.tar self &&
	test "$(stat -c "%a %h" self.bundle/rootfs/f)" = "640 2"
'

# GNU tar -x fails on some of these (a file over a directory); umoci and
# containerd remove what is there: the last entry of a name wins, a
# directory replaced by a file goes with what was in it.
test_expect_success UMOCI,ROOT 'the same path twice: the last entry wins, as the unpackers apply it' '
	layer_of duplicates.tar dup &&
	test $(tar_names dup.d/blob-1 | wc -l) = 13 &&
	unpacked duplicates.tar dup &&
	r=dup.bundle/rootfs &&
	test "$(cat $r/file)" = second &&
	test "$(stat -c %a $r/file)" = 600 &&
	test "$(cat $r/link)" = first &&
	test "$(stat -c "%F %a" $r/was-file)" = "directory 700" &&
	test "$(cat $r/was-file/in)" = in &&
	test "$(stat -c %F $r/was-dir)" = "regular file" &&
	test "$(stat -c "%F %a" $r/was-sym)" = "directory 750" &&
	test "$(stat -c %a $r)" = 711
'

test_expect_success UMOCI,ROOT 'a pax linkpath with an empty linkname field (Go) is kept' '
	layer_of linkpath-only.tar lp &&
	tar_listing lp.d/blob-1 >lp.out &&
	grep "^f	.*	-	-	h	-	h\$" lp.out &&
	grep "^f	.*	-	-	h	-	\\\\xe6\\\\x97\\\\xa5\$" lp.out &&
	grep "^l	.*	\\\\xe6\\\\x97\\\\xa5	-	-	-	s\$" lp.out &&
	as_tar_x linkpath-only.tar lp &&
	test "$(stat -c %h lp.bundle/rootfs/h)" = 2 &&
	layer_of linkpath-only-symlink.tar lps &&
	tar_listing lps.d/blob-1 | grep "^l	.*	\\\\xc3\\\\xa9t\\\\xc3\\\\xa9	-	-	-	s\$"
'

# --- real tools ------------------------------------------------------------

test_expect_success ROOT 'setup: a rootfs tree (full and portable)' '
	make_rootfs --no-random tree &&
	make_rootfs --no-random --portable ptree &&
	# a symlink to a target with no ASCII byte, the first link of Go walks
	mkdir go-utf8 && echo x >go-utf8/z && ln -s "$(printf "\\346\\227\\245")" go-utf8/a
'

test_expect_success UMOCI,ROOT,BUSYBOX 'busybox tar' '
	busybox tar -C tree -cf - . >bb.tar &&
	as_tar_x bb.tar bb
'

for fmt in GNU PAX; do
	test_expect_success UMOCI,ROOT "Python tarfile, $fmt format" "
		\$PYTHON -c 'import sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode=\"w|\", format=tarfile.${fmt}_FORMAT)
t.add(\"tree\", arcname=\".\")
t.close()' >py-$fmt.tar &&
		as_tar_x py-$fmt.tar py-$fmt
	"
done

test_expect_success UMOCI,ROOT 'Python tarfile, USTAR format (portable tree)' '
	$PYTHON -c "import sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode=\"w|\", format=tarfile.USTAR_FORMAT)
t.add(\"ptree\", arcname=\".\")
t.close()" >py-USTAR.tar &&
	as_tar_x py-USTAR.tar py-USTAR
'

test_expect_success UMOCI,ROOT 'Python tarfile: a global pax comment is accepted, a global uid refused' '
	$PYTHON -c "import sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode=\"w|\", format=tarfile.PAX_FORMAT,
                 pax_headers={\"comment\": \"built by CI\"})
t.add(\"ptree/etc\", arcname=\"etc\")
t.close()" >py-comment.tar &&
	as_tar_x py-comment.tar py-comment &&
	$PYTHON -c "import sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode=\"w|\", format=tarfile.PAX_FORMAT,
                 pax_headers={\"uid\": \"4242\"})
t.add(\"ptree/etc\", arcname=\"etc\")
t.close()" >py-uid.tar &&
	refused py-uid.tar "sets .uid. for all later entries"
'

test_expect_success GO 'setup: gotar (Go archive/tar)' '
	GOFLAGS= GOPROXY=off go build -o gotar "$TEST_HELPERS/gotar.go"
'
if test -x gotar; then test_set_prereq GOTAR; fi

for fmt in pax gnu; do
	test_expect_success UMOCI,ROOT,GOTAR "Go archive/tar, $fmt format" "
		./gotar $fmt tree >go-$fmt.tar &&
		as_tar_x go-$fmt.tar go-$fmt
	"
done

# Go's ustar refuses names that are not ASCII: pax and gnu are what Go
# tools write.
test_expect_success UMOCI,ROOT,GOTAR 'Go archive/tar: a first symlink whose target has no ASCII byte' '
	./gotar pax go-utf8 >go-utf8.tar &&
	as_tar_x go-utf8.tar go-utf8 &&
	test "$(readlink go-utf8.bundle/rootfs/a)" = "$(printf "\\346\\227\\245")"
'

for fmt in pax paxr gnutar ustar v7; do
	tree=tree
	case $fmt in ustar|v7) tree=ptree ;; esac
	test_expect_success UMOCI,ROOT,BSDTAR "bsdtar --format $fmt" "
		bsdtar --format $fmt -C $tree -cf bsd-$fmt.tar . 2>bsd-$fmt.mkerr ;
		test -s bsd-$fmt.tar &&
		as_tar_x bsd-$fmt.tar bsd-$fmt
	"
done

test_expect_success UMOCI,ROOT,BSDTAR 'a cpio archive converted by bsdtar (newc, odc)' '
	for f in newc odc; do
		bsdtar --format $f -C tree -cf tree.$f . &&
		bsdtar -cf cpio-$f.tar @tree.$f &&
		as_tar_x cpio-$f.tar cpio-$f || return 1
	done
'

test_expect_success UMOCI,ROOT 'GNU tar --listed-incremental, level 0 and 1 (dumpdir entries)' '
	cp -a tree itree &&
	tar --listed-incremental=snar --numeric-owner -C itree -cf incr0.tar . &&
	echo new >itree/etc/new-file && rm itree/etc/hostname &&
	tar --listed-incremental=snar --numeric-owner -C itree -cf incr1.tar . &&
	as_tar_x incr0.tar incr0 &&
	as_tar_x incr1.tar incr1 &&
	test -f incr1.bundle/rootfs/etc/new-file
'

test_expect_success UMOCI,ROOT 'GNU tar --posix --xattrs --selinux --acls, --owner=0, owner names' '
	tar --posix --xattrs --xattrs-include="*" --selinux --acls -C tree -cf posix.tar . &&
	as_tar_x posix.tar posix &&
	getcap posix.bundle/rootfs/usr/bin/ping-like 2>/dev/null | grep -q cap_net_raw ||
		! grep -q security.capability posix.want &&
	tar --owner=0 --group=0 -C tree -cf owner0.tar . &&
	as_tar_x owner0.tar owner0 &&
	! grep -v "	0	0	" owner0.got &&
	tar --format=gnu -C tree -cf names.tar . &&
	as_tar_x names.tar names
'

test_expect_success UMOCI,ROOT,GIT 'git archive (a pax global header with the commit id)' '
	git init -q repo &&
	cp -a ptree/etc repo/etc && ln -s etc/passwd repo/link &&
	git -C repo add -A &&
	git -C repo -c user.name=t -c user.email=t@t commit -q -m x &&
	git -C repo archive --format=tar HEAD >git.tar &&
	tar_headers git.tar | grep "^g " &&
	as_tar_x git.tar git
'

test_expect_success 'oci-diff reads the same odd upper tars the same way' '
	"$PYTHON" -c "import sys
sys.path.insert(0, sys.argv[1])
import fidelity as f
a = f.Ar(sys.stdout.buffer)
a.entry(b\"keep\", b\"k\")
a.end()" "$TEST_HELPERS" >lower.tar &&
	test_expect_code 1 oci-diff -c none --lower lower.tar <uid-2p32.tar >d.out 2>d.err &&
	test_one_error_line oci-diff d.err &&
	grep "uid 4294967296 is out of range" d.err &&
	test_expect_code 1 oci-diff -c none --lower lower.tar <global-mtime.tar >d.out 2>d.err &&
	grep "pax global header" d.err &&
	oci-diff -c none --lower lower.tar <linkpath-only.tar >d.stream &&
	stream_split d.stream dd >/dev/null &&
	tar_listing dd/blob-1 | grep "^l	.*	\\\\xe6\\\\x97\\\\xa5	-	-	-	s\$"
'

test_done
