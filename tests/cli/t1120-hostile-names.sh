#!/bin/sh
# SPDX-License-Identifier: MIT
# Hostile names (issue 15): names that collide under a 64-bit FNV-1a hash
# (EJ3TW5nTDWJ and LneudQ4ey6N, 0xf3c2790bddd29dd0, and any common suffix
# keeps the collision), a symlink that a directory entry of its name
# follows, a hardlink into a directory replaced without an entry of its
# own, whiteout names in a rootfs, and a 2000-level image that made
# oci-flatten and oci-diff --lower cubic in the depth.  Each goes through
# every program that reads that kind of input: oci-layer and oci-diff's
# upper (the tree rules, src/lib/treecheck.c), oci-flatten and oci-diff
# --lower (the merged image).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

A=EJ3TW5nTDWJ
B=LneudQ4ey6N

# mk TAR SPEC...: a pax tar of the entries, in order; each SPEC is
# "T NAME [ARG]": f a file (content ARG or NAME, and a newline), d a
# directory, l a symlink to ARG, h a hardlink to ARG.  Metadata as
# mkimage.py's layers have it (mtime 1700000000, owner 0, no names).
mk() {
	_mk_out=$1
	shift
	"$PYTHON" - "$@" >"$_mk_out" <<-\PY
	import io, sys, tarfile
	tf = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
	for spec in sys.argv[1:]:
	    t, name, *rest = spec.split(" ")
	    ti = tarfile.TarInfo(name)
	    ti.mtime = 1700000000
	    data = None
	    if t == "f":
	        data = (rest[0] if rest else name).encode() + b"\n"
	        ti.size, ti.mode = len(data), 0o644
	    elif t == "d":
	        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
	    elif t == "l":
	        ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, rest[0], 0o777
	    elif t == "h":
	        ti.type, ti.linkname, ti.mode = tarfile.LNKTYPE, rest[0], 0o644
	    tf.addfile(ti, io.BytesIO(data) if data is not None else None)
	tf.close()
	PY
}

# refused_layer TAR WORDS [OCI-LAYER OPTION]: oci-layer fails with one
# line holding WORDS, and what it wrote is no image
refused_layer() {
	test_expect_code 1 oci-layer ${3:-} <"$1" >"$1.out" 2>"$1.err" &&
	test_one_error_line oci-layer "$1.err" &&
	grep -F -- "$2" "$1.err" &&
	test_must_fail oci-pack <"$1.out" >"$1.img" 2>/dev/null &&
	not_an_image "$1.img"
}

# refused_upper TAR WORDS: oci-diff fails with one line holding WORDS
refused_upper() {
	test_expect_code 1 oci-diff --lower lower.tar <"$1" >"$1.dout" 2>"$1.derr" &&
	test_one_error_line oci-diff "$1.derr" &&
	grep -F -- "$2" "$1.derr"
}

# refused TAR WORDS: by both
refused() {
	refused_layer "$1" "$2" && refused_upper "$1" "$2"
}

test_expect_success 'setup: a lower rootfs' '
	mk lower.tar "d etc" "f etc/passwd" "f $A A" "f $B B" &&
	oci-diff -q --lower lower.tar <lower.tar >/dev/null
'

# --- finding 1: colliding names in the tree rules ----------------------------

test_expect_success 'colliding names: a directory does not let an entry through the symlink' '
	mk coll-sym.tar "l $B /etc" "d $A" "f $B/passwd" &&
	refused coll-sym.tar "entry '\''$B/passwd'\'': would be written through the symlink '\''$B'\''"
'

test_expect_success 'colliding names: a hardlink through the symlink is no earlier entry' '
	mk coll-hard.tar "l $B /etc" "d $A" "f $A/passwd" "h x $B/passwd" &&
	refused coll-hard.tar "hardlink target '\''$B/passwd'\'' is not an earlier entry"
'

test_expect_success 'colliding names that mean no harm are two names' '
	mk coll-ok.tar "f $A A" "f $B B" "h la $A" "h lb $B" "d $A.d" "f $A.d/x" &&
	oci-layer -c none <coll-ok.tar >coll-ok.stream &&
	stream_split coll-ok.stream coll-ok >/dev/null &&
	mkdir coll-ok.x && tar -xf coll-ok/blob-1 -C coll-ok.x &&
	test "$(cat coll-ok.x/la)" = A && test "$(cat coll-ok.x/lb)" = B &&
	test "$(stat -c %h coll-ok.x/$A)" = 2 && test -f coll-ok.x/$A.d/x
'

# --- finding 1: colliding names in the merged image --------------------------

test_expect_success 'oci-flatten: two colliding names of a layer both survive' '
	"$PYTHON" "$TEST_HELPERS/mkimage.py" collide >collide.tar &&
	oci-flatten collide.tar >collide-flat.tar &&
	test "$(tar -xOf collide-flat.tar $A)" = A &&
	test "$(tar -xOf collide-flat.tar $B)" = B &&
	test "$(tar -xOf collide-flat.tar $A-d/x)" = Ax &&
	test "$(tar -xOf collide-flat.tar $B-d/x)" = Bx
'

test_expect_success 'oci-flatten: a whiteout of one colliding name leaves the other' '
	"$PYTHON" "$TEST_HELPERS/mkimage.py" collide-wh >collide-wh.tar &&
	oci-flatten collide-wh.tar >collide-wh-flat.tar &&
	tar -tf collide-wh-flat.tar >names &&
	! grep "^$A" names &&
	test "$(tar -xOf collide-wh-flat.tar $B/x)" = Bx
'

test_expect_success 'oci-flatten: hardlinks to two colliding names' '
	"$PYTHON" "$TEST_HELPERS/mkimage.py" collide-link >collide-link.tar &&
	oci-flatten collide-link.tar >collide-link-flat.tar &&
	mkdir cl && tar -xf collide-link-flat.tar -C cl &&
	test "$(cat cl/la)" = A && test "$(cat cl/lb)" = B
'

test_expect_success 'oci-diff --lower IMAGE: colliding names of the image are both in the lower' '
	mk collide-up.tar "d etc" "f etc/os-release base" "d bin" "f bin/tool tool" \
		"f $A A" "f $B B" "d $A-d" "f $A-d/x Ax" "d $B-d" "f $B-d/x Bx" &&
	oci-diff -c none --lower collide.tar <collide-up.tar >collide-diff.stream &&
	stream_split collide-diff.stream cd >/dev/null &&
	n=$(ls cd | grep -c "^blob-") &&
	tar -tf cd/blob-$n >names &&
	! grep -e "$A" -e "$B" names
'

test_expect_success 'oci-diff: upper hardlinks to two colliding unchanged names' '
	mk up-links.tar "d etc" "f etc/passwd" "f $A A" "f $B B" "h la $A" "h lb $B" &&
	{ oci-layer -q -c none <lower.tar &&
	  oci-diff -q -c none --lower lower.tar <up-links.tar; } >links.stream &&
	oci-flatten links.stream >links-flat.tar &&
	mkdir ul && tar -xf links-flat.tar -C ul &&
	test "$(cat ul/la)" = A && test "$(cat ul/lb)" = B &&
	test "$(stat -c %i ul/la)" = "$(stat -c %i ul/$A)"
'

# --- finding 3: a symlink, then a directory of its name ----------------------

test_expect_success 'a symlink, a directory of the same name, an entry below: refused' '
	mk sym-dir.tar "l a /etc" "d a" "f a/passwd" &&
	refused sym-dir.tar "entry '\''a/passwd'\'': it is below '\''a'\'', which an earlier entry made a symlink" &&
	mk sym-dir2.tar "d x" "l x/a ../etc" "d x/a" "d x/a/b" "f x/a/b/c" &&
	refused sym-dir2.tar "below '\''x/a'\''" &&
	mk sym-dir-ok.tar "l a /etc" "d a" "f b" &&
	oci-layer -q <sym-dir-ok.tar >/dev/null &&
	mk file-dir.tar "f a" "d a" "f a/b" &&
	oci-layer -q <file-dir.tar >/dev/null
'

# --- finding 4: a hardlink into a replaced directory -------------------------

test_expect_success 'a hardlink into a directory replaced without an entry of its own: refused' '
	mk repl-implicit.tar "f a/b" "f a" "d a" "h l a/b" &&
	refused repl-implicit.tar "hardlink target '\''a/b'\'' is in the directory '\''a'\'', which a later entry replaced" &&
	mk repl-explicit.tar "d a" "f a/b" "f a" "d a" "h l a/b" &&
	refused repl-explicit.tar "which a later entry replaced" &&
	mk repl-deep.tar "f a/b/c" "f a" "d a" "d a/b" "h l a/b/c" &&
	refused repl-deep.tar "hardlink target '\''a/b/c'\'' is in the directory '\''a'\''"
'

# --- finding 5: whiteout names in a rootfs -----------------------------------

test_expect_success 'whiteout names in a rootfs are refused by oci-layer and oci-diff' '
	mk wh-dir.tar "d .wh.x" &&
	refused wh-dir.tar "'\''.wh.x'\'' is a whiteout name" &&
	mk wh-below.tar "d .wh.x" "f .wh.x/y" &&
	refused wh-below.tar "'\''.wh.x'\'' is a whiteout name" &&
	mk wh-dotdot.tar "f .wh..." &&
	refused wh-dotdot.tar "whiteout name" &&
	mk wh-file.tar "d etc" "f .wh.etc" &&
	refused wh-file.tar "entry '\''.wh.etc'\'': '\''.wh.etc'\'' is a whiteout name" &&
	mk wh-opq.tar "d etc" "f etc/.wh..wh..opq" &&
	refused wh-opq.tar "whiteout name"
'

test_expect_success 'oci-layer --whiteouts keeps well-formed whiteouts, refuses the others' '
	mk wh-good.tar "d etc" "f .wh.etc" "f etc/.wh..wh..opq" "f etc/.wh.passwd" &&
	oci-layer -c none --whiteouts <wh-good.tar >wh-good.stream &&
	stream_split wh-good.stream whg >/dev/null &&
	tar -tf whg/blob-1 >names &&
	printf "etc/\n.wh.etc\netc/.wh..wh..opq\netc/.wh.passwd\n" >expect &&
	test_cmp expect names &&
	refused_layer wh-dir.tar "the whiteout '\''.wh.x'\'' is not a regular file" --whiteouts &&
	mk wh-below2.tar "f .wh.x/y" &&
	refused_layer wh-below2.tar "below the whiteout '\''.wh.x'\''" --whiteouts &&
	refused_layer wh-dotdot.tar "a whiteout of nothing" --whiteouts &&
	mk wh-plnk.tar "f .wh..wh.plnk" &&
	refused_layer wh-plnk.tar "reserved" --whiteouts
'

# --- finding 7: a deep image -------------------------------------------------

# 2000 levels: d, d/d, ... as files in layer 1, a root opaque whiteout in
# layer 2, six files in each of the 300 deepest of d, d/d, ... in layer 3
# (92 KB).  Each entry of layer 3 walked its ancestors, and each ancestor
# its own ancestors again: cubic in the depth, minutes; now a few seconds
# under ASan.  The timeout only keeps a regression from hanging the suite.
# Finding 2: one intake for every reader, so oci-diff's trees follow
# oci-layer's name rules: an absolute name, hardlink target or pax
# linkpath is refused, or stored relative with --strip-absolute.
test_expect_success 'absolute names: oci-diff refuses them as oci-layer does' '
	mk abs-name.tar "d etc" "f /etc/passwd evil" &&
	mk abs-link.tar "d etc" "f etc/passwd" "h etc/shadow /etc/passwd" &&
	"$PYTHON" - >abs-pax.tar <<-\PY &&
	import io, sys, tarfile
	tf = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
	for n in ("etc/",):
	    ti = tarfile.TarInfo(n); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; tf.addfile(ti)
	ti = tarfile.TarInfo("etc/passwd"); ti.size = 2; ti.mode = 0o644
	tf.addfile(ti, io.BytesIO(b"x\n"))
	ti = tarfile.TarInfo("etc/group"); ti.type = tarfile.LNKTYPE; ti.mode = 0o644
	ti.pax_headers = {"linkpath": "/etc/passwd"}
	tf.addfile(ti)
	tf.close()
	PY
	for t in abs-name abs-link abs-pax; do
		refused_layer $t.tar "absolute (use --strip-absolute" &&
		refused_upper $t.tar "absolute (use --strip-absolute" &&
		oci-layer --strip-absolute <$t.tar >$t.ls &&
		oci-diff --strip-absolute --lower lower.tar <$t.tar >$t.ds &&
		oci-pack <$t.ds >$t.img &&
		oci-flatten $t.img >$t.flat &&
		! tar -tf $t.flat | grep "^/" || return 1
	done
'

test_expect_success 'a 2000-level image: oci-flatten and oci-diff --lower finish, the tree is right' '
	DEEP_FROM=1700 DEEP_FILES=6 "$PYTHON" "$TEST_HELPERS/mkimage.py" deep >deep.tar &&
	timeout 60 oci-flatten deep.tar >deep-flat.tar &&
	tar -tf deep-flat.tar >names &&
	"$PYTHON" -c "for i in range(1700, 2000):
	    for k in range(6): print(\"d/\" * i + \"f%d\" % k)" >expect &&
	test_cmp expect names &&
	test "$(tar -xOf deep-flat.tar "$(sed -n 1800p expect)")" = "/d/d/d/d" &&
	timeout 60 oci-diff -q -c none --lower deep.tar <deep-flat.tar >deep-diff.stream &&
	stream_split deep-diff.stream dd >/dev/null &&
	n=$(ls dd | grep -c "^blob-") &&
	tar -tf dd/blob-$n >dnames &&
	! grep /f dnames
'

# The same image, counted: each entry's name is walked in the path tables
# once, sharing the prefix of the entry before, so the component lookups
# stay a few per entry.  A lookup from the root for every parent of every
# entry (oci-diff's upper walk did that) makes 2000 per entry here and a
# million in all.  This catches the walks through the tables, not a loop
# over parent nodes (those cost no lookup); bench/deep.sh prints the time.
lookups_per_entry_ok() {
	"$PYTHON" - "$1" "$2" <<-\PY
	import re, sys
	line = open(sys.argv[1]).read()
	m = re.search(r"(\d+) name lookups", line)
	entries = sum(int(n) for n in re.findall(sys.argv[2], line))
	print("lookups %s, entries %d" % (m.group(1), entries))
	sys.exit(0 if entries > 0 and int(m.group(1)) <= 8 * entries else 1)
	PY
}

test_expect_success 'a 2000-level image: a few name lookups an entry, not one per parent' '
	oci-flatten --summary deep.tar 2>flat.sum >deep-flat.tar &&
	lookups_per_entry_ok flat.sum "(\d+) entries read" &&
	oci-diff --summary -q -c none --lower deep.tar <deep-flat.tar 2>diff.sum >/dev/null &&
	lookups_per_entry_ok diff.sum "(\d+) (?:lower and|upper entries)"
'

test_done
